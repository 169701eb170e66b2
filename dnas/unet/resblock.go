package unet

import (
	"fmt"
	"math/rand/v2"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// ResBlock is the DDPM residual block with time conditioning:
//
//	h   = Conv1(SiLU(Norm1(x))) + TProj(SiLU(temb))[:, :, None, None]
//	h   = Conv2(Dropout(SiLU(Norm2(h))))
//	out = Shortcut(x) + h         (Shortcut: 1x1 conv if Cin != Cout, else identity)
//
//	x [N, Cin, H, W], temb [N, TDim] -> out [N, Cout, H, W]
//
// Conv1 and Conv2 are the searchable convs.
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
	Norm1     *nn.GroupNorm // with the SiLU fused (Norm1.SiLU)
	Conv1     *ConvChoice
	TAct      *nn.SiLU
	TProj     *nn.Linear    // TDim -> Cout
	Norm2     *nn.GroupNorm // with the SiLU fused (Norm2.SiLU)
	Conv2     *ConvChoice
	Shortcut  *nn.Conv2d // nil when Cin == Cout
	Dropout   float32    // drop probability after Act2 (active only in training mode)

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
// searchable convs, choices1/2 the kernels they hold weights for.
func newResBlock(cfg Config, name string, cin, cout, tdim int, choices1, choices2 []int, k1, k2 int, rng *rand.Rand) (*ResBlock, error) {
	r := &ResBlock{Name: name, Cin: cin, Cout: cout, Dropout: cfg.Dropout,
		TAct: &nn.SiLU{Name: name + ".tact"}, scratch: &gradScratch{}}
	r.add.name = name
	r.drop.p = cfg.Dropout
	r.drop.src = rand.NewPCG(rng.Uint64(), rng.Uint64())
	r.drop.rng = rand.New(r.drop.src)
	var err error
	if r.Norm1, err = nn.NewGroupNorm(name+".n1", cfg.groupsFor(cin), cin); err != nil {
		return nil, err
	}
	r.Norm1.SiLU = true
	if r.Conv1, err = newConvChoice(name+".c1", cin, cout, choices1, k1, rng); err != nil {
		return nil, err
	}
	r.TProj = nn.NewLinear(name+".t", tdim, cout, rng)
	if r.Norm2, err = nn.NewGroupNorm(name+".n2", cfg.groupsFor(cout), cout); err != nil {
		return nil, err
	}
	r.Norm2.SiLU = true
	if r.Conv2, err = newConvChoice(name+".c2", cout, cout, choices2, k2, rng); err != nil {
		return nil, err
	}
	if cin != cout {
		if r.Shortcut, err = nn.NewConv2d(name+".sc", cin, cout, 1, 1, 0, rng); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Forward returns the block's output for x [N, Cin, H, W] and the time
// embedding temb [N, TDim]; it keeps references to both for Backward.
func (r *ResBlock) Forward(x, temb *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != r.Cin {
		panic(&nn.ShapeError{Layer: r.Name, Op: "ResBlock.Forward", Got: append([]int(nil), x.Shape...), Want: fmt.Sprintf("[N, %d, H, W]", r.Cin)})
	}
	v := r.TProj.Forward(r.TAct.Forward(temb))
	h := r.Conv1.ForwardAdd(r.Norm1.Forward(x), v)
	g := r.Norm2.Forward(h)
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
// the block, valid until its next Backward).
func (r *ResBlock) Backward(dy *tensor.Tensor) (dx, dtemb *tensor.Tensor) {
	sc := r.scratch
	sc.a = r.Conv2.BackwardTo(dy, sc.a)
	r.drop.backward(sc.a)
	dh := r.Norm2.Backward(sc.a)
	dtemb = r.TAct.Backward(r.TProj.Backward(r.dv.Forward(dh)))
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

// Params returns the weights of the active path.
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

// MACs for one sample of input shape in ([N, Cin, H, W]) and the time
// embedding width tdim: both convs, the time projection and the shortcut.
func (r *ResBlock) MACs(in []int, tdim int) int64 {
	mid := []int{1, r.Cout, in[2], in[3]}
	m := r.Conv1.MACs(in) + r.TProj.MACs([]int{1, tdim}) + r.Conv2.MACs(mid)
	if r.Shortcut != nil {
		m += r.Shortcut.MACs(in)
	}
	return m
}
