package dnas

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"dnas/dnas/mnist"
	"dnas/dnas/tensor"
)

// The committed classifier must be a good one, and FID on its features must
// be ~0 for the test set against itself and large for noise.
func TestFIDSanityWithCommittedClassifier(t *testing.T) {
	ctx := context.Background()
	c, err := DefaultClassifier()
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.LoadTest()
	if err != nil {
		t.Fatal(err)
	}
	acc, err := c.Accuracy(ctx, test)
	if err != nil || acc < 0.99 {
		t.Fatalf("committed LeNet test accuracy %.4f (%v), want >= 0.99", acc, err)
	}
	x, _ := test.First(test.N)
	same, conf, _, err := ImageScores(ctx, x, c)
	if err != nil {
		t.Fatal(err)
	}
	if same > 1e-3 || conf < 0.95 {
		t.Fatalf("test set vs itself: FID %g (want ~0), confident %.3f (want > 0.95)", same, conf)
	}
	train, _ := mnist.LoadTrain()
	xt, _ := train.First(2000)
	real, realConf, counts, err := ImageScores(ctx, xt, c)
	if err != nil {
		t.Fatal(err)
	}
	// ScoreImages is the same measurement with the verdicts kept.
	fid2, v, err := ScoreImages(ctx, xt, c)
	if err != nil || fid2 != real || v.ConfidentFraction() != realConf || len(v.Labels) != 2000 {
		t.Fatalf("ScoreImages: FID %v, confident %v over %d verdicts (%v); ImageScores: %v, %v over 2000", fid2, v.ConfidentFraction(), len(v.Labels), err, real, realConf)
	}
	for d, row := range v.ByDigit() {
		if row.Count != counts[d] {
			t.Fatalf("digit %d: %d verdicts, ImageScores counted %d", d, row.Count, counts[d])
		}
	}
	noise := tensor.New(2000, 1, 28, 28)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range noise.Data {
		noise.Data[i] = float32(r.Float64()*2 - 1)
	}
	bad, badConf, _, err := ImageScores(ctx, noise, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LeNet FID: train[:2000] vs test %.3f, uniform noise vs test %.1f (confident %.2f)", real, bad, badConf)
	if !(bad > 50*real) || bad < 10 {
		t.Fatalf("FID of noise %.3f should dwarf FID of real digits %.3f", bad, real)
	}
}

// Negative counts are refused before any sampling, naming the field; a nil
// image tensor is an error, not a crash.
func TestEvaluateRefusesNegativeCounts(t *testing.T) {
	teacher, _ := testTeacher(t)
	ctx := context.Background()
	for _, c := range []struct {
		opts EvalOptions
		want string
	}{
		{EvalOptions{Samples: -1}, "EvalOptions.Samples is -1"},
		{EvalOptions{HeldOut: -5}, "EvalOptions.HeldOut is -5"},
		{EvalOptions{GridSize: -2}, "EvalOptions.GridSize is -2"},
		{EvalOptions{Samples: 2, Sampler: SamplerSpec{Steps: -3}}, "EvalOptions.Sampler.Steps is -3"},
		{EvalOptions{Samples: 2, Sampler: SamplerSpec{Kind: "euler"}}, `unknown sampler "euler"`},
	} {
		_, err := teacher.Evaluate(ctx, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.opts, err, c.want)
		}
		if _, _, err := teacher.EvaluateCached(ctx, c.opts); err == nil {
			t.Errorf("EvaluateCached %+v: no error", c.opts)
		}
	}
	if _, err := SampleGrid(nil, 3); err == nil || !strings.Contains(err.Error(), "nil tensor") {
		t.Errorf("SampleGrid(nil): %v", err)
	}
}

// A negative step count is an error, not a silent no-op.
func TestTrainingRefusesNegativeSteps(t *testing.T) {
	ctx := context.Background()
	tr := tinyTrainer(t, 1)
	sn := tinySupernet(t, false)
	for name, err := range map[string]error{
		"TeacherTrainer.Train": tr.Train(ctx, -1),
		"Supernet.TrainAll":    sn.TrainAll(ctx, -5, ""),
		"Supernet.TrainBlock":  sn.TrainBlock(ctx, "enc0", -3),
	} {
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "0 or more") {
			t.Errorf("%s with negative steps: %v", name, err)
		}
	}
	if tr.StepNum != 0 {
		t.Errorf("the refused call trained %d steps", tr.StepNum)
	}
}
