package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"dnas/dnas"
)

func init() {
	register("teacher", "train (or resume) a teacher diffusion UNet on MNIST", runTeacher)
}

func runTeacher(args []string) error {
	fs := newFlagSet("teacher", `
Trains a teacher DDPM UNet on MNIST (noise prediction, Adam, EMA) and writes
into --out:
  train.safetensors    resumable checkpoint (weights, EMA, Adam, step, RNG, data position)
  teacher.safetensors  the EMA weights (what LoadTeacher and 'dnas sample --model' read)
  samples.png          a grid of 64 DDIM samples, and report.json with FID if --eval-samples > 0
Running it again with the same --out resumes where it stopped (Ctrl-C or SIGTERM
saves and stops). --restart-from takes a finished run further on a second
learning-rate cycle (a warm restart) into a new --out, e.g. the base teacher:
  dnas teacher --preset base --restart-from out/teacher-base/train.safetensors \
      --restart-lr 5e-4 --steps 30000 --out out/teacher-base-v2
or the committed base teacher's weights (no optimiser state: Adam starts afresh):
  dnas teacher --preset base --restart-from models/base.safetensors --seed 2 \
      --restart-lr 3e-4 --steps 15000 --out out/teacher-base-v3
--restart-min-lr sets that cycle's floor (a last, low annealing cycle):
  dnas teacher --preset base --restart-from out/teacher-base-v4/train.safetensors \
      --restart-lr 1e-4 --restart-min-lr 1e-5 --steps 44000 --out out/teacher-base-v5`,
		"dnas teacher --preset small --seed 1 --out out/teacher-small")
	common := addCommonFlags(fs, commonFlagHelp{
		preset:      "teacher preset: " + presetNames(false),
		out:         "output directory (default out/teacher-<preset>)",
		seed:        "seed of weights, data order, timesteps, noise and dropout",
		seedDefault: 1,
	})
	steps := fs.Int("steps", 0, "total optimiser steps to reach (0 => the preset's committed length, or a resumed run's own); a fresh run lays its learning-rate schedule over them, a resumed run continues up to this total on the schedule it started with")
	every := fs.Int("checkpoint-every", 500, "write the resumable training checkpoint every N steps")
	snap := fs.Int("snapshot-every", 0, "also keep the EMA weights every N steps as <out>/snapshots/step-N.safetensors (for an FID curve); 0 = off. A resumed or restarted run keeps its own interval unless this is given")
	evalN := fs.Int("eval-samples", 2000, "samples for the final FID evaluation (0 = skip it)")
	fresh := fs.Bool("fresh", false, "start from scratch even if <out>/train.safetensors exists")
	restartFrom := fs.String("restart-from", "", "take the training checkpoint `CKPT` further on a new learning-rate cycle (a warm restart: warm-up to --restart-lr, then the preset's decay ending at --steps) into --out; CKPT is not changed. A weights-only teacher file (e.g. models/base.safetensors) works too: Adam then starts from zero and --seed draws the data order")
	restartLR := fs.Float64("restart-lr", 0, "peak learning rate of the --restart-from cycle (0 => half the preset's)")
	restartMinLR := fs.Float64("restart-min-lr", 0, "floor of the --restart-from cycle's cosine (0 => the preset's min LR), e.g. a last cycle annealing from 1e-4 to 1e-5")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, map[string]int{"checkpoint-every": 1}); err != nil {
		return err
	}
	p, err := dnas.LookupTeacherPreset(common.preset)
	if err != nil {
		return err
	}
	if common.out == "" {
		common.out = filepath.Join("out", "teacher-"+p.Name)
	}
	stepsGiven := *steps > 0
	if !stepsGiven {
		*steps = p.Steps
	}
	// A fresh run lays its learning-rate schedule (warm-up, cosine decay)
	// over the steps asked for, not the preset's committed length (a run
	// no longer than the warm-up is all warm-up either way).
	if *steps > p.WarmupSteps {
		p.Steps = *steps
	}
	ckpt := filepath.Join(common.out, "train.safetensors")
	if *restartFrom != "" && filepath.Clean(*restartFrom) == filepath.Clean(ckpt) {
		return fmt.Errorf("--restart-from %s is --out's own checkpoint: give the restarted run another --out (the source run stays as it is)", *restartFrom)
	}
	if *restartLR < 0 || (*restartLR != 0 && *restartFrom == "") {
		return fmt.Errorf("--restart-lr %g: needs --restart-from and a rate > 0", *restartLR)
	}
	if *restartMinLR < 0 || (*restartMinLR != 0 && *restartFrom == "") {
		return fmt.Errorf("--restart-min-lr %g: needs --restart-from and a rate > 0", *restartMinLR)
	}
	var tr *dnas.TeacherTrainer
	if _, statErr := os.Stat(ckpt); statErr == nil && !*fresh {
		if tr, err = dnas.ResumeTeacherTrainer(ckpt); err != nil {
			return fmt.Errorf("%w (use --fresh to start over)", err)
		}
		if tr.Preset.Name != p.Name {
			return fmt.Errorf("%s holds a %q teacher, not %q: use another --out or --fresh", ckpt, tr.Preset.Name, p.Name)
		}
		if *restartFrom != "" && tr.Preset.RestartStep == 0 {
			return fmt.Errorf("%s already holds a run that was not restarted: use another --out for --restart-from, or --fresh", ckpt)
		}
		if !stepsGiven {
			*steps = tr.Preset.Steps // the length the run was started (or restarted) for
		}
		fmt.Fprintf(os.Stderr, "resuming %s at step %d of %d\n", ckpt, tr.StepNum, *steps)
		if sp := tr.Preset; *steps > sp.Steps && sp.LRDecay == "cosine" {
			fmt.Fprintf(os.Stderr, "note: this run's %s learning-rate schedule ends at step %d: steps %d-%d train at its floor, %g (start a new --out to lay a schedule over %d steps)\n",
				sp.LRDecay, sp.Steps, max(sp.Steps, tr.StepNum)+1, *steps, sp.LearningRate(sp.Steps), *steps)
		}
	} else if *restartFrom != "" {
		kind, err := dnas.TeacherFileKind(*restartFrom)
		if err != nil {
			return err
		}
		lr := float32(*restartLR)
		if lr == 0 {
			lr = p.LR / 2
		}
		if kind == "training" {
			tr, err = dnas.ResumeTeacherTrainer(*restartFrom)
		} else {
			tr, err = dnas.TeacherTrainerFromWeights(*restartFrom, common.seed)
		}
		if err != nil {
			return err
		}
		if tr.Preset.Name != p.Name {
			return fmt.Errorf("%s holds a %q teacher, not %q: pass --preset %s", *restartFrom, tr.Preset.Name, p.Name, tr.Preset.Name)
		}
		if err := tr.WarmRestartFloor(lr, float32(*restartMinLR), *steps); err != nil {
			return fmt.Errorf("%w (--steps is the new total, counted from the run's step 0)", err)
		}
		if kind != "training" {
			fmt.Fprintf(os.Stderr, "%s holds weights only: the live weights and the EMA start from them, Adam's moments from zero, data order and noise from --seed %d\n", *restartFrom, common.seed)
		}
		decay := "then constant to"
		if tr.Preset.LRDecay == "cosine" {
			decay = fmt.Sprintf("cosine decay to %g at", tr.Preset.LearningRate(*steps))
		}
		fmt.Fprintf(os.Stderr, "warm restart of %s at step %d: warm-up over %d steps to lr %g, %s step %d\n", *restartFrom, tr.StepNum, tr.Preset.WarmupSteps, lr, decay, *steps)
	} else {
		if tr, err = dnas.NewTeacherTrainer(p, common.seed); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "training teacher %s from scratch, seed %d, %d steps, batch %d, lr %g\n", p.Name, common.seed, *steps, p.BatchSize, p.LR)
	}
	tr.CheckpointPath = ckpt
	tr.CheckpointEvery = *every

	ctx, stop := interruptContext()
	defer stop()
	// A resumed or restarted run keeps the snapshot interval it was started
	// with unless --snapshot-every is given; snapshots go into --out.
	if flagGiven(fs, "snapshot-every") {
		tr.SnapshotEvery = *snap
	}
	tr.SnapshotDir = ""
	if tr.SnapshotEvery > 0 {
		tr.SnapshotDir = filepath.Join(common.out, "snapshots")
		fmt.Fprintf(os.Stderr, "EMA snapshots every %d steps into %s\n", tr.SnapshotEvery, tr.SnapshotDir)
	}
	start := time.Now()
	if tr.StepNum < *steps {
		if err := tr.Train(ctx, *steps-tr.StepNum); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "trained to step %d (%s this run), last loss %.4f\n", tr.StepNum, time.Since(start).Round(time.Second), tr.LastLoss)
	t, err := tr.Teacher()
	if err != nil {
		return err
	}
	if err := t.Save(filepath.Join(common.out, "teacher.safetensors")); err != nil {
		return err
	}
	if *evalN <= 0 {
		return nil
	}
	rep, cached, err := t.EvaluateCached(ctx, dnas.EvalOptions{Samples: *evalN, Sampler: dnas.DDIMSpec(t.Preset.SampleSteps, 0)})
	if cached {
		fmt.Fprintf(os.Stderr, "evaluation of these weights read from the cache in %s (DNAS_CACHE_DIR=off measures again)\n", dnas.EvalCacheDir())
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	fmt.Println(rep)
	return writeReport(common.out, rep)
}
