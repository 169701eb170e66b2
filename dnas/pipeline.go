package dnas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"dnas/dnas/checkpoint"
	"dnas/dnas/mnist"
	"dnas/plots"
)

// PipelineOptions configures a whole DiffNAS run (Pipeline). Start from
// DefaultPipelineOptions(preset) and change what you need.
type PipelineOptions struct {
	Preset      string `json:"preset"`  // teacher preset: tiny, small or base
	OutDir      string `json:"out_dir"` // where everything is written (required)
	TeacherPath string `json:"teacher"` // teacher checkpoint; "" => the committed models/<preset>.safetensors
	// Stage 1.
	Supernet    SupernetOptions `json:"supernet"`
	Stage1Steps int             `json:"stage1_steps"` // steps per block
	// Stage 2.
	Search SearchOptions       `json:"search"`
	Global GlobalSearchOptions `json:"global"`
	// Stage 3: the budget of every retrained model (subnet, teacher
	// architecture, global and random subnets).
	Retrain RetrainOptions `json:"retrain"`
	// Models to retrain and evaluate, among "subnet", "teacher-arch",
	// "global", "random"; the teacher itself is always evaluated.
	Models []string `json:"models"`
	// Evaluation of every model.
	Eval EvalOptions `json:"eval"`
	// Log receives one line per stage (nil: os.Stderr).
	Log io.Writer `json:"-"`
}

// DefaultPipelineOptions returns the budgets of a preset: tiny runs in well
// under a minute (for tests), small end to end in under 30 minutes on two
// cores (subnet and teacher architecture retrained; add "global" and
// "random" to Models for the search comparison), base is METHOD.md's
// teacher with budgets that fit this machine (about 4 hours, resumable).
func DefaultPipelineOptions(preset string) (PipelineOptions, error) {
	p, err := LookupTeacherPreset(preset)
	if err != nil {
		return PipelineOptions{}, err
	}
	o := PipelineOptions{Preset: p.Name, Models: []string{"subnet", "teacher-arch", "global", "random"}}
	o.Search = SearchOptions{EvalBatch: 64, Seed: 1234, LossScale: 1}
	o.Retrain = RetrainOptions{Schedule: DefaultJointLossSchedule(), LR: p.LR, GradClip: 1, Seed: 1}
	switch p.Name {
	case "tiny":
		o.Supernet = SupernetOptions{BatchSize: 4, Parallel: true}
		o.Stage1Steps = 3
		o.Search.EvalBatch = 8
		o.Retrain.Steps, o.Retrain.BatchSize, o.Retrain.LogEvery = 6, 4, 2
		o.Eval = EvalOptions{Samples: 16, HeldOut: 32, Sampler: DDIMSpec(4, 0), GridSize: 16}
	case "small":
		// Budgets measured on this project's 2 cores (results/README.md):
		// stage 1 ~4 min, search ~0.5 min, a retraining step of batch 32
		// 0.5 s (idle) to 0.8 s (loaded), an evaluation ~40 s. The 30-minute
		// run retrains the subnet and the teacher architecture only (the
		// headline); add global and random with Models (`--models
		// subnet,teacher-arch,global,random` on the same OutDir resumes and
		// retrains just those). 800 steps with a cosine LR decay and an EMA
		// over the last tenth of training gets the retrained models far
		// closer to the teacher than 400 steps at a constant LR did.
		o.Models = []string{"subnet", "teacher-arch"}
		o.Supernet = SupernetOptions{BatchSize: 32, Parallel: true}
		o.Stage1Steps = 300
		o.Retrain.Steps, o.Retrain.BatchSize = 800, 32
		o.Retrain.LRDecay = "cosine"
		o.Eval = EvalOptions{Samples: 400, HeldOut: 1000, Sampler: DDIMSpec(20, 0), GridSize: 64}
	default:
		// base: per-step costs measured on this project's 2 cores with
		// every other job paused (go run ./results/basecost): a stage-1
		// pass over all 7 blocks 0.86 s at batch 32 when they share one
		// teacher pass (Parallel) against 1.88 s one block after another
		// (each block pays its own teacher forward), a retraining step of
		// batch 64 1.75 s while beta < 1 (teacher capture, per-block
		// distillation and the end-to-end pass) and 0.76 s once beta = 1,
		// the search of all 2,511 candidates 177 s per 64 evaluation
		// samples. With these budgets stage 1 takes ~30 min, the search
		// ~12 min, each retraining ~1.5 h and each 2,000-sample evaluation
		// ~7 min: about 4 hours for the headline (subnet and teacher
		// architecture), where the earlier 10,000 retraining steps per
		// model for all four models were ~40 hours. The retraining budget
		// (4,000 steps of 64 = 256k images) is 40% of the teacher's own
		// training; both compared models get the same one.
		o.Models = []string{"subnet", "teacher-arch"}
		o.Supernet = SupernetOptions{BatchSize: 32, Parallel: true}
		o.Stage1Steps = 2000
		// Candidates of a block often tie within 1-3% (results/README.md):
		// a larger evaluation set than small's makes the ranking less
		// noisy at a cost that is small beside retraining.
		o.Search.EvalBatch = 256
		o.Retrain.Steps, o.Retrain.BatchSize = 4000, 64
		o.Retrain.LRDecay = "cosine"
		o.Eval = EvalOptions{Samples: 2000, HeldOut: 1000, Sampler: DDIMSpec(50, 0), GridSize: 64}
	}
	return o, nil
}

