package dnas

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
)

func tinyTrainer(t *testing.T, seed uint64) *TeacherTrainer {
	t.Helper()
	tr, err := NewTeacherTrainerByName("tiny", seed)
	if err != nil {
		t.Fatal(err)
	}
	tr.Reporter = progress.Discard
	return tr
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

func TestTinyTeacherTrainsAndLossFalls(t *testing.T) {
	tr := tinyTrainer(t, 1)
	var first, last float64
	for i := 0; i < 30; i++ {
		l, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if i < 5 {
			first += l / 5
		}
		if i >= 25 {
			last += l / 5
		}
	}
	if !(last < first) {
		t.Fatalf("noise loss did not fall: first steps %.4f, last steps %.4f", first, last)
	}
}

func TestTeacherCheckpointRoundTripAndExactResume(t *testing.T) {
	// The preset with dropout, so resuming must also restore the dropout masks.
	p, _ := LookupTeacherPreset("tiny")
	p.UNet.Dropout = 0.1
	p.BatchSize = 8
	a, err := NewTeacherTrainer(p, 7)
	if err != nil {
		t.Fatal(err)
	}
	a.Reporter = progress.Discard
	path := filepath.Join(t.TempDir(), "train.safetensors")
	a.CheckpointPath = path
	if err := a.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	b, err := ResumeTeacherTrainer(path)
	if err != nil {
		t.Fatal(err)
	}
	b.Reporter = progress.Discard
	if b.StepNum != 3 || b.Opt.Step != a.Opt.Step {
		t.Fatalf("resumed at step %d (adam %d), want 3 (%d)", b.StepNum, b.Opt.Step, a.Opt.Step)
	}
	for i, p := range a.params {
		if !sameBits(p.Data, b.params[i].Data) || !sameBits(a.EMA.Shadow[i], b.EMA.Shadow[i]) ||
			!sameBits(a.Opt.M[i], b.Opt.M[i]) || !sameBits(a.Opt.V[i], b.Opt.V[i]) {
			t.Fatalf("tensor %s not bit-identical after the round trip", p.Name)
		}
	}
	ema0 := append([]float32(nil), b.EMA.Shadow[0]...)
	// The next step after a resume is the step the uninterrupted run takes:
	// same batch, timesteps, noise, dropout masks, weights and Adam state.
	la, err := a.Step()
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Step()
	if err != nil {
		t.Fatal(err)
	}
	if la != lb {
		t.Fatalf("first step after resume: loss %v, uninterrupted run %v", lb, la)
	}
	// Later steps agree to float32 round-off only: the engine sums per-worker
	// gradient pieces in whatever order the workers finish.
	la, _ = a.Step()
	lb, _ = b.Step()
	if math.Abs(la-lb) > 1e-6*math.Abs(la) {
		t.Fatalf("second step after resume: loss %v, uninterrupted run %v", lb, la)
	}
	// The teacher of a training checkpoint is its EMA weights.
	tch, err := LoadTeacher(path)
	if err != nil {
		t.Fatal(err)
	}
	if tch.Step != 3 || !sameBits(tch.Net.Params()[0].Data, ema0) {
		t.Fatalf("LoadTeacher on a training checkpoint: step %d, or weights that are not the EMA", tch.Step)
	}
}

func TestTrainStopsOnCancelAndKeepsWeights(t *testing.T) {
	tr := tinyTrainer(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	tr.Reporter = progress.ReporterFunc(func(e progress.Event) {
		if e.Step == 2 && !e.Done {
			cancel()
		}
	})
	tr.CheckpointPath = filepath.Join(t.TempDir(), "c.safetensors")
	err := tr.Train(ctx, 100)
	if !errors.Is(err, context.Canceled) || tr.StepNum != 2 {
		t.Fatalf("want a cancellation after 2 steps, got %v at step %d", err, tr.StepNum)
	}
	r, err := ResumeTeacherTrainer(tr.CheckpointPath)
	if err != nil || r.StepNum != 2 || !sameBits(r.params[0].Data, tr.params[0].Data) {
		t.Fatalf("the stop did not checkpoint the trained weights: %v", err)
	}
}

func TestNaNLossStopsNamingTheStepAndKeepsWeights(t *testing.T) {
	tr := tinyTrainer(t, 3)
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	before := make([][]float32, len(tr.params))
	for i, p := range tr.params {
		before[i] = append([]float32(nil), p.Data...)
	}
	ema := append([]float32(nil), tr.EMA.Shadow[1]...)
	tr.params[0].Data[0] = float32(math.Inf(1)) // poison the stem weights
	err := tr.Train(context.Background(), 5)
	var div *DivergedError
	if !errors.As(err, &div) || div.Step != 2 || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("want a DivergedError at step 2, got %v", err)
	}
	for i, p := range tr.params {
		if i == 0 {
			continue
		}
		if !sameBits(p.Data, before[i]) {
			t.Fatalf("weights %s changed by the diverged step", p.Name)
		}
	}
	if tr.StepNum != 1 || !sameBits(tr.EMA.Shadow[1], ema) {
		t.Fatalf("step counter %d or EMA changed by the diverged step", tr.StepNum)
	}
}

func TestMismatchedCheckpointNamesTheTensor(t *testing.T) {
	tr := tinyTrainer(t, 4)
	tch, err := tr.Teacher()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := tch.Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Claim a wider architecture than the tensors hold.
	p := tch.Preset
	p.UNet.Ch = 16
	if err := f.SetMetaJSON("preset", p); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := f.Save(bad); err != nil {
		t.Fatal(err)
	}
	_, err = LoadTeacher(bad)
	if err == nil || !strings.Contains(err.Error(), `"model.`) || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("want an error naming the mismatched tensor, got %v", err)
	}
	// Weights-only files do not resume.
	if _, err := ResumeTeacherTrainer(path); err == nil {
		t.Fatal("resuming from a weights-only file should fail")
	}
}

