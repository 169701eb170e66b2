package repl

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
)

// A cell is split into top-level items (an import, a declaration, a
// statement) at the semicolons (explicit or at line ends) outside brackets.
// Consecutive declarations are evaluated together (so they may refer to each
// other), and so are consecutive statements; imports are handled one by one
// so that a package imported again is skipped instead of failing.

type unitKind int

const (
	unitImport unitKind = iota
	unitDecl
	unitStmt
)

// unit is a piece of a cell evaluated by one interpreter call.
type unit struct {
	kind unitKind
	src  string
	line int // line of the cell (0-based) where src starts

	imports   []importSpec // unitImport
	typeNames []string     // unitDecl: types it declares
	isExpr    bool         // unitStmt: ends with an expression statement
	isCall    bool         // that expression is a function call (maybe of one without results)
	rewrote   bool         // src differs from the user's text
	original  string       // the user's text when rewrote
}

type importSpec struct {
	name, path string // name "" for the default name
}

// item is one top-level item of a cell.
type item struct {
	tok       token.Token // first token
	src       string
	off, line int

	// What the scanner saw, for the fast path of splitCell: simple
	// statements need no parsing.
	needsParse bool // has go, range or func: may need rewriting
	notExpr    bool // has an assignment, ++/--, a send or a label at depth 0
	printCall  bool // starts with fmt.Print... or fmt.Fprint...
}

// splitItems cuts src at top-level semicolons. It returns an error only for
// malformed tokens (an unterminated string or comment), which the caller
// treats as incomplete or invalid input.
func splitItems(src string) ([]item, error) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var errs scanner.ErrorList
	var sc scanner.Scanner
	sc.Init(file, []byte(src), func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	var items []item
	depth := 0
	start := -1
	// header is true between an if, for or switch at depth 0 and the brace
	// that opens its body: the semicolons there (if x := f(); x > 0 {,
	// for i := 0; i < n; i++ {) belong to the statement.
	header := false
	var cur item
	var lits []string // the first three tokens' text
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		off := file.Offset(pos)
		if depth <= 0 {
			switch tok {
			case token.IF, token.FOR, token.SWITCH:
				header = true
			case token.LBRACE:
				header = false
			}
		}
		switch tok {
		case token.LPAREN, token.LBRACE, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACE, token.RBRACK:
			depth--
		}
		if tok == token.SEMICOLON && depth <= 0 && !header {
			if start >= 0 {
				cur.src, cur.off = src[start:off], start
				items = append(items, cur)
				start = -1
			}
			continue
		}
		if start < 0 {
			start = off
			cur = item{tok: tok}
			lits = lits[:0]
		}
		if len(lits) < 3 {
			if lit == "" {
				lit = tok.String()
			}
			lits = append(lits, lit)
			if len(lits) == 3 {
				cur.printCall = lits[0] == "fmt" && lits[1] == "." &&
					(strings.HasPrefix(lits[2], "Print") || strings.HasPrefix(lits[2], "Fprint"))
			}
		}
		switch {
		case tok == token.GO || tok == token.RANGE || tok == token.FUNC:
			cur.needsParse = true
		case depth == 0 && (tok == token.DEFINE || tok == token.INC || tok == token.DEC || tok == token.COLON ||
			(tok == token.ARROW && off != start) || (tok.IsOperator() && strings.HasSuffix(tok.String(), "=") &&
			tok != token.EQL && tok != token.NEQ && tok != token.LEQ && tok != token.GEQ)):
			cur.notExpr = true
		}
	}
	if start >= 0 {
		cur.src, cur.off = strings.TrimRight(src[start:], " \t\r\n"), start
		items = append(items, cur)
	}
	for i := range items {
		items[i].line = strings.Count(src[:items[i].off], "\n")
	}
	if errs.Len() > 0 {
		return items, errs
	}
	return items, nil
}

// declPrefix and stmtPrefix wrap an item so that go/parser can read it; both
// keep the item on the first line so that positions map back simply.
const (
	declPrefix = "package p;"
	stmtPrefix = "package p;func _(){"
)

