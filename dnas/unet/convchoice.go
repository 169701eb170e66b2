package unet

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// ConvChoice is a searchable convolution: one Conv2d per kernel size it may
// take (each with its own weights, no sharing between sizes) and the index
// of the one in use. A plain network has a single choice. Every choice maps
// Cin channels to Cout with stride 1 and padding k/2, so all keep the
// feature map's size and are interchangeable.
//
// In a width supernet the conv can also run on a channel slice of its
// weights (SetChannels): the first cin input and first cout output channels
// of the active kernel's full weights,
//
//	x [N, cin, H, W] -> y [N, cout, H, W],  W[:cout, :cin, :, :], b[:cout]
//
// The slice is a Conv2d of the smaller shape (so its MACs and parameter
// count are those of a genuinely smaller conv). When only output channels
// are cut, its weights are the leading rows of the full ones, contiguous in
// memory: the slice's W.Data and W.Grad are views into the full weights'
// and gradients flow into them directly. When input channels are cut, the
// rows are strided: Forward copies W[:cout, :cin] into the slice's own
// buffer and Backward adds the slice's weight gradient into W.Grad[:cout,
// :cin] (then clears its own). Either way the trainable weights are the full
// conv's (Params), and the gradient of the part outside the slice stays
// zero.
type ConvChoice struct {
	Name    string
	Kernels []int        // the kernel size of each choice, e.g. [1 3 5]
	Convs   []*nn.Conv2d // Convs[i] has kernel Kernels[i]; named Name+".k<size>"
	Active  int          // index into Convs of the conv that runs

	cin, cout int // active channel slice; equal to the convs' Cin, Cout when whole
	out       *tensor.Tensor
	slices    map[sliceKey]*convSlice
}

// sliceKey names one channel slice of one kernel choice.
type sliceKey struct{ kernel, cin, cout int }

// convSlice is a smaller Conv2d running on part of a full conv's weights.
type convSlice struct {
	full, conv *nn.Conv2d
	gather     bool // input channels are cut: W is a copy refreshed by Forward
}

// newConvChoice builds the choices of a cin -> cout conv; active is the
// kernel to start with.
func newConvChoice(name string, cin, cout int, kernels []int, active int, rng *rand.Rand) (*ConvChoice, error) {
	cc := &ConvChoice{Name: name, Kernels: slices.Clone(kernels), cin: cin, cout: cout}
	cc.out = &tensor.Tensor{} // one output buffer for all choices: only the active one runs
	for _, k := range kernels {
		conv, err := nn.NewConv2d(fmt.Sprintf("%s.k%d", name, k), cin, cout, k, 1, k/2, rng)
		if err != nil {
			return nil, err
		}
		conv.ShareOutput(cc.out)
		cc.Convs = append(cc.Convs, conv)
	}
	if err := cc.SetKernel(active); err != nil {
		return nil, err
	}
	return cc, nil
}

// Kernel is the kernel size of the active conv.
func (cc *ConvChoice) Kernel() int { return cc.Kernels[cc.Active] }

// SetKernel activates the choice with kernel size k.
func (cc *ConvChoice) SetKernel(k int) error {
	i := slices.Index(cc.Kernels, k)
	if i < 0 {
		return fmt.Errorf("unet: conv %s has no %dx%d choice (it holds %v)", cc.Name, k, k, cc.Kernels)
	}
	cc.Active = i
	return nil
}

// Full is the active kernel's conv with all its channels: the weights that
// train, whatever slice runs.
func (cc *ConvChoice) Full() *nn.Conv2d { return cc.Convs[cc.Active] }

// Channels returns the active slice: the input and output channel counts
// the conv runs with (the full Cin, Cout unless SetChannels cut them).
func (cc *ConvChoice) Channels() (cin, cout int) { return cc.cin, cc.cout }

// SetChannels makes the conv run on its first cin input and first cout
// output channels (the full counts undo the cut). It fails, changing
// nothing, when a count is not in [1, full].
func (cc *ConvChoice) SetChannels(cin, cout int) error {
	full := cc.Convs[0]
	if cin < 1 || cin > full.Cin || cout < 1 || cout > full.Cout {
		return fmt.Errorf("unet: conv %s: cannot slice %d input and %d output channels from weights of %d -> %d channels", cc.Name, cin, cout, full.Cin, full.Cout)
	}
	cc.cin, cc.cout = cin, cout
	return nil
}

// Sliced reports whether the conv runs on a channel slice of its weights.
func (cc *ConvChoice) Sliced() bool {
	f := cc.Convs[0]
	return cc.cin != f.Cin || cc.cout != f.Cout
}

// Conv is the conv that runs: the active kernel's Conv2d, or, when the
// channels are cut, the Conv2d of the slice (whose shape is the slice's).
func (cc *ConvChoice) Conv() *nn.Conv2d {
	if !cc.Sliced() {
		return cc.Convs[cc.Active]
	}
	return cc.slice().conv
}

