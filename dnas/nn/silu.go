package nn

// SiLU is the sigmoid-weighted linear unit (a.k.a. swish), elementwise on any shape.
//
//	y = x * σ(x),  σ(x) = 1/(1+e^-x)
//	backward: dx = dy * σ(x) * (1 + x*(1-σ(x))) = dy * (σ + y*(1-σ))
//	MACs: 0
//
// Forward keeps σ(x) so Backward needs no second exponential.

import "dnas/dnas/tensor"

// SiLU is torch.nn.SiLU. The zero value is ready to use: &nn.SiLU{Name: "res.act1"}.
type SiLU struct {
	Name string

	sig      []float32 // σ(x) of the last Forward
	x, y, dx *tensor.Tensor
	dy       *tensor.Tensor
	fwd, bwd func(lo, hi int)
}

// Params returns nil: SiLU has no weights.
func (a *SiLU) Params() []*Param { return nil }

// MACs is 0.
func (a *SiLU) MACs(in []int) int64 { return 0 }

// Forward returns x*σ(x) in a buffer owned by a.
func (a *SiLU) Forward(x *tensor.Tensor) *tensor.Tensor {
	if a.fwd == nil {
		a.fwd, a.bwd = a.forwardRange, a.backwardRange
	}
	a.x = x
	a.y = tensor.Ensure(a.y, x.Shape...)
	a.sig = resize(a.sig, len(x.Data))
	tensor.ParallelFor(len(x.Data), 24, a.fwd)
	return a.y
}

func (a *SiLU) forwardRange(lo, hi int) {
	x, y, sg := a.x.Data[lo:hi], a.y.Data[lo:hi], a.sig[lo:hi]
	y, sg = y[:len(x)], sg[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		siluAVX2(&x[0], &sg[0], &y[0], v)
		x, y, sg = x[v:], y[v:], sg[v:]
	}
	for i, v := range x {
		s := 1 / (1 + fastExp(-v))
		sg[i] = s
		y[i] = v * s
	}
}

// Backward returns dx for dy (the shape of the last Forward's output).
func (a *SiLU) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if a.x == nil {
		panic("nn: SiLU.Backward " + a.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, a.x.Shape) {
		shapePanic(a.Name, "SiLU.Backward", dy.Shape, "%v (the shape of the forward input)", a.x.Shape)
	}
	a.dy = dy
	a.dx = tensor.Ensure(a.dx, dy.Shape...)
	tensor.ParallelFor(len(dy.Data), 4, a.bwd)
	a.dy = nil
	return a.dx
}

func (a *SiLU) backwardRange(lo, hi int) {
	dy, dx, y, sg := a.dy.Data[lo:hi], a.dx.Data[lo:hi], a.y.Data[lo:hi], a.sig[lo:hi]
	dx, y, sg = dx[:len(dy)], y[:len(dy)], sg[:len(dy)]
	for i, d := range dy {
		s := sg[i]
		dx[i] = d * (s + y[i]*(1-s))
	}
}
