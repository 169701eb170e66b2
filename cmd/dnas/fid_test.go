package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas"
)

// TestFIDCurveOverSnapshots runs `dnas fid` on a glob of snapshots: it
// writes the curve (JSON, PNG, SVG) and a rerun reuses the measured points.
func TestFIDCurveOverSnapshots(t *testing.T) {
	dir := t.TempDir()
	for i, step := range []int{100, 200} {
		te := tinyTeacher(t)
		te.Step = step
		if err := te.Save(filepath.Join(dir, "snapshots", []string{"a", "b"}[i]+".safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "curve")
	args := []string{"--model", filepath.Join(dir, "snapshots", "*.safetensors"), "--samples", "8", "--steps", "2", "--out", out}
	if err := runFID(args); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"curve.json", "curve.png", "curve.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	c, err := dnas.LoadQualityCurve(filepath.Join(out, "curve.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 2 || c.Points[0].Step != 100 || c.Points[1].Step != 200 {
		t.Fatalf("curve points %+v", c.Points)
	}
	// Mark a point: a rerun must keep it (reused, not re-measured).
	c.Points[0].FID = 12345
	if err := c.Save(filepath.Join(out, "curve.json")); err != nil {
		t.Fatal(err)
	}
	if err := runFID(args); err != nil {
		t.Fatal(err)
	}
	c, err = dnas.LoadQualityCurve(filepath.Join(out, "curve.json"))
	if err != nil || c.Points[0].FID != 12345 {
		t.Fatalf("rerun re-measured a point it had: %+v %v", c.Points, err)
	}
	if err := runFID([]string{"--model", filepath.Join(dir, "none-*.safetensors")}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Fatalf("a pattern matching nothing: err %v", err)
	}
}

// TestFIDWithDDPMFillsTheCache measures one checkpoint with the ancestral
// sampler: the report names it, and the evaluation lands in the cache that
// a later `dnas run` reads.
func TestFIDWithDDPMFillsTheCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DNAS_CACHE_DIR", filepath.Join(dir, "cache"))
	te := tinyTeacher(t)
	model := filepath.Join(dir, "teacher.safetensors")
	if err := te.Save(model); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "eval")
	if err := runFID([]string{"--model", model, "--samples", "4", "--sampler", "ddpm", "--out", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || !strings.Contains(string(b), `"sampler": "DDPM`) {
		t.Fatalf("report.json does not name the DDPM sampler: %s %v", b, err)
	}
	loaded, err := dnas.LoadTeacher(model)
	if err != nil {
		t.Fatal(err)
	}
	rep, cached, err := loaded.EvaluateCached(t.Context(), dnas.EvalOptions{Samples: 4, Sampler: dnas.DDPMSpec()})
	if err != nil || !cached {
		t.Fatalf("the evaluation dnas fid made is not in the cache: cached %v, err %v", cached, err)
	}
	if !strings.Contains(string(b), fmt.Sprintf(`"fid": %v`, rep.FID)) {
		t.Fatalf("cached FID %v is not the one dnas fid wrote: %s", rep.FID, b)
	}
}

// TestFIDDoubtful draws the least confident samples of one model, and of
// real digits; a curve of several models refuses the flag.
func TestFIDDoubtful(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DNAS_CACHE_DIR", "off")
	te := tinyTeacher(t)
	model := filepath.Join(dir, "teacher.safetensors")
	if err := te.Save(model); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--model", model, "--samples", "6", "--steps", "2", "--doubtful", "4", "--out", filepath.Join(dir, "model")},
		{"--real", "--samples", "50", "--doubtful", "9", "--out", filepath.Join(dir, "real")},
	} {
		if err := runFID(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		out := args[len(args)-1]
		if st, err := os.Stat(filepath.Join(out, "doubtful.png")); err != nil || st.Size() == 0 {
			t.Fatalf("%v: doubtful.png not written: %v", args, err)
		}
	}
	if err := runFID([]string{"--model", model + "," + model, "--samples", "4", "--doubtful", "4"}); err == nil || !strings.Contains(err.Error(), "one model") {
		t.Fatalf("--doubtful on a curve: err %v", err)
	}
	if err := runFID([]string{"--real", "--doubtful", "-1"}); err == nil || !strings.Contains(err.Error(), "--doubtful -1") {
		t.Fatalf("--doubtful -1: err %v", err)
	}
	if err := runFID([]string{"--train-classifier", "--doubtful", "4", "--out", filepath.Join(dir, "c.safetensors")}); err == nil || !strings.Contains(err.Error(), "--train-classifier") {
		t.Fatalf("--doubtful with --train-classifier: err %v", err)
	}
}

// TestFIDGap prints the test and training noise losses of each model, one
// line per file, and refuses the flags that sample or write.
func TestFIDGap(t *testing.T) {
	dir := t.TempDir()
	te := tinyTeacher(t)
	model := filepath.Join(dir, "teacher.safetensors")
	if err := te.Save(model); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = runFID([]string{"--model", model + "," + model, "--gap", "500"})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "noise loss on 500 images: test "); n != 2 {
		t.Fatalf("want a line per model, got:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--gap", "499"}, "--gap 499: want 500 to 10000"},
		{[]string{"--gap", "500", "--samples", "10"}, "--samples does not go with it"},
		{[]string{"--gap", "500", "--out", dir}, "leave out --out"},
		{[]string{"--gap", "500", "--live"}, "give it with --model"},
		{[]string{"--gap", "500", "--model", filepath.Join(dir, "none.safetensors")}, "none.safetensors"},
	} {
		if err := runFID(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
}

// dnas info describes every file it can and fails, naming the count, when
// one cannot be read; without a file it says what to give.
func TestInfoCommand(t *testing.T) {
	if err := runInfo(nil); err == nil || !strings.Contains(err.Error(), "no file given") {
		t.Errorf("no file: %v", err)
	}
	if err := runInfo([]string{"../../models/base.safetensors"}); err != nil {
		t.Errorf("the committed base teacher: %v", err)
	}
	if err := runInfo([]string{"../../models/base.safetensors", "missing.safetensors"}); err == nil || !strings.Contains(err.Error(), "1 of 2 files") {
		t.Errorf("one missing file of two: %v", err)
	}
}
