package repl

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestCallWithoutResultsHasNoValue: a cell that ends with a call of a
// function that returns nothing shows no value (it once showed a pointer).
func TestCallWithoutResultsHasNoValue(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "func must(err error) {\n\tif err != nil {\n\t\tpanic(err)\n\t}\n}\nfunc nothing() {}")
	for _, code := range []string{"must(nil)", "nothing()", "x := 1\nmust(nil)", "defer nothing()"} {
		res, err := f.s.Eval(context.Background(), code)
		if err != nil || res.HasValue {
			t.Errorf("Eval(%q) = %+v (text %q), %v; want no value", code, res, res.Text, err)
		}
	}
}

// TestStatementHeaderIsNotAValue: an if, for or switch with an init
// statement ends a cell without a value (the semicolon in its header once
// cut it in two, and the second half, an expression, showed the last value
// the interpreter had: the cell's context).
func TestStatementHeaderIsNotAValue(t *testing.T) {
	f := newFixture(t)
	for _, code := range []string{
		"if x := 1; x > 5 { panic(x) }",
		"n := 0\nfor i := 0; i < 3; i++ { n += i }",
		"switch y := 2; y { case 2: }",
		"if a := 1; a > 5 {\n} else if b := 2; b > 5 {\n}",
		"for _, v := range []int{1, 2} { _ = v }",
	} {
		res, err := f.s.Eval(context.Background(), code)
		if err != nil || res.HasValue {
			t.Errorf("Eval(%q) = %+v (text %q), %v; want no value", code, res, res.Text, err)
		}
	}
	// Statements after such a header still split, and the last one shows.
	res, err := f.s.Eval(context.Background(), "z := 0\nif w := 3; w > 1 { z = w }\nz")
	if err != nil || res.Text != "3" {
		t.Errorf("cell ending with z after an if with init: %+v, %v; want 3", res, err)
	}
}

// TestMultiValueDefinitionInTopLevelBlock: t, err := f() inside a for,
// switch, select or block of a cell (the everyday "for each preset, load
// it, check err" loop) works: yaegi alone loses t on the next line
// ("undefined: t"), so the session runs such statements inside a function.
func TestMultiValueDefinitionInTopLevelBlock(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "func two(i int) (int, error) { return i * 10, nil }\nm := map[string]int{\"a\": 1}\nvar a any = 4\ntotal := 0")
	for _, c := range []struct{ code, want string }{
		{"for _, i := range []int{1, 2} {\n\tv, err := two(i)\n\tif err != nil { panic(err) }\n\ttotal += v\n}\ntotal", "30"},
		{"for i := 0; i < 2; i++ {\n\tv, ok := m[\"a\"] // comma-ok\n\tif ok { total += v }\n}\ntotal", "32"},
		{"switch {\ncase true:\n\tv, ok := a.(int)\n\tif ok { total += v }\n}\ntotal", "36"},
		{"{\n\tvar p, q = two(1)\n\t_ = q\n\ttotal += p\n}\ntotal", "46"},
		{"if total > 0 {\n\tfor range 2 {\n\t\tv, _ := two(2)\n\t\ttotal += v\n\t}\n}\ntotal", "86"},
		{"outer:\nfor i := 0; i < 3; i++ {\n\tv, err := two(i)\n\tif err != nil || v > 10 { break outer }\n\ttotal += v\n}\ntotal", "96"},
	} {
		res, err := f.s.Eval(context.Background(), c.code)
		if err != nil || res.Text != c.want {
			t.Errorf("Eval(%q) = %q, %v; want %s", c.code, res.Text, err, c.want)
		}
	}
	// Errors inside still name the cell's line.
	res, err := f.s.Eval(context.Background(), "for i := 0; i < 1; i++ {\n\tv, err := two(i)\n\tfmt.Println(v, err, nosuchName)\n}")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "nosuchName") {
		t.Errorf("error inside a wrapped loop: %+v, %v; want line 3 and the name", res, err)
	}
}

// TestIndexDefinition: yaegi v0.16.1 cannot type a top-level variable
// defined from an index into a string or into a compiled package's value
// ("constant definition loop", or a crash while compiling); the session
// finds the type and compiles `b := *new(T); b = ...` instead.
func TestIndexDefinition(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "s := \"abc\"\nr := &dnas.SearchResult{Blocks: []dnas.BlockSearch{{Block: \"enc0\", Baseline: 2}, {Block: \"enc1\"}}}")
	for _, c := range []struct{ code, want string }{
		{"p := s[1]\nfmt.Sprintf(\"%T %v\", p, p)", "uint8 98"},
		{"x := 1\nb := r.Blocks[x].Block\nb", "enc1"},
		{"c := r.Blocks[0]\nfmt.Sprintf(\"%T %v\", c, c.Baseline)", "dnas.BlockSearch 2"},
		{"cp := &r.Blocks[0]\ncp.Baseline = 3\nr.Blocks[0].Baseline", "3"},
		{"c2 := r.Clone().Blocks[1]\nc2.Block", "enc1"},
		// Names defined earlier in the same cell, from literals and calls.
		{"bs := r.Blocks\nfirst := bs[0].Block + s[0:1]\nfirst", "enc0a"},
		{"q := &dnas.SearchResult{Blocks: make([]dnas.BlockSearch, 2)}\nn := len(q.Blocks[1:])\nn", "1"},
		{"m := map[string][]int{\"a\": {4, 5}}\nv := m[\"a\"][1] * 2\nv", "10"},
		{"parts := strings.Split(\"a,b\", \",\")\nlastPart := parts[len(parts)-1]\nlastPart", "b"},
		{"import \"strconv\"\nu, err := strconv.Atoi(\"7\")\nds := []int{u}\nd := ds[0] + 1\nfmt.Sprint(d, err)", "8 <nil>"},
		// Later cells see the variables with their types.
		{"fmt.Sprintf(\"%T %T %T\", b, c, v)", "string dnas.BlockSearch int"},
	} {
		res, err := f.s.Eval(context.Background(), c.code)
		if err != nil || res.Text != c.want {
			t.Errorf("Eval(%q) = %q, %v; want %s", c.code, res.Text, err, c.want)
		}
	}
}

// TestIndexDefinitionHint: where the session cannot find the type (here
// the result of a function declared in a cell), the error still says what
// to do, and the session stays whole: completion used to panic after such a
// failure (yaegi declared the variable without room for it).
func TestIndexDefinitionHint(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "func word() string { return \"abc\" }\nr := &dnas.SearchResult{Blocks: []dnas.BlockSearch{{Block: \"enc0\"}}}")
	for _, c := range []struct{ code, name string }{
		{"p := word()[0]", "p"},
		{"x := 1\nq := word()[x]", "q"},
	} {
		_, err := f.s.Eval(context.Background(), c.code)
		if err == nil {
			t.Logf("%q compiles now: the yaegi limitation is gone", c.code)
			continue
		}
		if want := "like " + c.name + " here: declare it, then assign it (var " + c.name + " T, then " + c.name + " = ...)"; !strings.Contains(err.Error(), want) {
			t.Errorf("Eval(%q): %v; want the hint %q", c.code, err, want)
		}
		if m, _, _ := f.s.Complete("r.Bl", 4); !slices.Contains(m, "Blocks") {
			t.Errorf("completion after %q: %v", c.code, m)
		}
	}
	// What the hint says works.
	if got := f.eval(t, "var b byte\nb = word()[1]\nb"); got != "98" {
		t.Errorf("typed definition: %q", got)
	}
}