// StageTime is the wall time of one stage of a pipeline run, summed over
// resumed sessions.
type StageTime struct {
	Stage   string  `json:"stage"`
	Seconds float64 `json:"seconds"`
	Done    bool    `json:"done"`
	// Note says when Seconds is not the stage's cost: its work was done
	// elsewhere (a cached teacher evaluation, stage-1 checkpoints that
	// were already trained when the run found them).
	Note string `json:"note,omitempty"`
}

// ModelResult is one row of the final comparison.
type ModelResult struct {
	Name           string  `json:"name"`         // teacher, subnet, teacher-arch, global, random
	Architecture   string  `json:"architecture"` // how it was chosen
	MACs           int64   `json:"macs"`
	SearchableMACs int64   `json:"searchable_macs"`
	Params         int64   `json:"params"`
	MACReduction   float64 `json:"mac_reduction"` // vs the teacher
	Kernels        []int   `json:"kernels"`
	// Widths is the inner-width multiplier of every ResBlock when the search
	// covered widths (nil: all full width).
	Widths        []float64 `json:"widths,omitempty"`
	TrainSteps    int       `json:"train_steps"` // the teacher's own training, or the retraining budget
	Schedule      string    `json:"schedule,omitempty"`
	FID           float64   `json:"fid"`
	HeldOutLoss   float64   `json:"held_out_loss"`
	Confident     float64   `json:"confident_fraction"`
	SampleSeconds float64   `json:"sample_seconds"`
	Samples       int       `json:"samples"`
	Sampler       string    `json:"sampler"`
}

// PipelineResults is what results.json holds.
type PipelineResults struct {
	Preset  string          `json:"preset"`
	Teacher string          `json:"teacher"` // teacher ID
	Options PipelineOptions `json:"options"`
	Stages  []StageTime     `json:"stages"`
	Models  []ModelResult   `json:"models"`
	// Per-block choices of the block-wise search.
	Blocks []BlockChoice `json:"blocks"`
	// The headline: MAC reduction of the searched subnet, and whether its
	// FID is no worse than the teacher architecture retrained with the same
	// budget.
	MACReduction float64 `json:"mac_reduction"`
	MACTargetMet bool    `json:"mac_target_met"` // >= 30%
	// LossScale is the rule's tolerance the subnet was chosen at;
	// DefaultRuleReduction is what METHOD.md's loss_scale 1.0 removes on the
	// same candidate tables (the two differ with --loss-scale or
	// --min-reduction).
	LossScale            float64 `json:"loss_scale,omitempty"`
	DefaultRuleReduction float64 `json:"mac_reduction_at_loss_scale_1,omitempty"`
	FIDTargetMet         bool    `json:"fid_target_met"` // subnet FID <= teacher-arch FID
	SubnetFID            float64 `json:"subnet_fid"`
	TeacherArchFID       float64 `json:"teacher_arch_fid"`
	TotalSeconds         float64 `json:"total_seconds"`
	Finished             string  `json:"finished"` // when the report was written (empty while stages are pending)
	// Pending lists the stages not done yet, for a report of an unfinished
	// run (Pipeline.Report); empty once Run has finished.
	Pending []string `json:"pending,omitempty"`
}

// BlockChoice is one block's chosen architecture in results.json.
type BlockChoice struct {
	Block        string    `json:"block"`
	Kernels      []int     `json:"kernels"`
	Widths       []float64 `json:"widths,omitempty"` // width search only
	Loss         float64   `json:"loss"`
	BaselineLoss float64   `json:"baseline_loss"`
	MACs         int64     `json:"macs"`
	BaselineMACs int64     `json:"baseline_macs"`
	Candidates   int       `json:"candidates"`
}

// Pipeline runs DiffNAS end to end, one stage at a time, writing
// everything under Opts.OutDir and remembering which stages are finished
// (OutDir/state.json), so a new Pipeline on the same directory resumes
// without redoing them:
//
//	stage1        supernet training   OutDir/stage1/<block>.safetensors
//	search        block-wise, global and random search   OutDir/search/*.json
//	retrain:<m>   stage 3 of model m  OutDir/retrain/<m>.safetensors
//	eval:<m>      evaluation of m     OutDir/eval/<m>.json, <m>.png
//	report        OutDir/results.json, summary.md and the charts
//
// Run does all of it; RunStage1, RunSearch, RunRetrain, RunEvaluate and
// WriteReport do one stage each.
type Pipeline struct {
	Opts     PipelineOptions
	Teacher  *Teacher
	Data     *mnist.Dataset
	Supernet *Supernet
	// Searches by model name: "subnet" (block-wise), "teacher-arch",
	// "global", "random".
	Searches map[string]*SearchResult
	// Retrainers by model name (after RunRetrain).
	Retrainers map[string]*Retrainer
	// Evals by model name ("teacher" too), after RunEvaluate.
	Evals map[string]*EvalReport

	state map[string]*StageTime
	order []string
}

