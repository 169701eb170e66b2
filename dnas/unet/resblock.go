package unet

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// ResBlock is the DDPM residual block with time conditioning:
//
//	h   = Conv1(SiLU(Norm1(x))) + TProj(SiLU(temb))[:, :, None, None]
//	h   = Conv2(Dropout(SiLU(Norm2(h))))
//	out = Shortcut(x) + h         (Shortcut: 1x1 conv if Cin != Cout, else identity)
//
//	x [N, Cin, H, W], temb [N, TDim] -> h [N, inner, H, W] -> out [N, Cout, H, W]
//
// Conv1 and Conv2 are the searchable convs. The inner width (h's channels:
// Conv1's outputs, TProj's outputs, Norm2's channels, Conv2's inputs) is
// Cout in the DDPM model; with a width multiplier w it is
// InnerChannels(Cout, groups, w) (Config.Widths). A block built with
// several WidthChoices (a width supernet) holds weights of the widest
// choice (Mid channels) and runs a narrower width on their leading slice:
// Conv1's first `inner` output channels and bias, TProj's first `inner` rows
// and bias, Norm2's first inner/GroupSize groups (their gamma and beta) and
// Conv2's first `inner` input channels. Gradients of a narrow path land in
// that slice of the full weights; Params are always the full weights.
//
// Memory plan (a training step keeps every block's activations, so this is
// what bounds the batch size): each SiLU is fused into the GroupNorm before
// it (nn.GroupNorm.SiLU); the time projection is added inside Conv1
// (nn.Conv2d.ForwardAdd, no extra tensor); dropout is applied in place on
// Norm2's output (its backward recomputes from its input, not its output)
// with a mask recomputed from a hash in backward instead of stored; the residual sum is
// made in place in Conv2's output, and the input gradient in Norm1's
// gradient buffer; the gradients that live only inside Backward (the convs'
// input gradients) go to two scratch tensors shared by all ResBlocks of a
// block. The returned output and input gradient are therefore owned by
// Conv2 and Norm1: valid until the block's next Forward or Backward.
type ResBlock struct {
	Name      string
	Cin, Cout int
	// Mid is the inner width of the weights the block holds: Cout for the
	// DDPM model and a full-width supernet, fewer channels for a block built
	// narrow (the widest of its WidthChoices).
	Mid int
	// GroupSize is the number of channels per Norm2 group, the same at
	// every width (Cout / the GroupNorm group count of Cout channels).
	GroupSize int
	// WidthChoices are the inner-width multipliers the block can run at
	// (Config.WidthChoices, or just the width it was built with).
	WidthChoices []float64
	Norm1        *nn.GroupNorm // with the SiLU fused (Norm1.SiLU)
	Conv1        *ConvChoice   // Cin -> Mid
	TAct         *nn.SiLU
	TProj        *nn.Linear    // TDim -> Mid
	Norm2        *nn.GroupNorm // Mid channels, with the SiLU fused (Norm2.SiLU)
	Conv2        *ConvChoice   // Mid -> Cout
	Shortcut     *nn.Conv2d    // nil when Cin == Cout
	Dropout      float32       // drop probability after Act2 (active only in training mode)

	width     int                   // index into WidthChoices of the active width
	inner     int                   // active inner width in channels (<= Mid)
	tprojCuts map[int]*nn.Linear    // TProj slices by inner width
	norm2Cuts map[int]*nn.GroupNorm // Norm2 slices by inner width

	drop    dropout
	scratch *gradScratch
	add     adder
	dv      rowSums
}

// gradScratch holds the two short-lived gradient tensors of ResBlock
// backward passes; the ResBlocks of one block share it (blocks may run
// concurrently, ResBlocks of one block never do).
type gradScratch struct{ a, b *tensor.Tensor }

