package nn

// Attention is single-head spatial self-attention with a residual connection,
// the `Attn` module of the DDPM UNet (shared/bench/torch_unet.py):
//
//	x [B, C, H, W], L = H*W positions
//	h = GroupNorm(min(8, C), C)(x)
//	[q; k; v] = Wqkv·h + bqkv          (1x1 conv C -> 3C; q, k, v are [C, L])
//	A = softmax_rows(qᵀk / sqrt(C))     ([L, L]; row i = query position i)
//	o = v·Aᵀ                            ([C, L])
//	y = x + Wo·o + bo                   (1x1 conv C -> C)
//
// Internally positions are rows ("tokens"): with ht = hᵀ [B*L, C] the two
// 1x1 convs are single matrix products over the whole batch
// (qkvt = ht·Wqkvᵀ, yt = ot·Woᵀ) and only the L x L products run per sample:
//
//	S = Q·Kᵀ/sqrt(C), A = softmax(S), O = A·V     (Q, K, V, O are [L, C] slices)
//
// Backward, per sample (dO from dyt·Wo):
//
//	dA = dO·Vᵀ,  dV = Aᵀ·dO,  dS = A ⊙ (dA - rowsum(dA ⊙ A)),
//	dQ = dS·K/sqrt(C),  dK = dSᵀ·Q/sqrt(C)
//
// then dWqkv += dqkvᵀ·ht, dht = dqkv·Wqkv, through the GroupNorm, plus dy for
// the residual.
//
// MACs per sample: 3C·C·L (qkv) + C·C·L (proj) + 2·L²·C (qᵀk and v·Aᵀ).

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

	b, l       int
	scale      float32
	x, dy      *tensor.Tensor
	y, dx, dhn *tensor.Tensor
	ht         []float32 // [B*L, C]  normalised input, token-major
	qkv        []float32 // [B*L, 3C]
	att        []float32 // [B, L, L] softmax weights (dS in backward is a separate buffer)
	ot         []float32 // [B*L, C]  attention output, token-major
	yt         []float32 // [B*L, C]  projection output (forward) / dy token-major (backward)
	dot, dht   []float32 // [B*L, C]
	dqkv       []float32 // [B*L, 3C]
	datt       []float32 // [B, L, L]
	ones       []float32
	dxn        *tensor.Tensor

	toTokens, fromTokens, softmax, dyTokens, softmaxBack, dhFromTokens, addResidual func(lo, hi int)
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
	uniformFanIn(a.QKVW.Data, c, rng)
	uniformFanIn(a.QKVB.Data, c, rng)
	uniformFanIn(a.ProjW.Data, c, rng)
	uniformFanIn(a.ProjB.Data, c, rng)
	a.toTokens, a.fromTokens, a.softmax = a.toTokensRange, a.fromTokensRange, a.softmaxRange
	a.dyTokens, a.softmaxBack, a.dhFromTokens, a.addResidual = a.dyTokensRange, a.softmaxBackRange, a.dhFromTokensRange, a.addResidualRange
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
	bl := b * l
	a.ht = resize(a.ht, bl*c)
	a.qkv = resize(a.qkv, bl*3*c)
	a.att = resize(a.att, b*l*l)
	a.ot = resize(a.ot, bl*c)
	a.yt = resize(a.yt, bl*c)
	a.y = tensor.Ensure(a.y, x.Shape...)

	a.Norm.Forward(x)
	tensor.ParallelFor(b, c*l, a.toTokens)
	for r := range bl {
		copy(a.qkv[r*3*c:(r+1)*3*c], a.QKVB.Data)
	}
	blas.Sgemm(false, true, bl, 3*c, c, 1, a.ht, c, a.QKVW.Data, c, 1, a.qkv, 3*c)
	for s := range b {
		q := a.qkv[s*l*3*c:]
		blas.Sgemm(false, true, l, l, c, a.scale, q, 3*c, q[c:], 3*c, 0, a.att[s*l*l:], l)
	}
	tensor.ParallelFor(bl, 8*l, a.softmax)
	for s := range b {
		v := a.qkv[s*l*3*c+2*c:]
		blas.Sgemm(false, false, l, c, l, 1, a.att[s*l*l:], l, v, 3*c, 0, a.ot[s*l*c:], c)
	}
	blas.Sgemm(false, true, bl, c, c, 1, a.ot, c, a.ProjW.Data, c, 0, a.yt, c)
	tensor.ParallelFor(b, 2*c*l, a.fromTokens)
	return a.y
}

// toTokensRange transposes the normalised samples [C, L] -> ht [L, C].
func (a *Attention) toTokensRange(lo, hi int) {
	transposeSamples(a.Norm.y.Data, a.ht, a.C, a.l, lo, hi)
}