// splitCell turns a cell into units. Each unit records the cell line it
// starts on; the session compiles it after as many newlines, so that the
// interpreter's line numbers are the cell's.
func splitCell(src string) ([]unit, error) {
	items, err := splitItems(src)
	if err != nil {
		return nil, err
	}
	var units []unit
	for _, it := range items {
		kind := unitStmt
		var file *ast.File
		switch it.tok {
		case token.IMPORT:
			kind = unitImport
		case token.TYPE, token.CONST, token.VAR:
			kind = unitDecl
		case token.FUNC:
			// A function or method declaration, or a statement starting
			// with a function literal.
			if f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+it.src, 0); err == nil {
				kind, file = unitDecl, f
			}
		}
		switch kind {
		case unitImport:
			f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+it.src, parser.ImportsOnly)
			if err != nil || len(f.Imports) == 0 {
				units = append(units, unit{kind: unitDecl, src: it.src, line: it.line}) // let the interpreter explain
				continue
			}
			u := unit{kind: unitImport, src: it.src, line: it.line}
			for _, is := range f.Imports {
				p, _ := strconv.Unquote(is.Path.Value)
				spec := importSpec{path: p}
				if is.Name != nil {
					spec.name = is.Name.Name
				}
				u.imports = append(u.imports, spec)
			}
			units = append(units, u)
		case unitDecl:
			if file == nil {
				file, _ = parser.ParseFile(token.NewFileSet(), "", declPrefix+it.src, 0)
			}
			u := unit{kind: unitDecl, src: it.src, line: it.line}
			if file != nil {
				u.typeNames = declaredTypes(file)
				if r, ok := rewrite(file, it.src, len(declPrefix)); ok {
					u.original, u.src, u.rewrote = u.src, r, true
				}
			}
			units = appendUnit(units, u)
		default:
			u := unit{kind: unitStmt, src: it.src, line: it.line}
			if !it.needsParse && !it.tok.IsKeyword() && it.tok != token.LBRACE && !labelRE.MatchString(it.src) {
				// A simple statement: nothing to rewrite, and the
				// scanner knows whether it is an expression.
				u.isExpr = !it.notExpr && !it.printCall
				if u.isExpr {
					e, err := parser.ParseExpr(it.src)
					_, u.isCall = e.(*ast.CallExpr)
					u.isCall = u.isCall && err == nil
				}
				units = appendUnit(units, u)
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "", stmtPrefix+it.src+"\n}", 0)
			if err == nil {
				body := f.Decls[0].(*ast.FuncDecl).Body.List
				if len(body) > 0 {
					if es, ok := body[len(body)-1].(*ast.ExprStmt); ok {
						u.isExpr = !isPrintCall(es.X)
						_, u.isCall = es.X.(*ast.CallExpr)
					}
				}
				if r, ok := rewrite(f, it.src, len(stmtPrefix)); ok {
					u.original, u.src, u.rewrote = u.src, r, true
				}
				if len(body) == 1 && needsFuncScope(body[0]) {
					units = appendFuncScoped(units, u, it)
					continue
				}
			}
			units = appendUnit(units, u)
		}
	}
	return units, nil
}

// labelRE matches an item that starts with a label (outer: for ...).
var labelRE = regexp.MustCompile(`^[\pL_][\pL\pN_]*\s*:[^=]`)

// cellFuncs numbers the functions appendFuncScoped declares, for names
// unique in the process (and so in every session).
var cellFuncs atomic.Int64

// needsFuncScope reports whether a top-level statement must run inside a
// function: yaegi v0.16.1 loses the variables of a multi-value definition
// (t, err := f(); v, ok := m[k]; var a, b = f()) made in a block nested in
// a top-level statement (a for, switch, select or bare block, or such a
// statement inside a top-level if): the next line reports "undefined: t".
// Inside a function the same code works.
func needsFuncScope(st ast.Stmt) bool {
	switch st.(type) {
	case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt,
		*ast.BlockStmt, *ast.IfStmt, *ast.LabeledStmt:
	default:
		return false
	}
	found := false
	ast.Inspect(st, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if x.Tok == token.DEFINE && len(x.Lhs) > 1 && len(x.Rhs) == 1 {
				found = true
			}
		case *ast.ValueSpec:
			if len(x.Names) > 1 && len(x.Values) == 1 {
				found = true
			}
		}
		return !found
	})
	return found
}

