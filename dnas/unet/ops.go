package unet

import (
	"math"
	"math/rand/v2"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// sum2 writes a + b into its own buffer (nn.Add, which does not allocate);
// name identifies the layer in shape errors.
type sum2 struct {
	name string
	add  nn.Add
}

// Forward returns a + b (same shapes) in a buffer owned by s.
func (s *sum2) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	s.add.Name = s.name
	return s.add.Forward(a, b)
}

// adder adds src into dst in place (same shapes) with nn.AddInto; name
// identifies the layer in shape errors.
type adder struct {
	name string
}

func (a *adder) into(dst, src *tensor.Tensor) { nn.AddInto(a.name, dst, src) }

// ensureLike returns buf shaped like t, calling tensor.Ensure (whose
// variadic shape allocates) only when the shape differs.
func ensureLike(buf, t *tensor.Tensor) *tensor.Tensor {
	if buf != nil && tensor.SameShape(buf.Shape, t.Shape) {
		return buf
	}
	return tensor.Ensure(buf, t.Shape...)
}

// ensure2 is tensor.Ensure for a 2-D shape, without a call (whose variadic
// shape allocates) when buf already has it.
func ensure2(buf *tensor.Tensor, rows, cols int) *tensor.Tensor {
	if buf != nil && len(buf.Shape) == 2 && buf.Shape[0] == rows && buf.Shape[1] == cols {
		return buf
	}
	return tensor.Ensure(buf, rows, cols)
}

// rowSums sums a feature map [N, C, H, W] over its pixels into [N, C]: the
// gradient of a per-sample, per-channel bias.
type rowSums struct {
	x, y *tensor.Tensor
	s    int
	fn   func(lo, hi int)
}

// Forward returns the pixel sums of x in a buffer owned by r.
func (r *rowSums) Forward(x *tensor.Tensor) *tensor.Tensor {
	if r.fn == nil {
		r.fn = r.run
	}
	n, c := x.Shape[0], x.Shape[1]
	r.y = ensure2(r.y, n, c)
	r.x, r.s = x, len(x.Data)/max(n*c, 1)
	tensor.ParallelFor(n*c, r.s, r.fn)
	r.x = nil
	return r.y
}

func (r *rowSums) run(lo, hi int) {
	for p := lo; p < hi; p++ {
		r.y.Data[p] = nn.Sum(r.x.Data[p*r.s : (p+1)*r.s])
	}
}

// dropout zeroes elements in place with probability p while training and
// scales the others by 1/(1-p), like torch.nn.Dropout. The mask is not
// stored: element i is dropped when a hash of (seed, i) falls below p, and
// backward recomputes it from the seed of the last forward. One seed is
// drawn from rng per forward (reseed src to reproduce a run).
type dropout struct {
	p        float32
	training bool
	src      *rand.PCG
	rng      *rand.Rand

	active bool // the last forward applied a mask
	seed   uint64
	keep   uint32 // an element survives when its hash >= keep
	scale  float32
	data   []float32
	fn     func(lo, hi int)
}

// forward applies a fresh mask to x in place (training and p > 0 only).
func (d *dropout) forward(x *tensor.Tensor) {
	d.active = d.training && d.p > 0
	if !d.active {
		return
	}
	d.seed = d.rng.Uint64()
	d.keep = uint32(min(float64(d.p)*(1<<32), (1<<32)-1))
	d.scale = 1 / (1 - d.p)
	d.apply(x)
}

// backward applies the last forward's mask to dy in place.
func (d *dropout) backward(dy *tensor.Tensor) {
	if d.active {
		d.apply(dy)
	}
}

func (d *dropout) apply(t *tensor.Tensor) {
	if d.fn == nil {
		d.fn = d.run
	}
	d.data = t.Data
	tensor.ParallelFor(len(t.Data), 4, d.fn)
	d.data = nil
}

func (d *dropout) run(lo, hi int) {
	// Element i uses half of the 64-bit hash of pair i/2: the high half for
	// even i, the low half for odd i (one hash per two elements).
	i := lo
	if i&1 == 1 && i < hi {
		d.keepOrDrop(i, uint32(mix64(d.seed+uint64(i>>1)*0x9e3779b97f4a7c15)))
		i++
	}
	for ; i+1 < hi; i += 2 {
		h := mix64(d.seed + uint64(i>>1)*0x9e3779b97f4a7c15)
		d.keepOrDrop(i, uint32(h>>32))
		d.keepOrDrop(i+1, uint32(h))
	}
	if i < hi {
		d.keepOrDrop(i, uint32(mix64(d.seed+uint64(i>>1)*0x9e3779b97f4a7c15)>>32))
	}
}

// keepOrDrop applies the mask to element i given its 32-bit hash: +0 when
// h < keep, the element times scale otherwise. It selects with a bit mask,
// not a branch: the branch went the random way once in 1/p elements and
// its mispredictions cost more than the hash.
func (d *dropout) keepOrDrop(i int, h uint32) {
	keepMask := ^uint32((uint64(h) - uint64(d.keep)) >> 32) // 0 when h < keep, else all ones
	d.data[i] = math.Float32frombits(math.Float32bits(d.data[i]*d.scale) & keepMask)
}

// mix64 is the splitmix64 finaliser: a cheap, well-mixed 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
