package nn

import (
	"math"
	"testing"

	"dnas/dnas/tensor"
)

func TestTimestepEmbedding(t *testing.T) {
	ts := []float32{0, 1, 500, 999}
	out := TimestepEmbedding(ts, 8, nil)
	if !tensor.SameShape(out.Shape, []int{4, 8}) {
		t.Fatalf("shape %v", out.Shape)
	}
	for n, tn := range ts {
		for i := range 4 {
			f := math.Exp(-math.Log(10000) * float64(i) / 4)
			s, c := math.Sin(float64(tn)*f), math.Cos(float64(tn)*f)
			// float32 rounding of t*f costs up to ~1e-4 near t = 1000, as in PyTorch.
			if math.Abs(float64(out.Data[n*8+i])-s) > 2e-4 || math.Abs(float64(out.Data[n*8+4+i])-c) > 2e-4 {
				t.Errorf("t=%v i=%d: got (%v, %v), want (%v, %v)", tn, i, out.Data[n*8+i], out.Data[n*8+4+i], s, c)
			}
		}
	}
	if again := TimestepEmbedding(ts[:2], 8, out); again != out || again.Shape[0] != 2 {
		t.Error("TimestepEmbedding did not reuse out")
	}
	expectShapeError(t, "TimestepEmbedding", func() { TimestepEmbedding(ts, 7, nil) })
}
