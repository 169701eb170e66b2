package repl

import (
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"strings"
)

// Values holds the results of a call with several results that ends a
// cell: dnas.LoadTeacher("x") shows (<nil>, checkpoint: open x: no such
// file or directory), where Go's interpreter alone would show only the
// first value and hide the error; strings.Cut("a=b", "=") shows ("a", "b",
// true). A nil error is left out (see errorResults).
type Values []any

// String prints the values as a parenthesised list, strings quoted and a
// zero struct as its type name with {} (what a function returns beside an
// error: dnas.TeacherPreset{}, not a description of nothing).
func (v Values) String() string {
	parts := make([]string, len(v))
	for i, x := range v {
		r := reflect.ValueOf(x)
		switch {
		case r.Kind() == reflect.String:
			parts[i] = fmt.Sprintf("%q", x)
		case r.Kind() == reflect.Struct && r.IsZero():
			parts[i] = r.Type().String() + "{}"
		default:
			parts[i] = formatValue(x)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// errorResults is what a cell ending in a call whose last result is an
// error shows: the other results when the error is nil (one of them alone,
// so dnas.SampleGrid(x, 8) shows its picture; nothing for a call whose
// only result is the error: tr.Train(ctx, 100) that succeeded), all of
// them, error included, when it is not (a lone error as itself).
func errorResults(v ...any) any {
	n := len(v)
	switch {
	case n == 1 && v[0] == nil:
		return noValue{}
	case n == 1:
		return v[0]
	case v[n-1] == nil && n == 2:
		return v[0]
	case v[n-1] == nil:
		return Values(v[:n-1])
	}
	return Values(v)
}

// noValue is errorResults' answer for a call that returned only a nil
// error: the cell then shows no value, like a call without results.
type noValue struct{}

// spreadResults rewrites a statement unit that ends with a call of a
// function with several results so that the call's results are all kept:
// f(x) becomes __dnasrt.Values(f(x)), or __dnasrt.ErrorResults(f(x)) when
// the last result is an error (also when it is the only one). It reads the
// code only (the function's type comes from the session's variables and
// the packages' symbols, as for typeIndexDefines); ok is false when the
// last call's type is unknown, or it has no results, or one that is not
// an error.
func (s *Session) spreadResults(src string) (out string, ok bool) {
	e, tw, ok := s.lastExpr(src)
	if !ok {
		return "", false
	}
	call, isCall := e.(*ast.CallExpr)
	if !isCall {
		return "", false
	}
	ft, found := tw.funcOf(call)
	if !found || ft.NumOut() == 0 {
		return "", false
	}
	wrap := "__dnasrt.Values("
	if ft.Out(ft.NumOut()-1) == reflect.TypeFor[error]() {
		wrap = "__dnasrt.ErrorResults("
	} else if ft.NumOut() == 1 {
		return "", false // one value: shown as it is
	}
	base := token.Pos(len(stmtPrefix) + 1) // file offsets start at Pos 1
	from, to := int(call.Pos()-base), int(call.End()-base)
	return src[:from] + wrap + src[from:to] + ")" + src[to:], true
}

// notAValue reports a cell that ends with a package or a type standing
// alone (dnas, dnas.Teacher, a type declared in a cell): not values, which
// the interpreter would answer with an unrelated one. Functions are values:
// they print their type.
func (s *Session) notAValue(src string) error {
	e, tw, ok := s.lastExpr(src)
	if !ok {
		return nil
	}
	switch x := e.(type) {
	case *ast.Ident:
		if _, shadowed := tw.known[x.Name]; shadowed {
			return nil
		}
		if _, isVar := s.globals()[x.Name]; isVar {
			return nil
		}
		if _, isPkg := s.pathOf(x.Name); isPkg {
			return &EvalError{Kind: "compile", Msg: fmt.Sprintf("%s is a package, not a value: :doc %s says what it holds, and %s.<Tab> lists it", x.Name, x.Name, x.Name)}
		}
		if scopeNames(s.in)[x.Name] == symType {
			return &EvalError{Kind: "compile", Msg: fmt.Sprintf("%s is a type, not a value: %s{...} makes one", x.Name, x.Name)}
		}
	case *ast.SelectorExpr:
		if v, ok := tw.pkgSymbol(x); ok && v.Kind() == reflect.Pointer && v.IsNil() && !v.CanAddr() {
			name := x.X.(*ast.Ident).Name + "." + x.Sel.Name
			return &EvalError{Kind: "compile", Msg: fmt.Sprintf("%s is a type, not a value: :doc %s describes it", name, name)}
		}
	}
	return nil
}

// lastExpr returns the expression a statement unit ends with, and a type
// finder that knows the unit's earlier definitions; ok is false when the
// unit does not parse or does not end with an expression.
func (s *Session) lastExpr(src string) (ast.Expr, *typeWalker, bool) {
	body, parsed := parseStmtUnit(src)
	if !parsed || len(body) == 0 {
		return nil, nil, false
	}
	es, isExpr := body[len(body)-1].(*ast.ExprStmt)
	if !isExpr {
		return nil, nil, false
	}
	tw := &typeWalker{s: s, known: map[string]reflect.Type{}}
	for _, st := range body[:len(body)-1] {
		tw.declare(st)
	}
	return es.X, tw, true
}
