package dnas

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestMeasureSnapshotsCurve(t *testing.T) {
	dir := t.TempDir()
	tr := tinyTrainer(t, 3)
	var paths []string
	for _, steps := range []int{1, 2} {
		if err := tr.Train(context.Background(), steps); err != nil {
			t.Fatal(err)
		}
		te, err := tr.Teacher()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, te.Preset.Name+string(rune('a'+len(paths)))+".safetensors")
		if err := te.Save(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	opts := CurveOptions{Eval: EvalOptions{Samples: 8, HeldOut: 16, Sampler: DDIMSpec(2, 0), GridSize: 4}}
	measured := 0
	opts.Point = func(p CurvePoint, reused bool) {
		if !reused {
			measured++
		}
	}
	// Given out of order, the curve comes back sorted by step.
	c, err := MeasureSnapshots(context.Background(), []string{paths[1], paths[0]}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 2 || c.Points[0].Step != 1 || c.Points[1].Step != 3 || c.Points[0].Source != paths[0] {
		t.Fatalf("points %+v, want steps 1 and 3 in order", c.Points)
	}
	if measured != 2 || c.Sampler != "DDIM 2 steps, eta 0" || c.Samples != 8 {
		t.Fatalf("measured %d, sampler %q, samples %d", measured, c.Sampler, c.Samples)
	}
	for _, p := range c.Points {
		if !(p.FID > 0) || p.ConfidentFraction < 0 || p.ConfidentFraction > 1 || !(p.HeldOutLoss > 0) {
			t.Fatalf("implausible point %+v", p)
		}
	}
	saved := filepath.Join(dir, "curve", "curve.json")
	if err := c.Save(saved); err != nil {
		t.Fatal(err)
	}
	back, err := LoadQualityCurve(saved)
	if err != nil {
		t.Fatal(err)
	}
	// A rerun with the same settings reuses every point; other settings
	// measure again.
	measured = 0
	opts.Previous = back
	again, err := MeasureSnapshots(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if measured != 0 || again.Points[1] != c.Points[1] || again.Sampler != c.Sampler {
		t.Fatalf("rerun measured %d points (want 0 reused from curve.json): %+v", measured, again.Points)
	}
	opts.Eval.Seed = 1
	if _, err := MeasureSnapshots(context.Background(), paths[:1], opts); err != nil || measured != 1 {
		t.Fatalf("another seed must measure again: measured %d, err %v", measured, err)
	}
	if _, err := MeasureSnapshots(context.Background(), []string{paths[0], paths[0]}, opts); err == nil || !strings.Contains(err.Error(), "both at step 1") {
		t.Fatalf("two snapshots at one step: err %v", err)
	}
	if _, err := MeasureSnapshots(context.Background(), nil, opts); err == nil || !strings.Contains(err.Error(), "no snapshots") {
		t.Fatalf("no paths: err %v", err)
	}
	// A bad file after a good one: the error, and the point measured before it.
	part, err := MeasureSnapshots(context.Background(), []string{paths[1], filepath.Join(dir, "missing.safetensors")}, opts)
	if err == nil || part == nil || len(part.Points) != 1 || part.Points[0].Step != 3 {
		t.Fatalf("a missing snapshot must be an error that keeps the points before it: %v %+v", err, part)
	}
	// Stopped early with a previous curve: its points for the files not
	// reached yet are kept, so saving the partial curve loses nothing.
	opts.Eval.Seed = 0
	part, err = MeasureSnapshots(context.Background(), []string{filepath.Join(dir, "missing.safetensors"), paths[0], paths[1]}, opts)
	if err == nil || part == nil || len(part.Points) != 2 || part.Points[0] != c.Points[0] || part.Points[1] != c.Points[1] {
		t.Fatalf("an early error must keep the previous curve's later points: %v %+v", err, part)
	}
	opts.Eval.Seed = 1
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if part, err := MeasureSnapshots(ctx, paths, opts); err != context.Canceled || part == nil || len(part.Points) != 0 {
		t.Fatalf("cancelled: %v %+v", err, part)
	}
	ch, err := c.Chart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.PNG(); err != nil {
		t.Fatal(err)
	}
	if tab := c.Table(); !strings.Contains(tab, "| 3 |") {
		t.Fatalf("table misses step 3:\n%s", tab)
	}
}

func TestQualityCurveFalling(t *testing.T) {
	c := &QualityCurve{Points: []CurvePoint{{Step: 1, FID: 300}, {Step: 2, FID: 200}, {Step: 3, FID: 100}}}
	if !c.Falling() {
		t.Fatal("300, 200, 100 is falling")
	}
	c.Points[2].FID = 250
	if c.Falling() {
		t.Fatal("300, 200, 250 is not falling")
	}
}

// TestSamplerBatchKeepsImages: SamplerSpec.Batch changes how many images go
// through the network at once, not the images.
func TestSamplerBatchKeepsImages(t *testing.T) {
	teacher, _ := testTeacher(t)
	spec := DDIMSpec(3, 0)
	a, err := SampleImages(context.Background(), teacher, teacher.Schedule, 5, 9, spec)
	if err != nil {
		t.Fatal(err)
	}
	a = a.Clone()
	spec.Batch = 2
	b, err := SampleImages(context.Background(), teacher, teacher.Schedule, 5, 9, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Up to float rounding: the layers that take BLAS products (weights of
	// 1x1 and output convolutions, attention) multiply matrices whose sizes
	// follow the batch, and OpenBLAS may pick another kernel, so another
	// summation order, for another size (seen on an AVX2-only CPU: 4.6e-5
	// after 3 steps). An image mixed up with another differs by O(1).
	for i := range a.Data {
		if d := a.Data[i] - b.Data[i]; d > 2e-4 || d < -2e-4 {
			t.Fatalf("image value %d: %v with batch 100, %v with batch 2", i, a.Data[i], b.Data[i])
		}
	}
	spec.Batch = -1
	if _, err := SampleImages(context.Background(), teacher, teacher.Schedule, 5, 9, spec); err == nil || !strings.Contains(err.Error(), "batch -1") {
		t.Fatalf("negative batch: %v", err)
	}
}
