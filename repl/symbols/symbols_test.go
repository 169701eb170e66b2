package symbols_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"dnas/repl/internal/symgen"
	"dnas/repl/symbols"
)

// TestTablesAreFresh regenerates the symbol and doc tables in memory and
// compares them with the committed gen_*.go files: a package added, a
// function renamed or a doc comment edited since the last `go generate
// ./repl/...` makes it fail, naming the files to regenerate.
func TestTablesAreFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks every exported package from source (about 15s)")
	}
	want, err := symgen.Generate(".", "symbols")
	var skip *symgen.SkipError
	if errors.As(err, &skip) {
		t.Fatalf("%v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	have, _ := filepath.Glob(symgen.FilePrefix + "*.go")
	var stale []string
	for _, name := range have {
		if _, ok := want[name]; !ok {
			stale = append(stale, name+" (its package is gone)")
		}
	}
	for name, src := range want {
		got, err := os.ReadFile(name)
		if err != nil {
			stale = append(stale, name+" (missing)")
			continue
		}
		if !bytes.Equal(got, src) {
			stale = append(stale, name+" (differs)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Fatalf("the symbol tables are stale; run `go generate ./repl/...`:\n  %s", strings.Join(stale, "\n  "))
	}
}

// TestTablesCoverTheProject checks that the tables hold what the session
// pre-imports and documents.
func TestTablesCoverTheProject(t *testing.T) {
	for _, key := range []string{"dnas/dnas/tensor/tensor", "dnas/display/display"} {
		if len(symbols.Symbols[key]) == 0 {
			t.Errorf("no symbols for %s", key)
		}
	}
	if d := symbols.Docs["dnas/dnas/tensor.New"]; !strings.Contains(d, "func New(") {
		t.Errorf("doc of tensor.New = %q", d)
	}
}
