package nn

// Finite-difference gradient checks, reusable by every layer test of this
// package (conv2d_test.go included):
//
//	checkLayerGrad(t *testing.T, name string,
//	    forward func() *tensor.Tensor,     // run the layer(s) on the current data, return the output
//	    backward func(dy *tensor.Tensor),  // run Backward(dy); store input grads where the targets read them
//	    targets ...gradTarget)             // inputTarget(...) and paramTargets(...)
//
//	inputTarget(name string, x *tensor.Tensor, dx **tensor.Tensor) gradTarget
//	    x is perturbed in place; *dx is read after backward (set it inside backward: `dx = l.Backward(dy)`).
//	paramTargets(ps ...*Param) []gradTarget
//	    every Param's Data is perturbed; its Grad is zeroed before and read after backward.
//
// The scalar checked is L = Σ y·r for a fixed random r (so dy = r). For a few
// random coordinates i of every target, the analytic dL/dx_i from backward is
// compared with the float64 central difference (L(x_i+h) - L(x_i-h)) / (2h),
// h = 1e-2 (the layers compute in float32: a smaller h drowns in rounding,
// a larger one in curvature). A coordinate passes when
// |num - ana| <= 2e-2·max(|num|, |ana|) + 2e-3·(1 + rms of the target's analytic gradient).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/tensor"
)

// gradTarget is one tensor whose gradient is checked.
type gradTarget struct {
	name string
	data []float32        // perturbed in place
	grad func() []float32 // the analytic gradient after backward
	zero func()           // clears an accumulated gradient before backward (nil for inputs)
}

// inputTarget checks the gradient with respect to an input tensor x; backward
// must leave the gradient in *dx.
func inputTarget(name string, x *tensor.Tensor, dx **tensor.Tensor) gradTarget {
	return gradTarget{name: name, data: x.Data, grad: func() []float32 {
		if *dx == nil {
			return nil
		}
		return (*dx).Data
	}}
}

// paramTargets checks the gradients of parameters.
func paramTargets(ps ...*Param) []gradTarget {
	var ts []gradTarget
	for _, p := range ps {
		ts = append(ts, gradTarget{name: p.Name, data: p.Data, grad: func() []float32 { return p.Grad }, zero: p.ZeroGrad})
	}
	return ts
}

// checkLayerGrad reports (t.Errorf) every coordinate whose analytic gradient
// disagrees with the central difference.
func checkLayerGrad(t *testing.T, name string, forward func() *tensor.Tensor, backward func(dy *tensor.Tensor), targets ...gradTarget) {
	t.Helper()
	for _, msg := range gradMismatches(name, forward, backward, targets...) {
		t.Error(msg)
	}
}

// gradMismatches does the work of checkLayerGrad and returns the failures.
func gradMismatches(name string, forward func() *tensor.Tensor, backward func(dy *tensor.Tensor), targets ...gradTarget) []string {
	const (
		h      = 1e-2
		perTgt = 6
		rtol   = 2e-2
		atol   = 2e-3
	)
	rng := rand.New(rand.NewPCG(7, 11))
	y := forward()
	r := tensor.New(y.Shape...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	loss := func() float64 {
		y := forward()
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for _, tg := range targets {
		if tg.zero != nil {
			tg.zero()
		}
	}
	forward()
	backward(r)
	analytic := make([][]float32, len(targets))
	for k, tg := range targets {
		g := tg.grad()
		if len(g) != len(tg.data) {
			return []string{fmt.Sprintf("%s: gradient of %s has %d values, the tensor %d", name, tg.name, len(g), len(tg.data))}
		}
		analytic[k] = append([]float32(nil), g...)
	}
	var bad []string
	for k, tg := range targets {
		var rms float64
		for _, v := range analytic[k] {
			rms += float64(v) * float64(v)
		}
		rms = math.Sqrt(rms / float64(max(len(analytic[k]), 1)))
		for range min(perTgt, len(tg.data)) {
			i := rng.IntN(len(tg.data))
			orig := tg.data[i]
			tg.data[i] = orig + h
			xp := float64(tg.data[i])
			lp := loss()
			tg.data[i] = orig - h
			xm := float64(tg.data[i])
			lm := loss()
			tg.data[i] = orig
			num := (lp - lm) / (xp - xm)
			ana := float64(analytic[k][i])
			if math.Abs(num-ana) > rtol*max(math.Abs(num), math.Abs(ana))+atol*(1+rms) || math.IsNaN(ana) {
				bad = append(bad, fmt.Sprintf("%s: d/d%s[%d]: backward %.6g, finite difference %.6g", name, tg.name, i, ana, num))
			}
		}
	}
	return bad
}

// randTensor returns a tensor of N(0, 1) values.
func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// testRNG is the fixed generator of the package's tests.
func testRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// TestGradCheckCatchesWrongBackward proves the checker can fail: a layer
// y = 2x whose backward claims dx = 2.2·dy must be reported.
func TestGradCheckCatchesWrongBackward(t *testing.T) {
	rng := testRNG()
	x := randTensor(rng, 4, 5)
	y := tensor.New(4, 5)
	var dx *tensor.Tensor
	forward := func() *tensor.Tensor {
		for i, v := range x.Data {
			y.Data[i] = 2 * v
		}
		return y
	}
	for _, factor := range []float32{2, 2.2} {
		backward := func(dy *tensor.Tensor) {
			dx = tensor.New(4, 5)
			for i, v := range dy.Data {
				dx.Data[i] = factor * v
			}
		}
		bad := gradMismatches("scale", forward, backward, inputTarget("x", x, &dx))
		if factor == 2 && len(bad) != 0 {
			t.Errorf("correct backward reported: %v", bad)
		}
		if factor != 2 && len(bad) == 0 {
			t.Errorf("backward off by 10%% was not reported")
		}
	}
}
