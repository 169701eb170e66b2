package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/tensor"
)

func TestDropoutGrad(t *testing.T) {
	rng := testRNG()
	d := NewDropout("drop", 0.3, nil)
	d.Training = true
	x := randTensor(rng, 2, 3, 4, 4)
	var dx *tensor.Tensor
	// The same mask at every forward of the check: reseed before each.
	forward := func() *tensor.Tensor { d.rng = rand.New(rand.NewPCG(5, 5)); return d.Forward(x) }
	checkLayerGrad(t, "Dropout", forward, func(dy *tensor.Tensor) { dx = d.Backward(dy) }, inputTarget("x", x, &dx))
}

func TestDropoutStatistics(t *testing.T) {
	d := NewDropout("drop", 0.25, rand.New(rand.NewPCG(9, 9)))
	x := tensor.New(64, 32, 8, 8)
	x.Fill(1)
	if y := d.Forward(x); y != x {
		t.Fatal("eval-mode dropout is not the identity")
	}
	d.Training = true
	y := d.Forward(x)
	var zeros int
	var sum float64
	for _, v := range y.Data {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("dropout output %v is neither 0 nor 1/(1-p)", v)
		}
		sum += float64(v)
	}
	n := float64(len(y.Data))
	if frac := float64(zeros) / n; math.Abs(frac-0.25) > 0.01 {
		t.Errorf("dropped fraction %.4f, want 0.25", frac)
	}
	if mean := sum / n; math.Abs(mean-1) > 0.02 {
		t.Errorf("mean after dropout %.4f, want 1 (expectation preserved)", mean)
	}
	first := append([]float32(nil), y.Data...)
	y = d.Forward(x)
	same := 0
	for i := range first {
		if first[i] == y.Data[i] {
			same++
		}
	}
	if same == len(first) {
		t.Error("two training forwards drew the same mask")
	}
	// Reproducible from the seed and independent of the number of workers.
	a := NewDropout("a", 0.5, rand.New(rand.NewPCG(1, 2)))
	b := NewDropout("b", 0.5, rand.New(rand.NewPCG(1, 2)))
	a.Training, b.Training = true, true
	ya := append([]float32(nil), a.Forward(x).Data...)
	old := tensor.Workers
	tensor.Workers = 1
	yb := b.Forward(x)
	tensor.Workers = old
	for i := range ya {
		if ya[i] != yb.Data[i] {
			t.Fatalf("same seed, different masks at %d", i)
		}
	}
}

func TestDropoutErrors(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewDropout accepted p = 1.5")
		}
	}()
	d := NewDropout("drop", 0.1, nil)
	d.Forward(tensor.New(2, 2))
	expectShapeError(t, "drop", func() { d.Backward(tensor.New(4)) })
	NewDropout("drop", 1.5, nil)
}
