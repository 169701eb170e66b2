package nn

import (
	"math"
	"testing"

	"dnas/dnas/tensor"
)

func TestMSELoss(t *testing.T) {
	p := tensor.FromData([]float32{1, 2, 3, 4}, 2, 2)
	q := tensor.FromData([]float32{1, 0, 4, 1}, 2, 2)
	d := tensor.New(1)
	if l := MSELoss(p, q, d); l != (0+4+1+9)/4.0 {
		t.Errorf("loss %v, want 3.5", l)
	}
	want := []float32{0, 1, -0.5, 1.5}
	for i, w := range want {
		if d.Data[i] != w || !tensor.SameShape(d.Shape, p.Shape) {
			t.Fatalf("dpred = %v %v, want %v", d.Shape, d.Data, want)
		}
	}
	if l := MSELoss(p, q, nil); l != 3.5 {
		t.Errorf("loss without gradient %v", l)
	}
}

func TestMSELossGrad(t *testing.T) {
	rng := testRNG()
	p, q := randTensor(rng, 3, 4), randTensor(rng, 3, 4)
	out := tensor.New(1)
	var dp *tensor.Tensor
	checkLayerGrad(t, "MSELoss", func() *tensor.Tensor { out.Data[0] = MSELoss(p, q, nil); return out },
		func(dy *tensor.Tensor) {
			dp = tensor.New(1)
			MSELoss(p, q, dp)
			for i := range dp.Data {
				dp.Data[i] *= dy.Data[0]
			}
		}, inputTarget("pred", p, &dp))
}

// TestMSELossNaN: a NaN prediction gives a NaN loss, which trainers must check.
func TestMSELossNaN(t *testing.T) {
	p := tensor.FromData([]float32{1, float32(math.NaN())}, 2)
	q := tensor.New(2)
	if l := MSELoss(p, q, nil); !math.IsNaN(float64(l)) {
		t.Errorf("loss of a NaN prediction is %v, want NaN", l)
	}
	p.Data[1] = float32(math.Inf(1))
	if l := MSELoss(p, q, nil); !math.IsInf(float64(l), 1) {
		t.Errorf("loss of an infinite prediction is %v, want +Inf", l)
	}
	expectShapeError(t, "MSELoss", func() { MSELoss(tensor.New(2, 3), tensor.New(3, 2), nil) })
}
