package main

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"

	"dnas/dnas"
	"dnas/models"
)

// newFlagSet returns the flag set of `dnas name`. Parse returns its errors
// instead of exiting (main prints them after the command's name, and treats
// flag.ErrHelp as success), and --help prints
//
//	usage: dnas name [flags]
//
//	about
//
//	example: dnas name ...    (or "examples:" and one a line, when several)
//
//	flags:
//	  -flag type
//	    	help (default ...)
//
// about says what the command does, wrapped at about 76 columns by the
// caller; each example is one full command line.
func newFlagSet(name, about string, examples ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: dnas %s [flags]\n\n%s\n\n", name, strings.TrimSpace(about))
		switch len(examples) {
		case 0:
		case 1:
			fmt.Fprintf(w, "example: %s\n\n", examples[0])
		default:
			fmt.Fprintln(w, "examples:")
			for _, e := range examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "flags:")
		fs.PrintDefaults()
	}
	return fs
}

// commonFlags holds the values of --preset, --out and --seed, the flags that
// fid, run, sample and teacher share. The names and --preset's default
// ("small") are fixed here; what the flags mean, and the defaults of --out
// and --seed, are each command's (commonFlagHelp).
type commonFlags struct {
	preset string
	out    string
	seed   uint64
}

// commonFlagHelp is one command's help text for the common flags, and its
// defaults for --out and --seed.
type commonFlagHelp struct {
	preset      string // what the preset picks, with the names it may take (presetNames)
	out         string
	outDefault  string
	seed        string
	seedDefault uint64
}

// addCommonFlags defines --preset, --out and --seed on fs with the help h
// and returns where Parse stores their values.
func addCommonFlags(fs *flag.FlagSet, h commonFlagHelp) *commonFlags {
	c := &commonFlags{}
	fs.StringVar(&c.preset, "preset", "small", h.preset)
	fs.StringVar(&c.out, "out", h.outDefault, h.out)
	fs.Uint64Var(&c.seed, "seed", h.seedDefault, h.seed)
	return c
}

