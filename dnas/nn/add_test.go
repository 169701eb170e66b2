package nn

import (
	"testing"

	"dnas/dnas/tensor"
)

func TestAddGrad(t *testing.T) {
	rng := testRNG()
	l := &Add{Name: "res"}
	a, b := randTensor(rng, 2, 3, 2, 2), randTensor(rng, 2, 3, 2, 2)
	var da, db *tensor.Tensor
	checkLayerGrad(t, "Add", func() *tensor.Tensor { return l.Forward(a, b) },
		func(dy *tensor.Tensor) { da, db = l.Backward(dy) },
		inputTarget("a", a, &da), inputTarget("b", b, &db))
}

func TestBroadcastAddGrad(t *testing.T) {
	rng := testRNG()
	l := &BroadcastAdd{Name: "temb"}
	x, v := randTensor(rng, 2, 3, 2, 4), randTensor(rng, 2, 3)
	var dx, dv *tensor.Tensor
	checkLayerGrad(t, "BroadcastAdd", func() *tensor.Tensor { return l.Forward(x, v) },
		func(dy *tensor.Tensor) { dx, dv = l.Backward(dy) },
		inputTarget("x", x, &dx), inputTarget("v", v, &dv))
}

func TestAddIntoAndErrors(t *testing.T) {
	rng := testRNG()
	for _, n := range []int{7, 3 * addSerialBelow} {
		d, s := randTensor(rng, n), randTensor(rng, n)
		want := make([]float32, n)
		for i := range want {
			want[i] = d.Data[i] + s.Data[i]
		}
		AddInto("skip", d, s)
		for i := range want {
			if d.Data[i] != want[i] {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, d.Data[i], want[i])
			}
		}
	}
	expectShapeError(t, "skip", func() { AddInto("skip", tensor.New(2, 3), tensor.New(3, 2)) })
	expectShapeError(t, "res", func() { (&Add{Name: "res"}).Forward(tensor.New(2, 3), tensor.New(2, 4)) })
	expectShapeError(t, "temb", func() { (&BroadcastAdd{Name: "temb"}).Forward(tensor.New(2, 3, 4, 4), tensor.New(2, 4)) })
}