// appendFuncScoped appends statement unit u as a function declaration
// holding it, then a call of that function (see needsFuncScope). The
// declaration starts on the statement's first line, so the interpreter's
// line numbers stay the cell's (columns on that line shift by the prefix);
// it closes on a line of its own, in case the statement's last line ends
// with a comment.
func appendFuncScoped(units []unit, u unit, it item) []unit {
	name := fmt.Sprintf("__dnasCell%d", cellFuncs.Add(1))
	decl := unit{kind: unitDecl, src: "func " + name + "() { " + u.src + "\n}", line: u.line}
	units = appendUnit(units, decl)
	call := unit{kind: unitStmt, src: name + "()", line: it.line + strings.Count(it.src, "\n") + 1}
	return appendUnit(units, call)
}

// appendUnit merges u into the previous unit when both are declarations or
// both statements, keeping the cell's line layout between them.
func appendUnit(units []unit, u unit) []unit {
	if n := len(units); n > 0 && units[n-1].kind == u.kind {
		prev := &units[n-1]
		gap := u.line - (prev.line + strings.Count(prev.src, "\n"))
		sep := ";"
		if gap > 0 {
			sep = strings.Repeat("\n", gap)
		}
		if prev.rewrote || u.rewrote {
			po, uo := prev.original, u.original
			if !prev.rewrote {
				po = prev.src
			}
			if !u.rewrote {
				uo = u.src
			}
			prev.original = po + sep + uo
			prev.rewrote = true
		}
		prev.src += sep + u.src
		prev.isExpr, prev.isCall = u.isExpr, u.isCall
		prev.typeNames = append(prev.typeNames, u.typeNames...)
		return units
	}
	return append(units, u)
}

func declaredTypes(f *ast.File) []string {
	var names []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, sp := range g.Specs {
				names = append(names, sp.(*ast.TypeSpec).Name.Name)
			}
		}
	}
	return names
}

// edit replaces src[from:to] by text.
type edit struct {
	from, to int
	text     string
}

// rewrite adapts the syntax yaegi v0.16.1 lacks or mishandles, keeping line
// numbers:
//
//   - `for i := range n` over an integer n (Go 1.22) becomes a three-clause
//     loop; only ranges over what is syntactically an integer (a literal, a
//     len/cap call, arithmetic) are rewritten, see rangeInt.
//   - `go f(x)` gets a deferred recover, so that a panic in the goroutine is
//     reported instead of ending the process.
//
// prefix is the number of bytes of wrapper before src in f's source.
func rewrite(f *ast.File, src string, prefix int) (string, bool) {
	var edits []edit
	n := 0
	pos := func(p token.Pos) int { return int(p) - 1 - prefix }
	labels := map[*ast.RangeStmt]*ast.LabeledStmt{}
	ast.Inspect(f, func(node ast.Node) bool {
		if l, ok := node.(*ast.LabeledStmt); ok {
			if r, ok := l.Stmt.(*ast.RangeStmt); ok {
				labels[r] = l
			}
		}
		return true
	})
	ast.Inspect(f, func(node ast.Node) bool {
		switch s := node.(type) {
		case *ast.RangeStmt:
			if !isIntExpr(s.X) {
				return true
			}
			open := pos(s.For)
			if l := labels[s]; l != nil {
				open = pos(l.Pos()) // the label must stay on the loop
			}
			n++
			v := fmt.Sprintf("__dnasN%d", n)
			x := src[pos(s.X.Pos()):pos(s.X.End())]
			key := fmt.Sprintf("__dnasI%d", n)
			op := ":="
			if s.Key != nil {
				key = src[pos(s.Key.Pos()):pos(s.Key.End())]
				if s.Tok == token.ASSIGN {
					op = "="
				}
			}
			head := fmt.Sprintf("for %s %s %s - %s; %s < %s; %s++ ", key, op, v, v, key, v, key)
			edits = append(edits,
				edit{open, open, fmt.Sprintf("{ %s := %s; ", v, x)},
				edit{pos(s.For), pos(s.Body.Lbrace), head},
				edit{pos(s.Body.Rbrace) + 1, pos(s.Body.Rbrace) + 1, " }"})
		case *ast.GoStmt:
			if lit, ok := s.Call.Fun.(*ast.FuncLit); ok {
				at := pos(lit.Body.Lbrace) + 1
				edits = append(edits, edit{at, at, " defer __dnasGoRecover();"})
				return true
			}
			// go f(a, b) => { __g1 := a; go func() { defer ...; f(__g1, b) }() }
			// Arguments are evaluated first, as the go statement does;
			// literal arguments stay in place to keep their untyped type.
			var hoist []string
			call := s.Call
			var args []string
			for i, a := range call.Args {
				text := src[pos(a.Pos()):pos(a.End())]
				if isLiteral(a) {
					args = append(args, text)
					continue
				}
				n++
				name := fmt.Sprintf("__dnasG%d", n)
				hoist = append(hoist, name+" := "+text+"; ")
				if call.Ellipsis.IsValid() && i == len(call.Args)-1 {
					name += "..."
				}
				args = append(args, name)
			}
			fun := src[pos(call.Fun.Pos()):pos(call.Fun.End())]
			text := "{ " + strings.Join(hoist, "") + "go func() { defer __dnasGoRecover(); " +
				fun + "(" + strings.Join(args, ", ") + ") }() }"
			// Keep the line count: put the newlines of the original back.
			orig := src[pos(s.Go):pos(s.End())]
			text += strings.Repeat("\n", strings.Count(orig, "\n"))
			edits = append(edits, edit{pos(s.Go), pos(s.End()), text})
			return false
		}
		return true
	})
	if len(edits) == 0 {
		return src, false
	}
	return applyEdits(src, edits), true
}

