package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/tensor"
)

func TestCrossEntropyGradientMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := tensor.New(3, 10)
	for i := range logits.Data {
		logits.Data[i] = float32(r.NormFloat64())
	}
	labels := []uint8{2, 7, 0}
	d := tensor.New(3, 10)
	CrossEntropy(logits, labels, d)
	for _, i := range []int{0, 2, 17, 29} {
		const h = 1e-2
		v := logits.Data[i]
		logits.Data[i] = v + h
		up := CrossEntropy(logits, labels, nil)
		logits.Data[i] = v - h
		down := CrossEntropy(logits, labels, nil)
		logits.Data[i] = v
		if num := (up - down) / (2 * h); math.Abs(num-float64(d.Data[i])) > 1e-3 {
			t.Fatalf("dL/dlogit[%d]: analytic %g, numeric %g", i, d.Data[i], num)
		}
	}
}

func TestMaxPool2(t *testing.T) {
	x := tensor.FromData([]float32{
		1, 5, 2, 0,
		3, 4, 8, 1,
		0, 0, 1, 1,
		9, 0, 1, 2,
	}, 1, 1, 4, 4)
	p := &MaxPool2{Name: "p"}
	y := p.Forward(x)
	want := []float32{5, 8, 9, 2}
	for i, w := range want {
		if y.Data[i] != w {
			t.Fatalf("pool output %v, want %v", y.Data, want)
		}
	}
	dx := p.Backward(tensor.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2))
	if dx.Data[1] != 1 || dx.Data[6] != 2 || dx.Data[12] != 3 || dx.Data[15] != 4 || dx.Data[0] != 0 {
		t.Fatalf("pool backward %v", dx.Data)
	}
}

func TestClassifierShapesAndConfidence(t *testing.T) {
	c, err := NewClassifier(1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(3, 1, 28, 28)
	f, p, err := c.Embed(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if f.Shape[0] != 3 || f.Shape[1] != FeatureDim || p.Shape[1] != 10 {
		t.Fatalf("features %v probs %v", f.Shape, p.Shape)
	}
	var s float32
	for _, v := range p.Data[:10] {
		s += v
	}
	if math.Abs(float64(s)-1) > 1e-5 {
		t.Fatalf("probabilities sum to %g", s)
	}
	if _, _, err := c.Embed(context.Background(), tensor.New(1, 1, 14, 14)); err == nil {
		t.Fatal("wrong image size accepted")
	}
	probs := tensor.FromData([]float32{0.95, 0.05, 0.5, 0.5}, 2, 2)
	if got := ConfidentFraction(probs, 0.9); got != 0.5 {
		t.Fatalf("confident fraction %g, want 0.5", got)
	}
}
