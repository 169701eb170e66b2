package repl

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/traefik/yaegi/stdlib"

	"dnas/repl/symbols"
)

// IsComplete tells a front end whether code can run as it is ("complete"),
// needs more lines ("incomplete": an open bracket, string or comment, or a
// line ending in an operator), or cannot be fixed by adding lines
// ("invalid"). indent is what to put at the start of the next line.
func (s *Session) IsComplete(code string) (status, indent string) {
	if strings.TrimSpace(code) == "" {
		return "complete", ""
	}
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(code))
	var scanErr string
	var sc scanner.Scanner
	sc.Init(file, []byte(code), func(_ token.Position, msg string) {
		if scanErr == "" {
			scanErr = msg
		}
	}, scanner.ScanComments)
	depth := 0
	last := token.ILLEGAL
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue
		}
		if tok == token.COMMENT {
			continue
		}
		switch tok {
		case token.LPAREN, token.LBRACE, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACE, token.RBRACK:
			depth--
		}
		if depth < 0 {
			return "invalid", ""
		}
		last = tok
	}
	if scanErr != "" {
		if strings.Contains(scanErr, "not terminated") {
			return "incomplete", ""
		}
		return "invalid", ""
	}
	if depth > 0 {
		return "incomplete", strings.Repeat("\t", depth)
	}
	if continues(last) {
		return "incomplete", "\t"
	}
	units, err := splitCell(code)
	if err != nil {
		return "invalid", ""
	}
	for _, u := range units {
		if u.kind == unitStmt {
			if _, err := parser.ParseFile(token.NewFileSet(), "", stmtPrefix+u.src+"\n}", 0); err != nil {
				return "invalid", ""
			}
		} else if _, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+u.src, 0); err != nil {
			return "invalid", ""
		}
	}
	return "complete", ""
}

// continues reports whether a line ending with tok must go on.
func continues(tok token.Token) bool {
	switch {
	case tok.IsOperator():
		switch tok {
		case token.RPAREN, token.RBRACK, token.RBRACE, token.INC, token.DEC, token.SEMICOLON:
			return false
		}
		return true
	case tok == token.FUNC, tok == token.IMPORT, tok == token.TYPE, tok == token.VAR, tok == token.CONST,
		tok == token.GO, tok == token.DEFER, tok == token.IF, tok == token.FOR, tok == token.SWITCH,
		tok == token.SELECT, tok == token.CASE, tok == token.ELSE, tok == token.CHAN, tok == token.MAP,
		tok == token.STRUCT, tok == token.INTERFACE, tok == token.RANGE:
		return true
	}
	return false
}

var goKeywords = []string{"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
	"return", "select", "struct", "switch", "type", "var"}

var goPredeclared = []string{"any", "append", "bool", "byte", "cap", "clear", "close", "comparable",
	"complex", "complex128", "complex64", "copy", "delete", "error", "false", "float32", "float64",
	"imag", "int", "int16", "int32", "int64", "int8", "iota", "len", "make", "max", "min", "new", "nil",
	"panic", "print", "println", "real", "recover", "rune", "string", "true", "uint", "uint16",
	"uint32", "uint64", "uint8", "uintptr"}

// isIdentRune reports whether r can be part of an identifier.
func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// exprBefore returns the selector expression (a.b.c) ending at cursor, as
// the base ("a.b", "" if none) and the partial last name ("c").
func exprBefore(code string, cursor int) (base, partial string) {
	i := cursor
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(code[:i])
		if !isIdentRune(r) && r != '.' {
			break
		}
		i -= size
	}
	expr := code[i:cursor]
	if j := strings.LastIndexByte(expr, '.'); j >= 0 {
		return expr[:j], expr[j+1:]
	}
	return "", expr
}

