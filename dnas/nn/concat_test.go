package nn

import (
	"testing"

	"dnas/dnas/tensor"
)

func TestConcatGrad(t *testing.T) {
	rng := testRNG()
	c := &Concat{Name: "cat"}
	a, b := randTensor(rng, 2, 2, 3, 3), randTensor(rng, 2, 3, 3, 3)
	var da, db *tensor.Tensor
	checkLayerGrad(t, "Concat", func() *tensor.Tensor { return c.Forward(a, b) },
		func(dy *tensor.Tensor) { da, db = c.Backward(dy) },
		inputTarget("a", a, &da), inputTarget("b", b, &db))
}

func TestConcatValues(t *testing.T) {
	c := &Concat{}
	a := tensor.FromData([]float32{1, 2, 3, 4}, 2, 1, 1, 2)
	b := tensor.FromData([]float32{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 1, 2)
	y := c.Forward(a, b)
	want := []float32{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}
	if !tensor.SameShape(y.Shape, []int{2, 3, 1, 2}) {
		t.Fatalf("shape %v", y.Shape)
	}
	for i, w := range want {
		if y.Data[i] != w {
			t.Fatalf("y = %v, want %v", y.Data, want)
		}
	}
}

func TestConcatShapeError(t *testing.T) {
	c := &Concat{Name: "dec1.cat"}
	expectShapeError(t, "dec1.cat", func() { c.Forward(tensor.New(2, 3, 4, 4), tensor.New(2, 3, 8, 8)) })
	expectShapeError(t, "dec1.cat", func() { c.Forward(tensor.New(2, 3, 4, 4), tensor.New(3, 3, 4, 4)) })
	c.Forward(tensor.New(2, 3, 4, 4), tensor.New(2, 1, 4, 4))
	expectShapeError(t, "dec1.cat", func() { c.Backward(tensor.New(2, 3, 4, 4)) })
}
