package symgen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/traefik/yaegi/extract"
)

// TestGenericsSkipped checks that generic functions and types are left out
// of a table (yaegi cannot call them) while the rest is exported, and that
// doc entries are produced for the plain declarations.
func TestGenericsSkipped(t *testing.T) {
	const path = "dnas/repl/internal/symgen/testdata/generic"
	var buf bytes.Buffer
	ext := extract.Extractor{Dest: "symbols"}
	if _, err := ext.Extract(path, "", &buf); err != nil {
		t.Fatal(err)
	}
	src := buf.String()
	for _, want := range []string{`"Double"`, `"Pair"`} {
		if !strings.Contains(src, want) {
			t.Errorf("table misses %s:\n%s", want, src)
		}
	}
	for _, bad := range []string{`"Map"`, `"Box"`} {
		if strings.Contains(src, bad) {
			t.Errorf("table exports the generic %s", bad)
		}
	}
	entries := map[string]string{}
	if err := collectDocs(Package{ImportPath: path, Name: "generic", Dir: "testdata/generic", GoFiles: []string{"generic.go"}}, entries); err != nil {
		t.Fatal(err)
	}
	if d := entries[path+".Pair.Sum"]; !strings.Contains(d, "func (p Pair) Sum() int") || !strings.Contains(d, "Sum adds the pair.") {
		t.Errorf("doc of Pair.Sum = %q", d)
	}
	if d := entries[path+".Double"]; !strings.HasPrefix(d, "func Double(x float64) float64\n\nDouble doubles x.") {
		t.Errorf("doc of Double = %q", d)
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("dnas/dnas/tensor"); got != "gen_dnas_dnas_tensor.go" {
		t.Errorf("FileName = %q", got)
	}
}
