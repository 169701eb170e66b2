package nn

// GroupNorm normalises each sample over groups of channels.
//
//	x [N, C, *] -> y [N, C, *]   (any trailing dims; S = their product, 1 for [N, C])
//	G groups of Cg = C/G channels; per sample n and group g, over its M = Cg*S values:
//	  mean = Σx/M,  var = Σ(x-mean)²/M (biased),  rstd = 1/sqrt(var + eps)
//	  xhat = (x - mean)*rstd,  y = xhat*gamma[c] + beta[c]
//	backward (dxhat = dy*gamma[c]):
//	  dgamma[c] += Σ_{n,s} dy*xhat,  dbeta[c] += Σ_{n,s} dy
//	  dx = rstd * (dxhat - mean_g(dxhat) - xhat*mean_g(dxhat*xhat))
//	MACs: 0 (only convs, linears and attention matmuls are counted)
//
// With SiLU set, the layer is GroupNorm followed by SiLU in one pass (every
// GroupNorm of the UNet is followed by one): y = z·σ(z) for z the normalised
// value above, and backward first takes dz = dy·σ(z)·(1 + z·(1-σ(z))),
// recomputing z from x, then proceeds with dz in place of dy. This saves a
// pass over memory each way and the SiLU layer's buffers.
//
// Work is split over the N*G (sample, group) pairs; a group's values are
// contiguous and small enough to stay in L1 between the two passes. The
// per-channel parameter gradients are first summed per sample (no sharing
// between workers), then reduced over the batch.

import (
	"fmt"
	"math"

	"dnas/dnas/tensor"
)

// GroupNorm is torch.nn.GroupNorm(Groups, C, eps=Eps, affine=True).
type GroupNorm struct {
	Name      string
	Groups, C int
	Eps       float32
	Gamma     *Param // [C], initialised to 1
	Beta      *Param // [C], initialised to 0
	// SiLU fuses a SiLU after the normalisation: Forward returns
	// silu(groupnorm(x)) and Backward takes the gradient of that output.
	SiLU bool

	x, dy      *tensor.Tensor // input of the last Forward (not copied); dy of the running Backward
	y, dx      *tensor.Tensor
	mean, rstd []float32 // [N*G]
	dg, db     []float32 // [N*C] per-sample partial dgamma, dbeta
	s          int       // spatial size of the last Forward
	fwd, bwd   func(lo, hi int)
}

// NewGroupNorm returns a GroupNorm over c channels in groups groups (eps 1e-5,
// gamma 1, beta 0; parameters named name+".gamma", name+".beta"). It fails if
// groups does not divide c or either is not positive.
func NewGroupNorm(name string, groups, c int) (*GroupNorm, error) {
	if groups <= 0 || c <= 0 || c%groups != 0 {
		return nil, fmt.Errorf("nn.NewGroupNorm %s: %d groups do not divide %d channels; pick a group count that divides the channels (the UNet uses min(8, c))", name, groups, c)
	}
	g := &GroupNorm{Name: name, Groups: groups, C: c, Eps: 1e-5,
		Gamma: NewParam(name+".gamma", c), Beta: NewParam(name+".beta", c)}
	for i := range g.Gamma.Data {
		g.Gamma.Data[i] = 1
	}
	g.fwd, g.bwd = g.forwardRange, g.backwardRange
	return g, nil
}

// Params returns Gamma and Beta.
func (g *GroupNorm) Params() []*Param { return []*Param{g.Gamma, g.Beta} }

// MACs is 0: normalisation is not counted.
func (g *GroupNorm) MACs(in []int) int64 { return 0 }

// Forward normalises x [N, C, *]. It keeps a reference to x for Backward.
func (g *GroupNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) < 2 || x.Shape[1] != g.C {
		shapePanic(g.Name, "GroupNorm.Forward", x.Shape, "[N, %d, ...] (%d channels)", g.C, g.C)
	}
	n := x.Shape[0]
	g.x, g.s = x, len(x.Data)/max(n*g.C, 1)
	g.y = tensor.Ensure(g.y, x.Shape...)
	g.mean = resize(g.mean, n*g.Groups)
	g.rstd = resize(g.rstd, n*g.Groups)
	tensor.ParallelFor(n*g.Groups, g.C/g.Groups*g.s*3, g.fwd)
	return g.y
}