func TestTeacherSamplersRun(t *testing.T) {
	tr := tinyTrainer(t, 5)
	tch, err := tr.Teacher()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, spec := range []SamplerSpec{DDIMSpec(5, 0), DDIMSpec(4, 1)} {
		x, err := tch.SampleWith(ctx, 3, 9, spec)
		if err != nil {
			t.Fatal(err)
		}
		if x.Shape[0] != 3 || x.Shape[1] != 1 || x.Shape[2] != 28 || x.HasNaN() {
			t.Fatalf("DDIM eta %g: shape %v or NaNs", spec.Eta, x.Shape)
		}
		y, _ := tch.SampleWith(ctx, 3, 9, spec)
		if !sameBits(x.Data, y.Data) {
			t.Fatalf("DDIM eta %g: same seed, different samples", spec.Eta)
		}
	}
	// DDPM visits every timestep: run it over a short schedule to stay fast.
	short, err := diffusion.NewNoiseSchedule(diffusion.LinearNoise, 40)
	if err != nil {
		t.Fatal(err)
	}
	x, err := SampleImages(ctx, tch, short, 2, 9, DDPMSpec())
	if err != nil || x.HasNaN() || x.Shape[0] != 2 {
		t.Fatalf("DDPM: %v", err)
	}
	if _, err := tch.SampleWith(ctx, 1, 0, SamplerSpec{Kind: "euler"}); err == nil {
		t.Fatal("unknown sampler accepted")
	}
	x, err = tch.SampleWith(ctx, 4, 1, DDIMSpec(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	g, err := SampleGrid(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := g.PNG(); err != nil || len(b) < 100 {
		t.Fatalf("grid PNG: %v", err)
	}
}

func TestLoadTeacherLiveWeights(t *testing.T) {
	tr := tinyTrainer(t, 6)
	path := filepath.Join(t.TempDir(), "train.safetensors")
	tr.CheckpointPath = path
	if err := tr.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	live, err := LoadTeacherLiveWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	ema, err := LoadTeacher(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(live.Net.Params()[0].Data, tr.params[0].Data) || !sameBits(ema.Net.Params()[0].Data, tr.EMA.Shadow[0]) {
		t.Fatal("live weights or EMA weights not loaded from their tensors")
	}
}

func TestTeacherLearningRateSchedule(t *testing.T) {
	p, err := LookupTeacherPreset("base")
	if err != nil {
		t.Fatal(err)
	}
	if p.LRDecay != "cosine" {
		t.Fatalf("base preset LR decay %q, want cosine", p.LRDecay)
	}
	near := func(got, want float32) bool { return math.Abs(float64(got-want)) <= 1e-6*float64(p.LR) }
	if got := p.LearningRate(p.WarmupSteps / 2); !near(got, p.LR/2) {
		t.Errorf("mid warm-up LR %v, want %v", got, p.LR/2)
	}
	if got := p.LearningRate(p.WarmupSteps); !near(got, p.LR) {
		t.Errorf("LR at the end of warm-up %v, want %v", got, p.LR)
	}
	mid := p.WarmupSteps + (p.Steps-p.WarmupSteps)/2
	if got, want := p.LearningRate(mid), (p.LR+p.MinLR)/2; !near(got, want) {
		t.Errorf("LR half way through the decay %v, want %v", got, want)
	}
	for _, s := range []int{p.Steps, p.Steps + 1000} {
		if got := p.LearningRate(s); !near(got, p.MinLR) {
			t.Errorf("LR at step %d = %v, want MinLR %v", s, got, p.MinLR)
		}
	}
	// A schedule no longer than its warm-up (dnas teacher --steps 200 on
	// base) stays at the peak rate after it instead of dividing by zero.
	short := p
	short.Steps = short.WarmupSteps
	if got := short.LearningRate(short.Steps); got != short.LR {
		t.Errorf("LR at the end of a warm-up-only schedule %v, want %v", got, short.LR)
	}
	small, _ := LookupTeacherPreset("small")
	if got := small.LearningRate(small.Steps); got != small.LR {
		t.Errorf("small preset (constant LR) has LR %v at its last step, want %v", got, small.LR)
	}
	p.LRDecay = "step"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "unknown LR decay") {
		t.Errorf("unknown LR decay accepted: %v", err)
	}
}

func TestTrainSavesSnapshotsAndReportsAbsoluteSteps(t *testing.T) {
	tr := tinyTrainer(t, 4)
	dir := t.TempDir()
	tr.SnapshotDir, tr.SnapshotEvery = dir, 3
	var evs []progress.Event
	tr.Reporter = progress.ReporterFunc(func(e progress.Event) { evs = append(evs, e) })
	if err := tr.Train(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(context.Background(), 3); err != nil { // resumes at step 4: absolute steps 5..7
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if !last.Done || last.Step != 7 || last.Total != 7 || last.Start != 4 {
		t.Fatalf("second run should report steps 5..7 of 7 from 4, ended with %+v", last)
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	want := []string{SnapshotPath(dir, 3), SnapshotPath(dir, 6)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	s, err := LoadTeacher(want[1])
	if err != nil || s.Step != 6 {
		t.Fatalf("snapshot of step 6 loads as step %v: %v", s, err)
	}
}

// A warm restart runs the warm-up and the cosine again from its own peak,
// leaves the first cycle's rates as they were, and is refused where it
// cannot be laid.
func TestTeacherWarmRestartSchedule(t *testing.T) {
	p, _ := LookupTeacherPreset("base")
	p.Steps, p.WarmupSteps = 1000, 100
	orig := p
	r := p
	r.RestartStep, r.RestartLR, r.Steps = 1000, 5e-4, 3000
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	near := func(got, want float32) bool { return math.Abs(float64(got-want)) <= 1e-6*float64(p.LR) }
	for _, s := range []int{1, 50, 100, 400, 999, 1000} {
		if got, want := r.LearningRate(s), orig.LearningRate(s); got != want {
			t.Errorf("step %d of the first cycle: LR %v after the restart, %v before", s, got, want)
		}
	}
	for _, c := range []struct {
		s    int
		want float32
	}{{1050, 2.5e-4}, {1100, 5e-4}, {2050, (5e-4 + p.MinLR) / 2}, {3000, p.MinLR}, {4000, p.MinLR}} {
		if got := r.LearningRate(c.s); !near(got, c.want) {
			t.Errorf("restarted cycle, step %d: LR %v, want %v", c.s, got, c.want)
		}
	}
	// Restarted again at step 2000, half way through the second cycle: the
	// steps before keep their rates, the first cycle still ends at 1000.
	two := r
	two.EarlierRestarts = []LRRestart{{Step: 1000, LR: 5e-4, End: 3000}}
	two.RestartStep, two.RestartLR, two.Steps = 2000, 2e-4, 4000
	if err := two.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{1, 400, 1000, 1050, 1500, 2000} {
		if got, want := two.LearningRate(s), r.LearningRate(s); got != want {
			t.Errorf("step %d before the second restart: LR %v, was %v", s, got, want)
		}
	}
	for _, c := range []struct {
		s    int
		want float32
	}{{2050, 1e-4}, {2100, 2e-4}, {3050, (2e-4 + p.MinLR) / 2}, {4000, p.MinLR}} {
		if got := two.LearningRate(c.s); !near(got, c.want) {
			t.Errorf("second restart, step %d: LR %v, want %v", c.s, got, c.want)
		}
	}
	// A last cycle with a floor of its own anneals lower than MinLR; the
	// steps before it keep their rates, and restarted again, the floor
	// stays in that cycle's record.
	low := two
	low.RestartMinLR = 1e-5
	if err := low.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{400, 1500, 2000, 2100} {
		if got, want := low.LearningRate(s), two.LearningRate(s); got != want {
			t.Errorf("step %d with a lower last floor: LR %v, was %v", s, got, want)
		}
	}
	for _, c := range []struct {
		s    int
		want float32
	}{{3050, (2e-4 + 1e-5) / 2}, {4000, 1e-5}, {4500, 1e-5}} {
		if got := low.LearningRate(c.s); !near(got, c.want) {
			t.Errorf("cycle with floor 1e-5, step %d: LR %v, want %v", c.s, got, c.want)
		}
	}
	tr := &TeacherTrainer{Preset: low, StepNum: 4000}
	if err := tr.WarmRestartFloor(1e-4, 0, 5000); err != nil {
		t.Fatal(err)
	}
	if e := tr.Preset.EarlierRestarts; len(e) != 2 || e[1] != (LRRestart{Step: 2000, LR: 2e-4, End: 4000, MinLR: 1e-5}) || tr.Preset.RestartMinLR != 0 {
		t.Fatalf("restart after a floored cycle: %+v", tr.Preset)
	}
	for _, s := range []int{3050, 4000} {
		if got, want := tr.Preset.LearningRate(s), low.LearningRate(s); got != want {
			t.Errorf("step %d after restarting the floored cycle: LR %v, was %v", s, got, want)
		}
	}
	if got := tr.Preset.LearningRate(5000); !near(got, p.MinLR) {
		t.Errorf("the next cycle ends at %v, want the preset's floor %v", got, p.MinLR)
	}
	// Restarted half way through the first cycle: that cycle's record still
	// heads for its planned end.
	mid := p
	mid.RestartStep, mid.RestartLR, mid.FirstSteps, mid.Steps = 600, 5e-4, 1000, 2000
	for _, s := range []int{300, 600} {
		if got, want := mid.LearningRate(s), orig.LearningRate(s); got != want {
			t.Errorf("step %d before a mid-cycle restart: LR %v, want %v", s, got, want)
		}
	}
	for _, c := range []struct {
		mutate func(*TeacherPreset)
		want   string
	}{
		{func(q *TeacherPreset) { q.RestartLR = 0 }, "needs a learning rate > 0"},
		{func(q *TeacherPreset) { q.Steps = 1050 }, "Steps (1050) > 1100"},
		{func(q *TeacherPreset) { q.RestartLR = p.MinLR / 2 }, "its floor"},
		{func(q *TeacherPreset) { q.RestartMinLR = 1e-3 }, "its floor (0.001) <= its learning rate"},
		{func(q *TeacherPreset) { q.RestartMinLR = -1e-5 }, "restart floor"},
		{func(q *TeacherPreset) { q.RestartStep, q.RestartMinLR = 0, 1e-5 }, "needs a cosine restart"},
		{func(q *TeacherPreset) { q.RestartStep = -1 }, "must be >= 0"},
		{func(q *TeacherPreset) { q.RestartStep = 50 }, "within its 100 warm-up steps"},
		{func(q *TeacherPreset) { q.RestartStep, q.FirstSteps = 0, 500 }, "needs a restart step"},
		{func(q *TeacherPreset) { q.EarlierRestarts = []LRRestart{{Step: 1000, LR: 5e-4, End: 3000}} }, "must come after step 100 and before step 1000"},
		{func(q *TeacherPreset) { q.EarlierRestarts = []LRRestart{{Step: 600, LR: 0, End: 900}} }, "needs a learning rate > 0"},
		{func(q *TeacherPreset) { q.EarlierRestarts = []LRRestart{{Step: 600, LR: 5e-4, End: 650}} }, "within its 100 warm-up steps"},
		{func(q *TeacherPreset) {
			q.EarlierRestarts = []LRRestart{{Step: 600, LR: 5e-4, End: 900}, {Step: 500, LR: 5e-4, End: 900}}
		}, "earlier restart 1 at step 600 must come after step 100 and before step 500"},
		{func(q *TeacherPreset) {
			q.RestartStep, q.EarlierRestarts = 0, []LRRestart{{Step: 600, LR: 5e-4, End: 900}}
		}, "need a latest restart step"},
	} {
		q := r
		c.mutate(&q)
		if err := q.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("preset %+v: error %v, want one containing %q", q, err, c.want)
		}
	}
}

// Training N steps, restarting and training on is the same run, bit for bit,
// as training the restarted preset from step 0 (so a preset that records a
// restart reproduces its teacher in one command); the restart survives a
// checkpoint; bad restarts are refused.
func TestTeacherWarmRestartIsOneRun(t *testing.T) {
	p, _ := LookupTeacherPreset("tiny")
	p.BatchSize, p.WarmupSteps, p.LRDecay, p.MinLR, p.Steps = 8, 2, "cosine", 1e-4, 4
	a, err := NewTeacherTrainer(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	a.Reporter = progress.Discard
	if err := a.WarmRestart(5e-4, 8); err == nil || !strings.Contains(err.Error(), "needs a trained run") {
		t.Errorf("restart at step 0: %v", err)
	}
	if err := a.Train(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if err := a.WarmRestart(5e-4, 4); err == nil || !strings.Contains(err.Error(), "longer total") {
		t.Errorf("restart to a total already reached: %v", err)
	}
	if err := a.WarmRestart(5e-4, 9); err != nil {
		t.Fatal(err)
	}
	// Restarted again before training on: that restart is laid anew.
	if err := a.WarmRestart(3e-4, 12); err != nil || a.Preset.RestartLR != 3e-4 || a.Preset.Steps != 12 || a.Preset.EarlierRestarts != nil {
		t.Fatalf("restart laid anew: %v, preset %+v", err, a.Preset)
	}
	if err := a.WarmRestart(5e-4, 9); err != nil {
		t.Fatal(err)
	}
	if a.Preset.RestartStep != 4 || a.Preset.FirstSteps != 0 || a.Preset.Steps != 9 {
		t.Fatalf("restarted preset %+v", a.Preset)
	}
	path := filepath.Join(t.TempDir(), "train.safetensors")
	if err := a.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	b, err := ResumeTeacherTrainer(path)
	if err != nil {
		t.Fatal(err)
	}
	b.Reporter = progress.Discard
	if !reflect.DeepEqual(b.Preset, a.Preset) {
		t.Fatalf("resumed preset %+v, want %+v", b.Preset, a.Preset)
	}
	if err := b.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	// A second restart at step 9: the cycle of steps 5-9 is kept as an
	// earlier one, so the preset still describes (and reproduces) them.
	once := b.Preset
	if err := b.WarmRestart(3e-4, 14); err != nil {
		t.Fatal(err)
	}
	if want := []LRRestart{{Step: 4, LR: 5e-4, End: 9}}; !reflect.DeepEqual(b.Preset.EarlierRestarts, want) || b.Preset.RestartStep != 9 || b.Preset.RestartLR != 3e-4 {
		t.Fatalf("twice-restarted preset %+v, want earlier restarts %+v", b.Preset, want)
	}
	for s := 1; s <= 9; s++ {
		if got, want := b.Preset.LearningRate(s), once.LearningRate(s); got != want {
			t.Errorf("step %d before the second restart: LR %v, was %v", s, got, want)
		}
	}
	if err := b.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	fresh, err := NewTeacherTrainer(b.Preset, 3)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Reporter = progress.Discard
	if err := fresh.Train(context.Background(), 12); err != nil {
		t.Fatal(err)
	}
	for i := range fresh.params {
		if !sameBits(fresh.params[i].Data, b.params[i].Data) || !sameBits(fresh.EMA.Shadow[i], b.EMA.Shadow[i]) {
			t.Fatalf("param %d: 4 steps + restart + 5 steps + restart + 3 steps differs from 12 steps of the restarted preset", i)
		}
	}
	if fresh.Preset.LearningRate(6) == p.LearningRate(6) || fresh.Preset.LearningRate(11) == once.LearningRate(11) {
		t.Fatal("a restart did not change the rate after it")
	}
}

// A weights-only teacher file is taken further with fresh optimiser state:
// live weights and EMA start from the file, Adam from zero, the data order
// from the new seed; the preset names the source teacher, so a resume
// follows the same run and a from-scratch run of that preset is refused.
func TestTeacherTrainerFromWeights(t *testing.T) {
	dir := t.TempDir()
	a := tinyTrainer(t, 1)
	if err := a.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	src, err := a.Teacher()
	if err != nil {
		t.Fatal(err)
	}
	weights, ckpt := filepath.Join(dir, "teacher.safetensors"), filepath.Join(dir, "train.safetensors")
	if err := src.Save(weights); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	if k, err := TeacherFileKind(weights); err != nil || k != "weights" {
		t.Errorf("TeacherFileKind(weights file) = %q, %v", k, err)
	}
	if k, err := TeacherFileKind(ckpt); err != nil || k != "training" {
		t.Errorf("TeacherFileKind(training checkpoint) = %q, %v", k, err)
	}
	if _, err := TeacherTrainerFromWeights(ckpt, 2); err == nil || !strings.Contains(err.Error(), "ResumeTeacherTrainer") {
		t.Errorf("a training checkpoint given as weights: %v", err)
	}
	untrained, _ := NewTeacherTrainerByName("tiny", 1)
	zero, _ := untrained.Teacher()
	if err := zero.Save(filepath.Join(dir, "zero.safetensors")); err != nil {
		t.Fatal(err)
	}
	if _, err := TeacherTrainerFromWeights(filepath.Join(dir, "zero.safetensors"), 2); err == nil || !strings.Contains(err.Error(), "no training step") {
		t.Errorf("an untrained file: %v", err)
	}

	b, err := TeacherTrainerFromWeights(weights, 7)
	if err != nil {
		t.Fatal(err)
	}
	b.Reporter = progress.Discard
	if b.StepNum != 3 || b.Seed != 7 || b.Opt.Step != 0 || b.Preset.RestartInit != src.ID() {
		t.Fatalf("continued trainer: step %d, seed %d, Adam step %d, restart init %q; want 3, 7, 0, %q", b.StepNum, b.Seed, b.Opt.Step, b.Preset.RestartInit, src.ID())
	}
	for i, q := range src.Net.Params() {
		if !sameBits(b.params[i].Data, q.Data) || !sameBits(b.EMA.Shadow[i], q.Data) {
			t.Fatalf("param %s: live weights or EMA do not start from the file's weights", q.Name)
		}
		for _, v := range b.Opt.M[i] {
			if v != 0 {
				t.Fatalf("param %s: Adam's first moment does not start from zero", q.Name)
			}
		}
	}
	if err := b.WarmRestart(5e-4, 6); err != nil {
		t.Fatal(err)
	}
	if err := b.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	cont := filepath.Join(dir, "cont.safetensors")
	if err := b.SaveCheckpoint(cont); err != nil {
		t.Fatal(err)
	}
	c, err := ResumeTeacherTrainer(cont)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Preset, b.Preset) || c.StepNum != 5 {
		t.Fatalf("resumed continuation: preset %+v at step %d, want %+v at 5", c.Preset, c.StepNum, b.Preset)
	}
	lb, err := b.Step()
	if err != nil {
		t.Fatal(err)
	}
	lc, err := c.Step()
	if err != nil || lb != lc {
		t.Fatalf("next step after resume: loss %v (%v), want %v", lc, err, lb)
	}
	if _, err := NewTeacherTrainer(b.Preset, 7); err == nil || !strings.Contains(err.Error(), "TeacherTrainerFromWeights") {
		t.Errorf("a from-scratch run of a continued preset: %v", err)
	}
}

// A teacher trained on 1, 2 or 3 cores is the same teacher, bit for bit:
// every parallel sum (convolution and attention weight gradients, group
// norm statistics) is split by the data, never by the worker count, and
// elementwise SIMD loops (SiLU, Adam) cut their work at whole vectors.
func TestTeacherTrainingSameBitsOnAnyCoreCount(t *testing.T) {
	defer func(w int) { tensor.Workers = w }(tensor.Workers)
	p, _ := LookupTeacherPreset("tiny")
	p.BatchSize, p.UNet.Dropout = 20, 0.1
	var want *TeacherTrainer
	for _, w := range []int{1, 3, 2} {
		tensor.Workers = w
		tr, err := NewTeacherTrainer(p, 5)
		if err != nil {
			t.Fatal(err)
		}
		tr.Reporter = progress.Discard
		if err := tr.Train(context.Background(), 3); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = tr
			continue
		}
		for i := range tr.params {
			if !sameBits(tr.params[i].Data, want.params[i].Data) || !sameBits(tr.EMA.Shadow[i], want.EMA.Shadow[i]) {
				t.Fatalf("param %s after 3 steps on %d workers differs from 1 worker", tr.params[i].Name, w)
			}
		}
	}
}

// A run that kept snapshots keeps them after a resume: the interval is in
// the checkpoint, the folder is "snapshots" beside it.
func TestResumeKeepsSnapshotInterval(t *testing.T) {
	dir := t.TempDir()
	a := tinyTrainer(t, 1)
	a.SnapshotDir, a.SnapshotEvery = filepath.Join(dir, "elsewhere"), 2
	if err := a.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "run", "train.safetensors")
	if err := a.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	b, err := ResumeTeacherTrainer(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.SnapshotEvery != 2 || b.SnapshotDir != filepath.Join(dir, "run", "snapshots") {
		t.Fatalf("resumed snapshots every %d into %q; want 2 into run/snapshots", b.SnapshotEvery, b.SnapshotDir)
	}
	a.SnapshotDir = ""
	if err := a.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if b, err = ResumeTeacherTrainer(path); err != nil || b.SnapshotEvery != 0 || b.SnapshotDir != "" {
		t.Fatalf("a run without snapshots resumed with them: %v, every %d into %q", err, b.SnapshotEvery, b.SnapshotDir)
	}
}