// slice returns the slice of the active kernel at the active channels,
// building it on first use (so steady-state steps allocate nothing).
func (cc *ConvChoice) slice() *convSlice {
	key := sliceKey{cc.Active, cc.cin, cc.cout}
	if s, ok := cc.slices[key]; ok {
		return s
	}
	full := cc.Convs[cc.Active]
	k := full.K
	// The initial weights of a fresh Conv2d are replaced below; a fixed
	// stream keeps the UNet's own random stream untouched.
	conv, err := nn.NewConv2d(full.Name, cc.cin, cc.cout, k, full.Stride, full.Pad, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		panic(err) // the sizes were checked by SetChannels
	}
	s := &convSlice{full: full, conv: conv, gather: cc.cin != full.Cin}
	if !s.gather {
		n := cc.cout * cc.cin * k * k
		conv.W = &nn.Param{Name: full.W.Name, Shape: []int{cc.cout, cc.cin, k, k}, Data: full.W.Data[:n:n], Grad: full.W.Grad[:n:n]}
	}
	conv.B = prefixParam(full.B, cc.cout)
	conv.ShareOutput(cc.out)
	if cc.slices == nil {
		cc.slices = map[sliceKey]*convSlice{}
	}
	cc.slices[key] = s
	return s
}

// prefixParam is a view of the first n values of a 1-D parameter (its data
// and its gradient), or p itself when n is its whole length.
func prefixParam(p *nn.Param, n int) *nn.Param {
	if n == len(p.Data) {
		return p
	}
	return &nn.Param{Name: p.Name, Shape: []int{n}, Data: p.Data[:n:n], Grad: p.Grad[:n:n]}
}

// gatherWeights copies W[:cout, :cin, :, :] of the full conv into the
// slice's weights.
func (s *convSlice) gatherWeights() {
	c, f := s.conv, s.full
	row, fullRow := c.Cin*c.K*c.K, f.Cin*f.K*f.K
	for o := range c.Cout {
		copy(c.W.Data[o*row:(o+1)*row], f.W.Data[o*fullRow:o*fullRow+row])
	}
}

// scatterGrads adds the slice's weight gradient into W.Grad[:cout, :cin] of
// the full conv and clears the slice's own.
func (s *convSlice) scatterGrads() {
	c, f := s.conv, s.full
	row, fullRow := c.Cin*c.K*c.K, f.Cin*f.K*f.K
	for o := range c.Cout {
		dst, src := f.W.Grad[o*fullRow:o*fullRow+row], c.W.Grad[o*row:(o+1)*row]
		for i, v := range src {
			dst[i] += v
		}
	}
	clear(c.W.Grad)
}

// Forward runs the active conv (or slice).
func (cc *ConvChoice) Forward(x *tensor.Tensor) *tensor.Tensor { return cc.ForwardAdd(x, nil) }

// ForwardAdd runs the active conv (or slice) with a per-sample bias add
// [N, Cout] (nn.Conv2d.ForwardAdd; Cout is the slice's).
func (cc *ConvChoice) ForwardAdd(x, add *tensor.Tensor) *tensor.Tensor {
	if !cc.Sliced() {
		return cc.Convs[cc.Active].ForwardAdd(x, add)
	}
	s := cc.slice()
	if s.gather {
		s.gatherWeights()
	}
	return s.conv.ForwardAdd(x, add)
}

// BackwardTo runs the active conv's (or slice's) backward writing dx into
// the given buffer (nn.Conv2d.BackwardTo); the weight gradients land in the
// full weights.
func (cc *ConvChoice) BackwardTo(dy, dx *tensor.Tensor) *tensor.Tensor {
	if !cc.Sliced() {
		return cc.Convs[cc.Active].BackwardTo(dy, dx)
	}
	s := cc.slice()
	dx = s.conv.BackwardTo(dy, dx)
	if s.gather {
		s.scatterGrads()
	}
	return dx
}

// Backward runs the active conv's backward (it must be the one that ran
// Forward: do not change Active or the channels in between).
func (cc *ConvChoice) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !cc.Sliced() {
		return cc.Convs[cc.Active].Backward(dy)
	}
	s := cc.slice()
	dx := s.conv.Backward(dy)
	if s.gather {
		s.scatterGrads()
	}
	return dx
}

// Params returns the active kernel's full weights: what an optimiser
// updates (a slice's gradient is in them).
func (cc *ConvChoice) Params() []*nn.Param { return cc.Full().Params() }

// NumParams counts the weights the conv runs with: those of the slice when
// the channels are cut (what a standalone conv of that shape holds).
func (cc *ConvChoice) NumParams() int64 {
	k := int64(cc.Kernel())
	return int64(cc.cout)*int64(cc.cin)*k*k + int64(cc.cout)
}

// AllParams returns the weights of every choice.
func (cc *ConvChoice) AllParams() []*nn.Param {
	var ps []*nn.Param
	for _, c := range cc.Convs {
		ps = append(ps, c.Params()...)
	}
	return ps
}

// MACs of the active conv (or slice) for one sample of input shape in.
func (cc *ConvChoice) MACs(in []int) int64 { return cc.Conv().MACs(in) }
