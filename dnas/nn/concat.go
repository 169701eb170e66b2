package nn

// Concat joins two tensors along the channel dimension (the UNet's skip connections).
//
//	a [N, Ca, *], b [N, Cb, *] -> y [N, Ca+Cb, *]   (same N and trailing dims)
//	backward: da = dy[:, :Ca], db = dy[:, Ca:]
//	MACs: 0
//
// This is torch.cat([a, b], 1).

import "dnas/dnas/tensor"

// Concat is channel concatenation; the zero value is ready to use.
type Concat struct {
	Name string

	a, b, dy, y, da, db *tensor.Tensor
	fwd, bwd            func(lo, hi int)
}

// Params returns nil.
func (c *Concat) Params() []*Param { return nil }

// MACs is 0.
func (c *Concat) MACs(in []int) int64 { return 0 }

// Forward returns [a, b] concatenated on dimension 1.
func (c *Concat) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	ok := len(a.Shape) >= 2 && len(a.Shape) == len(b.Shape) && a.Shape[0] == b.Shape[0]
	for i := 2; ok && i < len(a.Shape); i++ {
		ok = a.Shape[i] == b.Shape[i]
	}
	if !ok {
		shapePanic(c.Name, "Concat.Forward", b.Shape, "the same batch and spatial size as the first input %v", a.Shape)
	}
	if c.fwd == nil {
		c.fwd, c.bwd = c.forwardRange, c.backwardRange
	}
	c.a, c.b = a, b
	var buf [8]int
	shape := append(buf[:0], a.Shape...)
	shape[1] = a.Shape[1] + b.Shape[1]
	c.y = ensureDims(c.y, shape...)
	if a.Shape[0] > 0 {
		tensor.ParallelFor(a.Shape[0], len(c.y.Data)/a.Shape[0], c.fwd)
	}
	return c.y
}

func (c *Concat) forwardRange(lo, hi int) {
	pa, pb := len(c.a.Data)/c.a.Shape[0], len(c.b.Data)/c.b.Shape[0]
	for n := lo; n < hi; n++ {
		y := c.y.Data[n*(pa+pb) : (n+1)*(pa+pb)]
		copy(y[:pa], c.a.Data[n*pa:(n+1)*pa])
		copy(y[pa:], c.b.Data[n*pb:(n+1)*pb])
	}
}

// Backward splits dy back into the gradients of the two inputs.
func (c *Concat) Backward(dy *tensor.Tensor) (da, db *tensor.Tensor) {
	if c.a == nil {
		panic("nn: Concat.Backward " + c.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, c.y.Shape) {
		shapePanic(c.Name, "Concat.Backward", dy.Shape, "%v (the shape Forward returned)", c.y.Shape)
	}
	c.dy = dy
	c.da = tensor.Ensure(c.da, c.a.Shape...)
	c.db = tensor.Ensure(c.db, c.b.Shape...)
	if dy.Shape[0] > 0 {
		tensor.ParallelFor(dy.Shape[0], len(dy.Data)/dy.Shape[0], c.bwd)
	}
	c.dy = nil
	return c.da, c.db
}

func (c *Concat) backwardRange(lo, hi int) {
	pa, pb := len(c.a.Data)/c.a.Shape[0], len(c.b.Data)/c.b.Shape[0]
	for n := lo; n < hi; n++ {
		dy := c.dy.Data[n*(pa+pb) : (n+1)*(pa+pb)]
		copy(c.da.Data[n*pa:(n+1)*pa], dy[:pa])
		copy(c.db.Data[n*pb:(n+1)*pb], dy[pa:])
	}
}
