package unet

import (
	"fmt"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// sum2 writes a + b into its own buffer, split over tensor.ParallelFor with
// a function value bound once, so that it does not allocate.
type sum2 struct {
	name    string
	a, b, y *tensor.Tensor
	fn      func(lo, hi int)
}

// Forward returns a + b (same shapes) in a buffer owned by s.
func (s *sum2) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	if !tensor.SameShape(a.Shape, b.Shape) {
		panic(&nn.ShapeError{Layer: s.name, Op: "sum", Got: append([]int(nil), b.Shape...), Want: fmt.Sprintf("the shape of the other operand %v", a.Shape)})
	}
	if s.fn == nil {
		s.fn = s.run
	}
	s.y = ensureLike(s.y, a)
	s.a, s.b = a, b
	tensor.ParallelFor(len(a.Data), 1, s.fn)
	s.a, s.b = nil, nil
	return s.y
}

func (s *sum2) run(lo, hi int) {
	y, a, b := s.y.Data[lo:hi], s.a.Data[lo:hi], s.b.Data[lo:hi]
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = a[i] + b[i]
	}
}

// ensureLike returns buf shaped like t, calling tensor.Ensure (whose
// variadic shape allocates) only when the shape differs.
func ensureLike(buf, t *tensor.Tensor) *tensor.Tensor {
	if buf != nil && tensor.SameShape(buf.Shape, t.Shape) {
		return buf
	}
	return tensor.Ensure(buf, t.Shape...)
}

// ensure2 is tensor.Ensure for a 2-D shape, without a call (whose variadic
// shape allocates) when buf already has it.
func ensure2(buf *tensor.Tensor, rows, cols int) *tensor.Tensor {
	if buf != nil && len(buf.Shape) == 2 && buf.Shape[0] == rows && buf.Shape[1] == cols {
		return buf
	}
	return tensor.Ensure(buf, rows, cols)
}
