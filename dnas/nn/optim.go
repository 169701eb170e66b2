package nn

// Optimisers and training helpers: Adam (with PyTorch's exact update rule),
// global gradient-norm clipping, and an exponential moving average of the
// weights (the usual DDPM trick for sampling).
//
//	Adam, step t (1-based), gradient g, for every scalar:
//	  g ← g + WeightDecay·p                    (L2 penalty, as torch.optim.Adam; not AdamW)
//	  m ← β1·m + (1-β1)·g,   v ← β2·v + (1-β2)·g²
//	  p ← p - (LR/(1-β1^t)) · m / (sqrt(v)/sqrt(1-β2^t) + Eps)
//	ClipGradNorm: n = sqrt(Σ over all params of Σ g²); if n > max, g ← g·max/(n+1e-6)
//	EMA: s ← decay·s + (1-decay)·p

import (
	"math"
	"sort"

	"dnas/dnas/tensor"
)

// paramSpans addresses the scalars of a parameter list as one flat range
// [0, total), so elementwise optimiser work can be split over workers
// regardless of how the scalars are spread over tensors. Every parameter
// starts at a multiple of 8 (the flat range has gaps), so that ranges cut at
// multiples of 8 (tensor.ParallelForAligned) cut every parameter at a
// multiple of 8 from its start: its SIMD part and scalar tail are then the
// same whatever the split.
type paramSpans struct {
	starts []int // starts[k] is the flat index of params[k]'s first scalar
	lens   []int
	total  int
}

func newParamSpans(ps []*Param) paramSpans {
	s := paramSpans{starts: make([]int, len(ps)), lens: make([]int, len(ps))}
	for k, p := range ps {
		s.starts[k], s.lens[k] = s.total, len(p.Data)
		s.total += (len(p.Data) + 7) &^ 7
	}
	return s
}

// visit calls fn(k, a, b) for every parameter k overlapping the flat range
// [lo, hi), with [a, b) the overlapping indices inside parameter k.
func (s paramSpans) visit(lo, hi int, fn func(k, a, b int)) {
	k := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > lo }) - 1
	for ; k < len(s.starts) && s.starts[k] < hi; k++ {
		a, b := max(lo, s.starts[k]), min(hi, s.starts[k]+s.lens[k])
		if a < b {
			fn(k, a-s.starts[k], b-s.starts[k])
		}
	}
}

// Adam is the Adam optimiser of Kingma & Ba with bias correction, computing
// exactly what torch.optim.Adam (PyTorch 1.13, amsgrad off) computes.
type Adam struct {
	Params      []*Param
	LR          float32
	Beta1       float32 // decay of the first moment, 0.9
	Beta2       float32 // decay of the second moment, 0.999
	Eps         float32 // added to the denominator, 1e-8
	WeightDecay float32 // L2 penalty added to the gradient (torch's weight_decay), 0
	Step        int     // number of updates done (t of the bias correction)
	M, V        [][]float32

	spans             paramSpans
	stepSize, bc2Sqrt float32
	upd               func(lo, hi int)
}

// NewAdam returns Adam over params with learning rate lr and PyTorch's
// defaults (β1 0.9, β2 0.999, eps 1e-8, no weight decay). The moments M and V
// start at zero, one slice per parameter, in the order of params (restore
// them, and Step, from a checkpoint to resume training).
func NewAdam(params []*Param, lr float32) *Adam {
	a := &Adam{Params: params, LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		M: make([][]float32, len(params)), V: make([][]float32, len(params)), spans: newParamSpans(params)}
	for k, p := range params {
		a.M[k] = make([]float32, len(p.Data))
		a.V[k] = make([]float32, len(p.Data))
	}
	a.upd = a.updateRange
	return a
}

// Update applies one Adam step to every parameter from its current Grad
// (it does not clear the gradients: call ZeroGrads before the next backward).
func (a *Adam) Update() {
	for k, p := range a.Params {
		if len(a.M[k]) != len(p.Data) || len(a.V[k]) != len(p.Data) {
			shapePanic(p.Name, "Adam.Update", []int{len(a.M[k]), len(a.V[k])}, "moments of %d values each (restored M/V do not match the parameter)", len(p.Data))
		}
	}
	a.Step++
	t := float64(a.Step)
	a.stepSize = float32(float64(a.LR) / (1 - math.Pow(float64(a.Beta1), t)))
	a.bc2Sqrt = float32(math.Sqrt(1 - math.Pow(float64(a.Beta2), t)))
	tensor.ParallelForAligned(a.spans.total, 16, 8, a.upd)
}