// presetNames lists the teacher presets for a help text, smallest first, as
// "tiny, small or base"; with committed, only those whose trained teacher
// is committed in models/ (what LoadTeacherPreset can open).
func presetNames(committed bool) string {
	var names []string
	for _, n := range dnas.TeacherPresetNames() {
		if !committed || slices.Contains(models.Names(), n+".safetensors") {
			names = append(names, n)
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// samplerFlags holds the sampling flags: --sampler, the DDIM step count
// (--steps for fid and sample, --sample-steps for run), --eta and, for fid
// and sample, --batch.
type samplerFlags struct {
	kind      string
	stepsFlag string // the step count's flag name
	steps     int
	eta       float64
	batch     int // used only when the command defines --batch
}

// addSamplerFlags defines --sampler, --steps, --eta and --batch on fs (fid
// and sample).
func addSamplerFlags(fs *flag.FlagSet) *samplerFlags {
	s := &samplerFlags{stepsFlag: "steps"}
	fs.StringVar(&s.kind, "sampler", "ddim", "ddim (--steps steps, --eta noise) or ddpm (the ancestral sampler: all T=1000 steps, 20x the time of DDIM 50)")
	fs.IntVar(&s.steps, "steps", 50, "DDIM steps (--sampler ddpm takes all T)")
	fs.Float64Var(&s.eta, "eta", 0, "DDIM eta: 0 deterministic, 1 DDPM-like noise")
	fs.IntVar(&s.batch, "batch", 100, "images per network call while sampling (less memory, or more speed; the images do not change)")
	return s
}

// addEvalSamplerFlags defines run's evaluation sampler flags on fs:
// --sampler, --sample-steps (0: the preset's) and --eta.
func addEvalSamplerFlags(fs *flag.FlagSet) *samplerFlags {
	s := &samplerFlags{stepsFlag: "sample-steps"}
	fs.StringVar(&s.kind, "sampler", "ddim", "evaluation sampler: ddim (--sample-steps, --eta) or ddpm (the ancestral sampler, all T=1000 steps: 20x DDIM 50's time)")
	fs.IntVar(&s.steps, "sample-steps", 0, "DDIM steps for sampling (0: the preset's)")
	fs.Float64Var(&s.eta, "eta", 0, "DDIM eta for the evaluation: 0 deterministic, 1 DDPM-like noise")
	return s
}

// spec checks the sampling flags and returns the sampler they name, on top
// of base: a step count of 0 keeps base's steps (run's "the preset's"), and
// base's batch is kept when the command has no --batch. fs is the parsed
// flag set: a step count or --eta given with --sampler ddpm is refused
// instead of ignored.
func (s *samplerFlags) spec(fs *flag.FlagSet, base dnas.SamplerSpec) (dnas.SamplerSpec, error) {
	batch := base.Batch
	if fs.Lookup("batch") != nil {
		if s.batch <= 0 {
			return dnas.SamplerSpec{}, fmt.Errorf("--batch %d: want at least 1 image per network call", s.batch)
		}
		batch = s.batch
	}
	switch strings.ToLower(s.kind) {
	case "ddim":
		steps := s.steps
		if steps == 0 && base.Steps > 0 && (base.Kind == "" || strings.EqualFold(base.Kind, "ddim")) {
			steps = base.Steps
		}
		if steps <= 0 {
			return dnas.SamplerSpec{}, fmt.Errorf("--%s %d: want at least 1 DDIM step (50 is the default)", s.stepsFlag, s.steps)
		}
		if !(s.eta >= 0) || math.IsInf(s.eta, 1) {
			return dnas.SamplerSpec{}, fmt.Errorf("--eta %v: want eta >= 0 (0 deterministic, 1 DDPM-like)", s.eta)
		}
		return dnas.SamplerSpec{Kind: "ddim", Steps: steps, Eta: s.eta, Batch: batch}, nil
	case "ddpm":
		var given []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == s.stepsFlag || f.Name == "eta" {
				given = append(given, "--"+f.Name)
			}
		})
		if len(given) > 0 {
			return dnas.SamplerSpec{}, fmt.Errorf("%s with --sampler ddpm: the ancestral sampler always takes all T steps with its own noise; drop it, or use --sampler ddim",
				strings.Join(given, " and "))
		}
		return dnas.SamplerSpec{Kind: "ddpm", Batch: batch}, nil
	default:
		return dnas.SamplerSpec{}, fmt.Errorf("--sampler %q: want ddim or ddpm", s.kind)
	}
}

// flagGiven reports whether the flag called name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

// checkCounts refuses a negative value of any int flag of fs (each counts
// something: steps, images, a batch, an interval), naming the flag, and a
// value below atLeast[name] for the flags that need more than 0. A sample
// count for FID ("samples", "eval-samples") may be 0 (the default, or none)
// but not 1: FID needs two images for a covariance, and finding out after
// hours of training would lose them.
func checkCounts(fs *flag.FlagSet, atLeast map[string]int) error {
	for _, name := range []string{"samples", "eval-samples"} {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "1" {
			return fmt.Errorf("--%s 1: FID needs at least 2 images (0: %s)", name, map[bool]string{true: "skip the evaluation", false: "the default"}[name == "eval-samples"])
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok || err != nil {
			return
		}
		v, isInt := g.Get().(int)
		if !isInt {
			return
		}
		lo := atLeast[f.Name]
		if v >= lo {
			return
		}
		if lo == 0 {
			err = fmt.Errorf("--%s %d: want 0 or more (the default is %s; dnas %s --help says what it counts)", f.Name, v, f.DefValue, fs.Name())
		} else {
			err = fmt.Errorf("--%s %d: want at least %d (the default is %s)", f.Name, v, lo, f.DefValue)
		}
	})
	return err
}
