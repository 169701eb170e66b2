package repl

import (
	"slices"
	"strings"
	"testing"
)

// A misspelt name gets the nearest known names: a package's members, the
// session's variables (also where yaegi says only "definition loop").
func TestDidYouMean(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "model := 3")
	f.eval(t, "x7 := tensor.New(2, 3)\n0")
	for _, c := range []struct{ src, want string }{
		{`fmt.Printn("x")`, "(did you mean fmt.Print or fmt.Printf or fmt.Println?)"},
		{`fmt.sprintf("x")`, "(did you mean fmt.Sprintf?)"},
		{"modle + 1", "(did you mean model?)"},
		{"y := modle * 2", "(modle is not defined in this session: did you mean model?)"},
		{"y := nothingLikeIt", "(nothingLikeIt is not defined in this session)"},
		// A field or method of a value's type.
		{"x7.Shap", "(did you mean .Shape?)"},
		{"x8 := tensor.New(1)\nx8.Shap", "(did you mean .Shape?)"}, // typed from the cell itself
		{"x7.Clon()", "(did you mean .Clone?)"},
	} {
		e := f.evalErr(t, c.src, "compile")
		if !strings.HasSuffix(e.Msg, "\n"+c.want) {
			t.Errorf("%s: message %q, want it to end with %q", c.src, e.Msg, c.want)
		}
	}
	// Nothing near: no guess.
	if e := f.evalErr(t, "fmt.Println(qqqqqq)", "compile"); strings.Contains(e.Msg, "did you mean") {
		t.Errorf("a guess for a name near nothing: %q", e.Msg)
	}
	for name, want := range map[string]string{"dnas.LoadTeachr": "(did you mean dnas.LoadTeacher?)", "modle": "(did you mean model?)", "qqqqqq": ""} {
		if got := f.s.Suggest(name); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", name, got, want)
		}
	}
	if got := f.eval(t, "model + 1"); got != "4" {
		t.Errorf("after the errors: %q", got)
	}
}

func TestNearestNames(t *testing.T) {
	names := []string{"LoadTeacher", "LoadTeachers", "NewSupernet", "Train", "Trainer"}
	for _, c := range []struct {
		name string
		want []string
	}{
		{"LoadTeachr", []string{"LoadTeacher", "LoadTeachers"}},
		{"loadteacher", []string{"LoadTeacher"}},
		{"Trian", []string{"Train"}},
		{"Supernet", nil},
		{"Train", nil}, // Trainer is 2 edits away, over the limit for 5 letters
	} {
		if got := nearest(c.name, names); !slices.Equal(got, c.want) {
			t.Errorf("nearest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"modle", "model", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"abc", "abc", 0}} {
		if d := editDistance(c.a, c.b); d != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
}
