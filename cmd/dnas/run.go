package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dnas/dnas"
	"dnas/dnas/checkpoint"
)

func init() {
	register("run", "run the DiffNAS pipeline end to end (supernet, search, retraining, evaluation, report); resumable", runPipeline)
	register("ablate", "beta-schedule ablation: retrain a searched subnet with several joint-loss schedules", runAblation)
}

// runPipeline is `dnas run --preset P --out DIR`.
func runPipeline(args []string) error {
	fs := newFlagSet("run", `
Runs the DiffNAS pipeline of METHOD.md on a teacher. Stage 1 trains a
supernet by block-wise distillation; stage 2 scores every candidate of every
block (kernel sizes, and inner widths with --widths) and keeps in each the
one with the fewest MACs whose distillation loss is at most the baseline's
(the teacher's own block) times --loss-scale; stage 3 retrains the searched
subnet and the models it is compared with (--models) under the joint loss;
then each is sampled for FID. --out receives summary.md, results.json and
the charts. Every stage is checkpointed in --out: after Ctrl-C, the same
command resumes, and so does 'dnas run --out DIR --resume', which reads the
options from DIR.`,
		"dnas run --preset small --out out/run",
		"dnas run --preset small --widths 0.5,0.75,1 --loss-scale 1.05 --out out/run-widths",
		"dnas run --preset base --min-reduction 0.3 --out out/run-base-30",
		"dnas run --out out/run --report",
		"dnas run --out out/run --resume")
	common := addCommonFlags(fs, commonFlagHelp{
		preset:      "teacher preset: " + presetNames(false) + " (sets every budget)",
		out:         "output directory (required); rerun with the same one to resume",
		seed:        "seed of the supernet and the retraining",
		seedDefault: 1,
	})
	teacher := fs.String("teacher", "", "teacher checkpoint (default: the committed models/<preset>.safetensors)")
	stage1 := fs.Int("stage1-steps", 0, "stage 1 steps per block (0: the preset's)")
	parallel := fs.String("parallel", "", "stage 1 block order: true = all blocks on each teacher pass, false = block after block (default: the preset's)")
	evalBatch := fs.Int("eval-batch", 0, "search evaluation-set size (0: the preset's)")
	lossScale := fs.Float64("loss-scale", 1, "block-wise rule: keep candidates with loss <= baseline x loss-scale")
	minReduction := fs.Float64("min-reduction", 0, "instead of a fixed --loss-scale, take the smallest loss_scale (>= --loss-scale) whose subnet has at least this fraction fewer MACs than the teacher, e.g. 0.3; found exactly from the search's candidate tables")
	retrain := fs.Int("retrain-steps", 0, "stage 3 steps per model (0: the preset's)")
	batch := fs.Int("retrain-batch", 0, "stage 3 batch size (0: the preset's)")
	schedule := fs.String("schedule", "linear:0.5", "joint-loss beta schedule: linear:F, cosine:F, hard:F, const:V, noise, distill")
	models := fs.String("models", "", "comma-separated models to retrain among subnet,teacher-arch,global,random (default: the preset's; subnet,teacher-arch for small and base)")
	samples := fs.Int("samples", 0, "generated images per model for FID (0: the preset's)")
	sf := addEvalSamplerFlags(fs)
	widths := fs.String("widths", "", "also search the inner width of every ResBlock: comma-separated multipliers in (0, 1] including 1, e.g. 0.5,0.75,1 (default: kernels only)")
	inherit := fs.Bool("inherit", false, "stage 3 starts each model from the teacher's weights wherever a weight has the teacher's name and shape (METHOD.md's inheritance; default: from scratch)")
	report := fs.Bool("report", false, "write the report of the stages done so far (summary.md, results.json, charts) and run nothing: look at a long run while it goes on; the options are read from --out's state.json")
	resume := fs.Bool("resume", false, "go on with the run in --out with the options it was started with (read from its state.json), without repeating them")
	// Retraining always draws each layer's weights by name now
	// (dnas.BuildSubnet); the flag that asked for it stays so that older
	// commands, and reruns that resume a directory, still run.
	fs.Bool("shared-init", false, "no effect, kept so older commands still run: retraining always draws each layer's initial weights from a stream seeded by its name (the compared models start every shared layer alike, none from the teacher's own draw)")
	sandwich := fs.Bool("sandwich", false, "with --widths: each stage-1 step also trains the widest and the narrowest path (the sandwich rule; ~3x the stage-1 time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, nil); err != nil {
		return err
	}
	if common.out == "" {
		return fmt.Errorf("--out is required: the directory to write the run to (rerun with the same one to resume)")
	}
	switch {
	case *report && *resume:
		return fmt.Errorf("--report and --resume: give one (--report writes the report so far and runs nothing, --resume goes on with the run)")
	case *report:
		return reportPipeline(fs, common.out)
	case *resume:
		if err := onlyOut(fs, "resume"); err != nil {
			return err
		}
		opts, err := dnas.LoadPipelineOptions(common.out)
		if err != nil {
			return err
		}
		return execPipeline(opts, fmt.Sprintf("dnas run --out %s --resume", common.out))
	}
	if *sandwich && *widths == "" {
		return fmt.Errorf("--sandwich needs --widths (e.g. --widths 0.5,0.75,1): the rule is about narrow and wide paths of the width search")
	}
	widthChoices, err := parseWidths(*widths)
	if err != nil {
		return err
	}
	opts, err := dnas.DefaultPipelineOptions(common.preset)
	if err != nil {
		return err
	}
	opts.OutDir, opts.TeacherPath = common.out, *teacher
	opts.Supernet.Seed, opts.Retrain.Seed = common.seed, common.seed
	opts.Supernet.WidthChoices = widthChoices
	opts.Supernet.Sandwich = *sandwich
	if *stage1 > 0 {
		opts.Stage1Steps = *stage1
	}
	switch *parallel {
	case "":
	case "true":
		opts.Supernet.Parallel = true
	case "false":
		opts.Supernet.Parallel = false
	default:
		return fmt.Errorf("--parallel %q: want true or false", *parallel)
	}
	if *evalBatch > 0 {
		opts.Search.EvalBatch = *evalBatch
	}
	if !(*lossScale > 0) {
		return fmt.Errorf("--loss-scale %g must be > 0: 1 (the default) keeps candidates no worse than the teacher's own block, 1.1 tolerates 10%% more block loss", *lossScale)
	}
	opts.Search.LossScale = *lossScale
	opts.Search.MinReduction = *minReduction
	if *retrain > 0 {
		opts.Retrain.Steps = *retrain
	}
	if *batch > 0 {
		opts.Retrain.BatchSize = *batch
	}
	opts.Retrain.Inherit = *inherit
	if opts.Retrain.Schedule, err = dnas.ParseJointLossSchedule(*schedule); err != nil {
		return err
	}
	if *models != "" {
		opts.Models = strings.Split(*models, ",")
	}
	if *samples > 0 {
		opts.Eval.Samples = *samples
	}
	if opts.Eval.Sampler, err = sf.spec(fs, opts.Eval.Sampler); err != nil {
		return err
	}
	return execPipeline(opts, "the same command")
}

