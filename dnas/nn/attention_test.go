package nn

import (
	"math"
	"testing"

	"dnas/dnas/tensor"
)

func TestAttentionGrad(t *testing.T) {
	rng := testRNG()
	for _, c := range []int{16, 4} {
		a, err := NewAttention("attn", c, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Norm.Gamma.Data {
			a.Norm.Gamma.Data[i] = float32(1 + 0.3*rng.NormFloat64())
			a.Norm.Beta.Data[i] = float32(0.3 * rng.NormFloat64())
		}
		// Larger qkv weights make the softmax far from uniform, a sharper test.
		for i := range a.QKVW.Data {
			a.QKVW.Data[i] *= 3
		}
		x := randTensor(rng, 2, c, 3, 4)
		var dx *tensor.Tensor
		checkLayerGrad(t, "Attention", func() *tensor.Tensor { return a.Forward(x) },
			func(dy *tensor.Tensor) { dx = a.Backward(dy) },
			append(paramTargets(a.Params()...), inputTarget("x", x, &dx))...)
	}
}

// TestAttentionReference compares Forward with a direct float64 evaluation
// of the formula in the file comment, written loop by loop.
func TestAttentionReference(t *testing.T) {
	rng := testRNG()
	const b, c, h, w = 2, 8, 3, 3
	l := h * w
	a, _ := NewAttention("attn", c, rng)
	x := randTensor(rng, b, c, h, w)
	y := a.Forward(x)
	g, _ := NewGroupNorm("ref", 8, c)
	hn := g.Forward(x)
	for s := range b {
		at := func(m []float32, ch, p int) float64 { return float64(m[(s*c+ch)*l+p]) }
		qkv := make([][]float64, 3*c)
		for o := range 3 * c {
			qkv[o] = make([]float64, l)
			for p := range l {
				v := float64(a.QKVB.Data[o])
				for i := range c {
					v += float64(a.QKVW.Data[o*c+i]) * at(hn.Data, i, p)
				}
				qkv[o][p] = v
			}
		}
		for i := range l {
			sc := make([]float64, l)
			var mx, sum float64 = math.Inf(-1), 0
			for j := range l {
				for ch := range c {
					sc[j] += qkv[ch][i] * qkv[c+ch][j] / math.Sqrt(c)
				}
				mx = max(mx, sc[j])
			}
			for j := range l {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			o := make([]float64, c)
			for ch := range c {
				for j := range l {
					o[ch] += qkv[2*c+ch][j] * sc[j] / sum
				}
			}
			for ch := range c {
				want := at(x.Data, ch, i) + float64(a.ProjB.Data[ch])
				for k := range c {
					want += float64(a.ProjW.Data[ch*c+k]) * o[k]
				}
				if got := at(y.Data, ch, i); math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
					t.Fatalf("sample %d channel %d position %d: %v, want %v", s, ch, i, got, want)
				}
			}
		}
	}
	if got, want := a.MACs([]int{64, c, h, w}), int64(4*c*c*l+2*l*l*c); got != want {
		t.Errorf("MACs = %d, want %d", got, want)
	}
}

func TestAttentionShapeError(t *testing.T) {
	a, _ := NewAttention("mid.attn", 8, nil)
	expectShapeError(t, "mid.attn", func() { a.Forward(tensor.New(2, 4, 3, 3)) })
	expectShapeError(t, "mid.attn", func() { a.Forward(tensor.New(2, 8, 9)) })
	a.Forward(tensor.New(2, 8, 3, 3))
	expectShapeError(t, "mid.attn", func() { a.Backward(tensor.New(2, 8, 3, 4)) })
	if _, err := NewAttention("x", 0, nil); err == nil {
		t.Error("NewAttention accepted 0 channels")
	}
}

// TestAttentionWorkersAgree runs a batch on 1, 2 and 5 workers: forward,
// input gradient and weight gradients are the same bits every time (the
// weight gradients are summed over slots fixed by the batch, in slot order).
func TestAttentionWorkersAgree(t *testing.T) {
	rng := testRNG()
	for _, batch := range []int{6, 37} {
		x, dy := randTensor(rng, batch, 16, 5, 5), randTensor(rng, batch, 16, 5, 5)
		run := func(workers int) map[string][]float32 {
			old := tensor.Workers
			tensor.Workers = workers
			defer func() { tensor.Workers = old }()
			a, _ := NewAttention("attn", 16, testRNG())
			y := append([]float32(nil), a.Forward(x).Data...)
			dx := append([]float32(nil), a.Backward(dy).Data...)
			return map[string][]float32{"y": y, "dx": dx, "dWqkv": a.QKVW.Grad, "dbqkv": a.QKVB.Grad, "dWo": a.ProjW.Grad, "dbo": a.ProjB.Grad}
		}
		want := run(1)
		for _, w := range []int{2, 5, 2} {
			got := run(w)
			for name, v := range want {
				for i := range v {
					if math.Float32bits(got[name][i]) != math.Float32bits(v[i]) {
						t.Fatalf("batch %d, %s[%d]: %d workers %v, 1 worker %v", batch, name, i, w, got[name][i], v[i])
					}
				}
			}
		}
	}
}
