package dnas

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dnas/dnas/checkpoint"
)

// DescribeFile says what a checkpoint file of this project holds, in a few
// lines a person reads: for a teacher its architecture, size, ID, training
// step and learning-rate schedule (and, for a training checkpoint, where the
// run stands and how to resume it); for a stage-1 supernet block or a
// stage-3 retraining, its teacher and progress. Any other safetensors file
// gets its tensor count and metadata keys. A `dnas run` directory gets its
// options, the stages done (with their times), the one in progress and
// those left, and the commands that resume it; a `dnas teacher` output
// directory its checkpoints, EMA snapshots and quality curve. `dnas info
// FILE...` prints it.
func DescribeFile(path string) (string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return describeDir(path)
	}
	f, err := checkpoint.Load(path)
	if err != nil {
		return "", err
	}
	switch format := f.Metadata["format"]; format {
	case teacherFormat:
		return describeTeacher(path, f)
	case supernetFormat:
		return describeSupernet(path, f), nil
	case retrainFormat:
		return describeRetrain(path, f)
	case "":
		if f.Metadata["model"] == "lenet" {
			return fmt.Sprintf("%s: the LeNet MNIST classifier behind FID and the confident fraction (test accuracy %s), made by: %s\n",
				path, f.Metadata["test_accuracy"], f.Metadata["command"]), nil
		}
		fallthrough
	default:
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		what := "not a dnas checkpoint"
		if format != "" {
			what = fmt.Sprintf("format %q, not one dnas knows", format)
		}
		return fmt.Sprintf("%s: a safetensors file (%s): %d tensors, metadata %s\n", path, what, len(f.Tensors), strings.Join(keys, ", ")), nil
	}
}

