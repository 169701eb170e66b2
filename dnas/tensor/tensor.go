// Package tensor holds the float32 NCHW tensor of the dnas engine and the
// small amount of parallel machinery its layers share.
//
// Conventions: data is row-major; a 4-D tensor is laid out N, C, H, W (batch,
// channels, height, width); a 2-D tensor is rows x columns. Tensors are plain
// values (a shape and a flat slice): no autograd graph, no views with strides.
// Layers own their output buffers and reuse them across steps (see Ensure), so
// a training loop in steady state does not allocate.
package tensor

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tensor is a dense float32 array with a shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.New: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data (not copied) in a tensor of the given shape.
func FromData(data []float32, shape ...int) *Tensor {
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromData: %d values do not fill shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Numel is the number of elements a shape holds.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Numel is the number of elements of t.
func (t *Tensor) Numel() int { return len(t.Data) }

// Dim returns dimension i (negative i counts from the end).
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// NCHW returns the four dimensions of a 4-D tensor.
func (t *Tensor) NCHW() (n, c, h, w int) {
	if len(t.Shape) != 4 {
		panic(fmt.Sprintf("tensor: want a 4-D NCHW tensor, got shape %v", t.Shape))
	}
	return t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool { return slices.Equal(a, b) }

// Ensure returns buf if it already has the given shape, otherwise a buffer of
// that shape that reuses buf's storage when it is large enough. The contents
// are unspecified: callers overwrite them (or call Zero). This is how layers
// keep their outputs without allocating every step.
func Ensure(buf *Tensor, shape ...int) *Tensor {
	n := Numel(shape)
	if buf == nil {
		return New(shape...)
	}
	if SameShape(buf.Shape, shape) {
		return buf
	}
	if cap(buf.Data) >= n {
		buf.Data = buf.Data[:n]
	} else {
		buf.Data = make([]float32, n)
	}
	buf.Shape = append(buf.Shape[:0], shape...)
	return buf
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// CopyFrom copies src into t, resizing t to src's shape.
func (t *Tensor) CopyFrom(src *Tensor) {
	*t = *Ensure(t, src.Shape...)
	copy(t.Data, src.Data)
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// Sample returns the slice of data for item i of the leading (batch) dimension.
func (t *Tensor) Sample(i int) []float32 {
	per := len(t.Data) / t.Shape[0]
	return t.Data[i*per : (i+1)*per]
}

// HasNaN reports whether t holds a NaN or an infinity.
func (t *Tensor) HasNaN() bool {
	for _, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}

// String prints the shape and the first few values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.Shape)
	for i, v := range t.Data {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.4g", v)
	}
	b.WriteByte(']')
	return b.String()
}
