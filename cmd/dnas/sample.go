package main

import (
	"fmt"
	"time"

	"dnas/dnas"
)

func init() {
	register("sample", "generate a grid of digits from a teacher (DDIM or DDPM)", runSample)
}

// loadTeacherFlag loads --model if given (a teacher or a retrained subnet,
// dnas.LoadModel), else the committed --preset.
func loadTeacherFlag(preset, model string) (*dnas.Teacher, error) {
	if model != "" {
		return dnas.LoadModel(model)
	}
	return dnas.LoadTeacherPreset(preset)
}

func runSample(args []string) error {
	fs := newFlagSet("sample", "Generates --n digits with a teacher and writes them as a PNG grid.",
		"dnas sample --preset small --steps 50 --seed 0 --out samples.png")
	common := addCommonFlags(fs, commonFlagHelp{
		preset:     "committed teacher to sample: " + presetNames(true),
		out:        "PNG file for the grid",
		outDefault: "samples.png",
		seed:       "sampling seed (image i depends only on the seed and i)",
	})
	model := fs.String("model", "", "model to sample instead of the committed preset: a teacher file or training checkpoint, or a retrained subnet (dnas run's OUT/retrain/<model>.safetensors)")
	n := fs.Int("n", 64, "number of images")
	sf := addSamplerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, map[string]int{"n": 1, "batch": 1}); err != nil {
		return err
	}
	spec, err := sf.spec(fs, dnas.SamplerSpec{})
	if err != nil {
		return err
	}
	t, err := loadTeacherFlag(common.preset, *model)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	start := time.Now()
	x, err := t.SampleWith(ctx, *n, common.seed, spec)
	if err != nil {
		return err
	}
	el := time.Since(start)
	g, err := dnas.SampleGrid(x, 0)
	if err != nil {
		return err
	}
	if err := g.Save(common.out); err != nil {
		return err
	}
	fmt.Printf("%d samples from %s in %s (%.1f images/s) -> %s\n", *n, t, el.Round(time.Millisecond), float64(*n)/el.Seconds(), common.out)
	return nil
}
