package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas"
)

// helpOf runs `dnas name --help` in process and returns what it printed.
func helpOf(t *testing.T, name string) string {
	t.Helper()
	cmd, ok := commands[name]
	if !ok {
		t.Fatalf("no subcommand %q is registered", name)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	runErr := cmd.run([]string{"--help"})
	os.Stderr = stderr
	w.Close()
	out := <-read
	r.Close()
	if !errors.Is(runErr, flag.ErrHelp) {
		t.Errorf("dnas %s --help returned %v, want flag.ErrHelp (which main treats as success)", name, runErr)
	}
	return out
}

// TestSubcommandHelp checks that the subcommands built with newFlagSet say
// what they do and show an example before their flags, and that the shared
// flags keep their names and defaults.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range []struct {
		name   string
		shared bool // takes --preset, --out and --seed
		want   []string
	}{
		{"fid", true, []string{"examples:\n  dnas fid --preset small", `committed teacher to measure: small or base (default "small")`}},
		{"sample", true, []string{"example: dnas sample", `PNG file for the grid (default "samples.png")`}},
		{"teacher", true, []string{"example: dnas teacher", "teacher preset: tiny, small or base (default", "noise and dropout (default 1)"}},
		{"run", true, []string{"examples:\n  dnas run --preset small --out", "retraining (default 1)\n"}},
		{"ablate", false, []string{"examples:\n  dnas ablate --run", "  -run string\n"}},
		{"repl", false, []string{"examples:\n  dnas repl\n", "  -history string\n"}},
	} {
		help := helpOf(t, c.name)
		head := "usage: dnas " + c.name + " [flags]\n\n"
		if !strings.HasPrefix(help, head) {
			t.Errorf("dnas %s --help does not start with %q:\n%s", c.name, head, help)
			continue
		}
		// The description: a paragraph of its own between the usage line and the examples.
		about, _, _ := strings.Cut(strings.TrimPrefix(help, head), "\n\n")
		if len(about) < 40 {
			t.Errorf("dnas %s --help has no description after the usage line:\n%s", c.name, help)
		}
		want := c.want
		if c.shared {
			want = append(want, "  -preset string\n", "  -out string\n", "  -seed uint\n")
		}
		for _, w := range append(want, "\nflags:\n") {
			if !strings.Contains(help, w) {
				t.Errorf("dnas %s --help lacks %q:\n%s", c.name, w, help)
			}
		}
	}
}

func TestPresetNames(t *testing.T) {
	if got, want := presetNames(false), "tiny, small or base"; got != want {
		t.Errorf("presetNames(false) = %q, want %q", got, want)
	}
	// tiny has no committed teacher (models/ holds small and base).
	if got, want := presetNames(true), "small or base"; got != want {
		t.Errorf("presetNames(true) = %q, want %q", got, want)
	}
}

// samplerCase is a command line and what it should give: the sampler as
// kind/steps/eta/batch, or an error containing err.
type samplerCase struct {
	args      []string
	want, err string
}

// checkSamplerFlags parses each case with the flags add defines and checks
// the sampler spec (on top of base) or the error it gives.
func checkSamplerFlags(t *testing.T, add func(*flag.FlagSet) *samplerFlags, base dnas.SamplerSpec, cases []samplerCase) {
	t.Helper()
	for _, c := range cases {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		sf := add(fs)
		err := fs.Parse(c.args)
		var sp dnas.SamplerSpec
		if err == nil {
			sp, err = sf.spec(fs, base)
		}
		got := fmt.Sprintf("%s/%d/%g/%d", sp.Kind, sp.Steps, sp.Eta, sp.Batch)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%v: got %s, %v; want %s", c.args, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: got error %v, want one saying %q", c.args, err, c.err)
		}
	}
}

