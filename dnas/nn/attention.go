package nn

// Attention is single-head spatial self-attention with a residual connection,
// the `Attn` module of the DDPM UNet (shared/bench/torch_unet.py):
//
//	x [B, C, H, W], L = H*W positions; per sample, h = norm(x) is a [C, L] matrix
//	h = GroupNorm(min(8, C), C)(x)
//	[Q; K; V] = Wqkv·h + bqkv          (1x1 conv C -> 3C; Q, K, V are [C, L])
//	A = softmax_rows(Qᵀ·K / sqrt(C))    ([L, L]; row i = query position i)
//	O = V·Aᵀ                            ([C, L])
//	y = x + Wo·O + bo                   (1x1 conv C -> C)
//
// Backward, per sample (dy [C, L]):
//
//	dWo += dy·Oᵀ,  dbo += rowsum(dy),  dO = Woᵀ·dy
//	dA = dOᵀ·V,  dV = dO·A,  dS = A ⊙ (dA - rowsum(dA ⊙ A))
//	dQ = K·dSᵀ/sqrt(C),  dK = Q·dS/sqrt(C)
//	dWqkv += dqkv·hᵀ,  dbqkv += rowsum(dqkv),  dh = Wqkvᵀ·dqkv
//	dx = dy + GroupNorm backward(dh)
//
// Every product is one sample's, so whole samples are spread over the
// workers (the BLAS runs single-threaded inside each) and nothing is
// transposed. In backward, slot g accumulates the weight gradients of its
// fixed share of the batch in its own buffers, summed in slot order at the
// end; the slots are fixed by the batch size (attnGradSlots), not by the
// worker count, so the result is the same bits on any number of cores and
// under any scheduling.
//
// MACs per sample: 3C·C·L (qkv) + C·C·L (proj) + 2·L²·C (Qᵀ·K and V·Aᵀ).

import (
	"fmt"
	"math"
	"math/rand/v2"

	"dnas/dnas/blas"
	"dnas/dnas/tensor"
)

// Attention is the UNet's spatial self-attention block (norm, qkv, softmax
// attention, output projection, residual).
type Attention struct {
	Name  string
	C     int
	Norm  *GroupNorm
	QKVW  *Param // [3C, C, 1, 1], rows: q then k then v
	QKVB  *Param // [3C]
	ProjW *Param // [C, C, 1, 1]
	ProjB *Param // [C]

	b, l           int
	scale          float32
	x, dy          *tensor.Tensor
	y, dx, dhn     *tensor.Tensor
	dxn            *tensor.Tensor
	qkv            []float32 // [B, 3C, L]
	att            []float32 // [B, L, L] softmax weights
	ot             []float32 // [B, C, L] attention output before the projection
	slots          []attnSlot
	fwd, bwd, addR func(lo, hi int)
}

// attnSlot is one worker's share of the backward: scratch matrices and
// partial weight gradients.
type attnSlot struct {
	dO, dqkv, dA                 []float32 // [C, L], [3C, L], [L, L]
	dQKVW, dQKVB, dProjW, dProjB []float32
}

// NewAttention returns the attention block over c channels, with PyTorch's
// default initialisation of both 1x1 convs (uniform ±1/sqrt(c)) and a
// GroupNorm of min(8, c) groups. Parameter names: name+".norm.gamma/.beta",
// ".qkv.w", ".qkv.b", ".proj.w", ".proj.b".
func NewAttention(name string, c int, rng *rand.Rand) (*Attention, error) {
	if c <= 0 {
		return nil, fmt.Errorf("nn.NewAttention %s: %d channels; the channel count must be positive", name, c)
	}
	norm, err := NewGroupNorm(name+".norm", min(8, c), c)
	if err != nil {
		return nil, err
	}
	a := &Attention{Name: name, C: c, Norm: norm,
		QKVW: NewParam(name+".qkv.w", 3*c, c, 1, 1), QKVB: NewParam(name+".qkv.b", 3*c),
		ProjW: NewParam(name+".proj.w", c, c, 1, 1), ProjB: NewParam(name+".proj.b", c),
		scale: float32(1 / math.Sqrt(float64(c)))}
	UniformFanIn(a.QKVW.Data, c, rng)
	UniformFanIn(a.QKVB.Data, c, rng)
	UniformFanIn(a.ProjW.Data, c, rng)
	UniformFanIn(a.ProjB.Data, c, rng)
	a.fwd, a.bwd, a.addR = a.forwardRange, a.backwardRange, a.addResidualRange
	return a, nil
}

