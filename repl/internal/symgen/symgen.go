// Package symgen writes the symbol tables that let the yaegi interpreter call
// the project's compiled packages, and a table of their doc comments for the
// REPL's inspection (`:doc`, Jupyter's Shift-Tab).
//
// The tables are Go files produced by yaegi's own extractor
// (github.com/traefik/yaegi/extract), one per package, plus one docs file. They
// are committed in dnas/repl/symbols and rebuilt with `go generate ./repl/...`;
// a test there regenerates them in memory and fails when they differ, so stale
// tables are caught before a user meets a missing function.
package symgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/traefik/yaegi/extract"
)

// Patterns are the `go list` patterns of the packages exported to the
// interpreter: the library, its public subpackages, the plots and the display
// package. Packages named main and internal packages are skipped.
var Patterns = []string{"dnas/dnas/...", "dnas/plots", "dnas/display"}

// FilePrefix starts the name of every file Generate writes, so stale tables of
// a package that no longer exists can be recognised and removed.
const FilePrefix = "gen_"

// Package is one package found by `go list`.
type Package struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
}

// List runs `go list` on Patterns and returns the packages to export, sorted
// by import path. dir is the directory `go list` runs in (inside the module).
func List(dir string) ([]Package, error) {
	args := append([]string{"list", "-e", "-json=ImportPath,Name,Dir,GoFiles"}, Patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", strings.Join(Patterns, " "), err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p Package
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("decoding go list output: %v", err)
		}
		if p.Name == "" || p.Name == "main" || len(p.GoFiles) == 0 ||
			strings.Contains(p.ImportPath, "/internal") || strings.Contains(p.ImportPath, "testdata") {
			continue
		}
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ImportPath < pkgs[j].ImportPath })
	return pkgs, nil
}

// FileName is the name of the generated symbol table of an import path.
func FileName(importPath string) string {
	return FilePrefix + strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(importPath) + ".go"
}

// DocsFile is the name of the generated doc comment table.
const DocsFile = FilePrefix + "docs.go"

var buildLine = regexp.MustCompile(`(?m)^//( \+build|go:build) .*\n`)

// Generate returns the contents of every generated file, by file name, for
// the package `symbols` (destination package name pkg). dir is a directory
// inside the module. Generic functions and types are skipped (yaegi cannot
// export them), as yaegi's extractor does.
func Generate(dir, pkg string) (map[string][]byte, error) {
	pkgs, err := List(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var problems []string
	ext := extract.Extractor{Dest: pkg}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	defer os.Chdir(wd)
	for _, p := range pkgs {
		var buf bytes.Buffer
		if _, err := ext.Extract(p.ImportPath, "", &buf); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p.ImportPath, err))
			continue
		}
		// The extractor tags packages without a dot in their path as
		// standard library ("go1.26"); ours are not, so drop the tag.
		src := buildLine.ReplaceAll(buf.Bytes(), nil)
		src, err := format.Source(src)
		if err != nil {
			return nil, fmt.Errorf("formatting the table of %s: %v", p.ImportPath, err)
		}
		files[FileName(p.ImportPath)] = src
	}
	var good []Package
	for _, p := range pkgs {
		if _, ok := files[FileName(p.ImportPath)]; ok {
			good = append(good, p)
		}
	}
	docs, err := docsFile(pkg, good)
	if err != nil {
		return nil, err
	}
	files[DocsFile] = docs
	if len(problems) > 0 {
		return files, &SkipError{Problems: problems}
	}
	return files, nil
}

// SkipError reports packages whose tables could not be generated because
// they do not type-check; the tables of the other packages are still valid.
type SkipError struct{ Problems []string }

func (e *SkipError) Error() string {
	return fmt.Sprintf("skipped %d package(s) that do not type-check (fix them, then run go generate ./repl/... again):\n  %s",
		len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Write generates the tables into dir (the symbols package directory),
// removing generated files of packages that disappeared. A *SkipError is
// returned after writing the tables of the packages that do type-check.
func Write(dir, pkg string) error {
	files, genErr := Generate(dir, pkg)
	if files == nil {
		return genErr
	}
	old, _ := filepath.Glob(filepath.Join(dir, FilePrefix+"*.go"))
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return err
		}
	}
	return genErr
}