// fid's and sample's flags.
func TestSamplerFlags(t *testing.T) {
	checkSamplerFlags(t, addSamplerFlags, dnas.SamplerSpec{}, []samplerCase{
		{args: nil, want: "ddim/50/0/100"},
		{args: []string{"--steps", "20", "--eta", "1", "--batch", "10"}, want: "ddim/20/1/10"},
		{args: []string{"--sampler", "DDPM"}, want: "ddpm/0/0/100"},
		{args: []string{"--sampler", "ddpm", "--steps", "50"}, err: "--steps with --sampler ddpm"},
		{args: []string{"--sampler", "ddpm", "--eta", "1"}, err: "--eta with --sampler ddpm"},
		{args: []string{"--sampler", "euler"}, err: `--sampler "euler": want ddim or ddpm`},
		{args: []string{"--steps", "0"}, err: "--steps 0"},
		{args: []string{"--eta", "-0.5"}, err: "--eta -0.5"},
		{args: []string{"--eta", "nan"}, err: "--eta NaN"},
		{args: []string{"--eta", "inf"}, err: "--eta +Inf"},
		{args: []string{"--batch", "0"}, err: "--batch 0"},
	})
}

// run's evaluation flags: --sample-steps 0 keeps the preset's sampler.
func TestEvalSamplerFlags(t *testing.T) {
	checkSamplerFlags(t, addEvalSamplerFlags, dnas.SamplerSpec{Kind: "ddim", Steps: 20, Batch: 7}, []samplerCase{
		{args: nil, want: "ddim/20/0/7"},
		{args: []string{"--sample-steps", "100", "--eta", "0.5"}, want: "ddim/100/0.5/7"},
		{args: []string{"--sampler", "ddpm"}, want: "ddpm/0/0/7"},
		{args: []string{"--sample-steps", "-1"}, err: "--sample-steps -1"},
		{args: []string{"--batch", "3"}, err: "not defined"},
	})
}

func TestRunSamplerFlagsRefuseNonsense(t *testing.T) {
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sampler", "ddpm", "--sample-steps", "5"}, "--sample-steps with --sampler ddpm"},
		{[]string{"--sampler", "ddpm", "--eta", "1"}, "--eta with --sampler ddpm"},
		{[]string{"--eta", "-1"}, "--eta -1"},
		{[]string{"--sampler", "heun"}, `--sampler "heun"`},
		{[]string{"--min-reduction", "30"}, "min_reduction: MAC reduction 30 must be a fraction in (0, 1), e.g. 0.3"},
		{[]string{"--loss-scale", "-1"}, "--loss-scale -1 must be > 0"},
		{[]string{"--loss-scale", "0"}, "--loss-scale 0 must be > 0"},
		{[]string{"--samples", "-5"}, "--samples -5: want 0 or more"},
		{[]string{"--samples", "1"}, "--samples 1: FID needs at least 2 images"},
		{[]string{"--retrain-steps", "-1"}, "--retrain-steps -1: want 0 or more"},
		// --shared-init is kept (no effect) so that older commands still parse.
		{[]string{"--shared-init", "--loss-scale", "0"}, "--loss-scale 0 must be > 0"},
	} {
		err := runPipeline(append([]string{"--preset", "tiny", "--out", out}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dnas run %v: got %v, want an error saying %q", c.args, err, c.want)
		}
	}
}

func TestRunReportNeedsARunDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := runPipeline([]string{"--out", dir, "--report"}); err == nil || !strings.Contains(err.Error(), "not a dnas run directory") {
		t.Errorf("--report on an empty directory: got %v", err)
	}
	if err := runPipeline([]string{"--out", dir, "--report", "--loss-scale", "1.1"}); err == nil || !strings.Contains(err.Error(), "drop --loss-scale") {
		t.Errorf("--report with run options: got %v", err)
	}
	if err := runPipeline([]string{"--out", dir, "--resume"}); err == nil || !strings.Contains(err.Error(), "not a dnas run directory") {
		t.Errorf("--resume on an empty directory: got %v", err)
	}
	if err := runPipeline([]string{"--out", dir, "--resume", "--preset", "tiny"}); err == nil || !strings.Contains(err.Error(), "--resume reads the run's options") || !strings.Contains(err.Error(), "drop --preset") {
		t.Errorf("--resume with run options: got %v", err)
	}
	if err := runPipeline([]string{"--out", dir, "--resume", "--report"}); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("--resume with --report: got %v", err)
	}
}