// Params returns the GroupNorm's gamma and beta, then QKVW, QKVB, ProjW, ProjB.
func (a *Attention) Params() []*Param {
	return append(a.Norm.Params(), a.QKVW, a.QKVB, a.ProjW, a.ProjB)
}

// MACs counts the two 1x1 convs and the two L x L matrix products of one
// sample: 4·C²·L + 2·L²·C, with L = H*W from the last two dims of in.
func (a *Attention) MACs(in []int) int64 {
	if len(in) < 3 || in[len(in)-3] != a.C {
		shapePanic(a.Name, "Attention.MACs", in, "[N, %d, H, W]", a.C)
	}
	l, c := int64(in[len(in)-2]*in[len(in)-1]), int64(a.C)
	return 4*c*c*l + 2*l*l*c
}

// Forward returns x + attention(x) for x [B, C, H, W]; it keeps a reference to x.
func (a *Attention) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != a.C {
		shapePanic(a.Name, "Attention.Forward", x.Shape, "[N, %d, H, W]", a.C)
	}
	b, c, l := x.Shape[0], a.C, x.Shape[2]*x.Shape[3]
	a.x, a.b, a.l = x, b, l
	a.qkv = resize(a.qkv, b*3*c*l)
	a.att = resize(a.att, b*l*l)
	a.ot = resize(a.ot, b*c*l)
	a.y = tensor.Ensure(a.y, x.Shape...)
	a.Norm.Forward(x)
	tensor.ParallelFor(b, (4*c*c*l+2*l*l*c)/16, a.fwd)
	return a.y
}

func (a *Attention) forwardRange(lo, hi int) {
	c, l := a.C, a.l
	for s := lo; s < hi; s++ {
		h := a.Norm.y.Data[s*c*l : (s+1)*c*l]
		qkv := a.qkv[s*3*c*l : (s+1)*3*c*l]
		at := a.att[s*l*l : (s+1)*l*l]
		o := a.ot[s*c*l : (s+1)*c*l]
		x, y := a.x.Data[s*c*l:(s+1)*c*l], a.y.Data[s*c*l:(s+1)*c*l]
		for r := range 3 * c {
			fill(qkv[r*l:(r+1)*l], a.QKVB.Data[r])
		}
		blas.Sgemm(false, false, 3*c, l, c, 1, a.QKVW.Data, c, h, l, 1, qkv, l)
		q, k, v := qkv[:c*l], qkv[c*l:2*c*l], qkv[2*c*l:]
		blas.Sgemm(true, false, l, l, c, a.scale, q, l, k, l, 0, at, l)
		for r := range l {
			softmaxRow(at[r*l : (r+1)*l])
		}
		blas.Sgemm(false, true, c, l, l, 1, v, l, at, l, 0, o, l)
		for ch := range c {
			bias := a.ProjB.Data[ch]
			xs, ys := x[ch*l:(ch+1)*l], y[ch*l:(ch+1)*l]
			ys = ys[:len(xs)]
			for i, v := range xs {
				ys[i] = v + bias
			}
		}
		blas.Sgemm(false, false, c, l, c, 1, a.ProjW.Data, c, o, l, 1, y, l)
	}
}

// softmaxRow replaces row by softmax(row), subtracting the maximum first so
// no exponential overflows.
func softmaxRow(row []float32) {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	inv := 1 / vexpShift(row, m)
	for i := range row {
		row[i] *= inv
	}
}

// fill sets every element of s to v.
func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// Backward takes dy [B, C, H, W], accumulates the gradients of all six
// parameters and returns dx.
func (a *Attention) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if a.x == nil {
		panic("nn: Attention.Backward " + a.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, a.x.Shape) {
		shapePanic(a.Name, "Attention.Backward", dy.Shape, "%v (the shape of the forward input)", a.x.Shape)
	}
	b, c, l := a.b, a.C, a.l
	a.dy = dy
	a.dhn = tensor.Ensure(a.dhn, dy.Shape...)
	a.dx = tensor.Ensure(a.dx, dy.Shape...)
	nslot := attnSlots(b)
	for len(a.slots) < nslot {
		a.slots = append(a.slots, attnSlot{})
	}
	for g := range nslot {
		sl := &a.slots[g]
		sl.dO, sl.dqkv, sl.dA = resize(sl.dO, c*l), resize(sl.dqkv, 3*c*l), resize(sl.dA, l*l)
		sl.dQKVW, sl.dQKVB = zeroed(sl.dQKVW, 3*c*c), zeroed(sl.dQKVB, 3*c)
		sl.dProjW, sl.dProjB = zeroed(sl.dProjW, c*c), zeroed(sl.dProjB, c)
	}
	tensor.ParallelFor(nslot, b/nslot*(8*c*c*l+4*l*l*c)/16, a.bwd)
	for g := range nslot {
		sl := &a.slots[g]
		addTo(a.QKVW.Grad, sl.dQKVW)
		addTo(a.QKVB.Grad, sl.dQKVB)
		addTo(a.ProjW.Grad, sl.dProjW)
		addTo(a.ProjB.Grad, sl.dProjB)
	}
	a.dxn = a.Norm.Backward(a.dhn)
	tensor.ParallelFor(len(a.dx.Data), 2, a.addR)
	a.dy = nil
	return a.dx
}

