package repl

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Suggestions for misspelt names. The interpreter's `package dnas "dnas"
// has no symbol LoadTeachr` and "undefined: modle" say what is missing but
// not what was meant; the session knows the imported packages' exported names and its
// own variables, and offers the nearest ones.

var (
	undefinedMember   = regexp.MustCompile(`undefined (?:method|field|selector): ([A-Za-z_]\w*)$`)
	undefinedSelector = regexp.MustCompile(`undefined selector:? ([A-Za-z_]\w*)\.([A-Za-z_]\w*)|package ([A-Za-z_]\w*) "[^"]*" has no symbol ([A-Za-z_]\w*)`)
	undefinedName     = regexp.MustCompile(`undefined: ([A-Za-z_]\w*)`)
)

// didYouMean returns a line offering the names nearest to the one a
// compile error message says is undefined ("" when none is near): a
// package's exported names for pkg.Name, the session's variables and the
// imported package names for a bare name.
func (s *Session) didYouMean(msg string) string {
	if m := undefinedSelector.FindStringSubmatch(msg); m != nil {
		pkg, name := m[1], m[2]
		if pkg == "" {
			pkg, name = m[3], m[4]
		}
		path, ok := s.pathOf(pkg)
		if !ok {
			return ""
		}
		var names []string
		for n := range packageSymbols(path) {
			if !strings.HasPrefix(n, "_") {
				names = append(names, n)
			}
		}
		near := nearest(name, names)
		for i := range near {
			near[i] = pkg + "." + near[i]
		}
		return offer(near)
	}
	if m := undefinedName.FindStringSubmatch(msg); m != nil {
		return offer(nearest(m[1], s.knownNames()))
	}
	return ""
}

// memberHint offers, for "undefined method: Shap" in the unit src, the
// fields and methods of the receiver's type nearest to the name (x.Shape),
// the receiver's type found by reading the code (typeWalker).
func (s *Session) memberHint(msg, src string) string {
	m := undefinedMember.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	name := m[1]
	body, ok := parseStmtUnit(src)
	if !ok {
		return ""
	}
	tw := typeWalker{s: s, known: map[string]reflect.Type{}}
	var recv ast.Expr
	for _, st := range body {
		if recv == nil {
			ast.Inspect(st, func(n ast.Node) bool {
				if sel, isSel := n.(*ast.SelectorExpr); isSel && sel.Sel.Name == name && recv == nil {
					recv = sel.X
				}
				return recv == nil
			})
			if recv != nil {
				break
			}
		}
		tw.declare(st)
	}
	if recv == nil {
		return ""
	}
	t, ok := tw.typeOf(recv)
	if !ok {
		return ""
	}
	var names []string
	for _, mt := range []reflect.Type{t, reflect.PointerTo(t)} {
		for i := range mt.NumMethod() {
			names = append(names, mt.Method(i).Name)
		}
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for i := range st.NumField() {
			if f := st.Field(i); f.IsExported() {
				names = append(names, f.Name)
			}
		}
	}
	slices.Sort(names)
	near := nearest(name, slices.Compact(names))
	for i := range near {
		near[i] = "." + near[i]
	}
	return offer(near)
}

// Suggest offers the names nearest to name (a session name or pkg.Name),
// as "(did you mean dnas.LoadTeacher?)", or "" when none is near: for a
// name that :doc or inspection does not know.
func (s *Session) Suggest(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pkg, member, ok := strings.Cut(name, "."); ok && !strings.Contains(member, ".") {
		if _, isPkg := s.pathOf(pkg); isPkg {
			return s.didYouMean(fmt.Sprintf("undefined selector: %s.%s", pkg, member))
		}
		return ""
	}
	return s.didYouMean("undefined: " + name)
}

// knownNames lists the session's variables and the imported package names.
func (s *Session) knownNames() []string {
	var names []string
	for n := range s.globals() {
		names = append(names, n)
	}
	for _, n := range s.imports {
		names = append(names, n)
	}
	return names
}

// definitionLoopHint explains yaegi v0.16.1's "definition loop" on a
// statement unit that uses a name defined nowhere (`x := modle` at the top
// level fails so, not with "undefined: modle"): it names the first such
// name, with the nearest known ones. "" when every name is known.
func (s *Session) definitionLoopHint(src string) string {
	body, ok := parseStmtUnit(src)
	if !ok {
		return ""
	}
	names := s.knownNames()
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	missing := ""
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		if missing != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its parameters and locals are its own
		case *ast.SelectorExpr:
			ast.Inspect(n.X, visit) // n.Sel is a field, method or package member
			return false
		case *ast.KeyValueExpr:
			ast.Inspect(n.Value, visit) // a struct literal's keys are field names
			return false
		case *ast.AssignStmt:
			for _, e := range n.Rhs {
				ast.Inspect(e, visit)
			}
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						known[id.Name] = true
					}
				}
			}
			return false
		case *ast.RangeStmt:
			ast.Inspect(n.X, visit)
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && n.Tok == token.DEFINE {
					known[id.Name] = true
				}
			}
			ast.Inspect(n.Body, visit)
			return false
		case *ast.ValueSpec:
			for _, e := range n.Values {
				ast.Inspect(e, visit)
			}
			for _, id := range n.Names {
				known[id.Name] = true
			}
			return false
		case *ast.Ident:
			if n.Name != "_" && !known[n.Name] && types.Universe.Lookup(n.Name) == nil {
				missing = n.Name
			}
		}
		return true
	}
	for _, st := range body {
		ast.Inspect(st, visit)
	}
	if missing == "" {
		return ""
	}
	h := fmt.Sprintf("(%s is not defined in this session", missing)
	if near := nearest(missing, names); len(near) > 0 {
		h += ": did you mean " + strings.Join(near, " or ") + "?"
	}
	return h + ")"
}

func offer(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("(did you mean %s?)", strings.Join(names, " or "))
}

// nearest returns up to three of names closest to name: those equal to it
// but for case, else those within an edit distance of about a third of its
// length (at least 1, at most 3), nearest first, then alphabetically.
func nearest(name string, names []string) []string {
	var fold []string
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			fold = append(fold, n)
		}
	}
	if len(fold) > 0 {
		sort.Strings(fold)
		return fold
	}
	limit := min(3, max(1, len(name)/3))
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	lower := strings.ToLower(name)
	for _, n := range names {
		if n == name {
			continue
		}
		if d := editDistance(lower, strings.ToLower(n)); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is the number of single-character insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance; in bytes: Go identifiers here are ASCII).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