func describeTeacher(path string, f *checkpoint.File) (string, error) {
	t, err := teacherFromFile(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	p := t.Preset
	var b strings.Builder
	training := f.Metadata["kind"] == "training"
	kind := "teacher weights (EMA), no optimiser state: LoadTeacher, dnas sample --model, dnas fid --model"
	if training {
		kind = "teacher training checkpoint (live and EMA weights, Adam, data position, RNG): resumable"
	}
	fmt.Fprintf(&b, "%s: %s\n", path, kind)
	fmt.Fprintf(&b, "  teacher %s, preset %s: ch %d, mult %v, %d res/level, attention at %v, dropout %g; %s params, %s MACs/sample\n",
		t.ID(), p.Name, p.UNet.Ch, p.UNet.Mult, p.UNet.NumResBlocks, p.UNet.AttnRes, p.UNet.Dropout,
		FormatCount(t.Net.NumParams()), FormatCount(t.Net.MACs()))
	fmt.Fprintf(&b, "  noise %s, T %d; batch %d, EMA decay %g, grad clip %g\n", p.Noise, p.T, p.BatchSize, p.EMADecay, p.GradClip)
	fmt.Fprintf(&b, "  learning rate: %s\n", p.ScheduleText())
	if p.RestartInit != "" {
		fmt.Fprintf(&b, "  continued from the weights of teacher %s (Adam started afresh, data order from its own seed)\n", p.RestartInit)
	}
	if !training {
		fmt.Fprintf(&b, "  trained %d steps\n", t.Step)
		return b.String(), nil
	}
	seed, _ := strconv.ParseUint(f.Metadata["seed"], 10, 64)
	loss, _ := strconv.ParseFloat(f.Metadata["loss"], 64)
	fmt.Fprintf(&b, "  at step %d of %d (seed %d, last loss %.4g); the next step's learning rate %.3g\n",
		t.Step, p.Steps, seed, loss, p.LearningRate(t.Step+1))
	if fi, err := os.Stat(path); err == nil {
		// When it was written says whether a background run is alive (it
		// writes one every --checkpoint-every steps).
		fmt.Fprintf(&b, "  written %s (%s ago)\n", fi.ModTime().Format("2006-01-02 15:04:05 MST"), time.Since(fi.ModTime()).Round(time.Second))
	}
	if t.Step < p.Steps {
		if filepath.Base(path) == "train.safetensors" {
			fmt.Fprintf(&b, "  resume: dnas teacher --preset %s --out %s\n", p.Name, filepath.Dir(path))
		} else {
			fmt.Fprintf(&b, "  resume: dnas teacher --preset %s --out DIR, with this file as DIR/train.safetensors\n", p.Name)
		}
	} else {
		fmt.Fprintf(&b, "  finished; take it further: dnas teacher --preset %s --restart-from %s --restart-lr LR --steps TOTAL --out NEWDIR\n", p.Name, path)
	}
	return b.String(), nil
}

// ScheduleText describes the learning-rate schedule in words: the first
// cycle, then every restart in order.
func (p TeacherPreset) ScheduleText() string {
	cycle := func(peak, floor float32, start, end int) string {
		s := fmt.Sprintf("warm-up over %d steps to %g", p.WarmupSteps, peak)
		if p.LRDecay == "cosine" {
			return s + fmt.Sprintf(", cosine to %g at step %d", p.floor(floor), end)
		}
		return s + ", then constant"
	}
	if p.RestartStep == 0 {
		return cycle(p.LR, 0, 0, p.Steps)
	}
	parts := []string{cycle(p.LR, 0, 0, p.firstCycleEnd())}
	if p.RestartInit != "" {
		// TeacherTrainerFromWeights: the steps before the first restart
		// are the source teacher's, trained on its own schedule.
		parts[0] = fmt.Sprintf("steps 1-%d are teacher %s's (its own schedule)", p.firstCycleEnd(), p.RestartInit)
	}
	for _, r := range p.EarlierRestarts {
		parts = append(parts, fmt.Sprintf("restart after step %d: %s", r.Step, cycle(r.LR, r.MinLR, r.Step, r.End)))
	}
	parts = append(parts, fmt.Sprintf("restart after step %d: %s", p.RestartStep, cycle(p.RestartLR, p.RestartMinLR, p.RestartStep, p.Steps)))
	return strings.Join(parts, "; ")
}

func describeSupernet(path string, f *checkpoint.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: a stage-1 supernet checkpoint (one block's weights for every kernel choice, or the student's time MLP, with Adam state)\n", path)
	fmt.Fprintf(&b, "  distilled from teacher %s\n", f.Metadata["teacher"])
	step := 0
	for k, v := range f.Metadata {
		if strings.HasPrefix(k, "step.") {
			if n, err := strconv.Atoi(v); err == nil {
				step = max(step, n)
			}
		}
	}
	fmt.Fprintf(&b, "  %d tensors; its weights took up to %d Adam steps\n", len(f.Tensors), step)
	if w := f.Metadata["width_choices"]; w != "" {
		fmt.Fprintf(&b, "  width multipliers searched too: %s\n", w)
	}
	if f.Metadata["sandwich"] == "true" {
		b.WriteString("  trained with the sandwich rule\n")
	}
	return b.String()
}

func describeRetrain(path string, f *checkpoint.File) (string, error) {
	var o RetrainOptions
	var r SearchResult
	if err := f.MetaJSON("options", &o); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := f.MetaJSON("result", &r); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	step, _ := strconv.Atoi(f.Metadata["step"])
	var b strings.Builder
	fmt.Fprintf(&b, "%s: a stage-3 retraining checkpoint %q (weights, EMA, Adam, log): resumable\n", path, f.Metadata["name"])
	fmt.Fprintf(&b, "  against teacher %s; at step %d of %d, batch %d, lr %g, joint loss %s, seed %d\n",
		f.Metadata["teacher"], step, o.Steps, o.BatchSize, o.LR, o.Schedule, o.Seed)
	fmt.Fprintf(&b, "  the model: %s search, kernels %v: %s MACs (%.1f%% fewer than the teacher), %s params\n",
		r.Method, r.Kernels(), FormatCount(r.MACs()), 100*r.MACReduction(), FormatCount(r.Params()))
	fmt.Fprintf(&b, "  its EMA weights: dnas sample --model %s, dnas fid --model %s (dnas.LoadModel)\n", path, path)
	return b.String(), nil
}

// describeDir describes a directory dnas wrote: a `dnas run` directory (it
// has state.json) or a `dnas teacher` output directory (train.safetensors,
// teacher.safetensors, snapshots/, curve/).
func describeDir(dir string) (string, error) {
	st, found, err := readPipelineState(dir)
	switch {
	case err != nil:
		return "", fmt.Errorf("dnas: %w", err)
	case found:
		return describeRunDir(dir, st)
	}
	var b strings.Builder
	for _, name := range []string{"train.safetensors", "teacher.safetensors"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		d, err := DescribeFile(path)
		if err != nil {
			return "", err
		}
		b.WriteString(d)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "step-*.safetensors"))
	if len(snaps) > 0 { // Glob returns them sorted: step order
		fmt.Fprintf(&b, "%s: %d EMA snapshots, %s to %s\n", filepath.Join(dir, "snapshots"), len(snaps), filepath.Base(snaps[0]), filepath.Base(snaps[len(snaps)-1]))
	}
	if c, err := LoadQualityCurve(filepath.Join(dir, "curve", "curve.json")); err == nil && len(c.Points) > 0 {
		pts := make([]string, len(c.Points))
		for i, pt := range c.Points {
			pts[i] = fmt.Sprintf("%d: FID %.1f, %.1f%%", pt.Step, pt.FID, 100*pt.ConfidentFraction)
		}
		fmt.Fprintf(&b, "%s: quality curve of %d points (%d samples, %s, seed %d; step: FID, confident): %s\n",
			filepath.Join(dir, "curve"), len(c.Points), c.Samples, c.Sampler, c.Seed, strings.Join(pts, "; "))
		if n := len(snaps) - len(c.Points); n > 0 {
			sampler := fmt.Sprintf("--steps %d --eta %g", c.Spec.Steps, c.Spec.Eta)
			if c.Spec.Kind == "ddpm" {
				sampler = "--sampler ddpm"
			}
			live := ""
			if c.Live {
				live = " --live"
			}
			fmt.Fprintf(&b, "  %d snapshots not measured yet; this measures only those: dnas fid --model '%s' --samples %d %s --seed %d%s --out %s\n",
				n, filepath.Join(dir, "snapshots", "*.safetensors"), c.Samples, sampler, c.Seed, live, filepath.Join(dir, "curve"))
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("%s is a directory dnas did not write (no state.json, train.safetensors, teacher.safetensors or snapshots/): dnas info describes checkpoint files, `dnas run` directories and `dnas teacher` output directories", dir)
	}
	return b.String(), nil
}

// describeRunDir describes the `dnas run` directory dir from its state.json.
func describeRunDir(dir string, st pipelineState) (string, error) {
	switch {
	case st.Options == nil:
		return "", fmt.Errorf("%s predates recorded options: its results.json has them", filepath.Join(dir, "state.json"))
	}
	o := st.Options
	var b strings.Builder
	teacher := o.TeacherPath
	if teacher == "" {
		teacher = "the committed one"
	}
	fmt.Fprintf(&b, "%s: a dnas run directory, preset %s, teacher %s (%s)\n", dir, o.Preset, st.Teacher, teacher)
	fmt.Fprintf(&b, "  stage 1 %d steps per block; search on %d samples, %s; models %s retrained %d steps each (beta %s, seed %d)\n",
		o.Stage1Steps, o.Search.EvalBatch, searchRuleText(o.Search, nil), strings.Join(o.Models, ", "), o.Retrain.Steps, o.Retrain.Schedule, o.Retrain.Seed)
	done := map[string]StageTime{}
	var doneText []string
	total := 0.0
	for _, s := range st.Stages {
		if s.Done {
			done[s.Stage] = s
			total += s.Seconds
			doneText = append(doneText, fmt.Sprintf("%s %.0fs", s.Stage, s.Seconds))
		}
	}
	if len(doneText) > 0 {
		fmt.Fprintf(&b, "  done: %s (%.1f min of stage time)\n", strings.Join(doneText, ", "), total/60)
	}
	var left []string
	for _, s := range append(runStages(o.Models), "report") {
		if _, ok := done[s]; ok {
			continue
		}
		if m, ok := strings.CutPrefix(s, "retrain:"); ok && len(left) == 0 {
			// The retraining in progress: its checkpoint says how far.
			ckpt := filepath.Join(dir, "retrain", m+".safetensors")
			if f, err := checkpoint.Load(ckpt); err == nil && f.Metadata["format"] == retrainFormat {
				s = fmt.Sprintf("%s (at step %s of %d)", s, f.Metadata["step"], o.Retrain.Steps)
			}
		}
		left = append(left, s)
	}
	if len(left) == 0 {
		fmt.Fprintf(&b, "  finished: %s\n", filepath.Join(dir, "summary.md"))
	}
	var retrained []string
	for _, m := range o.Models {
		if _, ok := done["retrain:"+m]; ok {
			retrained = append(retrained, filepath.Join(dir, "retrain", m+".safetensors"))
		}
	}
	if len(retrained) > 0 {
		fmt.Fprintf(&b, "  retrained models (dnas sample --model FILE, dnas fid --model FILE): %s\n", strings.Join(retrained, ", "))
	}
	if len(left) == 0 {
		return b.String(), nil
	}
	fmt.Fprintf(&b, "  left: %s\n", strings.Join(left, ", "))
	fmt.Fprintf(&b, "  resume: dnas run --out %s --resume; the report so far: dnas run --out %s --report\n", dir, dir)
	return b.String(), nil
}

// The String methods below describe the library's values in a line or a
// table: what the REPL and a notebook print for a cell whose value is one of
// them, instead of a dump of their fields.

// String describes the preset: the network, the noise schedule, and how it
// trains.
func (p TeacherPreset) String() string {
	noise := string(p.Noise)
	if noise == "" {
		noise = "linear"
	}
	s := fmt.Sprintf("preset %s: UNet (%s), %s noise schedule T=%d; trains %d steps of batch %d, Adam %s, grad clip %g, EMA %g",
		p.Name, p.UNet, noise, p.T, p.Steps, p.BatchSize, p.ScheduleText(), p.GradClip, p.EMADecay)
	if p.SampleSteps > 0 {
		s += fmt.Sprintf("; samples with DDIM %d", p.SampleSteps)
	}
	return s
}

// String names the sampler: "DDIM, 20 steps, eta 0" or "DDPM, all T steps".
func (sp SamplerSpec) String() string {
	var s string
	switch strings.ToLower(sp.Kind) {
	case "", "ddim":
		steps := sp.Steps
		if steps <= 0 {
			steps = 50
		}
		s = fmt.Sprintf("DDIM, %d steps, eta %g", steps, sp.Eta)
	case "ddpm":
		s = "DDPM, all T steps"
	default:
		s = fmt.Sprintf("sampler %q (unknown: want ddim or ddpm)", sp.Kind)
	}
	if sp.Batch > 0 {
		s += fmt.Sprintf(", batches of %d", sp.Batch)
	}
	return s
}

// String says where the training stands.
func (tr *TeacherTrainer) String() string {
	if tr == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("teacher trainer, preset %s, seed %d: step %d of %d, learning rate %.3g", tr.Preset.Name, tr.Seed,
		tr.StepNum, tr.Preset.Steps, tr.lr(tr.StepNum))
	if tr.StepNum > 0 {
		s += fmt.Sprintf(", last loss %.5f", tr.LastLoss)
	}
	if tr.CheckpointPath != "" {
		s += ", checkpoints to " + tr.CheckpointPath
	}
	return s
}

// String says what is being retrained and where it stands.
func (r *Retrainer) String() string {
	if r == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("retrainer %q: %s MACs, %s params, beta %s, step %d of %d", r.Name, FormatCount(r.Net.MACs()),
		FormatCount(r.Net.NumParams()), r.Opts.Schedule, r.Step, r.Opts.Steps)
	if n := len(r.Log.Joint); n > 0 {
		s += fmt.Sprintf(", last logged joint loss %.5f (noise %.5f)", r.Log.Joint[n-1], r.Log.Noise[n-1])
	}
	return s
}

// String says where the run is and which stages are done.
func (p *Pipeline) String() string {
	if p == nil {
		return "<nil>"
	}
	var done, left []string
	for _, st := range p.stagesOfRun() {
		if p.StageDone(st) {
			done = append(done, st)
		} else {
			left = append(left, st)
		}
	}
	teacher := "(none)"
	if p.Teacher != nil {
		teacher = p.Teacher.ID()
	}
	s := fmt.Sprintf("pipeline in %s on teacher %s, models %v: %d stages done", p.Opts.OutDir, teacher, p.Opts.Models, len(done))
	if len(left) > 0 {
		s += fmt.Sprintf(", next %s (%d left)", left[0], len(left))
	} else {
		s += ", all done"
	}
	return s
}

// String sums the verdicts up in one line; Table (and Markdown, which a
// notebook shows) breaks them down by digit.
func (v *Verdicts) String() string {
	if v == nil {
		return "<nil>"
	}
	if len(v.Prob) == 0 {
		return "verdicts on no images"
	}
	s := fmt.Sprintf("verdicts on %d images: %.1f%% labelled with p >= %g", len(v.Prob), 100*v.ConfidentFraction(), ConfidentThreshold)
	if names := v.Doubtful(3); len(names) > 0 {
		s += "; least confident: " + strings.Join(names, ", ")
	}
	return s
}

// Markdown is Table, so a notebook cell whose value is the verdicts shows
// the table.
func (v *Verdicts) Markdown() string { return v.Table() }

// String is Table.
func (a *BetaAblation) String() string { return a.Table() }

// Markdown is Table, so a notebook shows the ablation as a table.
func (a *BetaAblation) Markdown() string { return a.Table() }

// String is Table.
func (sw *LossScaleSweep) String() string { return sw.Table() }

// Markdown is Table, so a notebook shows the sweep as a table.
func (sw *LossScaleSweep) Markdown() string { return sw.Table() }

// String describes the candidate: its architecture, loss and cost.
func (c Candidate) String() string {
	s := fmt.Sprintf("k=%v", c.Kernels)
	if c.Widths != nil {
		s += fmt.Sprintf(" w=%v", c.Widths)
	}
	return s + fmt.Sprintf(": loss %.5g, %s MACs, %s params", c.Loss, FormatCount(c.MACs), FormatCount(c.Params))
}

// String sums the block's search up: its candidates, the baseline and the
// choice. Table (and Markdown, which a notebook shows) lists the
// candidates. (Value receivers: a SearchResult holds its blocks by value, so
// that r.Blocks[i] prints so too.)
func (b BlockSearch) String() string {
	if len(b.Candidates) == 0 {
		return "block search (empty)"
	}
	base, ch := b.BaselineCandidate(), b.Chosen()
	s := fmt.Sprintf("block %s: %d candidates; baseline %s", b.Block, len(b.Candidates), base)
	switch {
	case b.Choice == b.Baseline:
		s += "; chosen: the baseline"
	default:
		s += fmt.Sprintf("; chosen %s (%+.0f%% MACs, loss x%.3f)", ch,
			100*(float64(ch.MACs)/float64(base.MACs)-1), ch.Loss/base.Loss)
	}
	if b.NoneQualified {
		s += " (no candidate qualified)"
	}
	return s
}

// tableRows is how many candidates Table lists in full; beyond that it
// lists the Pareto front, the baseline and the choice.
const tableRows = 81

// Table lists the block's candidates from the fewest MACs, marking the
// baseline, the choice and the Pareto front, as Markdown. A block with more
// than 81 candidates (a decoder block's 729) is cut to its Pareto front, its
// baseline and its choice.
func (b BlockSearch) Table() string {
	order := make([]int, len(b.Candidates))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		ci, cj := b.Candidates[i], b.Candidates[j]
		if ci.MACs != cj.MACs {
			return cmp.Compare(ci.MACs, cj.MACs)
		}
		return cmp.Compare(ci.Loss, cj.Loss)
	})
	front := map[int]bool{}
	for _, i := range b.ParetoFront() {
		front[i] = true
	}
	title := fmt.Sprintf("**Block %s: %d candidates**", b.Block, len(b.Candidates))
	if len(order) > tableRows {
		order = slices.DeleteFunc(order, func(i int) bool { return !front[i] && i != b.Baseline && i != b.Choice })
		title = fmt.Sprintf("**Block %s: %d candidates, the %d on the Pareto front, the baseline and the choice listed** (Candidates holds them all)",
			b.Block, len(b.Candidates), len(front))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n\n| kernels | widths | loss | loss / baseline | MACs | params | |\n|---|---|---:|---:|---:|---:|---|\n", title)
	base := b.BaselineCandidate().Loss
	for _, i := range order {
		c := b.Candidates[i]
		var marks []string
		if i == b.Baseline {
			marks = append(marks, "baseline")
		}
		if i == b.Choice {
			marks = append(marks, "**chosen**")
		}
		if front[i] {
			marks = append(marks, "Pareto")
		}
		w := "-"
		if c.Widths != nil {
			w = fmt.Sprint(c.Widths)
		}
		fmt.Fprintf(&sb, "| %v | %s | %.5f | %.3f | %s | %s | %s |\n", c.Kernels, w, c.Loss, c.Loss/base,
			FormatCount(c.MACs), FormatCount(c.Params), strings.Join(marks, ", "))
	}
	return sb.String()
}

// Markdown is Table, so a notebook cell whose value is a block's search
// shows its candidate table.
func (b BlockSearch) Markdown() string { return b.Table() }

// String sums the log up: what was logged, and the losses at the last
// logged step (DynamicsChart draws all of it).
func (l RetrainLog) String() string {
	n := len(l.Steps)
	if n == 0 {
		return "retraining log: nothing logged yet"
	}
	s := fmt.Sprintf("retraining log: %d logged steps (%d to %d), blocks %v; at step %d: beta %.3g, L_noise %.5g",
		n, l.Steps[0], l.Steps[n-1], l.Blocks, l.Steps[n-1], l.Beta[n-1], l.Noise[n-1])
	if n <= len(l.Distill) {
		var sum float64
		for _, d := range l.Distill[n-1] {
			sum += d
		}
		s += fmt.Sprintf(", L_distill %.5g (summed over blocks), joint %.5g", sum, l.Joint[n-1])
	}
	return s
}
