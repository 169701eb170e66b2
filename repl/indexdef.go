package repl

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

// yaegi v0.16.1 cannot infer the type of a top-level variable defined from
// an index expression when the indexed value is a string or has a compiled
// package's type (b := r.Blocks[i] with r a *dnas.SearchResult; c := s[0]
// with s a string): it reports "constant definition loop" or crashes while
// compiling. Inside a function the same code works, and so does a variable
// whose type is given: b := *new(dnas.BlockSearch); b = r.Blocks[i]. When a
// cell fails so, the session works out the type itself, from the types of
// the session's variables (reflection), the packages' symbols and the
// cell's own earlier definitions, and compiles that form instead. Nothing is
// evaluated to find a type, and a wrong type fails to compile rather than
// convert: then the user gets the interpreter's error and what to do.

// typeIndexDefines rewrites each top-level `name := expr` of the statement
// unit src whose expr holds an index expression, and whose type it can name
// in the session, as `name := *new(T); name = expr` on the same line (a
// unit starting with `var` would be read as declarations only). ok is false
// when it rewrote none.
func (s *Session) typeIndexDefines(src string) (out string, ok bool) {
	body, parsed := parseStmtUnit(src)
	if !parsed {
		return "", false
	}
	base := token.Pos(len(stmtPrefix) + 1) // file offsets start at Pos 1
	tw := typeWalker{s: s, known: map[string]reflect.Type{}}
	var b strings.Builder
	last := 0
	for _, st := range body {
		if id, a, isDef := indexDefine(st); isDef {
			if t, found := tw.typeOf(a.Rhs[0]); found {
				if name, named := s.typeName(t); named {
					b.WriteString(src[last:int(a.Pos()-base)])
					fmt.Fprintf(&b, "%s := *new(%s); %s = ", id.Name, name, id.Name)
					last, ok = int(a.Rhs[0].Pos()-base), true
				}
			}
		}
		tw.declare(st)
	}
	if !ok {
		return "", false
	}
	b.WriteString(src[last:])
	return b.String(), true
}

// parseStmtUnit parses a statement unit as the body of a function (how the
// session reads a cell's statements); ok is false if it does not parse.
func parseStmtUnit(src string) (body []ast.Stmt, ok bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "", stmtPrefix+src+"\n}", 0)
	if err != nil {
		return nil, false
	}
	return f.Decls[0].(*ast.FuncDecl).Body.List, true
}

// indexDefine reports whether st is the definition yaegi fails on at the
// top level, `name := expr` with an index expression in expr, and returns
// its name and the statement.
func indexDefine(st ast.Stmt) (*ast.Ident, *ast.AssignStmt, bool) {
	a, ok := st.(*ast.AssignStmt)
	if !ok || a.Tok != token.DEFINE || len(a.Lhs) != 1 || len(a.Rhs) != 1 || !hasIndex(a.Rhs[0]) {
		return nil, nil, false
	}
	id, ok := a.Lhs[0].(*ast.Ident)
	if !ok || id.Name == "_" {
		return nil, nil, false
	}
	return id, a, true
}

func hasIndex(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if _, ok := n.(*ast.IndexExpr); ok {
			found = true
		}
		return !found
	})
	return found
}

// typeWalker finds the static type of an expression of a top-level
// statement unit from the session's variables, the packages' symbols and
// the unit's earlier definitions. It reads the code only: nothing is
// evaluated.
type typeWalker struct {
	s *Session
	// known holds the names the unit has declared so far: their type, or
	// nil when it could not be found.
	known map[string]reflect.Type
}

// declare records the names st declares at the top level.
func (tw *typeWalker) declare(st ast.Stmt) {
	set := func(e ast.Expr, t reflect.Type) {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			tw.known[id.Name] = t
		}
	}
	switch x := st.(type) {
	case *ast.AssignStmt:
		if x.Tok != token.DEFINE {
			return
		}
		if len(x.Lhs) == len(x.Rhs) {
			for i, l := range x.Lhs {
				t, _ := tw.typeOf(x.Rhs[i])
				set(l, t)
			}
			return
		}
		var outs reflect.Type
		if c, ok := x.Rhs[0].(*ast.CallExpr); ok && len(x.Rhs) == 1 {
			if ft, ok := tw.funcOf(c); ok && ft.NumOut() == len(x.Lhs) {
				outs = ft
			}
		}
		for i, l := range x.Lhs {
			var t reflect.Type
			if outs != nil {
				t = outs.Out(i)
			}
			set(l, t)
		}
	case *ast.DeclStmt:
		g, ok := x.Decl.(*ast.GenDecl)
		if !ok {
			return
		}
		for _, sp := range g.Specs {
			switch sp := sp.(type) {
			case *ast.ValueSpec:
				var t reflect.Type
				if sp.Type != nil {
					t, _ = tw.typeExpr(sp.Type)
				}
				for i, id := range sp.Names {
					ti := t
					if sp.Type == nil && len(sp.Values) == len(sp.Names) {
						ti, _ = tw.typeOf(sp.Values[i])
					}
					set(id, ti)
				}
			case *ast.TypeSpec:
				set(sp.Name, nil)
			}
		}
	}
}

