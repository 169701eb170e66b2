package dnas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dnas/dnas/checkpoint"
	"dnas/dnas/mnist"
	"dnas/plots"
)

// BetaAblationOptions configures a beta-schedule ablation: the same subnet
// retrained with each schedule, with the same budget and the same seed.
type BetaAblationOptions struct {
	// Schedules to compare (default: linear:0.5, cosine:0.5, hard:0.5,
	// const:0.5, noise).
	Schedules []JointLossSchedule
	// Retrain is the budget shared by every run (its Schedule is replaced).
	Retrain RetrainOptions
	// Eval measures each retrained model.
	Eval EvalOptions
	// Dir, if set, keeps each run's checkpoint and report there, so an
	// interrupted ablation resumes (runs already finished are not redone).
	Dir string
}

// DefaultAblationSchedules are the schedules of the seed's "next check" 2:
// linear ramp, cosine ramp, hard switch, constant 0.5 and noise only.
func DefaultAblationSchedules() []JointLossSchedule {
	return []JointLossSchedule{LinearRamp(0.5), CosineRamp(0.5), HardSwitch(0.5), ConstantBeta(0.5), NoiseOnly()}
}

// BetaAblationRun is one schedule's outcome.
type BetaAblationRun struct {
	Schedule    string      `json:"schedule"`
	FID         float64     `json:"fid"`
	HeldOutLoss float64     `json:"held_out_loss"`
	Confident   float64     `json:"confident_fraction"`
	Seconds     float64     `json:"seconds"`        // retraining wall time
	Seed        uint64      `json:"seed,omitempty"` // training seed (0 in runs saved before it was recorded)
	Log         RetrainLog  `json:"log"`
	Report      *EvalReport `json:"-"`
}

// BetaAblation is the table of a beta-schedule ablation.
type BetaAblation struct {
	Arch  string            `json:"arch"` // the retrained architecture (its String())
	Steps int               `json:"steps"`
	Seed  uint64            `json:"seed,omitempty"` // training seed of every run
	Runs  []BetaAblationRun `json:"runs"`
}