// fromTokensRange writes y[b, c, l] = x[b, c, l] + yt[b*L+l, c] + bo[c].
func (a *Attention) fromTokensRange(lo, hi int) {
	c, l := a.C, a.l
	for s := lo; s < hi; s++ {
		yt := a.yt[s*l*c : (s+1)*l*c]
		for ch := range c {
			bias := a.ProjB.Data[ch]
			x, y := a.x.Data[(s*c+ch)*l:(s*c+ch+1)*l], a.y.Data[(s*c+ch)*l:(s*c+ch+1)*l]
			y = y[:len(x)]
			for p, v := range x {
				y[p] = v + yt[p*c+ch] + bias
			}
		}
	}
}

// softmaxRange turns rows [lo, hi) of the [B*L, L] score matrix into probabilities.
func (a *Attention) softmaxRange(lo, hi int) {
	l := a.l
	for r := lo; r < hi; r++ {
		row := a.att[r*l : (r+1)*l]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float32
		for i, v := range row {
			e := fastExp(v - m)
			row[i] = e
			sum += e
		}
		inv := 1 / sum
		for i := range row {
			row[i] *= inv
		}
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
	bl := b * l
	a.dy = dy
	a.dot = resize(a.dot, bl*c)
	a.dht = resize(a.dht, bl*c)
	a.dqkv = resize(a.dqkv, bl*3*c)
	a.datt = resize(a.datt, b*l*l)
	a.ones = onesOf(a.ones, bl)
	a.dhn = tensor.Ensure(a.dhn, dy.Shape...)
	a.dx = tensor.Ensure(a.dx, dy.Shape...)

	dyt := a.yt // the forward's projection output is no longer needed
	tensor.ParallelFor(b, c*l, a.dyTokens)
	blas.Sgemm(false, false, 1, c, bl, 1, a.ones, bl, dyt, c, 1, a.ProjB.Grad, c)
	blas.Sgemm(true, false, c, c, bl, 1, dyt, c, a.ot, c, 1, a.ProjW.Grad, c)
	blas.Sgemm(false, false, bl, c, c, 1, dyt, c, a.ProjW.Data, c, 0, a.dot, c)
	for s := range b {
		v, dv := a.qkv[s*l*3*c+2*c:], a.dqkv[s*l*3*c+2*c:]
		do, at := a.dot[s*l*c:], a.att[s*l*l:]
		blas.Sgemm(false, true, l, l, c, 1, do, c, v, 3*c, 0, a.datt[s*l*l:], l)
		blas.Sgemm(true, false, l, c, l, 1, at, l, do, c, 0, dv, 3*c)
	}
	tensor.ParallelFor(bl, 4*l, a.softmaxBack)
	for s := range b {
		q, dq := a.qkv[s*l*3*c:], a.dqkv[s*l*3*c:]
		ds := a.datt[s*l*l:]
		blas.Sgemm(false, false, l, c, l, a.scale, ds, l, q[c:], 3*c, 0, dq, 3*c)
		blas.Sgemm(true, false, l, c, l, a.scale, ds, l, q, 3*c, 0, dq[c:], 3*c)
	}
	blas.Sgemm(false, false, 1, 3*c, bl, 1, a.ones, bl, a.dqkv, 3*c, 1, a.QKVB.Grad, 3*c)
	blas.Sgemm(true, false, 3*c, c, bl, 1, a.dqkv, 3*c, a.ht, c, 1, a.QKVW.Grad, c)
	blas.Sgemm(false, false, bl, c, 3*c, 1, a.dqkv, 3*c, a.QKVW.Data, c, 0, a.dht, c)
	tensor.ParallelFor(b, c*l, a.dhFromTokens)
	a.dxn = a.Norm.Backward(a.dhn)
	tensor.ParallelFor(len(a.dx.Data), 2, a.addResidual)
	a.dy = nil
	return a.dx
}

// dyTokensRange transposes dy [C, L] per sample into yt [L, C].
func (a *Attention) dyTokensRange(lo, hi int) {
	transposeSamples(a.dy.Data, a.yt, a.C, a.l, lo, hi)
}

// dhFromTokensRange transposes dht [L, C] per sample back into dhn [C, L].
func (a *Attention) dhFromTokensRange(lo, hi int) {
	transposeSamples(a.dht, a.dhn.Data, a.l, a.C, lo, hi)
}

// softmaxBackRange computes dS = A ⊙ (dA - rowsum(dA ⊙ A)) in place of dA.
func (a *Attention) softmaxBackRange(lo, hi int) {
	l := a.l
	for r := lo; r < hi; r++ {
		da, at := a.datt[r*l:(r+1)*l], a.att[r*l:(r+1)*l]
		at = at[:len(da)]
		var dot float32
		for i, v := range da {
			dot += v * at[i]
		}
		for i, v := range da {
			da[i] = at[i] * (v - dot)
		}
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

// transposeSamples transposes samples [lo, hi) of src, each a rows x cols
// matrix, into dst (each cols x rows).
func transposeSamples(src, dst []float32, rows, cols, lo, hi int) {
	n := rows * cols
	for s := lo; s < hi; s++ {
		in, out := src[s*n:(s+1)*n], dst[s*n:(s+1)*n]
		for r := range rows {
			row := in[r*cols : (r+1)*cols]
			for j, v := range row {
				out[j*rows+r] = v
			}
		}
	}
}