// attnGradSlots caps the number of slots Backward splits a batch into; the
// workers share the slots. It is a constant so that the gradient sums'
// order does not depend on the machine. 8 keeps up to 8 cores busy; 16
// cost ~5% at 7x7 on 2 cores (more slot buffers to clear and add) and 8 is
// within noise of one slot per worker (go test -bench Attention ./dnas/nn).
const attnGradSlots = 8

// attnSlots is the number of backward slots for a batch of b samples.
func attnSlots(b int) int { return max(1, min(attnGradSlots, b)) }

// backwardRange runs slots [lo, hi); slot g takes samples
// [g·B/n, (g+1)·B/n) of the n = len(slots) in use.
func (a *Attention) backwardRange(lo, hi int) {
	c, l := a.C, a.l
	nslot := attnSlots(a.b)
	for g := lo; g < hi; g++ {
		sl := &a.slots[g]
		for s := g * a.b / nslot; s < (g+1)*a.b/nslot; s++ {
			dy := a.dy.Data[s*c*l : (s+1)*c*l]
			h := a.Norm.y.Data[s*c*l : (s+1)*c*l]
			qkv := a.qkv[s*3*c*l : (s+1)*3*c*l]
			q, k, v := qkv[:c*l], qkv[c*l:2*c*l], qkv[2*c*l:]
			at, o := a.att[s*l*l:(s+1)*l*l], a.ot[s*c*l:(s+1)*c*l]
			dq, dk, dv := sl.dqkv[:c*l], sl.dqkv[c*l:2*c*l], sl.dqkv[2*c*l:]
			rowSums(sl.dProjB, dy, l)
			blas.Sgemm(false, true, c, c, l, 1, dy, l, o, l, 1, sl.dProjW, c)
			blas.Sgemm(true, false, c, l, c, 1, a.ProjW.Data, c, dy, l, 0, sl.dO, l)
			blas.Sgemm(true, false, l, l, c, 1, sl.dO, l, v, l, 0, sl.dA, l)
			blas.Sgemm(false, false, c, l, l, 1, sl.dO, l, at, l, 0, dv, l)
			for r := range l {
				d, p := sl.dA[r*l:(r+1)*l], at[r*l:(r+1)*l]
				p = p[:len(d)]
				var dot float32
				for i, v := range d {
					dot += v * p[i]
				}
				for i, v := range d {
					d[i] = p[i] * (v - dot)
				}
			}
			blas.Sgemm(false, true, c, l, l, a.scale, k, l, sl.dA, l, 0, dq, l)
			blas.Sgemm(false, false, c, l, l, a.scale, q, l, sl.dA, l, 0, dk, l)
			rowSums(sl.dQKVB, sl.dqkv, l)
			blas.Sgemm(false, true, 3*c, c, l, 1, sl.dqkv, l, h, l, 1, sl.dQKVW, c)
			blas.Sgemm(true, false, c, l, 3*c, 1, a.QKVW.Data, c, sl.dqkv, l, 0, a.dhn.Data[s*c*l:(s+1)*c*l], l)
		}
	}
}

// rowSums adds to dst[r] the sum of row r of m (rows of length l).
func rowSums(dst, m []float32, l int) {
	for r := range dst {
		dst[r] += vsum(m[r*l : (r+1)*l])
	}
}

// zeroed returns buf resized to n and cleared.
func zeroed(buf []float32, n int) []float32 {
	buf = resize(buf, n)
	clear(buf)
	return buf
}

// addTo adds src into dst elementwise.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// addResidualRange writes dx = dy + (gradient through the norm branch).
func (a *Attention) addResidualRange(lo, hi int) {
	dy, dn, dx := a.dy.Data[lo:hi], a.dxn.Data[lo:hi], a.dx.Data[lo:hi]
	dn, dx = dn[:len(dy)], dx[:len(dy)]
	for i, v := range dy {
		dx[i] = v + dn[i]
	}
}