func (g *GroupNorm) forwardRange(lo, hi int) {
	cg, s := g.C/g.Groups, g.s
	m := cg * s
	for ng := lo; ng < hi; ng++ {
		off := ng * m // groups are contiguous: sample n, group k starts at (n*C + k*cg)*S = ng*m
		x := g.x.Data[off : off+m]
		mean := vsum(x) / float32(m)
		rstd := float32(1 / math.Sqrt(float64(vsqDevSum(x, mean)/float32(m)+g.Eps)))
		g.mean[ng], g.rstd[ng] = mean, rstd
		c0 := (ng % g.Groups) * cg
		y := g.y.Data[off : off+m]
		for j := range cg {
			a := rstd * g.Gamma.Data[c0+j]
			if g.SiLU {
				vaffineSiLU(x[j*s:(j+1)*s], y[j*s:(j+1)*s], a, g.Beta.Data[c0+j]-mean*a)
			} else {
				vaffine(x[j*s:(j+1)*s], y[j*s:(j+1)*s], a, g.Beta.Data[c0+j]-mean*a)
			}
		}
	}
}

// Backward takes dy (the shape of the last Forward's output), accumulates
// dGamma and dBeta, and returns dx.
func (g *GroupNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if g.x == nil {
		panic("nn: GroupNorm.Backward " + g.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, g.x.Shape) {
		shapePanic(g.Name, "GroupNorm.Backward", dy.Shape, "%v (the shape of the forward input)", g.x.Shape)
	}
	n := g.x.Shape[0]
	g.dy = dy
	g.dx = tensor.Ensure(g.dx, dy.Shape...)
	g.dg = resize(g.dg, n*g.C)
	g.db = resize(g.db, n*g.C)
	tensor.ParallelFor(n*g.Groups, g.C/g.Groups*g.s*4, g.bwd)
	for i := range n {
		dg, db := g.dg[i*g.C:(i+1)*g.C], g.db[i*g.C:(i+1)*g.C]
		for c := range g.C {
			g.Gamma.Grad[c] += dg[c]
			g.Beta.Grad[c] += db[c]
		}
	}
	g.dy = nil
	return g.dx
}

func (g *GroupNorm) backwardRange(lo, hi int) {
	cg, s := g.C/g.Groups, g.s
	m := cg * s
	for ng := lo; ng < hi; ng++ {
		off := ng * m
		n, c0 := ng/g.Groups, (ng%g.Groups)*cg
		mean, rstd := g.mean[ng], g.rstd[ng]
		x, dy, dx := g.x.Data[off:off+m], g.dy.Data[off:off+m], g.dx.Data[off:off+m]
		// With SiLU, first dz (the gradient at the normalised output), kept
		// in dx and used as dy below.
		if g.SiLU {
			dy = dx
		}
		// Per channel: Σdy and Σdy*xhat = rstd*Σdy*(x - mean).
		var m1, m2 float32 // Σ dxhat, Σ dxhat*xhat over the group
		for j := range cg {
			xs, ds := x[j*s:(j+1)*s], dy[j*s:(j+1)*s]
			var sdy, sdyx float32
			if g.SiLU {
				a := rstd * g.Gamma.Data[c0+j]
				sdy, sdyx = vaffineSiLUBack(xs, g.dy.Data[off+j*s:off+(j+1)*s], ds, a, g.Beta.Data[c0+j]-mean*a, mean)
			} else {
				sdy, sdyx = vsumDotDev(ds, xs, mean)
			}
			sdxh := rstd * sdyx
			g.db[n*g.C+c0+j] = sdy
			g.dg[n*g.C+c0+j] = sdxh
			gm := g.Gamma.Data[c0+j]
			m1 += gm * sdy
			m2 += gm * sdxh
		}
		m1 /= float32(m)
		m2 /= float32(m)
		// dx = rstd*(gamma*dy - m1 - xhat*m2) = a*dy + b*(x-mean) + c per channel.
		b := -rstd * rstd * m2
		c := -rstd * m1
		for j := range cg {
			a := rstd * g.Gamma.Data[c0+j]
			vnormBack(dy[j*s:(j+1)*s], x[j*s:(j+1)*s], dx[j*s:(j+1)*s], a, b, c, mean)
		}
	}
}

// resize returns buf with length n, reallocating only when it must grow.
func resize(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