// execPipeline runs (or resumes) the pipeline of opts and prints its
// outcome; again names what resumes it after an interruption.
func execPipeline(opts dnas.PipelineOptions, again string) error {
	ctx, stop := interruptContext()
	defer stop()
	start := time.Now()
	p, err := dnas.NewPipeline(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dnas run: preset %s, teacher %s, output %s\n%s", opts.Preset, p.Teacher.ID(), opts.OutDir, p.Budgets())
	res, err := p.Run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted after %.0fs; run %s again to resume (or dnas run --out %s --resume): %w", time.Since(start).Seconds(), again, opts.OutDir, err)
		}
		return err
	}
	fmt.Printf("DiffNAS %s: subnet %.1f%% fewer MACs than the teacher; FID subnet %s vs teacher arch. retrained %s; %.1f min of stage time (this session %.1f min)\n",
		res.Preset, 100*res.MACReduction, fidText(res.SubnetFID, "subnet", res.Options.Models), fidText(res.TeacherArchFID, "teacher-arch", res.Options.Models), res.TotalSeconds/60, time.Since(start).Minutes())
	for _, st := range res.Stages {
		if st.Stage != "report" {
			note := ""
			if st.Note != "" {
				note = " (" + st.Note + ")"
			}
			fmt.Printf("  %-20s %7.1fs%s\n", st.Stage, st.Seconds, note)
		}
	}
	fmt.Printf("report: %s\n", filepath.Join(opts.OutDir, "summary.md"))
	if slices.Contains(res.Options.Models, "subnet") {
		fmt.Printf("the retrained subnet: dnas sample --model %s (dnas fid --model to measure it again)\n",
			filepath.Join(opts.OutDir, "retrain", "subnet.safetensors"))
	}
	return nil
}

