package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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

func TestSamplerFlags(t *testing.T) {
	parse := func(args ...string) (string, error) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		sf := addSamplerFlags(fs)
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		sp, err := sf.spec(fs, dnas.SamplerSpec{})
		return fmt.Sprintf("%s/%d/%g/%d", sp.Kind, sp.Steps, sp.Eta, sp.Batch), err
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "ddim/50/0/100"},
		{[]string{"--steps", "20", "--eta", "1", "--batch", "10"}, "ddim/20/1/10"},
		{[]string{"--sampler", "DDPM"}, "ddpm/0/0/100"},
	} {
		got, err := parse(c.args...)
		if err != nil || got != c.want {
			t.Errorf("%v: got %s, %v; want %s", c.args, got, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sampler", "ddpm", "--steps", "50"}, "--steps with --sampler ddpm"},
		{[]string{"--sampler", "ddpm", "--eta", "1"}, "--eta with --sampler ddpm"},
		{[]string{"--sampler", "euler"}, `--sampler "euler": want ddim or ddpm`},
		{[]string{"--steps", "0"}, "--steps 0"},
		{[]string{"--eta", "-0.5"}, "--eta -0.5"},
		{[]string{"--batch", "0"}, "--batch 0"},
	} {
		_, err := parse(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got error %v, want one saying %q", c.args, err, c.want)
		}
	}
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
}

// run's evaluation flags: --sample-steps 0 keeps the preset's sampler.
func TestEvalSamplerFlags(t *testing.T) {
	preset := dnas.SamplerSpec{Kind: "ddim", Steps: 20, Batch: 7}
	parse := func(args ...string) (string, error) {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		sf := addEvalSamplerFlags(fs)
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		sp, err := sf.spec(fs, preset)
		return fmt.Sprintf("%s/%d/%g/%d", sp.Kind, sp.Steps, sp.Eta, sp.Batch), err
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "ddim/20/0/7"},
		{[]string{"--sample-steps", "100", "--eta", "0.5"}, "ddim/100/0.5/7"},
		{[]string{"--sampler", "ddpm"}, "ddpm/0/0/7"},
	} {
		got, err := parse(c.args...)
		if err != nil || got != c.want {
			t.Errorf("%v: got %s, %v; want %s", c.args, got, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sample-steps", "-1"}, "--sample-steps -1"},
		{[]string{"--batch", "3"}, "not defined"},
	} {
		_, err := parse(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got error %v, want one saying %q", c.args, err, c.want)
		}
	}
}
