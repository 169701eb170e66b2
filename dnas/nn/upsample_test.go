package nn

import (
	"testing"

	"dnas/dnas/tensor"
)

func TestUpsample2xGrad(t *testing.T) {
	rng := testRNG()
	u := &Upsample2x{Name: "up"}
	x := randTensor(rng, 2, 3, 3, 4)
	var dx *tensor.Tensor
	checkLayerGrad(t, "Upsample2x", func() *tensor.Tensor { return u.Forward(x) },
		func(dy *tensor.Tensor) { dx = u.Backward(dy) }, inputTarget("x", x, &dx))
}

func TestUpsample2xValues(t *testing.T) {
	u := &Upsample2x{}
	y := u.Forward(tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3))
	want := []float32{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6}
	if !tensor.SameShape(y.Shape, []int{1, 1, 4, 6}) {
		t.Fatalf("shape %v", y.Shape)
	}
	for i, w := range want {
		if y.Data[i] != w {
			t.Fatalf("y = %v, want %v", y.Data, want)
		}
	}
	dx := u.Backward(tensor.FromData(want, 1, 1, 4, 6))
	for i, w := range []float32{4, 8, 12, 16, 20, 24} {
		if dx.Data[i] != w {
			t.Fatalf("dx = %v", dx.Data)
		}
	}
}

func TestUpsample2xShapeError(t *testing.T) {
	u := &Upsample2x{Name: "up.1"}
	expectShapeError(t, "up.1", func() { u.Forward(tensor.New(2, 3, 4)) })
	u.Forward(tensor.New(1, 2, 3, 3))
	expectShapeError(t, "up.1", func() { u.Backward(tensor.New(1, 2, 3, 3)) })
}