// NewPipeline loads the teacher and the data and reads the state of an
// earlier run in opts.OutDir, if any.
func NewPipeline(opts PipelineOptions) (*Pipeline, error) {
	if opts.OutDir == "" {
		return nil, errors.New("dnas.NewPipeline: OutDir is empty: say where to write the run")
	}
	for _, m := range opts.Models {
		if !slices.Contains([]string{"subnet", "teacher-arch", "global", "random"}, m) {
			return nil, fmt.Errorf("dnas.NewPipeline: unknown model %q: want subnet, teacher-arch, global or random", m)
		}
	}
	if err := opts.Retrain.Schedule.Validate(); opts.Retrain.Schedule.Kind != "" && err != nil {
		return nil, err
	}
	// The search's settings are checked now, not after stage 1's hours.
	if ls := opts.Search.LossScale; ls < 0 || math.IsNaN(ls) || math.IsInf(ls, 0) {
		return nil, fmt.Errorf("dnas.NewPipeline: loss_scale %g must be a finite number > 0 (1.0 keeps candidates no worse than the teacher architecture)", ls)
	}
	if err := checkReduction(opts.Search.MinReduction); err != nil {
		return nil, fmt.Errorf("dnas.NewPipeline: min_reduction: %w", err)
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	var teacher *Teacher
	var err error
	if opts.TeacherPath != "" {
		teacher, err = LoadTeacher(opts.TeacherPath)
	} else {
		teacher, err = LoadTeacherPreset(opts.Preset)
	}
	if err != nil {
		return nil, fmt.Errorf("dnas.NewPipeline: no teacher: %w", err)
	}
	if opts.Preset == "" {
		opts.Preset = teacher.Preset.Name
	}
	if want := opts.Search.MinReduction; want > 0 {
		most, err := MaxMACReduction(teacher.Net, opts.Supernet)
		if err != nil {
			return nil, err
		}
		if want > most {
			at := "every conv at its smallest kernel"
			if len(opts.Supernet.WidthChoices) > 0 {
				at += " and narrowest width"
			}
			return nil, fmt.Errorf("dnas.NewPipeline: min_reduction %.4g: this search space removes at most %.1f%% of the teacher's MACs (%s); ask for less, or widen the search space (e.g. --widths 0.5,0.75,1)",
				want, 100*most, at)
		}
	}
	data, err := mnist.LoadTrain()
	if err != nil {
		return nil, err
	}
	p := &Pipeline{Opts: opts, Teacher: teacher, Data: data, Searches: map[string]*SearchResult{},
		Retrainers: map[string]*Retrainer{}, Evals: map[string]*EvalReport{}, state: map[string]*StageTime{}}
	saved, found, err := readPipelineState(opts.OutDir)
	if err != nil {
		return nil, fmt.Errorf("dnas.NewPipeline: %w", err)
	}
	if found {
		if saved.Teacher != teacher.ID() {
			return nil, fmt.Errorf("dnas.NewPipeline: %s holds a run for teacher %s, not %s: use another OutDir", opts.OutDir, saved.Teacher, teacher.ID())
		}
		if saved.Options != nil {
			if diff := optionsDiff(*saved.Options, opts); len(diff) > 0 {
				return nil, fmt.Errorf("dnas.NewPipeline: %s holds a run made with other options (%s): resume it with the options it was made with, or use another OutDir (only Models may change: retraining more models on a finished search is fine)",
					opts.OutDir, strings.Join(diff, "; "))
			}
		}
		for i := range saved.Stages {
			st := saved.Stages[i]
			p.state[st.Stage] = &st
			p.order = append(p.order, st.Stage)
		}
	}
	return p, nil
}

func (p *Pipeline) path(parts ...string) string {
	return filepath.Join(append([]string{p.Opts.OutDir}, parts...)...)
}

func (p *Pipeline) logf(format string, args ...any) {
	fmt.Fprintf(p.Opts.Log, "[dnas run %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// StageDone reports whether the named stage finished in this or an
// earlier session.
func (p *Pipeline) StageDone(stage string) bool {
	st, ok := p.state[stage]
	return ok && st.Done
}

// Stages returns the stage timings so far, in the order stages started.
func (p *Pipeline) Stages() []StageTime {
	var out []StageTime
	for _, name := range p.order {
		out = append(out, *p.state[name])
	}
	return out
}

// note records why stage's time is not its cost (StageTime.Note) and logs it.
func (p *Pipeline) note(stage, text string) {
	if st, ok := p.state[stage]; ok {
		st.Note = text
	}
	p.logf("%s: %s", stage, text)
}

// timed runs fn as stage name, adds its wall time to the stage's total and
// records it as done when fn succeeds.
func (p *Pipeline) timed(name string, fn func() error) error {
	st, ok := p.state[name]
	if !ok {
		st = &StageTime{Stage: name}
		p.state[name] = st
		p.order = append(p.order, name)
	}
	start := time.Now()
	err := fn()
	st.Seconds += time.Since(start).Seconds()
	st.Done = err == nil
	if serr := p.saveState(); err == nil {
		err = serr
	}
	if err == nil {
		p.logf("%s done in %.1fs", name, time.Since(start).Seconds())
	}
	return err
}

// pipelineState is OutDir/state.json: the teacher, the options the run was
// made with (absent in runs written before they were recorded) and the
// stages with their times.
type pipelineState struct {
	Teacher string           `json:"teacher"`
	Options *PipelineOptions `json:"options,omitempty"`
	Stages  []StageTime      `json:"stages"`
}

// LoadPipelineOptions returns the options of the run in dir, from its
// state.json (written when its first stage started).
func LoadPipelineOptions(dir string) (PipelineOptions, error) {
	st, found, err := readPipelineState(dir)
	switch {
	case err != nil:
		return PipelineOptions{}, fmt.Errorf("dnas: %w", err)
	case !found:
		return PipelineOptions{}, fmt.Errorf("dnas: %s is not a dnas run directory (no state.json)", dir)
	case st.Options == nil:
		return PipelineOptions{}, fmt.Errorf("dnas: %s predates recorded options: read them from its results.json", filepath.Join(dir, "state.json"))
	}
	o := *st.Options
	o.OutDir = dir
	return o, nil
}

// readPipelineState reads dir/state.json; found is false when there is none
// (a new run).
func readPipelineState(dir string) (st pipelineState, found bool, err error) {
	path := filepath.Join(dir, "state.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, false, fmt.Errorf("%s: %w", path, err)
	}
	return st, true, nil
}

// optionsDiff lists the settings in which now differs from then, as
// "search.LossScale: 1 then, 1.04 now", ignoring where the run is written,
// where the teacher was read from (its identity is checked apart) and the
// models to retrain.
func optionsDiff(then, now PipelineOptions) []string {
	flat := func(o PipelineOptions) map[string]string {
		o.OutDir, o.TeacherPath, o.Models = "", "", nil
		b, _ := json.Marshal(o)
		var tree map[string]any
		_ = json.Unmarshal(b, &tree)
		out := map[string]string{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			if m, ok := v.(map[string]any); ok {
				for k, x := range m {
					walk(strings.TrimPrefix(prefix+"."+k, "."), x)
				}
				return
			}
			b, _ := json.Marshal(v)
			out[prefix] = string(b)
		}
		walk("", tree)
		return out
	}
	a, b := flat(then), flat(now)
	var diff []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			if !ok {
				w = "unset"
			}
			diff = append(diff, fmt.Sprintf("%s: %s then, %s now", k, v, w))
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: unset then, %s now", k, w))
		}
	}
	slices.Sort(diff)
	return diff
}

func (p *Pipeline) saveState() error {
	o := p.Opts
	return writeJSON(p.path("state.json"), pipelineState{Teacher: p.Teacher.ID(), Options: &o, Stages: p.Stages()})
}

// supernet builds the supernet and restores its checkpoints.
func (p *Pipeline) supernet() (*Supernet, error) {
	if p.Supernet != nil {
		return p.Supernet, nil
	}
	s, err := NewSupernet(p.Teacher, p.Data, p.Opts.Supernet)
	if err != nil {
		return nil, err
	}
	restored, err := s.Load(p.path("stage1"))
	if err != nil {
		return nil, err
	}
	if len(restored) > 0 {
		p.logf("stage 1: restored blocks %s from %s", strings.Join(restored, ", "), p.path("stage1"))
	}
	p.Supernet = s
	return s, nil
}

// RunStage1 trains the supernet block-wise (Stage1Steps per block),
// checkpointing every block; an interrupted run continues from its
// checkpoints.
func (p *Pipeline) RunStage1(ctx context.Context) error {
	if p.StageDone("stage1") {
		return nil
	}
	return p.timed("stage1", func() error {
		s, err := p.supernet()
		if err != nil {
			return err
		}
		p.logf("stage 1: %s", s)
		// Trained elsewhere (copied in), not by an earlier session of this
		// run, which would have recorded its time.
		if steps := slices.Collect(maps.Values(s.BlockSteps())); slices.Min(steps) >= p.Opts.Stage1Steps && p.state["stage1"].Seconds == 0 {
			p.note("stage1", fmt.Sprintf("all blocks found trained (%d steps) in %s: the time is loading, not training", p.Opts.Stage1Steps, p.path("stage1")))
		}
		return s.TrainAll(ctx, p.Opts.Stage1Steps, p.path("stage1"))
	})
}

// RunSearch runs the block-wise search on the trained supernet, then the
// global evolutionary search and the random search at the block-wise
// subnet's MACs on the same candidate tables.
func (p *Pipeline) RunSearch(ctx context.Context) error {
	if p.StageDone("search") {
		return p.loadSearches()
	}
	return p.timed("search", func() error {
		s, err := p.supernet()
		if err != nil {
			return err
		}
		res, err := s.Search(ctx, p.Opts.Search)
		if err != nil {
			return err
		}
		glob, err := GlobalSearch(res, p.Opts.Global)
		if err != nil {
			return err
		}
		rnd, err := RandomSearch(res, RandomSearchOptions{TargetMACs: res.MACs(), Seed: p.Opts.Search.Seed})
		if err != nil {
			return err
		}
		p.Searches["subnet"], p.Searches["global"], p.Searches["random"] = res, glob, rnd
		p.Searches["teacher-arch"] = TeacherArchitecture(res)
		for name, r := range p.Searches {
			if err := r.Save(p.path("search", name+".json")); err != nil {
				return err
			}
		}
		p.logf("search: block-wise %s", res)
		p.logf("search: global %s", glob)
		p.logf("search: random %s", rnd)
		return nil
	})
}

func (p *Pipeline) loadSearches() error {
	if len(p.Searches) == 4 {
		return nil
	}
	for _, name := range []string{"subnet", "teacher-arch", "global", "random"} {
		r, err := LoadSearchResult(p.path("search", name+".json"))
		if err != nil {
			return err
		}
		if err := r.CheckTeacher(p.Teacher.ID()); err != nil {
			return err
		}
		p.Searches[name] = r
	}
	return nil
}

// RunRetrain retrains model m ("subnet", "teacher-arch", "global" or
// "random") with Opts.Retrain, checkpointing every 100 steps; an
// interrupted retraining resumes from its checkpoint.
func (p *Pipeline) RunRetrain(ctx context.Context, m string) error {
	stage := "retrain:" + m
	if err := p.loadSearches(); err != nil {
		return fmt.Errorf("retrain %s: run the search first: %w", m, err)
	}
	r, ok := p.Searches[m]
	if !ok {
		return fmt.Errorf("retrain: unknown model %q: want subnet, teacher-arch, global or random", m)
	}
	ckpt := p.path("retrain", m+".safetensors")
	if p.StageDone(stage) {
		if _, ok := p.Retrainers[m]; !ok {
			rt, err := LoadRetrainer(ckpt, p.Teacher, p.Data, p.Opts.Retrain.Schedule)
			if err != nil {
				return err
			}
			p.Retrainers[m] = rt
		}
		return nil
	}
	return p.timed(stage, func() error {
		var rt *Retrainer
		var err error
		if _, serr := os.Stat(ckpt); serr == nil {
			rt, err = LoadRetrainer(ckpt, p.Teacher, p.Data, p.Opts.Retrain.Schedule)
			if err == nil {
				p.logf("%s: resuming at step %d of %d", stage, rt.Step, rt.Opts.Steps)
			}
		} else {
			rt, err = NewRetrainer(m, p.Teacher, r, p.Data, p.Opts.Retrain)
		}
		if err != nil {
			return err
		}
		p.Retrainers[m] = rt
		if err := os.MkdirAll(p.path("retrain"), 0o755); err != nil {
			return err
		}
		return trainSaving(ctx, rt, ckpt)
	})
}

// RunEvaluate evaluates model m ("teacher" or a retrained model) with
// Opts.Eval and writes OutDir/eval/<m>.json and its sample grid. A model
// not retrained yet is retrained first (RunRetrain).
func (p *Pipeline) RunEvaluate(ctx context.Context, m string) error {
	stage := "eval:" + m
	if p.StageDone(stage) {
		var rep EvalReport
		b, err := os.ReadFile(p.path("eval", m+".json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return err
		}
		p.Evals[m] = &rep
		return nil
	}
	if m != "teacher" {
		// Outside the eval's timing: the retraining has its own.
		if err := p.RunRetrain(ctx, m); err != nil {
			return err
		}
	}
	return p.timed(stage, func() error {
		var rep *EvalReport
		var err error
		if m == "teacher" {
			// The teacher's evaluation is the same in every run on it with
			// these options: 2,000 base samples take about 9 minutes.
			var cached bool
			if rep, cached, err = p.Teacher.EvaluateCached(ctx, p.Opts.Eval); cached {
				p.note(stage, fmt.Sprintf("read %s; sampling took %.1fs when measured", cacheNote(EvalCacheDir()), rep.SampleSeconds))
			}
		} else {
			rep, err = p.Retrainers[m].Evaluate(ctx, p.Opts.Eval)
		}
		if err != nil {
			return err
		}
		p.Evals[m] = rep
		p.logf("eval %s: %s", m, rep)
		if rep.Grid != nil {
			if err := os.MkdirAll(p.path("eval"), 0o755); err != nil {
				return err
			}
			if err := rep.Grid.Save(p.path("eval", m+".png")); err != nil {
				return err
			}
		}
		return writeJSON(p.path("eval", m+".json"), rep)
	})
}

// Run does every stage not done yet, then writes the report, and returns
// the results. A cancelled ctx stops the current stage within one step;
// run again on the same OutDir to continue.
func (p *Pipeline) Run(ctx context.Context) (*PipelineResults, error) {
	if err := p.RunStage1(ctx); err != nil {
		return nil, err
	}
	if err := p.RunSearch(ctx); err != nil {
		return nil, err
	}
	// The teacher first, then each model evaluated as soon as it is
	// retrained: on a long run the first comparison is there hours before
	// the last model is done.
	for _, m := range append([]string{"teacher"}, p.Opts.Models...) {
		if err := p.RunEvaluate(ctx, m); err != nil {
			return nil, err
		}
	}
	// Models retrained and evaluated in an earlier session were not loaded
	// by this one: their logs draw the dynamics charts.
	if err := p.loadRetrained(ctx); err != nil {
		return nil, err
	}
	var res *PipelineResults
	err := p.timed("report", func() error {
		var err error
		res, err = p.WriteReport()
		return err
	})
	return res, err
}

// loadRetrained loads the retrainer of every model whose retraining is done
// (a no-op for those already loaded).
func (p *Pipeline) loadRetrained(ctx context.Context) error {
	for _, m := range p.Opts.Models {
		if p.StageDone("retrain:" + m) {
			if err := p.RunRetrain(ctx, m); err != nil { // loads the finished model
				return err
			}
		}
	}
	return nil
}

// Results assembles the results of the stages done so far.
func (p *Pipeline) Results() *PipelineResults {
	res := &PipelineResults{Preset: p.Opts.Preset, Teacher: p.Teacher.ID(), Options: p.Opts, Stages: p.Stages(),
		SubnetFID: math.NaN(), TeacherArchFID: math.NaN()}
	for _, st := range res.Stages {
		res.TotalSeconds += st.Seconds
	}
	tm := p.Teacher.Net.MACs()
	add := func(name, arch string, macs, smacs, params int64, kernels []int, widths []float64, steps int, sched string) {
		mr := ModelResult{Name: name, Architecture: arch, MACs: macs, SearchableMACs: smacs, Params: params, Kernels: kernels, Widths: widths,
			MACReduction: 1 - float64(macs)/float64(tm), TrainSteps: steps, Schedule: sched, FID: math.NaN(), HeldOutLoss: math.NaN()}
		if e, ok := p.Evals[name]; ok {
			mr.FID, mr.HeldOutLoss, mr.Confident = e.FID, e.HeldOutLoss, e.ConfidentFraction
			mr.SampleSeconds, mr.Samples, mr.Sampler = e.SampleSeconds, e.Samples, e.Sampler
		}
		res.Models = append(res.Models, mr)
	}
	add("teacher", "teacher (trained by noise prediction)", tm, p.Teacher.Net.SearchableMACs(), p.Teacher.Net.NumParams(),
		p.Teacher.Net.Kernels(), nil, p.Teacher.Step, "noise")
	for _, m := range p.Opts.Models {
		r, ok := p.Searches[m]
		if !ok {
			continue
		}
		add(m, r.Method, r.MACs(), r.SearchableMACs(), r.Params(), r.Kernels(), r.Widths(), p.retrainOptions().Steps, p.Opts.Retrain.Schedule.String())
	}
	if r, ok := p.Searches["subnet"]; ok {
		res.MACReduction = r.MACReduction()
		res.MACTargetMet = res.MACReduction >= 0.3
		res.LossScale, res.DefaultRuleReduction = r.LossScale, r.MACReduction()
		if r.LossScale != 1 {
			if d, err := SelectBlockwise(r, 1); err == nil {
				res.DefaultRuleReduction = d.MACReduction()
			}
		}
		for i := range r.Blocks {
			b := &r.Blocks[i]
			res.Blocks = append(res.Blocks, BlockChoice{Block: b.Block, Kernels: b.Chosen().Kernels, Widths: b.Chosen().Widths, Loss: b.Chosen().Loss,
				BaselineLoss: b.BaselineCandidate().Loss, MACs: b.Chosen().MACs, BaselineMACs: b.BaselineCandidate().MACs, Candidates: len(b.Candidates)})
		}
	}
	if e, ok := p.Evals["subnet"]; ok {
		res.SubnetFID = e.FID
	}
	if e, ok := p.Evals["teacher-arch"]; ok {
		res.TeacherArchFID = e.FID
	}
	res.FIDTargetMet = res.SubnetFID <= res.TeacherArchFID
	return res
}

// stagesOfRun lists the stages Run goes through, in its order.
func (p *Pipeline) stagesOfRun() []string { return runStages(p.Opts.Models) }

// runStages lists the stages of a run retraining models, in Run's order.
func runStages(models []string) []string {
	st := []string{"stage1", "search", "eval:teacher"}
	for _, m := range models {
		st = append(st, "retrain:"+m, "eval:"+m)
	}
	return st
}

// Report writes the report (WriteReport) of the stages done so far without
// running anything, so that a long run can be looked at while it goes on,
// from another process: it reads what the finished stages saved and writes
// results.json, summary.md and the charts, never state.json. The stages
// still to do are listed in the results' Pending.
func (p *Pipeline) Report(ctx context.Context) (*PipelineResults, error) {
	if p.StageDone("search") {
		if err := p.loadSearches(); err != nil {
			return nil, err
		}
	}
	if err := p.loadRetrained(ctx); err != nil {
		return nil, err
	}
	for _, m := range append([]string{"teacher"}, p.Opts.Models...) {
		if p.StageDone("eval:" + m) {
			if err := p.RunEvaluate(ctx, m); err != nil { // reads eval/<m>.json
				return nil, err
			}
		}
	}
	return p.WriteReport()
}

// WriteReport writes results.json, summary.md and the charts (PNG and
// SVG) into OutDir.
func (p *Pipeline) WriteReport() (*PipelineResults, error) {
	res := p.Results()
	for _, st := range p.stagesOfRun() {
		if !p.StageDone(st) {
			res.Pending = append(res.Pending, st)
		}
	}
	if len(res.Pending) == 0 {
		res.Finished = time.Now().UTC().Format(time.RFC3339)
	}
	if err := writeJSON(p.path("results.json"), res); err != nil {
		return nil, err
	}
	var charts []string
	save := func(name string, c *plots.Chart, err error) error {
		if err := saveChart(p.path(name), c, err); err != nil {
			return err
		}
		charts = append(charts, name)
		return nil
	}
	if r, ok := p.Searches["subnet"]; ok {
		c, err := r.TradeoffChart(0)
		if err := save("tradeoff", c, err); err != nil {
			return nil, err
		}
	}
	var pts []plots.ModelPoint
	for _, m := range res.Models {
		if !math.IsNaN(m.FID) {
			pts = append(pts, plots.ModelPoint{Name: modelLabel(m.Name), MACs: m.MACs, FID: m.FID, Params: m.Params})
		}
	}
	if len(pts) > 0 {
		c, err := plots.ModelComparison(pts)
		if err := save("models", c, err); err != nil {
			return nil, err
		}
	}
	for _, m := range p.Opts.Models {
		if rt, ok := p.Retrainers[m]; ok && len(rt.Log.Steps) > 0 {
			c, err := DynamicsChart(rt.Log, fmt.Sprintf("%s, beta %s", modelLabel(m), rt.Opts.Schedule))
			if err := save("dynamics-"+m, c, err); err != nil {
				return nil, err
			}
		}
	}
	if p.Supernet == nil && p.StageDone("stage1") {
		if _, err := p.supernet(); err != nil {
			return nil, err
		}
	}
	if p.Supernet != nil && p.Supernet.Trained() {
		var series []plots.Series
		for _, name := range p.Supernet.BlockNames() {
			i, _ := p.Supernet.blockIndex(name)
			series = append(series, plots.Series{Name: name, Y: p.Supernet.Losses[i]})
		}
		c, err := plots.Curves(plots.CurveOptions{Title: "Stage 1: block-wise supernet distillation loss (random path per step)",
			XLabel: "step", YLabel: "MSE to the teacher's block output", Smooth: 0.9}, series...)
		if err := save("stage1", c, err); err != nil {
			return nil, err
		}
	}
	if err := checkpoint.WriteFileAtomic(p.path("summary.md"), []byte(p.summary(res, charts))); err != nil {
		return nil, err
	}
	return res, nil
}

// retrainOptions is Opts.Retrain with its defaults filled in for the
// teacher: the budget every model is actually retrained with.
// Budgets describes, in a few sentences, what the run does: stage-1
// steps, the search's evaluation set and rule, the retraining of each model,
// the evaluation, and the search space. `dnas run` prints it when it starts;
// summary.md carries it.
func (p *Pipeline) Budgets() string {
	var b strings.Builder
	ro := p.retrainOptions()
	decay := "constant LR"
	if ro.LRDecay == "cosine" {
		decay = fmt.Sprintf("cosine decay to %.3g", ro.MinLR)
	}
	fmt.Fprintf(&b, "Budgets: stage 1 %d steps per block (batch %d, parallel %v); search eval batch %d, %s; retraining %d steps per model (batch %d, beta %s, Adam %.3g with %d warm-up steps and %s, EMA %.4g with warm-up) for %s; evaluation %d samples (%s), held-out loss on %d test images.\n",
		p.Opts.Stage1Steps, p.Opts.Supernet.BatchSize, p.Opts.Supernet.Parallel, p.Opts.Search.EvalBatch, p.ruleText(),
		ro.Steps, ro.BatchSize, ro.Schedule, ro.LR, ro.WarmupSteps, decay, ro.EMADecay, strings.Join(p.Opts.Models, ", "),
		p.Opts.Eval.Samples, samplerName(p.Opts.Eval.Sampler), p.Opts.Eval.HeldOut)
	switch {
	case ro.Inherit:
		b.WriteString("Retraining starts from the teacher's weights wherever a layer has the teacher's name and shape.\n")
	default:
		b.WriteString("Retraining starts from random weights drawn layer by layer (a stream per layer name): the compared models start every layer they share from the same weights, and none from the teacher's own initial draw.\n")
	}
	if ws := p.Opts.Supernet.WidthChoices; len(ws) > 0 {
		rule := ""
		if p.Opts.Supernet.Sandwich {
			rule = " Stage 1 applies the sandwich rule (each step also trains the widest and the narrowest path)."
		}
		fmt.Fprintf(&b, "Search space: kernels x inner-width multipliers %v per ResBlock.%s\n", ws, rule)
	}
	return b.String()
}

// ruleText names the block-wise rule's tolerance for the budgets line:
// "loss_scale 1", or with Search.MinReduction the one it asks for and, once
// the search is done, the one it took.
func (p *Pipeline) ruleText() string { return searchRuleText(p.Opts.Search, p.Searches["subnet"]) }

// searchRuleText is ruleText for the search options o and, once the search
// is done, its block-wise result r (nil before).
func searchRuleText(o SearchOptions, r *SearchResult) string {
	ls := o.LossScale
	if ls == 0 {
		ls = 1
	}
	if o.MinReduction <= 0 {
		return fmt.Sprintf("loss_scale %g", ls)
	}
	t := fmt.Sprintf("loss_scale the smallest >= %g removing >= %.4g%% of the MACs", ls, 100*o.MinReduction)
	if r != nil {
		t += fmt.Sprintf(" (%g)", r.LossScale)
	}
	return t
}

func (p *Pipeline) retrainOptions() RetrainOptions {
	return p.Opts.Retrain.withDefaults(p.Teacher.Preset)
}

func modelLabel(m string) string {
	switch m {
	case "subnet":
		return "searched subnet (block-wise)"
	case "teacher-arch":
		return "teacher arch. retrained"
	case "global":
		return "global search subnet"
	case "random":
		return "random subnet"
	}
	return m
}

// summary renders summary.md.
func (p *Pipeline) summary(res *PipelineResults, charts []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# DiffNAS run: preset %s\n\n", res.Preset)
	if len(res.Pending) > 0 {
		fmt.Fprintf(&b, "**Unfinished run**: report of the stages done by %s; still to do: %s (`dnas run` on this directory resumes).\n\n",
			time.Now().UTC().Format(time.RFC3339), strings.Join(res.Pending, ", "))
		fmt.Fprintf(&b, "Teacher `%s` (%s). %.1f minutes of stage time so far.\n\n", res.Teacher, p.Teacher, res.TotalSeconds/60)
	} else {
		fmt.Fprintf(&b, "Teacher `%s` (%s). Finished %s, %.1f minutes of stage time in total.\n\n", res.Teacher, p.Teacher, res.Finished, res.TotalSeconds/60)
	}
	fmt.Fprintf(&b, "## Headline\n\n")
	rule := ""
	if r := p.Searches["subnet"]; r != nil && r.MinReduction > 0 {
		rule = fmt.Sprintf(", with the rule at loss_scale %g, the smallest removing >= %.4g%% (min_reduction), not METHOD.md's default 1.0", r.LossScale, 100*r.MinReduction)
	} else if ls := p.Opts.Search.LossScale; ls != 0 && ls != 1 {
		rule = fmt.Sprintf(", with the rule at loss_scale %g, not METHOD.md's default 1.0", ls)
	}
	fmt.Fprintf(&b, "- Searched subnet: **%.1f%% fewer MACs** than the teacher (target >= 30%%: %s%s).\n", 100*res.MACReduction, yesNo(res.MACTargetMet), rule)
	if rule != "" && res.LossScale != 0 {
		fmt.Fprintf(&b, "- At METHOD.md's loss_scale 1.0 the same candidate tables give %.1f%% fewer MACs (target >= 30%%: %s).\n",
			100*res.DefaultRuleReduction, yesNo(res.DefaultRuleReduction >= 0.3))
	}
	if math.IsNaN(res.SubnetFID) || math.IsNaN(res.TeacherArchFID) {
		fid := func(v float64, m string) string {
			switch {
			case !math.IsNaN(v):
				return fmt.Sprintf("%.2f", v)
			case slices.Contains(p.Opts.Models, m):
				return "not measured yet"
			}
			return "not retrained"
		}
		how := "retrain both `subnet` and `teacher-arch` to compare"
		if slices.Contains(p.Opts.Models, "subnet") && slices.Contains(p.Opts.Models, "teacher-arch") {
			how = "the run has not evaluated both yet"
		}
		fmt.Fprintf(&b, "- FID after retraining: subnet %s vs teacher architecture retrained with the same budget %s (target: no worse: **not measured**; %s).\n\n",
			fid(res.SubnetFID, "subnet"), fid(res.TeacherArchFID, "teacher-arch"), how)
	} else {
		fmt.Fprintf(&b, "- FID after retraining: subnet %.2f vs teacher architecture retrained with the same budget %.2f (target: no worse: %s).\n\n",
			res.SubnetFID, res.TeacherArchFID, yesNo(res.FIDTargetMet))
	}
	fmt.Fprintf(&b, "FID here is computed on the penultimate features of this project's LeNet MNIST classifier against the 10,000 test images: it is not the Inception FID of the paper and is only comparable within this project (%d samples, %s).\n\n",
		p.Opts.Eval.Samples, samplerName(p.Opts.Eval.Sampler))
	t := plots.NewTable("Models", "model", "MACs", "MAC reduction", "params", "FID", "held-out noise loss", "confident", "sampling s", "training")
	for _, m := range res.Models {
		train := fmt.Sprintf("%d steps, beta %s", m.TrainSteps, m.Schedule)
		if m.Name == "teacher" {
			train = fmt.Sprintf("%d steps (noise prediction)", m.TrainSteps)
		}
		fid, loss, conf, secs := "-", "-", "-", "-" // not evaluated (yet)
		if !math.IsNaN(m.FID) {
			fid, loss = fmt.Sprintf("%.2f", m.FID), fmt.Sprintf("%.4f", m.HeldOutLoss)
			conf, secs = fmt.Sprintf("%.1f%%", 100*m.Confident), fmt.Sprintf("%.1f", m.SampleSeconds)
		}
		_ = t.AddRow(modelLabel(m.Name), FormatCount(m.MACs), fmt.Sprintf("%.1f%%", 100*m.MACReduction), FormatCount(m.Params),
			fid, loss, conf, secs, train)
	}
	b.WriteString(t.Markdown())
	b.WriteString("\n\n## Block-wise search: per-block choices\n\n")
	if r, ok := p.Searches["subnet"]; ok {
		b.WriteString(r.Table())
		fmt.Fprintf(&b, "\nSelection: %s. Evaluation set: %d samples (seed %d).\n\n", r.Notes, r.EvalBatch, r.Seed)
	}
	b.WriteString("## Block-wise vs global vs random search\n\n")
	b.WriteString(SearchComparison(p.Searches["subnet"], p.Searches["global"], p.Searches["random"]))
	for _, m := range []string{"global", "random"} {
		if r, ok := p.Searches[m]; ok {
			fmt.Fprintf(&b, "\n- %s: %s", m, r.Notes)
		}
	}
	b.WriteString("\n\n## Stage timings\n\n| stage | seconds | done | note |\n|---|---|---|---|\n")
	for _, st := range res.Stages {
		if st.Stage != "report" {
			fmt.Fprintf(&b, "| %s | %.1f | %v | %s |\n", st.Stage, st.Seconds, st.Done, st.Note)
		}
	}
	b.WriteString("\n" + p.Budgets())
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s.png)\n\n", c, c)
		}
	}
	var grids []string
	for _, m := range append([]string{"teacher"}, p.Opts.Models...) {
		if _, err := os.Stat(p.path("eval", m+".png")); err == nil {
			grids = append(grids, fmt.Sprintf("| %s | ![%s](eval/%s.png) |", modelLabel(m), m, m))
		}
	}
	if len(grids) > 0 {
		b.WriteString("## Samples\n\n| model | samples |\n|---|---|\n" + strings.Join(grids, "\n") + "\n")
	}
	return b.String()
}

func samplerName(s SamplerSpec) string {
	if s.Kind == "" {
		return "DDIM 50 steps"
	}
	if s.Kind == "ddpm" {
		return "DDPM"
	}
	return fmt.Sprintf("DDIM %d steps, eta %g", s.Steps, s.Eta)
}

func yesNo(b bool) string {
	if b {
		return "**met**"
	}
	return "**not met**"
}

// saveChart writes chart c (built with error err) as base.png and
// base.svg, each atomically (a report directory never holds half a
// picture).
func saveChart(base string, c *plots.Chart, err error) error {
	if err != nil {
		return fmt.Errorf("chart %s: %w", filepath.Base(base), err)
	}
	for _, format := range []string{"png", "svg"} {
		b, err := c.Render(format)
		if err != nil {
			return fmt.Errorf("chart %s: %w", filepath.Base(base), err)
		}
		if err := checkpoint.WriteFileAtomic(base+"."+format, b); err != nil {
			return err
		}
	}
	return nil
}
