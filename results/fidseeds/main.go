// Command fidseeds measures how much a FID of this project moves when only
// the sampling seed changes: it evaluates one model (a teacher, or a model
// retrained by `dnas run`) with several seeds and prints each FID, their
// mean, standard deviation and range. A difference between two models that
// is smaller than this spread is a tie.
//
//	go run ./results/fidseeds --retrain OUT/retrain/subnet.safetensors --seeds 0,1,2
//	go run ./results/fidseeds --teacher small --seeds 0,1,2 --json fid-noise.json
//
// --live evaluates a retraining's live weights instead of its EMA weights
// (to see whether the EMA helps at a given budget).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"dnas/dnas"
)

// seedRun is the evaluation of the model with one sampling seed.
type seedRun struct {
	Seed        uint64  `json:"seed"`
	FID         float64 `json:"fid"`
	Confident   float64 `json:"confident_fraction"`
	HeldOutLoss float64 `json:"held_out_loss"`
}

// summary is what --json writes.
type summary struct {
	Model   string    `json:"model"`
	Weights string    `json:"weights"` // "ema" or "live" (retrained models), "teacher"
	Samples int       `json:"samples"`
	Sampler string    `json:"sampler"`
	Runs    []seedRun `json:"runs"`
	Mean    float64   `json:"mean_fid"`
	Std     float64   `json:"std_fid"` // sample standard deviation over the seeds
	Range   float64   `json:"range_fid"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fidseeds:", err)
		os.Exit(1)
	}
}

func run() error {
	teacherArg := flag.String("teacher", "small", "teacher: a preset name (the committed model) or a checkpoint path")
	retrain := flag.String("retrain", "", "retraining checkpoint written by `dnas run` (OUT/retrain/<model>.safetensors); empty: evaluate the teacher")
	live := flag.Bool("live", false, "with --retrain: evaluate the live weights, not the EMA")
	seeds := flag.String("seeds", "0,1,2", "comma-separated sampling seeds")
	samples := flag.Int("samples", 400, "generated images per seed")
	steps := flag.Int("steps", 20, "DDIM steps")
	out := flag.String("json", "", "write the summary as JSON to this file")
	flag.Parse()

	var teacher *dnas.Teacher
	var err error
	if strings.ContainsAny(*teacherArg, "./") {
		teacher, err = dnas.LoadTeacher(*teacherArg)
	} else {
		teacher, err = dnas.LoadTeacherPreset(*teacherArg)
	}
	if err != nil {
		return fmt.Errorf("--teacher %s: %w", *teacherArg, err)
	}
	var seedList []uint64
	for _, s := range strings.Split(*seeds, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("--seeds %q: %q is not a seed (want non-negative integers)", *seeds, s)
		}
		seedList = append(seedList, v)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	sum := summary{Model: teacher.ID(), Weights: "teacher", Samples: *samples}
	evaluate := func(o dnas.EvalOptions) (*dnas.EvalReport, error) { return teacher.Evaluate(ctx, o) }
	if *retrain != "" {
		rt, err := dnas.LoadRetrainer(*retrain, teacher, nil, dnas.JointLossSchedule{})
		if err != nil {
			return fmt.Errorf("--retrain: %w (is --teacher the run's teacher?)", err)
		}
		sum.Model, sum.Weights = fmt.Sprintf("%s (%s, %d steps)", *retrain, rt.Name, rt.Step), "ema"
		net := rt.Net
		if !*live {
			if net, err = rt.EMANet(); err != nil {
				return err
			}
		} else {
			sum.Weights = "live"
		}
		evaluate = func(o dnas.EvalOptions) (*dnas.EvalReport, error) {
			return dnas.EvaluateModel(ctx, dnas.NetDenoiser(net), teacher.Schedule, o)
		}
	}
	var fids []float64
	for _, s := range seedList {
		rep, err := evaluate(dnas.EvalOptions{Samples: *samples, Sampler: dnas.DDIMSpec(*steps, 0), Seed: s, HeldOut: 1000})
		if err != nil {
			return err
		}
		sum.Sampler = rep.Sampler
		sum.Runs = append(sum.Runs, seedRun{Seed: s, FID: rep.FID, Confident: rep.ConfidentFraction, HeldOutLoss: rep.HeldOutLoss})
		fids = append(fids, rep.FID)
		fmt.Printf("seed %d: %s\n", s, rep)
	}
	sum.Mean, sum.Std, sum.Range = stats(fids)
	fmt.Printf("%s, %s weights: FID mean %.2f, std %.2f, range %.2f over %d seeds (%d samples, %s)\n",
		sum.Model, sum.Weights, sum.Mean, sum.Std, sum.Range, len(fids), *samples, sum.Sampler)
	if *out != "" {
		b, _ := json.MarshalIndent(sum, "", " ")
		return os.WriteFile(*out, append(b, '\n'), 0o644)
	}
	return nil
}

// stats returns the mean, the sample standard deviation and the range
// (max - min) of xs.
func stats(xs []float64) (mean, std, rng float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		mean += x
		lo, hi = min(lo, x), max(hi, x)
	}
	mean /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			std += (x - mean) * (x - mean)
		}
		std = math.Sqrt(std / float64(len(xs)-1))
	}
	return mean, std, hi - lo
}