// newResBlock builds a ResBlock; k1, k2 are the starting kernels of its two
// searchable convs, choices1/2 the kernels they hold weights for; w is the
// starting width multiplier and widths the multipliers it can take (its
// weights are those of the widest).
func newResBlock(cfg Config, name string, cin, cout, tdim int, choices1, choices2 []int, k1, k2 int, widths []float64, w float64, rng *rand.Rand) (*ResBlock, error) {
	r := &ResBlock{Name: name, Cin: cin, Cout: cout, Dropout: cfg.Dropout, WidthChoices: slices.Clone(widths),
		TAct: &nn.SiLU{Name: name + ".tact"}, scratch: &gradScratch{}}
	r.add.name = name
	r.drop.p = cfg.Dropout
	r.drop.src = rand.NewPCG(rng.Uint64(), rng.Uint64())
	r.drop.rng = rand.New(r.drop.src)
	r.GroupSize = cout / cfg.groupsFor(cout)
	r.Mid, _ = cfg.innerOf(cout, slices.Max(widths))
	var err error
	if r.Norm1, err = nn.NewGroupNorm(name+".n1", cfg.groupsFor(cin), cin); err != nil {
		return nil, err
	}
	r.Norm1.SiLU = true
	if r.Conv1, err = newConvChoice(name+".c1", cin, r.Mid, choices1, k1, rng); err != nil {
		return nil, err
	}
	r.TProj = nn.NewLinear(name+".t", tdim, r.Mid, rng)
	if r.Norm2, err = nn.NewGroupNorm(name+".n2", r.Mid/r.GroupSize, r.Mid); err != nil {
		return nil, err
	}
	r.Norm2.SiLU = true
	if r.Conv2, err = newConvChoice(name+".c2", r.Mid, cout, choices2, k2, rng); err != nil {
		return nil, err
	}
	if cin != cout {
		if r.Shortcut, err = nn.NewConv2d(name+".sc", cin, cout, 1, 1, 0, rng); err != nil {
			return nil, err
		}
	}
	if err := r.SetWidth(w); err != nil {
		return nil, err
	}
	return r, nil
}

// Width is the active inner-width multiplier.
func (r *ResBlock) Width() float64 { return r.WidthChoices[r.width] }

// Inner is the active inner width in channels: InnerChannels(Cout, groups,
// Width()).
func (r *ResBlock) Inner() int { return r.inner }

// SetWidth makes the block run at multiplier w, one of its WidthChoices;
// a width below the held one runs on a slice of the weights. On error
// nothing changes.
func (r *ResBlock) SetWidth(w float64) error {
	i := slices.Index(r.WidthChoices, w)
	if i < 0 {
		return fmt.Errorf("unet: ResBlock %s has no width %v (it can take %v)", r.Name, w, r.WidthChoices)
	}
	inner, _ := InnerChannels(r.Cout, r.Cout/r.GroupSize, w)
	r.width, r.inner = i, inner
	// Both counts are within the held weights: inner <= Mid since Mid is
	// the inner width of the widest choice.
	if err := r.Conv1.SetChannels(r.Cin, inner); err != nil {
		panic(err)
	}
	if err := r.Conv2.SetChannels(inner, r.Cout); err != nil {
		panic(err)
	}
	return nil
}

// tproj is the time projection at the active width (TProj or its slice).
func (r *ResBlock) tproj() *nn.Linear {
	if r.inner == r.Mid {
		return r.TProj
	}
	if l, ok := r.tprojCuts[r.inner]; ok {
		return l
	}
	full, n := r.TProj, r.inner
	// The fresh layer's initial weights are replaced by views of the full
	// ones; a fixed stream keeps the UNet's own random stream untouched.
	l := nn.NewLinear(full.Name, full.In, n, rand.New(rand.NewPCG(0, 0)))
	m := n * full.In
	l.W = &nn.Param{Name: full.W.Name, Shape: []int{n, full.In}, Data: full.W.Data[:m:m], Grad: full.W.Grad[:m:m]}
	l.B = prefixParam(full.B, n)
	if r.tprojCuts == nil {
		r.tprojCuts = map[int]*nn.Linear{}
	}
	r.tprojCuts[n] = l
	return l
}

// norm2 is Norm2 at the active width (Norm2 or its first groups).
func (r *ResBlock) norm2() *nn.GroupNorm {
	if r.inner == r.Mid {
		return r.Norm2
	}
	if g, ok := r.norm2Cuts[r.inner]; ok {
		return g
	}
	full, n := r.Norm2, r.inner
	g, err := nn.NewGroupNorm(full.Name, n/r.GroupSize, n)
	if err != nil {
		panic(err) // n is a multiple of the group size by InnerChannels
	}
	g.Eps, g.SiLU = full.Eps, full.SiLU
	g.Gamma, g.Beta = prefixParam(full.Gamma, n), prefixParam(full.Beta, n)
	if r.norm2Cuts == nil {
		r.norm2Cuts = map[int]*nn.GroupNorm{}
	}
	r.norm2Cuts[n] = g
	return g
}