// RunBetaAblation retrains the architecture r (from a search on teacher's
// supernet) once per schedule, from the same initial weights and seed with
// the same budget, evaluates each, and returns the table (Table, Chart).
// With opts.Dir, runs already finished there are read back, not redone; a
// run there made with another training seed (opts.Retrain.Seed) is refused,
// so that one table never mixes seeds: repeat an ablation under a second
// seed in a directory of its own.
func RunBetaAblation(ctx context.Context, teacher *Teacher, r *SearchResult, data *mnist.Dataset, opts BetaAblationOptions) (*BetaAblation, error) {
	if teacher == nil {
		return nil, errors.New("dnas.RunBetaAblation: no teacher: load one with dnas.LoadTeacherPreset or dnas.LoadTeacher")
	}
	if len(opts.Schedules) == 0 {
		opts.Schedules = DefaultAblationSchedules()
	}
	for _, s := range opts.Schedules {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	if data == nil {
		var err error
		if data, err = mnist.LoadTrain(); err != nil {
			return nil, err
		}
	}
	seed := opts.Retrain.withDefaults(teacher.Preset).Seed
	ab := &BetaAblation{Arch: r.String(), Seed: seed}
	for _, sch := range opts.Schedules {
		ro := opts.Retrain
		ro.Schedule = sch
		name := "beta " + sch.String()
		var ckpt, report string
		if opts.Dir != "" {
			report = AblationRunFile(opts.Dir, sch)
			ckpt = strings.TrimSuffix(report, ".json") + ".safetensors"
			var run BetaAblationRun
			if b, err := os.ReadFile(report); err == nil && json.Unmarshal(b, &run) == nil {
				if run.Seed != 0 && run.Seed != seed {
					return ab, fmt.Errorf("dnas.RunBetaAblation: %s holds schedule %s retrained with training seed %d, and this ablation asks for seed %d: give it a directory of its own", report, run.Schedule, run.Seed, seed)
				}
				ab.Runs = append(ab.Runs, run)
				if n := len(run.Log.Steps); n > 0 {
					ab.Steps = max(ab.Steps, run.Log.Steps[n-1]+1)
				}
				continue
			}
		}
		var rt *Retrainer
		var err error
		if ckpt != "" {
			if _, serr := os.Stat(ckpt); serr == nil {
				rt, err = LoadRetrainer(ckpt, teacher, data, sch)
				if err == nil && rt.Opts.Seed != seed {
					return ab, fmt.Errorf("dnas.RunBetaAblation: %s is a retraining with training seed %d, and this ablation asks for seed %d: give it a directory of its own", ckpt, rt.Opts.Seed, seed)
				}
			}
		}
		if rt == nil && err == nil {
			rt, err = NewRetrainer(name, teacher, r, data, ro)
		}
		if err != nil {
			return ab, err
		}
		ab.Steps = rt.Opts.Steps
		start := time.Now()
		err = trainSaving(ctx, rt, ckpt)
		if err != nil {
			return ab, err
		}
		rep, err := rt.Evaluate(ctx, opts.Eval)
		if err != nil {
			return ab, err
		}
		run := NewAblationRun(rt, rep, time.Since(start).Seconds())
		if report != "" {
			if err := writeJSON(report, run); err != nil {
				return ab, err
			}
		}
		ab.Runs = append(ab.Runs, run)
	}
	return ab, nil
}

// AblationRunFile is where RunBetaAblation keeps the finished run of
// schedule s under dir (a JSON BetaAblationRun): write one there to reuse a
// retraining done elsewhere (e.g. the pipeline's own subnet).
func AblationRunFile(dir string, s JointLossSchedule) string {
	return filepath.Join(dir, strings.NewReplacer(":", "-", " ", "_", "/", "_").Replace(s.String())+".json")
}

// NewAblationRun makes the ablation entry of a finished retraining and its
// evaluation.
func NewAblationRun(rt *Retrainer, rep *EvalReport, seconds float64) BetaAblationRun {
	return BetaAblationRun{Schedule: rt.Opts.Schedule.String(), FID: rep.FID, HeldOutLoss: rep.HeldOutLoss,
		Confident: rep.ConfidentFraction, Seconds: seconds, Seed: rt.Opts.Seed, Log: rt.Log, Report: rep}
}

// trainSaving trains rt to its end, checkpointing to path (if not empty)
// every 100 steps, at the end and on cancellation, under one progress bar.
func trainSaving(ctx context.Context, rt *Retrainer, path string) error {
	tr := rt.newTracker()
	var loss float64
	for !rt.Done() {
		l, err := rt.trainWith(ctx, 100, tr)
		loss = l
		if path != "" {
			if serr := rt.Save(path); serr != nil && err == nil {
				err = serr
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				tr.Done(rt.Step, loss)
			}
			return err
		}
	}
	tr.Done(rt.Step, loss)
	return nil
}

// Table renders the ablation as a Markdown table.
func (a *BetaAblation) Table() string {
	seed := ""
	if a.Seed != 0 {
		seed = fmt.Sprintf(", training seed %d", a.Seed)
	}
	t := plots.NewTable(fmt.Sprintf("Beta-schedule ablation (%s, %d steps each%s)", a.Arch, a.Steps, seed),
		"schedule", "FID (LeNet)", "held-out noise loss", "confident", "final noise loss (train)", "retrain s")
	for _, r := range a.Runs {
		final := math.NaN()
		if n := len(r.Log.Noise); n > 0 {
			final = r.Log.Noise[n-1]
		}
		_ = t.AddRow(r.Schedule, fmt.Sprintf("%.2f", r.FID), fmt.Sprintf("%.4f", r.HeldOutLoss),
			fmt.Sprintf("%.1f%%", 100*r.Confident), fmt.Sprintf("%.4f", final), fmt.Sprintf("%.0f", r.Seconds))
	}
	t.BoldMin(1)
	t.BoldMin(2)
	return t.Markdown()
}

// Chart draws the ablation side by side: FID and held-out noise loss per
// schedule, and the noise-loss curves over retraining.
func (a *BetaAblation) Chart() (*plots.Chart, error) {
	if len(a.Runs) == 0 {
		return nil, errors.New("beta ablation has no runs yet")
	}
	pa := plots.Ablation{Title: fmt.Sprintf("Dynamic joint loss: beta schedules (%d retraining steps each)", a.Steps), Smooth: 0.6}
	for _, r := range a.Runs {
		run := plots.AblationRun{Schedule: r.Schedule, FID: r.FID, NoiseLoss: r.HeldOutLoss}
		for k, s := range r.Log.Steps {
			run.Curve.X = append(run.Curve.X, float64(s))
			run.Curve.Y = append(run.Curve.Y, r.Log.Noise[k])
		}
		pa.Runs = append(pa.Runs, run)
	}
	pa.CurveLabel = "training noise loss L_noise (MSE)"
	return plots.AblationChart(pa)
}

// DynamicsChart draws run i's per-block distillation losses and noise loss
// over retraining, with beta underneath (open question 3 of the paper).
func (a *BetaAblation) DynamicsChart(i int) (*plots.Chart, error) {
	if i < 0 || i >= len(a.Runs) {
		return nil, fmt.Errorf("beta ablation has runs 0..%d, not %d", len(a.Runs)-1, i)
	}
	return DynamicsChart(a.Runs[i].Log, "beta "+a.Runs[i].Schedule)
}

// DynamicsChart draws a retraining log: the distillation loss of every
// block, the noise loss and beta over the steps.
func DynamicsChart(l RetrainLog, title string) (*plots.Chart, error) {
	if len(l.Steps) == 0 {
		return nil, errors.New("the retraining log is empty: train first")
	}
	d := plots.Dynamics{Title: "Retraining dynamics: " + title, Smooth: 0.5, Y: plots.ScaleLog}
	xs := make([]float64, len(l.Steps))
	for k, s := range l.Steps {
		xs[k] = float64(s)
	}
	for b, name := range l.Blocks {
		sr := plots.Series{Name: name, X: xs}
		for k := range l.Steps {
			sr.Y = append(sr.Y, l.Distill[k][b])
		}
		d.Blocks = append(d.Blocks, sr)
	}
	d.Noise = plots.Series{Name: "noise loss", X: xs, Y: l.Noise}
	d.Beta = plots.Series{Name: "beta", X: xs, Y: l.Beta}
	return plots.DistillDynamics(d)
}

// SearchComparison puts several search results for the same supernet side
// by side (block-wise vs global vs random): MACs, parameters and the losses
// the searches saw.
func SearchComparison(results ...*SearchResult) string {
	t := plots.NewTable("Search strategies on the same supernet", "method", "MACs", "MAC reduction", "params",
		"sum of block losses", "sum of baselines", "blocks worse than baseline", "kernels")
	for _, r := range results {
		if r == nil {
			continue
		}
		worse := 0
		for i := range r.Blocks {
			if r.Blocks[i].Chosen().Loss > r.Blocks[i].BaselineCandidate().Loss {
				worse++
			}
		}
		_ = t.AddRow(r.Method, FormatCount(r.MACs()), fmt.Sprintf("%.1f%%", 100*r.MACReduction()), FormatCount(r.Params()),
			fmt.Sprintf("%.5f", r.TotalLoss()), fmt.Sprintf("%.5f", r.BaselineLoss()), fmt.Sprintf("%d / %d", worse, len(r.Blocks)), fmt.Sprint(r.Kernels()))
	}
	return t.Markdown()
}

// RedundancyRow is one teacher of a redundancy study: how much the
// block-wise search removes from it.
type RedundancyRow struct {
	Teacher      string  `json:"teacher"`
	TeacherMACs  int64   `json:"teacher_macs"`
	SubnetMACs   int64   `json:"subnet_macs"`
	MACReduction float64 `json:"mac_reduction"`
	Params       int64   `json:"params"`
	TeacherParam int64   `json:"teacher_params"`
	Kernels      []int   `json:"kernels"`
	// Result is the block-wise search itself (every candidate of every
	// block), e.g. to re-select at other tolerances with SelectBlockwise.
	Result *SearchResult `json:"-"`
}

// RedundancyStudy answers the paper's open question 1 (how the gain depends
// on the teacher's redundancy): for each teacher (e.g. several widths), it
// trains a supernet for stage1Steps steps per block and runs the block-wise
// search, and reports the MAC reduction found. Retraining is left out (use
// a Pipeline per teacher for FIDs).
func RedundancyStudy(ctx context.Context, teachers []*Teacher, data *mnist.Dataset, sn SupernetOptions, stage1Steps int, search SearchOptions) ([]RedundancyRow, error) {
	var rows []RedundancyRow
	for _, t := range teachers {
		s, err := NewSupernet(t, data, sn)
		if err != nil {
			return rows, err
		}
		if err := s.TrainAll(ctx, stage1Steps, ""); err != nil {
			return rows, err
		}
		r, err := s.Search(ctx, search)
		if err != nil {
			return rows, err
		}
		rows = append(rows, RedundancyRow{Teacher: fmt.Sprintf("%s (ch %d)", t.Preset.Name, t.Preset.UNet.Ch), TeacherMACs: r.TeacherMACs(), SubnetMACs: r.MACs(),
			MACReduction: r.MACReduction(), Params: r.Params(), TeacherParam: r.TeacherParams(), Kernels: r.Kernels(), Result: r})
	}
	return rows, nil
}

// writeJSON writes v as indented JSON, creating directories.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, append(b, '\n'))
}