// reportPipeline is `dnas run --report --out DIR`: the report of an
// unfinished (or finished) run, with the options it was made with.
func reportPipeline(fs *flag.FlagSet, dir string) error {
	if err := onlyOut(fs, "report"); err != nil {
		return err
	}
	opts, err := dnas.LoadPipelineOptions(dir)
	if err != nil {
		return err
	}
	opts.Log = os.Stderr
	p, err := dnas.NewPipeline(opts)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	res, err := p.Report(ctx)
	if err != nil {
		return err
	}
	state := "finished"
	if len(res.Pending) > 0 {
		state = "pending: " + strings.Join(res.Pending, ", ")
	}
	fmt.Printf("DiffNAS %s (%s): subnet %.1f%% fewer MACs than the teacher; FID subnet %s vs teacher arch. retrained %s\nreport: %s\n",
		res.Preset, state, 100*res.MACReduction, fidText(res.SubnetFID, "subnet", res.Options.Models), fidText(res.TeacherArchFID, "teacher-arch", res.Options.Models),
		filepath.Join(dir, "summary.md"))
	return nil
}

// onlyOut refuses any flag but --out and --<mode> (report, resume): those
// modes read the run's options from its state.json.
func onlyOut(fs *flag.FlagSet, mode string) error {
	var other []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != mode && f.Name != "out" {
			other = append(other, "--"+f.Name)
		}
	})
	if len(other) > 0 {
		return fmt.Errorf("--%s reads the run's options from --out's state.json: drop %s", mode, strings.Join(other, " "))
	}
	return nil
}

