package nn

// Dropout zeroes each element with probability P while training and scales
// the survivors by 1/(1-P), so the expected value is unchanged; when not
// training it is the identity.
//
//	training: y = x * m,  m = 0 with probability P, 1/(1-P) otherwise
//	backward: dx = dy * m (the same mask)
//	eval:     y = x, dx = dy (the very tensors passed in, not copies)
//	MACs: 0
//
// The mask is a hash of (seed, element index), with one seed drawn from the
// layer's rng per Forward: the result does not depend on how many workers
// share the work, and a run is reproducible from the rng's seed. One 64-bit
// hash serves two elements (32 bits each), compared without branches.
// Backward recomputes the mask from the seed instead of storing it: hashing
// costs less than writing and reading back a tensor of the input's size.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"dnas/dnas/tensor"
)

// Dropout is torch.nn.Dropout(P). Set Training to switch it on.
type Dropout struct {
	Name     string
	P        float32
	Training bool

	rng      *rand.Rand
	seed     uint64
	keep     uint32 // an element survives when its 32-bit hash >= keep
	x, dy    *tensor.Tensor
	y, dx    *tensor.Tensor
	masked   bool // the last Forward applied a mask
	fwd, bwd func(lo, hi int)
}

// NewDropout returns a dropout layer with drop probability p in [0, 1],
// drawing its masks from rng (nil: a fixed seed). It starts in eval mode
// (Training false). p outside [0, 1] is a programming error and panics.
func NewDropout(name string, p float32, rng *rand.Rand) *Dropout {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nn.NewDropout %s: drop probability %v is outside [0, 1]", name, p))
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(3, 4))
	}
	d := &Dropout{Name: name, P: p, rng: rng}
	d.fwd, d.bwd = d.forwardRange, d.backwardRange
	return d
}

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// MACs is 0.
func (d *Dropout) MACs(in []int) int64 { return 0 }

// Forward applies a fresh random mask when Training and P > 0, and returns x
// itself otherwise.
func (d *Dropout) Forward(x *tensor.Tensor) *tensor.Tensor {
	d.x = x
	d.masked = d.Training && d.P > 0
	if !d.masked {
		return x
	}
	d.seed = d.rng.Uint64()
	d.keep = uint32(min(float64(d.P)*(1<<32), (1<<32)-1))
	d.y = tensor.Ensure(d.y, x.Shape...)
	tensor.ParallelFor(len(x.Data), 8, d.fwd)
	return d.y
}

func (d *Dropout) forwardRange(lo, hi int) { d.apply(d.x.Data, d.y.Data, lo, hi) }

// apply writes dst[i] = src[i]·m_i for i in [lo, hi), m_i the mask of the
// current seed. Element i uses half of the hash of (seed, i/2): the high 32
// bits for even i, the low ones for odd i, so a range boundary never changes
// an element's mask.
func (d *Dropout) apply(src, dst []float32, lo, hi int) {
	scale := float32(0)
	if d.P < 1 {
		scale = 1 / (1 - d.P)
	}
	sb, keep := math.Float32bits(scale), uint64(d.keep)
	i := lo
	if i%2 == 1 {
		h := splitmix64(d.seed + uint64(i/2))
		dst[i] = src[i] * math.Float32frombits(sb&keepBits(uint32(h), keep))
		i++
	}
	for ; i+2 <= hi; i += 2 {
		h := splitmix64(d.seed + uint64(i/2))
		dst[i] = src[i] * math.Float32frombits(sb&keepBits(uint32(h>>32), keep))
		dst[i+1] = src[i+1] * math.Float32frombits(sb&keepBits(uint32(h), keep))
	}
	if i < hi {
		h := splitmix64(d.seed + uint64(i/2))
		dst[i] = src[i] * math.Float32frombits(sb&keepBits(uint32(h>>32), keep))
	}
}

// keepBits is all ones when u >= keep (the element survives) and 0 when it is
// dropped, computed without a branch: (u - keep) >> 63 is 1 exactly when u < keep.
func keepBits(u uint32, keep uint64) uint32 {
	return uint32((uint64(u)-keep)>>63) - 1
}

// Backward multiplies dy by the mask of the last Forward, recomputed from
// its seed (or returns dy itself when that Forward was the identity).
func (d *Dropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if d.x == nil {
		panic("nn: Dropout.Backward " + d.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, d.x.Shape) {
		shapePanic(d.Name, "Dropout.Backward", dy.Shape, "%v (the shape of the forward input)", d.x.Shape)
	}
	if !d.masked {
		return dy
	}
	d.dy = dy
	d.dx = tensor.Ensure(d.dx, dy.Shape...)
	tensor.ParallelFor(len(dy.Data), 2, d.bwd)
	d.dy = nil
	return d.dx
}

func (d *Dropout) backwardRange(lo, hi int) { d.apply(d.dy.Data, d.dx.Data, lo, hi) }

// splitmix64 is the finaliser of the SplitMix64 generator: a cheap bijective
// hash whose output bits are well mixed even for consecutive inputs.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