// WriteAblationReport writes dir/ablation.json, dir/ablation.md (the
// table), the side-by-side chart dir/ablation.png/.svg, the beta schedules
// chart and one retraining-dynamics chart per schedule.
func WriteAblationReport(a *BetaAblation, dir string) error {
	if err := writeJSON(filepath.Join(dir, "ablation.json"), a); err != nil {
		return err
	}
	md := a.Table() + "\n\n![ablation](ablation.png)\n\n![beta schedules](betas.png)\n\n"
	save := func(name string, c *plots.Chart, err error) error {
		return saveChart(filepath.Join(dir, name), c, err)
	}
	c, err := a.Chart()
	if err := save("ablation", c, err); err != nil {
		return err
	}
	var scheds []plots.Schedule
	for _, r := range a.Runs {
		s, err := ParseJointLossSchedule(r.Schedule)
		if err != nil {
			continue // a func schedule: not drawable from its name
		}
		scheds = append(scheds, plots.Schedule{Name: r.Schedule, Beta: s.Beta})
	}
	if len(scheds) > 0 {
		c, err := plots.BetaSchedules(a.Steps, scheds...)
		if err := save("betas", c, err); err != nil {
			return err
		}
	}
	for i, r := range a.Runs {
		name := "dynamics-" + strings.NewReplacer(":", "-", " ", "_").Replace(r.Schedule)
		c, err := a.DynamicsChart(i)
		if err := save(name, c, err); err != nil {
			return err
		}
		md += fmt.Sprintf("![%s](%s.png)\n\n", name, name)
	}
	return checkpoint.WriteFileAtomic(filepath.Join(dir, "ablation.md"), []byte(md))
}
