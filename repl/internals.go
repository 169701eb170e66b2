package repl

import (
	"reflect"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// yaegi v0.16.1 keeps a type's first definition when a later input declares
// a type of the same name again, so that `type T struct{A int}` followed by
// `type T struct{A, B int}` silently keeps the old fields. The session
// removes the old symbol from the interpreter's package scope before the new
// declaration is compiled; values made with the old type keep it. There is no
// API for this, so the functions below reach into the interpreter's unexported
// fields (Interpreter.scopes["main"].sym); TestRedefineType fails if a yaegi
// upgrade changes them.

// mainScopeSymbols returns the symbol map of the interpreter's main package
// scope (map[string]*symbol), or an invalid Value if the layout differs.
func mainScopeSymbols(in *interp.Interpreter) reflect.Value {
	v := reflect.ValueOf(in).Elem().FieldByName("scopes")
	if !v.IsValid() || v.Kind() != reflect.Map {
		return reflect.Value{}
	}
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	sc := v.MapIndex(reflect.ValueOf("main"))
	if !sc.IsValid() || sc.IsNil() {
		return reflect.Value{}
	}
	sym := sc.Elem().FieldByName("sym")
	if !sym.IsValid() || sym.Kind() != reflect.Map {
		return reflect.Value{}
	}
	return reflect.NewAt(sym.Type(), unsafe.Pointer(sym.UnsafeAddr())).Elem()
}

// forgetSymbol removes name from the main package scope.
func forgetSymbol(in *interp.Interpreter, name string) {
	m := mainScopeSymbols(in)
	if m.IsValid() {
		m.SetMapIndex(reflect.ValueOf(name), reflect.Value{})
	}
}

// Symbol kinds as numbered by yaegi v0.16.1 (interp/scope.go sKind).
const (
	symConst = 3
	symFunc  = 4
	symPkg   = 6
	symType  = 7
	symVar   = 9
)

// scopeNames returns the names declared in the main package scope with
// their kind (symConst, ...); import entries ("fmt/_.go") are skipped.
func scopeNames(in *interp.Interpreter) map[string]int {
	out := map[string]int{}
	m := mainScopeSymbols(in)
	if !m.IsValid() {
		return out
	}
	iter := m.MapRange()
	for iter.Next() {
		name := iter.Key().String()
		sym := iter.Value()
		if sym.IsNil() {
			continue
		}
		kind := sym.Elem().FieldByName("kind")
		switch {
		case !kind.IsValid():
		case kind.CanInt():
			out[name] = int(kind.Int())
		case kind.CanUint():
			out[name] = int(kind.Uint())
		}
	}
	return out
}