// applyEdits applies non-overlapping edits (insertions at the same offset
// keep their order).
func applyEdits(src string, edits []edit) string {
	// stable sort by from
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].from < edits[j-1].from; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	var b strings.Builder
	at := 0
	for _, e := range edits {
		if e.from < at {
			continue // overlapping (nested go statements inside a rewritten one)
		}
		b.WriteString(src[at:e.from])
		b.WriteString(e.text)
		at = e.to
	}
	b.WriteString(src[at:])
	return b.String()
}

// isIntExpr reports whether e is, from its syntax alone, an integer: a
// literal, len/cap, an integer conversion, or arithmetic on such.
func isIntExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.INT
	case *ast.ParenExpr:
		return isIntExpr(x.X)
	case *ast.UnaryExpr:
		return isIntExpr(x.X)
	case *ast.BinaryExpr:
		switch x.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.SHL, token.SHR, token.AND, token.OR, token.XOR, token.AND_NOT:
			return isIntExpr(x.X) || isIntExpr(x.Y)
		}
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok {
			switch id.Name {
			case "len", "cap", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr":
				return true
			}
		}
	}
	return false
}

func isLiteral(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.UnaryExpr:
		return isLiteral(x.X)
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "true" || x.Name == "false"
	}
	return false
}

// rewriteAllRanges rewrites, besides what rewrite does, the ranges over a
// plain identifier, selector or call, which may be integers (Go 1.22): used
// to retry a compilation that failed.
func rewriteAllRanges(src string, stmt bool) (string, bool) {
	prefix, wrapped := declPrefix, declPrefix+src
	if stmt {
		prefix, wrapped = stmtPrefix, stmtPrefix+src+"\n}"
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", wrapped, 0)
	if err != nil {
		return src, false
	}
	found := false
	ast.Inspect(f, func(node ast.Node) bool {
		if r, ok := node.(*ast.RangeStmt); ok && r.Value == nil {
			switch r.X.(type) {
			case *ast.Ident, *ast.SelectorExpr, *ast.CallExpr:
				// Pretend it is an integer: mark it by wrapping in int().
				r.X = &ast.CallExpr{Fun: &ast.Ident{Name: "int", NamePos: r.X.Pos()}, Args: []ast.Expr{r.X}, Rparen: r.X.End() - 1}
				found = true
			}
		}
		return true
	})
	if !found {
		return src, false
	}
	// The int(...) marks span exactly the original expressions, so rewrite
	// (which accepts int(...) as an integer) copies the user's text.
	return rewrite(f, src, len(prefix))
}

// isPrintCall reports whether e calls one of fmt's print functions, whose
// results (bytes written, error) are not worth showing as the cell's value.
func isPrintCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "fmt" && (strings.HasPrefix(sel.Sel.Name, "Print") || strings.HasPrefix(sel.Sel.Name, "Fprint"))
}