// Complete returns the names that can complete the identifier ending at
// cursor (a byte offset in code), and the byte range [start, end) of code
// they replace. After "pkg." it offers the package's members, after
// "value." (a variable of the session, possibly followed by fields) its
// fields and methods, otherwise the names in scope, keywords and builtins.
func (s *Session) Complete(code string, cursor int) (matches []string, start, end int) {
	if cursor < 0 || cursor > len(code) {
		cursor = len(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base, partial := exprBefore(code, cursor)
	start, end = cursor-len(partial), cursor
	var cands []string
	if base != "" {
		cands = s.membersOf(base)
	} else {
		for name := range scopeNames(s.in) {
			if !strings.Contains(name, "/") && !strings.HasPrefix(name, "__dnas") {
				cands = append(cands, name)
			}
		}
		for _, name := range s.imports {
			cands = append(cands, name)
		}
		cands = append(cands, goKeywords...)
		cands = append(cands, goPredeclared...)
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, partial) && !seen[c] {
			seen[c] = true
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	return matches, start, end
}

// pathOf returns the import path of the package imported as name.
func (s *Session) pathOf(name string) (string, bool) {
	for p, n := range s.imports {
		if n == name {
			return p, true
		}
	}
	return "", false
}

// packageSymbols returns the exported symbols of an imported package.
func packageSymbols(path string) map[string]reflect.Value {
	key := path + "/" + packageName(path)
	if m, ok := symbols.Symbols[key]; ok {
		return m
	}
	return stdlib.Symbols[key]
}

// membersOf lists the members of base: a package, or a value reached from
// a session variable through fields.
func (s *Session) membersOf(base string) []string {
	parts := strings.Split(base, ".")
	if path, ok := s.pathOf(parts[0]); ok && len(parts) == 1 {
		var out []string
		for name := range packageSymbols(path) {
			if !strings.HasPrefix(name, "_") {
				out = append(out, name)
			}
		}
		return out
	}
	t, ok := s.typeOf(parts)
	if !ok {
		return nil
	}
	return typeMembers(t)
}

// typeOf resolves a session variable followed by field names to a type.
func (s *Session) typeOf(parts []string) (reflect.Type, bool) {
	if path, ok := s.pathOf(parts[0]); ok && len(parts) >= 2 {
		v, ok := packageSymbols(path)[parts[1]]
		if !ok || !v.CanAddr() {
			return nil, false // a function, a type or a constant: only variables are addressable
		}
		return fieldChain(v.Type(), parts[2:])
	}
	v, ok := s.globals()[parts[0]]
	if !ok || !v.IsValid() {
		return nil, false
	}
	t := v.Type()
	if v.Kind() == reflect.Interface && !v.IsNil() {
		t = v.Elem().Type()
	}
	return fieldChain(t, parts[1:])
}

func fieldChain(t reflect.Type, fields []string) (reflect.Type, bool) {
	for _, f := range fields {
		st := t
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() != reflect.Struct {
			return nil, false
		}
		sf, ok := st.FieldByName(f)
		if !ok {
			return nil, false
		}
		t = sf.Type
	}
	return t, true
}

// typeMembers lists the exported fields and methods of t (and of *t).
func typeMembers(t reflect.Type) []string {
	var out []string
	mt := t
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		mt = reflect.PointerTo(t)
	}
	for i := 0; i < mt.NumMethod(); i++ {
		out = append(out, mt.Method(i).Name)
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for i := 0; i < st.NumField(); i++ {
			if f := st.Field(i); f.IsExported() {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// exprAt returns the selector expression around cursor (a.b.c, extending
// the name under the cursor to its end).
func exprAt(code string, cursor int) string {
	if cursor < 0 || cursor > len(code) {
		cursor = len(code)
	}
	j := cursor
	for j < len(code) {
		r, size := utf8.DecodeRuneInString(code[j:])
		if !isIdentRune(r) {
			break
		}
		j += size
	}
	base, partial := exprBefore(code, j)
	if base == "" && partial == "" {
		// Inside a call's arguments: the function being called.
		depth := 0
		for k := cursor - 1; k >= 0; k-- {
			switch code[k] {
			case ')':
				depth++
			case '(':
				if depth == 0 {
					base, partial = exprBefore(code, k)
					k = -1
				} else {
					depth--
				}
			case '\n':
				k = -1
			}
		}
	}
	if base == "" {
		return partial
	}
	return base + "." + partial
}

// Inspect returns the declaration and doc comment of the symbol at cursor:
// a package, a package member (pkg.Func, pkg.Type, pkg.Type.Method), a
// method or field of a session variable (model.Forward), or a session
// variable itself (its type and value). For a name it does not know but
// for a slip (dnas.LoadTeachr), it says so and offers the nearest names.
func (s *Session) Inspect(code string, cursor int) (text string, found bool) {
	expr := exprAt(code, cursor)
	if expr == "" {
		return "", false
	}
	if text, found = s.doc(expr); found {
		return text, true
	}
	if hint := s.Suggest(expr); hint != "" {
		return fmt.Sprintf("%s is not defined %s", expr, hint), true
	}
	return "", false
}

// Doc is the documentation of a name typed by itself (the REPL's :doc
// command), without Inspect's suggestions.
func (s *Session) Doc(name string) (string, bool) {
	name = strings.TrimSpace(name)
	expr := exprAt(name, len(name))
	if expr == "" {
		return "", false
	}
	return s.doc(expr)
}

func (s *Session) doc(expr string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describe(expr)
}

func (s *Session) describe(expr string) (string, bool) {
	parts := strings.Split(expr, ".")
	if path, ok := s.pathOf(parts[0]); ok {
		if len(parts) == 1 {
			return docOf(path, "")
		}
		return docOf(path, strings.Join(parts[1:], "."))
	}
	// A session variable, or a member of its type.
	if len(parts) == 1 {
		if v, ok := s.globals()[parts[0]]; ok && v.IsValid() {
			text := fmt.Sprintf("var %s %s\n\n%s", parts[0], v.Type(), formatValue(safeInterface(v)))
			if d, ok := typeDoc(v.Type()); ok {
				text += "\n\n" + d
			}
			return text, true
		}
		if sig, ok := s.funcs[parts[0]]; ok {
			var b strings.Builder
			if printer.Fprint(&b, token.NewFileSet(), &ast.FuncDecl{Name: ast.NewIdent(parts[0]), Type: sig}) == nil {
				return b.String() + "\n\ndeclared in this session", true
			}
		}
		if kind, ok := scopeNames(s.in)[parts[0]]; ok {
			what := map[int]string{symConst: "constant", symFunc: "function", symType: "type", symVar: "variable"}[kind]
			if what == "" {
				what = "name"
			}
			return fmt.Sprintf("%s %s, declared in this session", what, parts[0]), true
		}
		return "", false
	}
	t, ok := s.typeOf(parts[:len(parts)-1])
	if !ok {
		return "", false
	}
	name := parts[len(parts)-1]
	nt := t
	if nt.Kind() == reflect.Pointer {
		nt = nt.Elem()
	}
	if nt.PkgPath() != "" && nt.Name() != "" {
		if d, ok := docOf(nt.PkgPath(), nt.Name()+"."+name); ok {
			return d, true
		}
	}
	if m, ok := reflect.PointerTo(nt).MethodByName(name); ok {
		return fmt.Sprintf("method %s.%s %s", nt, name, m.Type), true
	}
	if nt.Kind() == reflect.Struct {
		if f, ok := nt.FieldByName(name); ok {
			return fmt.Sprintf("field %s.%s %s", nt, name, f.Type), true
		}
	}
	return "", false
}

func safeInterface(v reflect.Value) any {
	if v.CanInterface() {
		return v.Interface()
	}
	return v.String()
}

// typeDoc returns the doc of a named type (or of the type a pointer points to).
func typeDoc(t reflect.Type) (string, bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == "" || t.Name() == "" {
		return "", false
	}
	return docOf(t.PkgPath(), t.Name())
}

// docOf returns the doc of name ("" for the package itself, "Func",
// "Type.Method") in the package at path: from the generated table for the
// project's packages, from GOROOT's sources for the standard library.
func docOf(path, name string) (string, bool) {
	key := path
	if name != "" {
		key += "." + name
	}
	if d, ok := symbols.Docs[key]; ok {
		return d, true
	}
	docs := stdlibDocs(path)
	if d, ok := docs[key]; ok {
		return d, true
	}
	return "", false
}

var (
	stdDocMu sync.Mutex
	stdDocs  = map[string]map[string]string{}
)

// stdlibDocs reads the doc comments of a standard library package from
// GOROOT, once, when GOROOT's sources are there.
func stdlibDocs(path string) map[string]string {
	stdDocMu.Lock()
	defer stdDocMu.Unlock()
	if d, ok := stdDocs[path]; ok {
		return d
	}
	out := map[string]string{}
	stdDocs[path] = out
	root := runtime.GOROOT()
	if r := os.Getenv("GOROOT"); r != "" {
		root = r
	}
	if root == "" {
		root = build.Default.GOROOT
	}
	dir := filepath.Join(root, "src", filepath.FromSlash(path))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		if ok, _ := build.Default.MatchFile(dir, n); !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err == nil {
			files = append(files, f)
		}
	}
	d, err := doc.NewFromFiles(fset, files, path)
	if err != nil {
		return out
	}
	add := func(key string, decl ast.Node, text string) {
		out[path+"."+key] = printDecl(fset, decl) + "\n\n" + strings.TrimSpace(text)
	}
	out[path] = "package " + d.Name + "\n\n" + strings.TrimSpace(d.Doc)
	for _, f := range d.Funcs {
		add(f.Name, f.Decl, f.Doc)
	}
	for _, v := range append(d.Consts, d.Vars...) {
		for _, n := range v.Names {
			add(n, v.Decl, v.Doc)
		}
	}
	for _, t := range d.Types {
		add(t.Name, t.Decl, t.Doc)
		for _, f := range t.Funcs {
			add(f.Name, f.Decl, f.Doc)
		}
		for _, m := range t.Methods {
			add(t.Name+"."+m.Name, m.Decl, m.Doc)
		}
		for _, v := range append(t.Consts, t.Vars...) {
			for _, n := range v.Names {
				add(n, v.Decl, v.Doc)
			}
		}
	}
	return out
}

func printDecl(fset *token.FileSet, decl ast.Node) string {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		c := *d
		c.Body, c.Doc = nil, nil
		decl = &c
	case *ast.GenDecl:
		c := *d
		c.Doc = nil
		decl = &c
	}
	var b bytes.Buffer
	printer.Fprint(&b, fset, decl)
	s := b.String()
	if len(s) > 2000 {
		s = s[:2000] + "\n\t..."
	}
	return s
}