// variable returns the type of the variable name, ok false when name is
// not one or its type is unknown.
func (tw *typeWalker) variable(name string) (reflect.Type, bool) {
	if t, ok := tw.known[name]; ok {
		return t, t != nil
	}
	v, ok := tw.s.globals()[name]
	if !ok || !v.IsValid() {
		if sig, isFunc := tw.s.funcs[name]; isFunc {
			return tw.funcType(sig)
		}
		return nil, false
	}
	return v.Type(), true
}

// pkgSymbol returns the symbol pkg.name when pkg names an imported package
// that the unit and the session do not hide with a variable.
func (tw *typeWalker) pkgSymbol(e ast.Expr) (reflect.Value, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return reflect.Value{}, false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return reflect.Value{}, false
	}
	if _, ok := tw.known[pkg.Name]; ok {
		return reflect.Value{}, false
	}
	if _, ok := tw.s.globals()[pkg.Name]; ok {
		return reflect.Value{}, false
	}
	path, ok := tw.s.pathOf(pkg.Name)
	if !ok {
		return reflect.Value{}, false
	}
	v, ok := packageSymbols(path)[sel.Sel.Name]
	return v, ok && v.IsValid()
}

// typeOf returns the static type of e, ok false when it cannot tell.
func (tw *typeWalker) typeOf(e ast.Expr) (reflect.Type, bool) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return tw.typeOf(x.X)
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT:
			return reflect.TypeFor[int](), true
		case token.FLOAT:
			return reflect.TypeFor[float64](), true
		case token.STRING:
			return reflect.TypeFor[string](), true
		case token.CHAR:
			return reflect.TypeFor[rune](), true
		}
	case *ast.Ident:
		return tw.variable(x.Name)
	case *ast.CompositeLit:
		if x.Type != nil {
			return tw.typeExpr(x.Type)
		}
	case *ast.UnaryExpr:
		t, ok := tw.typeOf(x.X)
		if !ok {
			return nil, false
		}
		switch x.Op {
		case token.AND:
			return reflect.PointerTo(t), true
		case token.SUB, token.ADD, token.XOR, token.NOT:
			return t, true
		case token.ARROW:
			if t.Kind() == reflect.Chan {
				return t.Elem(), true
			}
		}
	case *ast.StarExpr:
		if t, ok := tw.typeOf(x.X); ok && t.Kind() == reflect.Pointer {
			return t.Elem(), true
		}
	case *ast.BinaryExpr:
		switch x.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ, token.LAND, token.LOR:
			return reflect.TypeFor[bool](), true
		case token.SHL, token.SHR:
			return tw.typeOf(x.X)
		}
		// The typed operand gives the type (an untyped constant takes it).
		if _, lit := x.X.(*ast.BasicLit); lit {
			return tw.typeOf(x.Y)
		}
		return tw.typeOf(x.X)
	case *ast.SelectorExpr:
		if v, ok := tw.pkgSymbol(x); ok {
			if !v.CanAddr() && v.Kind() != reflect.Func {
				return nil, false // a type or a constant, not a value
			}
			return v.Type(), true
		}
		t, ok := tw.typeOf(x.X)
		if !ok {
			return nil, false
		}
		if ft, ok := fieldChain(t, []string{x.Sel.Name}); ok {
			return ft, true
		}
		return methodValue(t, x.Sel.Name)
	case *ast.IndexExpr:
		t, ok := tw.indexed(x.X)
		if !ok {
			return nil, false
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			return t.Elem(), true
		case reflect.String:
			return reflect.TypeFor[byte](), true
		}
	case *ast.SliceExpr:
		t, ok := tw.indexed(x.X)
		if !ok {
			return nil, false
		}
		switch t.Kind() {
		case reflect.Array:
			return reflect.SliceOf(t.Elem()), true
		case reflect.Slice, reflect.String:
			return t, true
		}
	case *ast.TypeAssertExpr:
		if x.Type != nil {
			return tw.typeExpr(x.Type)
		}
	case *ast.CallExpr:
		return tw.callType(x)
	case *ast.FuncLit:
		return tw.funcType(x.Type)
	}
	return nil, false
}

