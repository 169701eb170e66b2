package nn

// Additions of the UNet: residual connections, time-embedding injection and
// gradient accumulation.
//
//	Add:          y = a + b (same shape);        backward: da = db = dy
//	BroadcastAdd: y[n,c,*] = x[n,c,*] + v[n,c];  backward: dx = dy, dv[n,c] = Σ_* dy[n,c,*]
//	AddInto:      dst += src (same shape), e.g. summing the two gradients that
//	              reach a tensor used twice (a skip connection, a residual).
//	MACs: 0

import "dnas/dnas/tensor"

// Add is an elementwise sum of two tensors of the same shape (a residual
// connection); the zero value is ready to use.
type Add struct {
	Name string

	a, b, y *tensor.Tensor
	fwd     func(lo, hi int)
	shape   []int
}

// Params returns nil.
func (l *Add) Params() []*Param { return nil }

// MACs is 0.
func (l *Add) MACs(in []int) int64 { return 0 }

// Forward returns a + b in a buffer owned by l.
func (l *Add) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	if !tensor.SameShape(a.Shape, b.Shape) {
		shapePanic(l.Name, "Add.Forward", b.Shape, "the shape of the first operand %v", a.Shape)
	}
	if l.fwd == nil {
		l.fwd = l.forwardRange
	}
	l.a, l.b = a, b
	l.y = tensor.Ensure(l.y, a.Shape...)
	l.shape = l.y.Shape
	tensor.ParallelFor(len(a.Data), 2, l.fwd)
	l.a, l.b = nil, nil
	return l.y
}

func (l *Add) forwardRange(lo, hi int) {
	a, b, y := l.a.Data[lo:hi], l.b.Data[lo:hi], l.y.Data[lo:hi]
	b, y = b[:len(a)], y[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// Backward returns dy for both operands (the very same tensor, not a copy:
// whoever receives it must not modify it in place).
func (l *Add) Backward(dy *tensor.Tensor) (da, db *tensor.Tensor) {
	if l.shape == nil {
		panic("nn: Add.Backward " + l.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, l.shape) {
		shapePanic(l.Name, "Add.Backward", dy.Shape, "%v (the shape Forward returned)", l.shape)
	}
	return dy, dy
}

// BroadcastAdd adds a per-sample, per-channel value to every position of a
// feature map: the ResBlock's `h + temb_proj[:, :, None, None]`. The zero
// value is ready to use.
type BroadcastAdd struct {
	Name string

	x, v, y, dy, dv *tensor.Tensor
	s               int
	fwd, bwd        func(lo, hi int)
}

// Params returns nil.
func (l *BroadcastAdd) Params() []*Param { return nil }

// MACs is 0.
func (l *BroadcastAdd) MACs(in []int) int64 { return 0 }

// Forward returns x [N, C, *] plus v [N, C] broadcast over the trailing dims.
func (l *BroadcastAdd) Forward(x, v *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) < 2 || len(v.Shape) != 2 || v.Shape[0] != x.Shape[0] || v.Shape[1] != x.Shape[1] {
		shapePanic(l.Name, "BroadcastAdd.Forward", v.Shape, "[N, C] matching the feature map %v", x.Shape)
	}
	if l.fwd == nil {
		l.fwd, l.bwd = l.forwardRange, l.backwardRange
	}
	l.x, l.v = x, v
	l.s = len(x.Data) / max(len(v.Data), 1)
	l.y = tensor.Ensure(l.y, x.Shape...)
	tensor.ParallelFor(len(v.Data), l.s, l.fwd)
	l.x, l.v = nil, nil
	return l.y
}

func (l *BroadcastAdd) forwardRange(lo, hi int) {
	s := l.s
	for p := lo; p < hi; p++ {
		b := l.v.Data[p]
		x, y := l.x.Data[p*s:(p+1)*s], l.y.Data[p*s:(p+1)*s]
		y = y[:len(x)]
		for i, v := range x {
			y[i] = v + b
		}
	}
}

// Backward returns dx (dy itself, not a copy) and dv [N, C], the sums of dy
// over each feature map.
func (l *BroadcastAdd) Backward(dy *tensor.Tensor) (dx, dv *tensor.Tensor) {
	if l.y == nil {
		panic("nn: BroadcastAdd.Backward " + l.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, l.y.Shape) {
		shapePanic(l.Name, "BroadcastAdd.Backward", dy.Shape, "%v (the shape Forward returned)", l.y.Shape)
	}
	l.dy = dy
	l.dv = ensureDims(l.dv, dy.Shape[0], dy.Shape[1])
	tensor.ParallelFor(len(l.dv.Data), l.s, l.bwd)
	l.dy = nil
	return dy, l.dv
}

func (l *BroadcastAdd) backwardRange(lo, hi int) {
	s := l.s
	for p := lo; p < hi; p++ {
		l.dv.Data[p] = vsum(l.dy.Data[p*s : (p+1)*s])
	}
}

// AddInto adds src into dst elementwise (dst += src). name says who asked,
// for the error message; the shapes must be identical.
func AddInto(name string, dst, src *tensor.Tensor) {
	if !tensor.SameShape(dst.Shape, src.Shape) {
		shapePanic(name, "AddInto", src.Shape, "the shape of the destination %v", dst.Shape)
	}
	d, s := dst.Data, src.Data[:len(dst.Data)]
	if len(d) < addSerialBelow {
		for i := range d {
			d[i] += s[i]
		}
		return
	}
	j := addJobs.Get()
	j.d, j.s = d, s
	tensor.ParallelFor(len(d), 2, j.run)
	j.d, j.s = nil, nil
	addJobs.Put(j)
}

// addSerialBelow is the size under which AddInto does not split its work.
const addSerialBelow = 1 << 14

// addJob carries AddInto's operands to the workers; pooled, with its range
// function bound once, so AddInto does not allocate.
type addJob struct {
	d, s []float32
	run  func(lo, hi int)
}

// addJobs is a tensor.FreeList, not a sync.Pool: a Pool's per-P slots make a
// Get on another P allocate at random.
var addJobs = tensor.FreeList[addJob]{New: newAddJob}

// newAddJob makes an addJob with its range function bound.
func newAddJob() *addJob {
	j := &addJob{}
	j.run = j.add
	return j
}

func (j *addJob) add(lo, hi int) {
	d, s := j.d[lo:hi], j.s[lo:hi]
	s = s[:len(d)]
	for i := range d {
		d[i] += s[i]
	}
}
