package nn

import (
	"math"
	"testing"
)

// TestAdamMatchesReference runs Adam for a few steps against the update rule
// evaluated in float64, on parameters large enough to be split over workers.
func TestAdamMatchesReference(t *testing.T) {
	rng := testRNG()
	ps := []*Param{NewParam("a", 3), NewParam("b", 50000), NewParam("c", 7)}
	type ref struct{ p, m, v []float64 }
	refs := make([]ref, len(ps))
	for k, p := range ps {
		refs[k] = ref{make([]float64, p.Numel()), make([]float64, p.Numel()), make([]float64, p.Numel())}
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64())
			refs[k].p[i] = float64(p.Data[i])
		}
	}
	opt := NewAdam(ps, 1e-2)
	opt.WeightDecay = 0.1
	const b1, b2, eps, lr, wd = 0.9, 0.999, 1e-8, 1e-2, 0.1
	for step := 1; step <= 3; step++ {
		for k, p := range ps {
			for i := range p.Grad {
				p.Grad[i] = float32(rng.NormFloat64())
				r := refs[k]
				g := float64(p.Grad[i]) + wd*r.p[i]
				r.m[i] = b1*r.m[i] + (1-b1)*g
				r.v[i] = b2*r.v[i] + (1-b2)*g*g
				mh := r.m[i] / (1 - math.Pow(b1, float64(step)))
				vh := r.v[i] / (1 - math.Pow(b2, float64(step)))
				r.p[i] -= lr * mh / (math.Sqrt(vh) + eps)
			}
		}
		opt.Update()
	}
	if opt.Step != 3 {
		t.Errorf("Step = %d, want 3", opt.Step)
	}
	for k, p := range ps {
		for i := range p.Data {
			if d := math.Abs(float64(p.Data[i]) - refs[k].p[i]); d > 1e-5 {
				t.Fatalf("%s[%d] = %v, reference %v", p.Name, i, p.Data[i], refs[k].p[i])
			}
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := NewParam("a", 2), NewParam("b", 1)
	copy(a.Grad, []float32{3, 0})
	copy(b.Grad, []float32{4})
	if n := ClipGradNorm([]*Param{a, b}, 10); n != 5 || a.Grad[0] != 3 {
		t.Errorf("norm %v, grads %v %v: want 5 and untouched", n, a.Grad, b.Grad)
	}
	if n := ClipGradNorm([]*Param{a, b}, 1); n != 5 {
		t.Errorf("pre-clip norm %v, want 5", n)
	}
	if n := ClipGradNorm([]*Param{a, b}, 1e9); math.Abs(n-1) > 1e-6 {
		t.Errorf("norm after clipping to 1: %v", n)
	}
	b.Grad[0] = float32(math.NaN())
	if n := ClipGradNorm([]*Param{a, b}, 1); !math.IsNaN(n) || a.Grad[0] != a.Grad[0] {
		t.Errorf("NaN gradient: norm %v (want NaN), grads %v", n, a.Grad)
	}
}

func TestEMA(t *testing.T) {
	p := NewParam("w", 3)
	copy(p.Data, []float32{1, 2, 3})
	e := NewEMA([]*Param{p}, 0.5)
	copy(p.Data, []float32{3, 2, 1})
	e.Update()
	want := []float32{2, 2, 2}
	for i := range want {
		if e.Shadow[0][i] != want[i] {
			t.Fatalf("shadow %v, want %v", e.Shadow[0], want)
		}
	}
	e.Swap([]*Param{p})
	if p.Data[0] != 2 || e.Shadow[0][0] != 3 {
		t.Errorf("after Swap live %v shadow %v", p.Data, e.Shadow[0])
	}
	e.Swap([]*Param{p})
	q := NewParam("w", 3)
	e.CopyTo([]*Param{q})
	if q.Data[2] != 2 || p.Data[2] != 1 {
		t.Errorf("CopyTo gave %v (live %v)", q.Data, p.Data)
	}
	expectShapeError(t, "w", func() { e.CopyTo([]*Param{NewParam("w", 4)}) })
	expectShapeError(t, "EMA", func() { e.Swap(nil) })
}
