package nn

// MSELoss is the mean squared error, the loss of noise prediction and of
// block-wise distillation.
//
//	L = (1/n) Σ (pred - target)²   over all n elements
//	dL/dpred = 2 (pred - target) / n
//
// NaN: a NaN or infinity anywhere in pred or target makes L NaN (or +Inf);
// nothing panics. Training loops must check the returned loss
// (math.IsNaN / math.IsInf) and stop or skip the step: a divergent run would
// otherwise silently write NaNs into every weight at the next optimiser step.

import (
	"math"

	"dnas/dnas/tensor"
)

// MSELoss returns the mean of (pred-target)² and, if dpred is non-nil, writes
// dL/dpred into it (resized to pred's shape). pred and target must have the
// same shape. The sum is accumulated in float64.
func MSELoss(pred, target *tensor.Tensor, dpred *tensor.Tensor) float32 {
	if !tensor.SameShape(pred.Shape, target.Shape) {
		shapePanic("MSELoss", "MSELoss", target.Shape, "the prediction's shape %v", pred.Shape)
	}
	n := len(pred.Data)
	if n == 0 {
		return float32(math.NaN())
	}
	var sum float64
	p, t := pred.Data, target.Data[:n]
	if dpred == nil {
		for i, v := range p {
			d := float64(v - t[i])
			sum += d * d
		}
		return float32(sum / float64(n))
	}
	g := tensor.Ensure(dpred, pred.Shape...).Data[:n]
	k := 2 / float32(n)
	for i, v := range p {
		d := v - t[i]
		sum += float64(d) * float64(d)
		g[i] = k * d
	}
	return float32(sum / float64(n))
}
