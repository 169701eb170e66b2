package dnas

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/progress"
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
