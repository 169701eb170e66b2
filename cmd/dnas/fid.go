package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
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
		"dnas fid --model out/teacher-base/snapshots/step-0002000.safetensors,out/teacher-base/snapshots/step-0004000.safetensors",
		"dnas fid --real --samples 2000",
		"dnas fid --train-classifier --epochs 3 --seed 1 --out models/lenet.safetensors")
	common := addCommonFlags(fs, commonFlagHelp{
		preset: "committed teacher to measure: " + presetNames(true),
		out:    "directory for report.json and samples.png (or, with --train-classifier, the classifier file)",
		seed:   "sampling seed; with --train-classifier the training seed",
	})
	model := fs.String("model", "", "teacher checkpoint(s) to measure instead, comma-separated (an FID curve over snapshots)")
	samples := fs.Int("samples", 2000, "generated images")
	steps := fs.Int("steps", 50, "DDIM steps")
	real := fs.Bool("real", false, "reference: FID of --samples MNIST training images against the test set")
	trainClf := fs.Bool("train-classifier", false, "train the LeNet classifier used for FID and save it to --out")
	epochs := fs.Int("epochs", 3, "classifier training epochs (with --train-classifier)")
	live := fs.Bool("live", false, "with --model on training checkpoints (train.safetensors): measure the live weights instead of the EMA")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case *trainClf:
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
		fid, conf, _, err := dnas.ImageScores(ctx, x, nil)
		if err != nil {
			return err
		}
		fmt.Printf("MNIST train[:%d] vs test: FID %.3f, confident %.1f%%\n", *samples, fid, 100*conf)
		return nil
	}
	paths := []string{""}
	if *model != "" {
		paths = strings.Split(*model, ",")
	}
	for _, p := range paths {
		var t *dnas.Teacher
		var err error
		if *live && p != "" {
			t, err = dnas.LoadTeacherLiveWeights(p)
		} else {
			t, err = loadTeacherFlag(common.preset, p)
		}
		if err != nil {
			return err
		}
		rep, err := t.Evaluate(ctx, dnas.EvalOptions{Samples: *samples, Sampler: dnas.DDIMSpec(*steps, 0), Seed: common.seed})
		if err != nil {
			return err
		}
		fmt.Printf("step %d %s: %s\n", t.Step, t.Source, rep)
		if common.out != "" && len(paths) == 1 {
			if err := writeReport(common.out, rep); err != nil {
				return err
			}
		}
	}
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
