package nn

// Linear is a fully connected layer.
//
//	x [N, In] -> y [N, Out]
//	forward:  y = x·Wᵀ + b                 (W [Out, In], b [Out])
//	backward: dW += dyᵀ·x,  db += Σ_n dy[n],  dx = dy·W
//	MACs per sample: In*Out
//
// The three products go to blas.Sgemm; the bias sum is a 1-row Sgemm against
// a vector of ones.

import (
	"math/rand/v2"

	"dnas/dnas/blas"
	"dnas/dnas/tensor"
)

// Linear holds the weights of y = x·Wᵀ + b and the activations its backward needs.
type Linear struct {
	Name    string
	In, Out int
	W       *Param // [Out, In]
	B       *Param // [Out]

	x     *tensor.Tensor // input of the last Forward (not copied)
	y, dx *tensor.Tensor
	ones  []float32
}

// NewLinear returns an in -> out layer with PyTorch's default initialisation
// (W and b uniform in ±1/sqrt(in)). Parameters are named name+".w" and name+".b".
// It panics if in or out is not positive, which is a programming error.
func NewLinear(name string, in, out int, rng *rand.Rand) *Linear {
	if in <= 0 || out <= 0 {
		shapePanic(name, "NewLinear", []int{in, out}, "positive in and out features")
	}
	l := &Linear{Name: name, In: in, Out: out, W: NewParam(name+".w", out, in), B: NewParam(name+".b", out)}
	UniformFanIn(l.W.Data, in, rng)
	UniformFanIn(l.B.Data, in, rng)
	return l
}

// Params returns W and B.
func (l *Linear) Params() []*Param { return []*Param{l.W, l.B} }

// MACs is In*Out per sample; in is the input shape (its last dimension must be In).
func (l *Linear) MACs(in []int) int64 {
	if len(in) == 0 || in[len(in)-1] != l.In {
		shapePanic(l.Name, "Linear.MACs", in, "last dimension %d", l.In)
	}
	return int64(l.In) * int64(l.Out)
}

// Forward computes y = x·Wᵀ + b for x [N, In]. It keeps a reference to x for
// Backward; do not modify x in between.
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 2 || x.Shape[1] != l.In {
		shapePanic(l.Name, "Linear.Forward", x.Shape, "[N, %d]", l.In)
	}
	n := x.Shape[0]
	l.x = x
	l.y = ensureDims(l.y, n, l.Out)
	for i := range n {
		copy(l.y.Data[i*l.Out:(i+1)*l.Out], l.B.Data)
	}
	blas.Sgemm(false, true, n, l.Out, l.In, 1, x.Data, l.In, l.W.Data, l.In, 1, l.y.Data, l.Out)
	return l.y
}

// Backward takes dy [N, Out], accumulates dW and db, and returns dx [N, In].
func (l *Linear) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if l.x == nil {
		panic("nn: Linear.Backward " + l.Name + " called before Forward")
	}
	n := l.x.Shape[0]
	if len(dy.Shape) != 2 || dy.Shape[0] != n || dy.Shape[1] != l.Out {
		shapePanic(l.Name, "Linear.Backward", dy.Shape, "[%d, %d] (the shape Forward returned)", n, l.Out)
	}
	blas.Sgemm(true, false, l.Out, l.In, n, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.W.Grad, l.In)
	l.ones = onesOf(l.ones, n)
	blas.Sgemm(false, false, 1, l.Out, n, 1, l.ones, n, dy.Data, l.Out, 1, l.B.Grad, l.Out)
	l.dx = ensureDims(l.dx, n, l.In)
	blas.Sgemm(false, false, n, l.In, l.Out, 1, dy.Data, l.Out, l.W.Data, l.In, 0, l.dx.Data, l.In)
	return l.dx
}

// onesOf returns buf resized to n ones (reallocated only when it must grow).
func onesOf(buf []float32, n int) []float32 {
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	buf = buf[:n]
	if n > 0 && buf[n-1] != 1 || n > 0 && buf[0] != 1 {
		for i := range buf {
			buf[i] = 1
		}
	}
	return buf
}