// funcType resolves the type of a function literal from its signature.
func (tw *typeWalker) funcType(ft *ast.FuncType) (reflect.Type, bool) {
	list := func(fl *ast.FieldList) (ts []reflect.Type, variadic, ok bool) {
		if fl == nil {
			return nil, false, true
		}
		for _, f := range fl.List {
			te := f.Type
			if el, isDots := te.(*ast.Ellipsis); isDots {
				te, variadic = &ast.ArrayType{Elt: el.Elt}, true
			}
			t, found := tw.typeExpr(te)
			if !found {
				return nil, false, false
			}
			for range max(1, len(f.Names)) {
				ts = append(ts, t)
			}
		}
		return ts, variadic, true
	}
	in, variadic, ok := list(ft.Params)
	if !ok {
		return nil, false
	}
	out, _, ok := list(ft.Results)
	if !ok {
		return nil, false
	}
	return reflect.FuncOf(in, out, variadic), true
}

// indexed types the operand of an index or slice expression, a pointer to
// an array standing for the array.
func (tw *typeWalker) indexed(e ast.Expr) (reflect.Type, bool) {
	t, ok := tw.typeOf(e)
	if ok && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Array {
		t = t.Elem()
	}
	return t, ok
}

// callType types a single-valued call: a conversion, a builtin, or a call
// of a function or method whose type is known.
func (tw *typeWalker) callType(c *ast.CallExpr) (reflect.Type, bool) {
	if t, ok := tw.typeExpr(c.Fun); ok {
		return t, true // a conversion
	}
	if id, ok := c.Fun.(*ast.Ident); ok && len(c.Args) > 0 {
		if _, hidden := tw.variable(id.Name); !hidden {
			switch id.Name {
			case "len", "cap", "copy":
				return reflect.TypeFor[int](), true
			case "append", "min", "max":
				return tw.typeOf(c.Args[0])
			case "make":
				return tw.typeExpr(c.Args[0])
			case "new":
				t, ok := tw.typeExpr(c.Args[0])
				if !ok {
					return nil, false
				}
				return reflect.PointerTo(t), true
			}
		}
	}
	ft, ok := tw.funcOf(c)
	if !ok || ft.NumOut() != 1 {
		return nil, false
	}
	return ft.Out(0), true
}

// funcOf returns the type of the function c calls.
func (tw *typeWalker) funcOf(c *ast.CallExpr) (reflect.Type, bool) {
	ft, ok := tw.typeOf(c.Fun)
	if !ok || ft.Kind() != reflect.Func {
		return nil, false
	}
	return ft, true
}

// methodValue returns the type of the method value t.name (without its
// receiver), looking at the methods of *t too.
func methodValue(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() == reflect.Interface {
		m, ok := t.MethodByName(name)
		return m.Type, ok
	}
	m, ok := t.MethodByName(name)
	if !ok && t.Kind() != reflect.Pointer {
		m, ok = reflect.PointerTo(t).MethodByName(name)
	}
	if !ok {
		return nil, false
	}
	// Drop the receiver: the method's type has it as its first argument.
	in := make([]reflect.Type, 0, m.Type.NumIn()-1)
	for i := 1; i < m.Type.NumIn(); i++ {
		in = append(in, m.Type.In(i))
	}
	out := make([]reflect.Type, m.Type.NumOut())
	for i := range out {
		out[i] = m.Type.Out(i)
	}
	return reflect.FuncOf(in, out, m.Type.IsVariadic()), true
}

// predeclared are the type names every Go program has.
var predeclared = map[string]reflect.Type{
	"bool": reflect.TypeFor[bool](), "string": reflect.TypeFor[string](), "error": reflect.TypeFor[error](),
	"any": reflect.TypeFor[any](), "byte": reflect.TypeFor[byte](), "rune": reflect.TypeFor[rune](),
	"int": reflect.TypeFor[int](), "int8": reflect.TypeFor[int8](), "int16": reflect.TypeFor[int16](),
	"int32": reflect.TypeFor[int32](), "int64": reflect.TypeFor[int64](),
	"uint": reflect.TypeFor[uint](), "uint8": reflect.TypeFor[uint8](), "uint16": reflect.TypeFor[uint16](),
	"uint32": reflect.TypeFor[uint32](), "uint64": reflect.TypeFor[uint64](), "uintptr": reflect.TypeFor[uintptr](),
	"float32": reflect.TypeFor[float32](), "float64": reflect.TypeFor[float64](),
	"complex64": reflect.TypeFor[complex64](), "complex128": reflect.TypeFor[complex128](),
}

