package repl

import (
	"context"
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
