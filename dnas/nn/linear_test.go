package nn

import (
	"testing"

	"dnas/dnas/tensor"
)

func TestLinearGrad(t *testing.T) {
	rng := testRNG()
	l := NewLinear("lin", 5, 4, rng)
	x := randTensor(rng, 3, 5)
	var dx *tensor.Tensor
	checkLayerGrad(t, "Linear", func() *tensor.Tensor { return l.Forward(x) },
		func(dy *tensor.Tensor) { dx = l.Backward(dy) },
		append(paramTargets(l.Params()...), inputTarget("x", x, &dx))...)
}

func TestLinearForwardValues(t *testing.T) {
	l := NewLinear("lin", 2, 3, nil)
	copy(l.W.Data, []float32{1, 2, 3, 4, 5, 6})
	copy(l.B.Data, []float32{0.5, -1, 2})
	y := l.Forward(tensor.FromData([]float32{1, -1, 2, 0.5}, 2, 2))
	want := []float32{1 - 2 + 0.5, 3 - 4 - 1, 5 - 6 + 2, 2 + 1 + 0.5, 6 + 2 - 1, 10 + 3 + 2}
	for i, w := range want {
		if y.Data[i] != w {
			t.Fatalf("y = %v, want %v", y.Data, want)
		}
	}
	if got := l.MACs([]int{64, 2}); got != 6 {
		t.Errorf("MACs = %d, want 6", got)
	}
}

func TestLinearInit(t *testing.T) {
	l := NewLinear("lin", 100, 50, testRNG())
	bound := float32(0.1)
	var lo, hi float32
	for _, v := range append(append([]float32(nil), l.W.Data...), l.B.Data...) {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < -bound || hi > bound || lo > -0.9*bound || hi < 0.9*bound {
		t.Errorf("weights span [%v, %v], want about ±%v (1/sqrt(fan_in))", lo, hi, bound)
	}
}

func TestLinearShapeError(t *testing.T) {
	l := NewLinear("temb.lin1", 5, 4, nil)
	expectShapeError(t, "temb.lin1", func() { l.Forward(tensor.New(3, 6)) })
	l.Forward(tensor.New(3, 5))
	expectShapeError(t, "temb.lin1", func() { l.Backward(tensor.New(3, 5)) })
}
