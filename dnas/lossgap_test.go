package dnas

import (
	"context"
	"math"
	"strings"
	"testing"

	"dnas/dnas/diffusion"
	"dnas/dnas/mnist"
)

// TestLossGap measures the tiny teacher on 500 images of each split: the
// test side is the held-out loss on the same images and draw (batches of 50,
// ten pairs), the two sides differ (other images), and the standard error is
// that of the batch pairs.
func TestLossGap(t *testing.T) {
	te, _ := testTeacher(t)
	ctx := context.Background()
	g, err := te.LossGap(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.LoadTest()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := test.First(500)
	want, err := diffusion.HeldOutLoss(ctx, te, te.Schedule, x, 1234, 50)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(g.Test-want) > 1e-12 {
		t.Fatalf("test loss %v, the held-out loss on the same images and draw is %v", g.Test, want)
	}
	if g.Images != 500 || !(g.Train > 0) || g.Train == g.Test || !(g.StdErr > 0) {
		t.Fatalf("gap %+v: want 500 images, a positive training loss other than the test loss, a positive standard error", g)
	}
	train, err := mnist.LoadTrain()
	if err != nil {
		t.Fatal(err)
	}
	xr, _ := train.First(500)
	bt, _ := diffusion.BatchLosses(ctx, te, te.Schedule, x, 1234, 50)
	br, _ := diffusion.BatchLosses(ctx, te, te.Schedule, xr, 1234, 50)
	if len(bt) != 10 || len(br) != 10 {
		t.Fatalf("%d and %d batches, want 10 of 50 images each", len(bt), len(br))
	}
	var mean, ss float64
	for i := range bt {
		mean += (bt[i] - br[i]) / 10
	}
	for i := range bt {
		d := bt[i] - br[i] - mean
		ss += d * d
	}
	if se := math.Sqrt(ss / 9 / 10); math.Abs(g.StdErr-se) > 1e-9 {
		t.Fatalf("standard error %v, want %v from the ten batch differences", g.StdErr, se)
	}
	if s := g.String(); !strings.Contains(s, "noise loss on 500 images: test ") {
		t.Fatalf("String: %q", s)
	}
	for _, n := range []int{-1, 499, 10001} {
		if _, err := te.LossGap(ctx, n); err == nil || !strings.Contains(err.Error(), "want 500 to 10000") {
			t.Fatalf("LossGap(%d): err %v", n, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := te.LossGap(cancelled, 500); err == nil {
		t.Fatal("a cancelled context measured anyway")
	}
}

// TestLossGapVerdict: the verdict follows the gap against twice its
// standard error.
func TestLossGapVerdict(t *testing.T) {
	for _, c := range []struct {
		g    LossGap
		want string
	}{
		{LossGap{Images: 4000, Test: 0.0210, Train: 0.0200, StdErr: 0.0002}, "overfitting: the test loss is above"},
		{LossGap{Images: 4000, Test: 0.0201, Train: 0.0200, StdErr: 0.0002}, "no overfitting: the two are level"},
		{LossGap{Images: 4000, Test: 0.0200, Train: 0.0210, StdErr: 0.0002}, "the training images are the harder ones"},
	} {
		if s := c.g.String(); !strings.Contains(s, c.want) {
			t.Errorf("%+v: %q, want %q", c.g, s, c.want)
		}
	}
}