// runAblation is `dnas ablate --run DIR --out DIR2 --schedules ...`: the
// beta-schedule ablation on the subnet a `dnas run` found.
func runAblation(args []string) error {
	fs := newFlagSet("ablate", `
Retrains one architecture a 'dnas run' searched (--arch) once per joint-loss
beta schedule (--schedules), from the same initial weights, seed and budget,
evaluates each, and writes ablation.md, ablation.json and the charts to
--out. The run's own retraining counts as the entry of its schedule when the
budgets and the seed match. Rerun the same command to resume. With --seed
and a single schedule it retrains an architecture under another training
seed: how much of a difference between two models is training noise.`,
		"dnas ablate --run out/run",
		"dnas ablate --run out/run --arch global --schedules linear:0.5,noise --out out/ablation-global",
		"dnas ablate --run out/run --arch teacher-arch --schedules linear:0.5 --seed 2 --out out/run/seed2-teacher-arch")
	run := fs.String("run", "", "directory of a finished (or searched) 'dnas run' (required)")
	out := fs.String("out", "", "output directory (default <run>/ablation, with --seed N <run>/ablation-seedN); rerun to resume")
	schedules := fs.String("schedules", "linear:0.5,cosine:0.5,hard:0.5,const:0.5,noise", "comma-separated beta schedules")
	arch := fs.String("arch", "subnet", "which searched architecture: subnet, global, random or teacher-arch")
	retrain := fs.Int("retrain-steps", 0, "steps per schedule (0: the run's retraining budget)")
	samples := fs.Int("samples", 0, "generated images per model for FID (0: the run's)")
	seed := fs.Uint64("seed", 0, "training seed of every retraining: initial weights, batches, timesteps, noise, dropout (0: the run's)")
	preset := fs.String("preset", "small", "preset of the run, only for an unfinished run older than recorded options (its state.json has none)")
	teacher := fs.String("teacher", "", "teacher checkpoint of the run (default: the one it was made with; needed only for an unfinished run older than recorded options)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, nil); err != nil {
		return err
	}
	if *run == "" {
		return fmt.Errorf("--run is required: the output directory of a `dnas run`")
	}
	if *out == "" {
		*out = filepath.Join(*run, "ablation")
		if *seed > 0 {
			*out += fmt.Sprintf("-seed%d", *seed)
		}
	}
	scheds, err := dnas.ParseJointLossSchedules(*schedules)
	if err != nil {
		return err
	}
	// The run's options come from its results.json, or from its
	// state.json while it is still retraining; a run older than recorded
	// options and not finished is rebuilt from the preset's defaults and
	// --teacher (its search must be done).
	var saved dnas.PipelineResults
	opts := saved.Options
	if err := readRunJSON(filepath.Join(*run, "results.json"), &saved); err == nil {
		opts = saved.Options
	} else if o, err := dnas.LoadPipelineOptions(*run); err == nil {
		opts = o
		if *teacher != "" {
			opts.TeacherPath = *teacher
		}
	} else if opts, err = dnas.DefaultPipelineOptions(*preset); err != nil {
		return err
	} else {
		opts.TeacherPath = *teacher
	}
	opts.OutDir = *run
	p, err := dnas.NewPipeline(opts)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	if err := p.RunSearch(ctx); err != nil {
		return err
	}
	r, ok := p.Searches[*arch]
	if !ok {
		return fmt.Errorf("--arch %q: want subnet, global, random or teacher-arch", *arch)
	}
	ro := opts.Retrain
	if *retrain > 0 {
		ro.Steps = *retrain
	}
	if *seed > 0 {
		ro.Seed = *seed
	}
	ev := opts.Eval
	if *samples > 0 {
		ev.Samples = *samples
	}
	// The run's own retraining of this architecture is one of the
	// ablation's entries when the schedule and budget match: reuse it.
	if m := archModel(*arch); m != "" && ro.Steps == opts.Retrain.Steps && ro.Seed == opts.Retrain.Seed {
		file := dnas.AblationRunFile(*out, opts.Retrain.Schedule)
		if _, err := os.Stat(file); err != nil && p.StageDone("eval:"+m) {
			if err := p.RunEvaluate(ctx, m); err != nil {
				return err
			}
			if err := p.RunRetrain(ctx, m); err != nil {
				return err
			}
			secs := 0.0
			for _, st := range p.Stages() {
				if st.Stage == "retrain:"+m {
					secs = st.Seconds
				}
			}
			run := dnas.NewAblationRun(p.Retrainers[m], p.Evals[m], secs)
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(run, "", " ")
			if err := checkpoint.WriteFileAtomic(file, b); err != nil {
				return err
			}
		}
	}
	ab, err := dnas.RunBetaAblation(ctx, p.Teacher, r, p.Data, dnas.BetaAblationOptions{Schedules: scheds, Retrain: ro, Eval: ev, Dir: *out})
	if err != nil {
		return err
	}
	return dnas.WriteAblationReport(ab, *out)
}

// parseWidths reads --widths: comma-separated width multipliers, each in
// (0, 1], none twice, 1 among them (dnas.CheckWidthChoices); "" is no
// width search.
func parseWidths(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ws []float64
	for _, f := range strings.Split(s, ",") {
		w, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("--widths %q: %q is not a number; give multipliers such as 0.5,0.75,1", s, f)
		}
		ws = append(ws, w)
	}
	if err := dnas.CheckWidthChoices(ws); err != nil {
		return nil, fmt.Errorf("--widths %q: %w", s, err)
	}
	return ws, nil
}

// readRunJSON decodes the JSON file at path into v.
func readRunJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// archModel is the pipeline model retrained for a searched architecture.
func archModel(arch string) string {
	switch arch {
	case "subnet", "global", "random", "teacher-arch":
		return arch
	}
	return ""
}

// fidText formats a model's FID for the closing line, or says how to get it
// when the model was not retrained in this run.
func fidText(v float64, model string, models []string) string {
	switch {
	case math.IsNaN(v) && slices.Contains(models, model):
		return "(not measured yet)"
	case math.IsNaN(v):
		return "(not measured: add " + model + " to --models)"
	}
	return fmt.Sprintf("%.2f", v)
}
