// Package nn holds the layers of the dnas engine. Each layer is one file with
// its forward pass, its backward pass and its MAC count side by side; a layer
// keeps what its backward needs (no autograd graph). Shapes are NCHW float32.
//
// Conventions every layer follows:
//   - Forward(x) returns an output buffer owned by the layer and reused on the
//     next call; copy it if you need it to survive the next Forward.
//   - Backward(dy) must follow the Forward whose activations it uses; it
//     accumulates (+=) into the Grad of the layer's Params and returns dx,
//     also a layer-owned buffer.
//   - Params() lists trainable tensors; MACs(inShape) counts the
//     multiply-accumulates of one sample (batch dimension ignored).
//   - A shape that does not fit panics with a *ShapeError naming the layer
//     and the shapes; the public APIs above the engine recover it into an
//     error (see Catch).
package nn

import (
	"fmt"

	"dnas/dnas/tensor"
)

// Param is a trainable tensor and its gradient, with a stable name used in
// checkpoints (e.g. "down.0.res.0.conv1.w").
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
}

// NewParam allocates a zero parameter of the given shape.
func NewParam(name string, shape ...int) *Param {
	n := tensor.Numel(shape)
	return &Param{Name: name, Shape: append([]int(nil), shape...), Data: make([]float32, n), Grad: make([]float32, n)}
}

// Numel is the number of scalars in p.
func (p *Param) Numel() int { return len(p.Data) }

// ZeroGrad clears the gradient.
func (p *Param) ZeroGrad() { clear(p.Grad) }

// CountParams sums the sizes of ps.
func CountParams(ps []*Param) int64 {
	var n int64
	for _, p := range ps {
		n += int64(len(p.Data))
	}
	return n
}

// ZeroGrads clears the gradients of ps.
func ZeroGrads(ps []*Param) {
	for _, p := range ps {
		p.ZeroGrad()
	}
}

// ShapeError reports an input whose shape does not fit a layer.
type ShapeError struct {
	Layer string // the layer's name, e.g. "down.1.res.0.conv1"
	Op    string // what was attempted, e.g. "Conv2d.Forward"
	Got   []int  // the offending shape
	Want  string // what the layer expected, in words
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("%s %s: input shape %v does not fit: want %s", e.Op, e.Layer, e.Got, e.Want)
}

// Catch turns a panic raised by a layer (a *ShapeError, or any other error)
// into *err. Use it as `defer nn.Catch(&err)` at an API boundary.
func Catch(err *error) {
	r := recover()
	if r == nil {
		return
	}
	switch v := r.(type) {
	case *ShapeError:
		*err = v
	case error:
		*err = v
	default:
		panic(r)
	}
}
