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