// dnas run --resume goes on with a run from its own options; dnas ablate
// --seed retrains a run's architecture under another training seed, into a
// directory of its own, and its table says which seed.
func TestRunResumeAndAblateWithAnotherSeed(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DNAS_CACHE_DIR", filepath.Join(dir, "cache"))
	model := filepath.Join(dir, "teacher.safetensors")
	if err := tinyTeacher(t).Save(model); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := runPipeline([]string{"--preset", "tiny", "--teacher", model, "--out", run, "--stage1-steps", "1", "--retrain-steps", "2", "--samples", "8", "--models", "subnet"}); err != nil {
		t.Fatal(err)
	}
	// --resume takes the options from the run itself: nothing is refused as
	// "other options", and a finished run just reports.
	if err := runPipeline([]string{"--out", run, "--resume"}); err != nil {
		t.Fatalf("dnas run --out %s --resume: %v", run, err)
	}
	if err := runInfo([]string{run}); err != nil {
		t.Errorf("dnas info %s: %v", run, err)
	}
	if err := runAblation([]string{"--run", run, "--arch", "teacher-arch", "--schedules", "linear:0.5", "--seed", "2"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(run, "ablation-seed2", "ablation.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "training seed 2") {
		t.Errorf("ablation.md does not name the training seed:\n%s", b)
	}
	// The retrained subnet samples and measures like a teacher.
	sub := filepath.Join(run, "retrain", "subnet.safetensors")
	grid := filepath.Join(dir, "subnet.png")
	if err := runSample([]string{"--model", sub, "--n", "4", "--steps", "2", "--out", grid}); err != nil {
		t.Fatalf("dnas sample --model %s: %v", sub, err)
	}
	if fi, err := os.Stat(grid); err != nil || fi.Size() == 0 {
		t.Errorf("no grid from the retrained subnet: %v", err)
	}
	if err := runFID([]string{"--model", sub, "--samples", "4", "--steps", "2"}); err != nil {
		t.Errorf("dnas fid --model %s: %v", sub, err)
	}
}

// Every count flag refuses a negative value, naming the flag, before any
// work starts (dnas teacher --steps -10 trained the preset's length).
func TestCountFlagsRefuseNonsense(t *testing.T) {
	out := t.TempDir()
	for _, c := range []struct {
		run  func([]string) error
		args []string
		want string
	}{
		{runTeacher, []string{"--preset", "tiny", "--steps", "-10"}, "--steps -10: want 0 or more"},
		{runTeacher, []string{"--preset", "tiny", "--checkpoint-every", "0"}, "--checkpoint-every 0: want at least 1"},
		{runTeacher, []string{"--preset", "tiny", "--snapshot-every", "-1"}, "--snapshot-every -1"},
		{runTeacher, []string{"--preset", "tiny", "--eval-samples", "1"}, "--eval-samples 1: FID needs at least 2 images (0: skip the evaluation)"},
		{runFID, []string{"--samples", "-1"}, "--samples -1: want at least 2"},
		{runFID, []string{"--real", "--samples", "1"}, "--samples 1: FID needs at least 2"},
		{runFID, []string{"--doubtful", "-2"}, "--doubtful -2"},
		{runSample, []string{"--n", "-3"}, "--n -3: want at least 1"},
		{runSample, []string{"--eta", "nan"}, "--eta NaN"},
		{runBench, []string{"--steps", "0"}, "--steps 0: want at least 1"},
	} {
		args := c.args
		if c.want != "--steps 0: want at least 1" { // bench has no --out
			args = append(args, "--out", filepath.Join(out, "x"))
		}
		err := c.run(args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error saying %q", c.args, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("a refused command wrote %v", entries)
	}
}
