package symbols_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"dnas/repl/internal/symgen"
	"dnas/repl/symbols"
)

// TestTablesAreFresh compares the committed tables with the packages'
// source: the set of packages, the exported names of each (read from the
// source, as the extractor would export them) and the doc table. A package
// added, a function added or renamed, or a doc comment edited since the last
// `go generate ./repl/...` makes it fail. (A changed signature makes the
// tables fail to compile, which is caught earlier.) Set
// DNAS_SYMBOLS_FULL=1 to compare the full regeneration byte for byte (slow:
// it type-checks every package from source).
func TestTablesAreFresh(t *testing.T) {
	pkgs, err := symgen.List(".")
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	have, _ := filepath.Glob(symgen.FilePrefix + "*.go")
	want := map[string]bool{symgen.DocsFile: true}
	for _, p := range pkgs {
		name := symgen.FileName(p.ImportPath)
		want[name] = true
		table, ok := symbols.Symbols[p.ImportPath+"/"+p.Name]
		if !ok {
			stale = append(stale, name+" (missing: new package "+p.ImportPath+")")
			continue
		}
		names, err := symgen.ExportedNames(p)
		if err != nil {
			t.Fatal(err)
		}
		for n := range names {
			if _, ok := table[n]; !ok {
				stale = append(stale, name+" (no "+n+")")
			}
		}
		for n := range table {
			if !strings.HasPrefix(n, "_") && !names[n] {
				stale = append(stale, name+" ("+n+" is gone)")
			}
		}
	}
	for _, f := range have {
		if !want[f] {
			stale = append(stale, f+" (its package is gone)")
		}
	}
	docs, err := symgen.Docs("symbols", pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(symgen.DocsFile); !bytes.Equal(got, docs) {
		stale = append(stale, symgen.DocsFile+" (doc comments changed)")
	}
	if os.Getenv("DNAS_SYMBOLS_FULL") == "1" {
		full, err := symgen.Generate(".", "symbols")
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range full {
			if got, _ := os.ReadFile(name); !bytes.Equal(got, src) {
				stale = append(stale, name+" (differs from a full regeneration)")
			}
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
