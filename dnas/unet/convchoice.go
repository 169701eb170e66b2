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
type ConvChoice struct {
	Name    string
	Kernels []int        // the kernel size of each choice, e.g. [1 3 5]
	Convs   []*nn.Conv2d // Convs[i] has kernel Kernels[i]; named Name+".k<size>"
	Active  int          // index into Convs of the conv that runs
}

// newConvChoice builds the choices of a cin -> cout conv; active is the
// kernel to start with.
func newConvChoice(name string, cin, cout int, kernels []int, active int, rng *rand.Rand) (*ConvChoice, error) {
	cc := &ConvChoice{Name: name, Kernels: slices.Clone(kernels)}
	out := &tensor.Tensor{} // one output buffer for all choices: only the active one runs
	for _, k := range kernels {
		conv, err := nn.NewConv2d(fmt.Sprintf("%s.k%d", name, k), cin, cout, k, 1, k/2, rng)
		if err != nil {
			return nil, err
		}
		conv.ShareOutput(out)
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

// Conv is the active conv.
func (cc *ConvChoice) Conv() *nn.Conv2d { return cc.Convs[cc.Active] }

// Forward runs the active conv.
func (cc *ConvChoice) Forward(x *tensor.Tensor) *tensor.Tensor { return cc.Conv().Forward(x) }

// ForwardAdd runs the active conv with a per-sample bias add [N, Cout]
// (nn.Conv2d.ForwardAdd).
func (cc *ConvChoice) ForwardAdd(x, add *tensor.Tensor) *tensor.Tensor {
	return cc.Conv().ForwardAdd(x, add)
}

// BackwardTo runs the active conv's backward writing dx into the given
// buffer (nn.Conv2d.BackwardTo).
func (cc *ConvChoice) BackwardTo(dy, dx *tensor.Tensor) *tensor.Tensor {
	return cc.Conv().BackwardTo(dy, dx)
}

// Backward runs the active conv's backward (it must be the one that ran
// Forward: do not change Active in between).
func (cc *ConvChoice) Backward(dy *tensor.Tensor) *tensor.Tensor { return cc.Conv().Backward(dy) }

// Params returns the active conv's weights.
func (cc *ConvChoice) Params() []*nn.Param { return cc.Conv().Params() }

// AllParams returns the weights of every choice.
func (cc *ConvChoice) AllParams() []*nn.Param {
	var ps []*nn.Param
	for _, c := range cc.Convs {
		ps = append(ps, c.Params()...)
	}
	return ps
}

// MACs of the active conv for one sample of input shape in.
func (cc *ConvChoice) MACs(in []int) int64 { return cc.Conv().MACs(in) }