// docsFile renders the doc comment table: "importpath.Name" and
// "importpath.Type.Method" map to a declaration line and its doc comment.
func docsFile(pkg string, pkgs []Package) ([]byte, error) {
	entries := map[string]string{}
	for _, p := range pkgs {
		if err := collectDocs(p, entries); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by dnas/repl/internal/symgen from the project's doc comments. DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	fmt.Fprintf(&b, "func init() {\n\tDocs = map[string]string{\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "\t\t%q: %q,\n", k, entries[k])
	}
	fmt.Fprintf(&b, "\t}\n}\n")
	return format.Source(b.Bytes())
}

func collectDocs(p Package, entries map[string]string) error {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
		if err != nil {
			return fmt.Errorf("parsing %s for its doc comments: %v", name, err)
		}
		files = append(files, f)
	}
	d, err := doc.NewFromFiles(fset, files, p.ImportPath)
	if err != nil {
		return err
	}
	add := func(key string, decl ast.Node, text string) {
		entries[p.ImportPath+"."+key] = declString(fset, decl) + "\n\n" + strings.TrimSpace(text)
	}
	entries[p.ImportPath] = "package " + d.Name + "\n\n" + strings.TrimSpace(d.Doc)
	for _, v := range append(d.Consts, d.Vars...) {
		for _, n := range v.Names {
			if ast.IsExported(n) {
				add(n, v.Decl, v.Doc)
			}
		}
	}
	for _, f := range d.Funcs {
		add(f.Name, f.Decl, f.Doc)
	}
	for _, t := range d.Types {
		if !ast.IsExported(t.Name) {
			continue
		}
		add(t.Name, t.Decl, t.Doc)
		for _, v := range append(t.Consts, t.Vars...) {
			for _, n := range v.Names {
				if ast.IsExported(n) {
					add(n, v.Decl, v.Doc)
				}
			}
		}
		for _, f := range t.Funcs {
			add(f.Name, f.Decl, f.Doc)
		}
		for _, m := range t.Methods {
			if ast.IsExported(m.Name) {
				add(t.Name+"."+m.Name, m.Decl, m.Doc)
			}
		}
	}
	return nil
}

// declString prints a declaration without bodies or doc comments.
func declString(fset *token.FileSet, decl ast.Node) string {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		c := *d
		c.Body = nil
		c.Doc = nil
		decl = &c
	case *ast.GenDecl:
		c := *d
		c.Doc = nil
		decl = &c
	}
	var b bytes.Buffer
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 4}
	if err := cfg.Fprint(&b, fset, decl); err != nil {
		return ""
	}
	s := b.String()
	if len(s) > 2000 {
		s = s[:2000] + "\n\t..."
	}
	return s
}

// ExportedNames returns the names a table of p must hold, read from the
// package's source without type-checking (fast): exported package-level
// functions, variables, constants and types, without generic functions and
// types and without constraint-only interfaces, as the extractor does.
func ExportedNames(p Package) (map[string]bool, error) {
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, file), nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() && d.Type.TypeParams == nil {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								names[n.Name] = true
							}
						}
					case *ast.TypeSpec:
						if !sp.Name.IsExported() || sp.TypeParams != nil || constraintOnly(sp.Type) {
							continue
						}
						names[sp.Name.Name] = true
					}
				}
			}
		}
	}
	return names, nil
}

// constraintOnly reports an interface made only of embedded types or type
// sets (usable only as a generic constraint).
func constraintOnly(e ast.Expr) bool {
	it, ok := e.(*ast.InterfaceType)
	if !ok || it.Methods == nil || len(it.Methods.List) == 0 {
		return false
	}
	for _, f := range it.Methods.List {
		if len(f.Names) > 0 {
			return false // a method
		}
	}
	return true
}

// Docs returns the generated doc table file for pkgs (fast: parsing only).
func Docs(pkg string, pkgs []Package) ([]byte, error) { return docsFile(pkg, pkgs) }