func (a *Adam) updateRange(lo, hi int) {
	b1, b2, eps, wd := a.Beta1, a.Beta2, a.Eps, a.WeightDecay
	step, bc2 := a.stepSize, a.bc2Sqrt
	a.spans.visit(lo, hi, func(k, i0, i1 int) {
		p, g := a.Params[k].Data[i0:i1], a.Params[k].Grad[i0:i1]
		m, v := a.M[k][i0:i1], a.V[k][i0:i1]
		g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
		if n := len(p) &^ 7; useAVX2 && n > 0 {
			adamAVX2(&p[0], &g[0], &m[0], &v[0], n, b1, 1-b1, b2, 1-b2, wd, step, 1/bc2, eps)
			p, g, m, v = p[n:], g[n:], m[n:], v[n:]
		}
		for i := range p {
			gi := g[i] + wd*p[i]
			mi := b1*m[i] + (1-b1)*gi
			vi := b2*v[i] + (1-b2)*gi*gi
			m[i], v[i] = mi, vi
			p[i] -= step * mi / (float32(math.Sqrt(float64(vi)))/bc2 + eps)
		}
	})
}

// ClipGradNorm scales the gradients of params down so that their global L2
// norm (all gradients seen as one vector) is at most max, like
// torch.nn.utils.clip_grad_norm_, and returns the norm before clipping.
// A NaN or infinite norm is returned as is and the gradients are left
// untouched, so the caller can detect the divergence and skip the step.
func ClipGradNorm(params []*Param, max float64) float64 {
	var sum float64
	for _, p := range params {
		var s0, s1, s2, s3 float64
		g := p.Grad
		i := 0
		for ; i+4 <= len(g); i += 4 {
			s0 += float64(g[i]) * float64(g[i])
			s1 += float64(g[i+1]) * float64(g[i+1])
			s2 += float64(g[i+2]) * float64(g[i+2])
			s3 += float64(g[i+3]) * float64(g[i+3])
		}
		for ; i < len(g); i++ {
			s0 += float64(g[i]) * float64(g[i])
		}
		sum += (s0 + s1) + (s2 + s3)
	}
	norm := math.Sqrt(sum)
	if norm > max && !math.IsInf(norm, 0) {
		scale := float32(max / (norm + 1e-6))
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] *= scale
			}
		}
	}
	return norm
}

// EMA keeps an exponential moving average of parameters ("shadow" weights),
// updated after each optimiser step; sampling from the averaged weights
// usually gives better images than the last weights.
type EMA struct {
	Decay  float32
	Shadow [][]float32 // one slice per parameter, in the order given to NewEMA

	params []*Param
	spans  paramSpans
	upd    func(lo, hi int)
}

// NewEMA starts an average of params at their current values, with decay
// per Update (e.g. 0.999: the average spans about 1/(1-decay) = 1000 steps).
func NewEMA(params []*Param, decay float32) *EMA {
	e := &EMA{Decay: decay, Shadow: make([][]float32, len(params)), params: params, spans: newParamSpans(params)}
	for k, p := range params {
		e.Shadow[k] = append([]float32(nil), p.Data...)
	}
	e.upd = e.updateRange
	return e
}

// Update moves the average towards the current parameters: s ← d·s + (1-d)·p.
func (e *EMA) Update() { tensor.ParallelFor(e.spans.total, 4, e.upd) }

func (e *EMA) updateRange(lo, hi int) {
	d := e.Decay
	e.spans.visit(lo, hi, func(k, i0, i1 int) {
		s, p := e.Shadow[k][i0:i1], e.params[k].Data[i0:i1]
		p = p[:len(s)]
		for i := range s {
			s[i] = d*s[i] + (1-d)*p[i]
		}
	})
}

// CopyTo overwrites params (same list layout as given to NewEMA, e.g. the
// same model's params or a fresh copy of the model) with the averaged weights.
func (e *EMA) CopyTo(params []*Param) {
	e.check("EMA.CopyTo", params)
	for k, p := range params {
		copy(p.Data, e.Shadow[k])
	}
}

// Swap exchanges the live weights of params and the averaged ones: call it
// once to sample or evaluate with the average, and again to resume training.
func (e *EMA) Swap(params []*Param) {
	e.check("EMA.Swap", params)
	for k, p := range params {
		s := e.Shadow[k]
		for i := range s {
			p.Data[i], s[i] = s[i], p.Data[i]
		}
	}
}

func (e *EMA) check(op string, params []*Param) {
	if len(params) != len(e.Shadow) {
		shapePanic("EMA", op, []int{len(params)}, "%d parameters (the list given to NewEMA)", len(e.Shadow))
	}
	for k, p := range params {
		if len(p.Data) != len(e.Shadow[k]) {
			shapePanic(p.Name, op, p.Shape, "%d values (parameter %d of the list given to NewEMA)", len(e.Shadow[k]), k)
		}
	}
}