// typeExpr resolves a type written in the code: predeclared names, a
// package's types, and slices, arrays, maps and pointers of those.
func (tw *typeWalker) typeExpr(e ast.Expr) (reflect.Type, bool) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return tw.typeExpr(x.X)
	case *ast.Ident:
		t, ok := predeclared[x.Name]
		if !ok {
			return nil, false
		}
		if _, shadowed := tw.known[x.Name]; shadowed {
			return nil, false
		}
		if _, shadowed := scopeNames(tw.s.in)[x.Name]; shadowed {
			return nil, false
		}
		return t, true
	case *ast.SelectorExpr:
		v, ok := tw.pkgSymbol(x)
		if !ok || v.Kind() != reflect.Pointer || !v.IsNil() || v.CanAddr() {
			return nil, false // not a type
		}
		return v.Type().Elem(), true
	case *ast.StarExpr:
		t, ok := tw.typeExpr(x.X)
		if !ok {
			return nil, false
		}
		return reflect.PointerTo(t), true
	case *ast.ArrayType:
		t, ok := tw.typeExpr(x.Elt)
		if !ok {
			return nil, false
		}
		if x.Len == nil {
			return reflect.SliceOf(t), true
		}
		if l, ok := x.Len.(*ast.BasicLit); ok && l.Kind == token.INT {
			if n, err := strconv.ParseInt(l.Value, 0, 0); err == nil && n >= 0 {
				return reflect.ArrayOf(int(n), t), true
			}
		}
	case *ast.MapType:
		k, ok := tw.typeExpr(x.Key)
		if !ok {
			return nil, false
		}
		v, ok := tw.typeExpr(x.Value)
		if !ok || !k.Comparable() {
			return nil, false
		}
		return reflect.MapOf(k, v), true
	case *ast.InterfaceType:
		if x.Methods == nil || len(x.Methods.List) == 0 {
			return reflect.TypeFor[any](), true
		}
	}
	return nil, false
}

// typeName spells t as the session's code would: predeclared types by name,
// a package's types qualified by the name the session imported it under,
// and composite types built from those. Types the session cannot name (a
// package not imported, a struct type declared in a cell, a generic
// instance) give false.
func (s *Session) typeName(t reflect.Type) (string, bool) {
	if t.Name() != "" {
		if strings.ContainsAny(t.Name(), "[") {
			return "", false
		}
		if t.PkgPath() == "" {
			return t.Name(), true // predeclared: int, string, error, ...
		}
		name, ok := s.imports[t.PkgPath()]
		if !ok {
			return "", false
		}
		return name + "." + t.Name(), true
	}
	elem := func(prefix string, e reflect.Type) (string, bool) {
		n, ok := s.typeName(e)
		return prefix + n, ok
	}
	switch t.Kind() {
	case reflect.Slice:
		return elem("[]", t.Elem())
	case reflect.Array:
		return elem(fmt.Sprintf("[%d]", t.Len()), t.Elem())
	case reflect.Pointer:
		return elem("*", t.Elem())
	case reflect.Map:
		k, ok := s.typeName(t.Key())
		if !ok {
			return "", false
		}
		return elem("map["+k+"]", t.Elem())
	case reflect.Chan:
		if t.Elem().Kind() == reflect.Chan {
			return "", false // chan (<-chan T) needs parentheses; rare enough
		}
		return elem(map[reflect.ChanDir]string{reflect.BothDir: "chan ", reflect.RecvDir: "<-chan ", reflect.SendDir: "chan<- "}[t.ChanDir()], t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "interface{}", true
		}
	case reflect.Func:
		return s.funcTypeName(t)
	}
	return "", false
}

func (s *Session) funcTypeName(t reflect.Type) (string, bool) {
	var in, out []string
	for i := range t.NumIn() {
		p := t.In(i)
		prefix := ""
		if t.IsVariadic() && i == t.NumIn()-1 {
			p, prefix = p.Elem(), "..."
		}
		n, ok := s.typeName(p)
		if !ok {
			return "", false
		}
		in = append(in, prefix+n)
	}
	for i := range t.NumOut() {
		n, ok := s.typeName(t.Out(i))
		if !ok {
			return "", false
		}
		out = append(out, n)
	}
	name := "func(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
	case 1:
		name += " " + out[0]
	default:
		name += " (" + strings.Join(out, ", ") + ")"
	}
	return name, true
}
