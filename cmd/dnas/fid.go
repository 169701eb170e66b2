package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dnas/dnas"
	"dnas/dnas/checkpoint"
	"dnas/dnas/eval"
	"dnas/dnas/mnist"
)

func init() {
	register("fid", "measure a teacher: LeNet-feature FID, confident fraction, held-out loss (or train the LeNet)", runFID)
}

func runFID(args []string) error {
	fs := newFlagSet("fid", `
Samples a teacher and measures it against the 10,000 MNIST test images:
FID on the penultimate features of the project's LeNet classifier (NOT the
Inception FID of the paper), the fraction of samples the classifier labels
with probability >= 0.9, and the held-out noise-prediction loss.`,
		"dnas fid --preset small --samples 2000 --steps 50 --seed 0",
		"dnas fid --model out/teacher-base/snapshots/step-0002000.safetensors",
		"dnas fid --model 'out/teacher-base/snapshots/*.safetensors' --samples 500 --steps 20 --out out/base-curve",
		"dnas fid --preset base --samples 500 --sampler ddpm",
		"dnas fid --real --samples 2000",
		"dnas fid --preset base --gap 4000",
		"dnas fid --preset base --samples 500 --doubtful 64 --out out/base-doubtful",
		"dnas fid --train-classifier --epochs 3 --seed 1 --out models/lenet.safetensors")
	common := addCommonFlags(fs, commonFlagHelp{
		preset: "committed teacher to measure: " + presetNames(true),
		out:    "directory for report.json and samples.png (or, with --train-classifier, the classifier file)",
		seed:   "sampling seed; with --train-classifier the training seed",
	})
	model := fs.String("model", "", "model(s) to measure instead: a teacher file or checkpoint, or a retrained subnet (dnas run's OUT/retrain/<model>.safetensors); a file, a comma-separated list or a quoted glob; several make a quality curve (with --out: curve.json, curve.png, curve.svg, extended on rerun)")
	samples := fs.Int("samples", 2000, "generated images")
	sf := addSamplerFlags(fs)
	real := fs.Bool("real", false, "reference: FID of --samples MNIST training images against the test set")
	trainClf := fs.Bool("train-classifier", false, "train the LeNet classifier used for FID and save it to --out")
	epochs := fs.Int("epochs", 3, "classifier training epochs (with --train-classifier)")
	doubtful := fs.Int("doubtful", 0, "also print the classifier's verdicts per digit and the N least confident samples (with --out: doubtful.png, least sure first); works with --real too")
	gap := fs.Int("gap", 0, "instead of sampling: the noise loss on the first N test and N training images (the same noise draw), whether the model overfits (test above train) or is held back by its size (the two level); 500 to 10000, with --preset or --model (one line per model)")
	live := fs.Bool("live", false, "with --model on training checkpoints (train.safetensors): measure the live weights instead of the EMA")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, map[string]int{"samples": 2, "epochs": 1, "batch": 1}); err != nil {
		return err
	}
	spec, err := sf.spec(fs, dnas.SamplerSpec{})
	if err != nil {
		return err
	}
	if *doubtful < 0 {
		return fmt.Errorf("--doubtful %d: want the number of least confident samples to show (0: none)", *doubtful)
	}
	if *gap != 0 {
		return runLossGap(fs, *gap, *common, *model, *live)
	}
	ctx, stop := interruptContext()
	defer stop()
	switch {
	case *trainClf:
		if *doubtful != 0 {
			return fmt.Errorf("--doubtful looks at samples: it does not go with --train-classifier")
		}
		if common.out == "" {
			return fmt.Errorf("--train-classifier needs --out (e.g. models/lenet.safetensors)")
		}
		c, acc, err := eval.TrainClassifier(ctx, eval.ClassifierTraining{Epochs: *epochs, Seed: common.seed})
		if err != nil {
			return err
		}
		fmt.Printf("LeNet test accuracy %.2f%%\n", 100*acc)
		cmd := fmt.Sprintf("dnas fid --train-classifier --epochs %d --seed %d", *epochs, common.seed)
		return c.Save(common.out, map[string]string{"test_accuracy": fmt.Sprintf("%.4f", acc), "command": cmd})
	case *real:
		train, err := mnist.LoadTrain()
		if err != nil {
			return err
		}
		x, _ := train.First(*samples)
		fid, v, err := dnas.ScoreImages(ctx, x, nil)
		if err != nil {
			return err
		}
		fmt.Printf("MNIST train[:%d] vs test: FID %.3f, confident %.1f%%\n", *samples, fid, 100*v.ConfidentFraction())
		return reportDoubtful(v, *doubtful, common.out)
	}
	var paths []string
	if *model != "" {
		var err error
		if paths, err = expandModels(*model); err != nil {
			return err
		}
	}
	if len(paths) <= 1 {
		path := ""
		if len(paths) == 1 {
			path = paths[0]
		}
		t, err := loadMeasuredModel(common.preset, path, *live)
		if err != nil {
			return err
		}
		eo := dnas.EvalOptions{Samples: *samples, Sampler: spec, Seed: common.seed}
		rep, err := t.Evaluate(ctx, eo)
		if err != nil {
			return err
		}
		// Measured afresh (this command is the measurement); a later
		// `dnas run` on the same weights and options reads it back.
		_ = t.CacheEvaluation(eo, rep)
		fmt.Printf("step %d %s: %s\n", t.Step, t.Source, rep)
		if common.out != "" {
			if err := writeReport(common.out, rep); err != nil {
				return err
			}
		}
		return reportDoubtful(rep.Verdicts, *doubtful, common.out)
	}
	if *doubtful > 0 {
		return fmt.Errorf("--doubtful takes one model (or --real), not a curve of %d", len(paths))
	}
	// Several snapshots: a quality curve. With --out, the points already in
	// OUT/curve.json (same samples, sampler and seed) are reused, so the
	// command can be rerun as a training keeps adding snapshots.
	opts := dnas.CurveOptions{
		Eval: dnas.EvalOptions{Samples: *samples, Sampler: spec, Seed: common.seed},
		Live: *live,
		Point: func(p dnas.CurvePoint, reused bool) {
			how := ""
			if reused {
				how = " (from curve.json)"
			}
			fmt.Printf("step %d %s: FID %.2f | confident (p>=0.9) %.1f%% | held-out noise loss %.4f%s\n",
				p.Step, p.Source, p.FID, 100*p.ConfidentFraction, p.HeldOutLoss, how)
		},
	}
	curvePath := filepath.Join(common.out, "curve.json")
	if common.out != "" {
		if prev, err := dnas.LoadQualityCurve(curvePath); err == nil {
			opts.Previous = prev
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	c, err := dnas.MeasureSnapshots(ctx, paths, opts)
	if err != nil {
		// Keep what was measured (an interrupt, a bad file later in the
		// list): the next run reuses it.
		if common.out != "" && c != nil && len(c.Points) > 0 {
			if serr := c.Save(curvePath); serr == nil {
				return fmt.Errorf("%w (the %d points measured are kept in %s)", err, len(c.Points), curvePath)
			}
		}
		return err
	}
	fmt.Print(c.Table())
	if common.out == "" {
		return nil
	}
	if err := c.Save(curvePath); err != nil {
		return err
	}
	ch, err := c.Chart()
	if err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := ch.Save(filepath.Join(common.out, "curve"+ext)); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s, curve.png and curve.svg\n", curvePath)
	return nil
}

// runLossGap is dnas fid --gap N: the test and training noise losses of the
// --preset teacher or of each --model file.
func runLossGap(fs *flag.FlagSet, n int, common commonFlags, model string, live bool) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"real", "train-classifier", "doubtful", "out", "samples", "sampler", "steps", "eta", "seed", "batch", "epochs"} {
		switch {
		case set[name] && name == "out":
			return fmt.Errorf("--gap prints its figures and writes no file: leave out --out")
		case set[name]:
			return fmt.Errorf("--gap measures the noise loss on MNIST images and samples nothing: --%s does not go with it", name)
		}
	}
	if n < 500 || n > 10000 {
		return fmt.Errorf("--gap %d: want 500 to 10000 images of each split (the test set has 10,000)", n)
	}
	paths := []string{""}
	if model != "" {
		var err error
		if paths, err = expandModels(model); err != nil {
			return err
		}
	}
	if live && model == "" {
		return fmt.Errorf("--live reads the live weights of a training checkpoint: give it with --model")
	}
	ctx, stop := interruptContext()
	defer stop()
	for _, path := range paths {
		t, err := loadMeasuredModel(common.preset, path, live)
		if err != nil {
			return err
		}
		g, err := t.LossGap(ctx, n)
		if err != nil {
			return err
		}
		fmt.Printf("step %d %s: %s\n", t.Step, t.Source, g)
	}
	return nil
}

