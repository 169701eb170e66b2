package nn

import (
	"math"
	"testing"

	"dnas/dnas/tensor"
)

func TestGroupNormGrad(t *testing.T) {
	rng := testRNG()
	for _, shape := range [][]int{{2, 6, 3, 3}, {3, 6}} {
		g, err := NewGroupNorm("gn", 3, 6)
		if err != nil {
			t.Fatal(err)
		}
		for i := range g.Gamma.Data {
			g.Gamma.Data[i] = float32(1 + 0.5*rng.NormFloat64())
			g.Beta.Data[i] = float32(rng.NormFloat64())
		}
		x := randTensor(rng, shape...)
		var dx *tensor.Tensor
		checkLayerGrad(t, "GroupNorm", func() *tensor.Tensor { return g.Forward(x) },
			func(dy *tensor.Tensor) { dx = g.Backward(dy) },
			append(paramTargets(g.Params()...), inputTarget("x", x, &dx))...)
	}
}

// TestGroupNormForward checks the statistics directly: with gamma 1, beta 0
// every (sample, group) comes out with mean 0 and variance var/(var+eps).
func TestGroupNormForward(t *testing.T) {
	rng := testRNG()
	g, _ := NewGroupNorm("gn", 2, 4)
	x := randTensor(rng, 3, 4, 5, 5)
	for i := range x.Data {
		x.Data[i] = 3 + 2*x.Data[i]
	}
	y := g.Forward(x)
	m := 2 * 25
	for ng := range 6 {
		xs, ys := x.Data[ng*m:(ng+1)*m], y.Data[ng*m:(ng+1)*m]
		var mx, vx, my, vy float64
		for i := range xs {
			mx += float64(xs[i])
			my += float64(ys[i])
		}
		mx /= float64(m)
		my /= float64(m)
		for i := range xs {
			vx += (float64(xs[i]) - mx) * (float64(xs[i]) - mx)
			vy += (float64(ys[i]) - my) * (float64(ys[i]) - my)
		}
		vx /= float64(m)
		vy /= float64(m)
		if math.Abs(my) > 1e-5 || math.Abs(vy-vx/(vx+1e-5)) > 1e-4 {
			t.Errorf("group %d: mean %g var %g, want 0 and %g", ng, my, vy, vx/(vx+1e-5))
		}
	}
}

func TestGroupNormErrors(t *testing.T) {
	if _, err := NewGroupNorm("gn", 3, 8); err == nil {
		t.Error("3 groups of 8 channels accepted")
	}
	g, _ := NewGroupNorm("down.0.norm1", 4, 8)
	expectShapeError(t, "down.0.norm1", func() { g.Forward(tensor.New(2, 6, 4, 4)) })
	g.Forward(tensor.New(2, 8, 4, 4))
	expectShapeError(t, "down.0.norm1", func() { g.Backward(tensor.New(2, 8, 4, 5)) })
}

// TestGroupNormParallelMatchesSerial runs a batch large enough to be split
// over workers and compares it with one worker.
func TestGroupNormParallelMatchesSerial(t *testing.T) {
	rng := testRNG()
	x := randTensor(rng, 16, 32, 14, 14)
	dy := randTensor(rng, 16, 32, 14, 14)
	run := func(workers int) (y, dx, dg []float32) {
		old := tensor.Workers
		tensor.Workers = workers
		defer func() { tensor.Workers = old }()
		g, _ := NewGroupNorm("gn", 8, 32)
		y = append(y, g.Forward(x).Data...)
		dx = append(dx, g.Backward(dy).Data...)
		return y, dx, g.Gamma.Grad
	}
	y1, dx1, dg1 := run(1)
	y2, dx2, dg2 := run(2)
	for name, p := range map[string][2][]float32{"y": {y1, y2}, "dx": {dx1, dx2}, "dgamma": {dg1, dg2}} {
		for i := range p[0] {
			if p[0][i] != p[1][i] {
				t.Fatalf("%s[%d]: 1 worker %v, 2 workers %v", name, i, p[0][i], p[1][i])
			}
		}
	}
}

// TestGroupNormSiLUFused checks the fused layer against GroupNorm followed by
// SiLU, forward and backward, and its gradients by finite differences; with
// odd spatial sizes so the vector kernels' tails run too.
func TestGroupNormSiLUFused(t *testing.T) {
	rng := testRNG()
	for _, shape := range [][]int{{3, 8, 5, 5}, {2, 8, 16, 16}} {
		fused, _ := NewGroupNorm("gn", 4, 8)
		plain, _ := NewGroupNorm("gn", 4, 8)
		fused.SiLU = true
		for i := range fused.Gamma.Data {
			fused.Gamma.Data[i] = float32(1 + 0.5*rng.NormFloat64())
			fused.Beta.Data[i] = float32(rng.NormFloat64())
		}
		copy(plain.Gamma.Data, fused.Gamma.Data)
		copy(plain.Beta.Data, fused.Beta.Data)
		act := &SiLU{}
		x, dy := randTensor(rng, shape...), randTensor(rng, shape...)
		yf := fused.Forward(x)
		yp := act.Forward(plain.Forward(x))
		if e := goldenErr(yf.Data, yp.Data); e > 1e-6 {
			t.Errorf("%v: fused forward differs from GroupNorm+SiLU by %g", shape, e)
		}
		dxf := fused.Backward(dy)
		dxp := plain.Backward(act.Backward(dy))
		if e := goldenErr(dxf.Data, dxp.Data); e > 1e-5 {
			t.Errorf("%v: fused dx differs by %g", shape, e)
		}
		if e := goldenErr(fused.Gamma.Grad, plain.Gamma.Grad); e > 1e-5 {
			t.Errorf("%v: fused dgamma differs by %g", shape, e)
		}
		if e := goldenErr(fused.Beta.Grad, plain.Beta.Grad); e > 1e-5 {
			t.Errorf("%v: fused dbeta differs by %g", shape, e)
		}
	}
	g, _ := NewGroupNorm("gn", 2, 4)
	g.SiLU = true
	x := randTensor(rng, 2, 4, 3, 3)
	var dx *tensor.Tensor
	checkLayerGrad(t, "GroupNorm+SiLU", func() *tensor.Tensor { return g.Forward(x) },
		func(dy *tensor.Tensor) { dx = g.Backward(dy) },
		append(paramTargets(g.Params()...), inputTarget("x", x, &dx))...)
}
