package nn

// SiLU is the sigmoid-weighted linear unit (a.k.a. swish), elementwise on any shape.
//
//	y = x · σ(x),  σ(x) = 1/(1+e^-x)
//	backward: dx = dy · σ(x) · (1 + x·(1-σ(x)))
//	MACs: 0
//
// Backward recomputes σ(x) from the kept input rather than storing it: an
// exponential on 8 vector lanes costs less than writing and reading back a
// tensor of the activation's size, and the layer holds no extra memory.

import "dnas/dnas/tensor"

// SiLU is torch.nn.SiLU. The zero value is ready to use: &nn.SiLU{Name: "res.act1"}.
type SiLU struct {
	Name string

	x, y, dx *tensor.Tensor
	dy       *tensor.Tensor
	fwd, bwd func(lo, hi int)
}

// Params returns nil: SiLU has no weights.
func (a *SiLU) Params() []*Param { return nil }

// MACs is 0.
func (a *SiLU) MACs(in []int) int64 { return 0 }

// Forward returns x·σ(x) in a buffer owned by a. It keeps a reference to x
// for Backward; do not modify x in between.
func (a *SiLU) Forward(x *tensor.Tensor) *tensor.Tensor {
	if a.fwd == nil {
		a.fwd, a.bwd = a.forwardRange, a.backwardRange
	}
	a.x = x
	a.y = tensor.Ensure(a.y, x.Shape...)
	tensor.ParallelForAligned(len(x.Data), 16, 8, a.fwd)
	return a.y
}

func (a *SiLU) forwardRange(lo, hi int) {
	x, y := a.x.Data[lo:hi], a.y.Data[lo:hi]
	y = y[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		siluAVX2(&x[0], &y[0], v)
		x, y = x[v:], y[v:]
	}
	for i, v := range x {
		y[i] = v / (1 + fastExp(-v))
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
	tensor.ParallelForAligned(len(dy.Data), 16, 8, a.bwd)
	a.dy = nil
	return a.dx
}

func (a *SiLU) backwardRange(lo, hi int) {
	x, dy, dx := a.x.Data[lo:hi], a.dy.Data[lo:hi], a.dx.Data[lo:hi]
	dy, dx = dy[:len(x)], dx[:len(x)]
	if v := len(x) &^ 7; useAVX2 && v > 0 {
		siluBackAVX2(&x[0], &dy[0], &dx[0], v)
		x, dy, dx = x[v:], dy[v:], dx[v:]
	}
	for i, v := range x {
		s := 1 / (1 + fastExp(-v))
		dx[i] = dy[i] * s * (1 + v*(1-s))
	}
}