// loadMeasuredModel loads what dnas fid measures: the --preset teacher when
// path is empty, else the file at path (its live weights with --live, for a
// training checkpoint).
func loadMeasuredModel(preset, path string, live bool) (*dnas.Teacher, error) {
	if live && path != "" {
		return dnas.LoadTeacherLiveWeights(path)
	}
	return loadTeacherFlag(preset, path)
}

// expandModels splits a comma-separated --model list and expands glob
// patterns in it (quote them so the shell does not: 'snapshots/*.safetensors').
func expandModels(list string) ([]string, error) {
	var paths []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p, "*?[") {
			paths = append(paths, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("--model pattern %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--model pattern %q matches no file", p)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("--model is empty: give a checkpoint file, a comma-separated list or a pattern such as 'out/teacher-base/snapshots/*.safetensors'")
	}
	return paths, nil
}

// reportDoubtful prints the verdicts v per digit and the n least confident
// images, and with dir draws them into dir/doubtful.png. n = 0 does
// nothing.
func reportDoubtful(v *dnas.Verdicts, n int, dir string) error {
	if n == 0 {
		return nil
	}
	fmt.Printf("\nThe classifier's verdicts per predicted digit (confident: p >= %g):\n\n%s\n", dnas.ConfidentThreshold, v.Table())
	fmt.Printf("The %d least confident, least sure first: %s\n", min(n, len(v.Labels)), strings.Join(v.Doubtful(n), ", "))
	if dir == "" {
		return nil
	}
	g, err := v.DoubtfulGrid(n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "doubtful.png")
	if err := g.Save(path); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", path)
	return nil
}

// writeReport saves rep as report.json and its grid as samples.png in dir.
func writeReport(dir string, rep *dnas.EvalReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := checkpoint.WriteFileAtomic(filepath.Join(dir, "report.json"), append(data, '\n')); err != nil {
		return err
	}
	return rep.Grid.Save(filepath.Join(dir, "samples.png"))
}
