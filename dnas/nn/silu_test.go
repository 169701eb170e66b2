package nn

import (
	"math"
	"testing"

	"dnas/dnas/tensor"
)

func TestSiLUGrad(t *testing.T) {
	rng := testRNG()
	a := &SiLU{Name: "act"}
	x := randTensor(rng, 2, 3, 4, 4)
	for i := range x.Data {
		x.Data[i] *= 3
	}
	var dx *tensor.Tensor
	checkLayerGrad(t, "SiLU", func() *tensor.Tensor { return a.Forward(x) },
		func(dy *tensor.Tensor) { dx = a.Backward(dy) }, inputTarget("x", x, &dx))
}

func TestSiLUValues(t *testing.T) {
	xs := []float32{-100, -20, -3, -0.5, 0, 0.5, 3, 20, 100}
	a := &SiLU{}
	y := a.Forward(tensor.FromData(append([]float32(nil), xs...), len(xs)))
	for i, x := range xs {
		want := float64(x) / (1 + math.Exp(-float64(x)))
		if math.Abs(float64(y.Data[i])-want) > 1e-6*max(1, math.Abs(want)) {
			t.Errorf("silu(%v) = %v, want %v", x, y.Data[i], want)
		}
	}
	if y := a.Forward(tensor.FromData([]float32{float32(math.NaN())}, 1)); !math.IsNaN(float64(y.Data[0])) {
		t.Errorf("silu(NaN) = %v, want NaN", y.Data[0])
	}
}

func TestSiLUShapeError(t *testing.T) {
	a := &SiLU{Name: "mid.act"}
	a.Forward(tensor.New(2, 3))
	expectShapeError(t, "mid.act", func() { a.Backward(tensor.New(3, 2)) })
}

func TestFastExp(t *testing.T) {
	var worst float64
	for x := float32(-87); x <= 88; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(fastExp(x))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 5e-7 {
		t.Errorf("fastExp relative error %g, want <= 5e-7 (a few float32 ulp)", worst)
	}
	if fastExp(-1000) < 0 || fastExp(-1000) > 1e-37 || math.IsInf(float64(fastExp(1000)), 0) {
		t.Errorf("fastExp does not clamp: e^-1000 = %g, e^1000 = %g", fastExp(-1000), fastExp(1000))
	}
}

// TestSiLUVectorMatchesGo compares the AVX2 kernel with the Go loop on values
// across the whole range, including the clamped tails and NaN.
func TestSiLUVectorMatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no vector kernel on this CPU")
	}
	n := 10007
	x := tensor.New(n)
	for i := range x.Data {
		x.Data[i] = -120 + 240*float32(i)/float32(n)
	}
	x.Data[5], x.Data[6], x.Data[7] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	dy := tensor.New(n)
	for i := range dy.Data {
		dy.Data[i] = float32(i%7) - 3
	}
	vec := &SiLU{}
	yv := vec.Forward(x).Clone()
	dxv := vec.Backward(dy).Clone()
	useAVX2 = false
	defer func() { useAVX2 = true }()
	ref := &SiLU{}
	yr := ref.Forward(x)
	dxr := ref.Backward(dy)
	for i := range x.Data {
		a, b := float64(dxv.Data[i]), float64(dxr.Data[i])
		if math.IsNaN(a) != math.IsNaN(b) || math.Abs(a-b) > 1e-6*max(1, math.Abs(b)) {
			t.Fatalf("silu'(%v): vector %v, Go %v", x.Data[i], a, b)
		}
	}
	for i := range x.Data {
		a, b := float64(yv.Data[i]), float64(yr.Data[i])
		if math.IsNaN(a) != math.IsNaN(b) || math.Abs(a-b) > 1e-6*max(1, math.Abs(b)) {
			t.Fatalf("silu(%v): vector %v, Go %v", x.Data[i], a, b)
		}
	}
}