// Forward returns the block's output for x [N, Cin, H, W] and the time
// embedding temb [N, TDim]; it keeps references to both for Backward.
func (r *ResBlock) Forward(x, temb *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != r.Cin {
		panic(&nn.ShapeError{Layer: r.Name, Op: "ResBlock.Forward", Got: append([]int(nil), x.Shape...), Want: fmt.Sprintf("[N, %d, H, W]", r.Cin)})
	}
	v := r.tproj().Forward(r.TAct.Forward(temb))
	h := r.Conv1.ForwardAdd(r.Norm1.Forward(x), v)
	g := r.norm2().Forward(h)
	r.drop.forward(g)
	h = r.Conv2.Forward(g)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(x)
	}
	// The residual sum goes into Conv2's output buffer (a conv's backward
	// does not read its output), which becomes the block's output.
	r.add.into(h, s)
	return h
}

// Backward takes dy [N, Cout, H, W], accumulates the gradients of the active
// weights and returns dx [N, Cin, H, W] and dtemb [N, TDim] (both owned by
// the block, valid until its next Backward). The kernels and the width must
// be those of the last Forward.
func (r *ResBlock) Backward(dy *tensor.Tensor) (dx, dtemb *tensor.Tensor) {
	sc := r.scratch
	sc.a = r.Conv2.BackwardTo(dy, sc.a)
	r.drop.backward(sc.a)
	dh := r.norm2().Backward(sc.a)
	dtemb = r.TAct.Backward(r.tproj().Backward(r.dv.Forward(dh)))
	sc.b = r.Conv1.BackwardTo(dh, sc.b)
	dh = r.Norm1.Backward(sc.b)
	ds := dy
	if r.Shortcut != nil {
		sc.a = r.Shortcut.BackwardTo(dy, sc.a)
		ds = sc.a
	}
	// dh is Norm1's gradient buffer, which nothing reads after this: add
	// the shortcut's gradient into it rather than into a new tensor.
	r.add.into(dh, ds)
	return dh, dtemb
}

// Params returns the weights of the active path: the active kernels' convs,
// at full width even when a narrower width runs (the gradients of a slice
// are in them). Count the weights the path uses with NumParams.
func (r *ResBlock) Params() []*nn.Param { return r.params(false) }

// AllParams returns every weight, including the inactive conv choices.
func (r *ResBlock) AllParams() []*nn.Param { return r.params(true) }

func (r *ResBlock) params(all bool) []*nn.Param {
	conv := func(cc *ConvChoice) []*nn.Param {
		if all {
			return cc.AllParams()
		}
		return cc.Params()
	}
	ps := append(r.Norm1.Params(), conv(r.Conv1)...)
	ps = append(ps, r.TProj.Params()...)
	ps = append(ps, r.Norm2.Params()...)
	ps = append(ps, conv(r.Conv2)...)
	if r.Shortcut != nil {
		ps = append(ps, r.Shortcut.Params()...)
	}
	return ps
}

// NumParams counts the weights the active path uses, at the active width:
// what a standalone block of this architecture holds.
func (r *ResBlock) NumParams() int64 {
	n := nn.CountParams(r.Norm1.Params()) + r.Conv1.NumParams() + nn.CountParams(r.tproj().Params()) +
		nn.CountParams(r.norm2().Params()) + r.Conv2.NumParams()
	if r.Shortcut != nil {
		n += nn.CountParams(r.Shortcut.Params())
	}
	return n
}

// MACs for one sample of input shape in ([N, Cin, H, W]) and the time
// embedding width tdim: both convs, the time projection and the shortcut,
// at the active kernels and width.
func (r *ResBlock) MACs(in []int, tdim int) int64 {
	m := r.Conv1.MACs(in) + r.tproj().MACs([]int{1, tdim}) + r.Conv2.MACs(r.midShape(in))
	if r.Shortcut != nil {
		m += r.Shortcut.MACs(in)
	}
	return m
}

// midShape is the shape of one sample of h (Conv2's input) for an input
// shape in, at the active width.
func (r *ResBlock) midShape(in []int) []int { return []int{1, r.inner, in[2], in[3]} }
