package nn

import (
	"fmt"

	"dnas/dnas/tensor"
)

// shapePanic raises the *ShapeError every layer of this package uses when an
// input does not fit: layer is the layer's Name, op the method ("GroupNorm.Forward"),
// got the offending shape and want a sentence saying what would fit.
// It is only called on the failure path, so the variadic arguments cost nothing
// in steady state.
func shapePanic(layer, op string, got []int, want string, args ...any) {
	panic(&ShapeError{Layer: layer, Op: op, Got: append([]int(nil), got...), Want: fmt.Sprintf(want, args...)})
}

// ensureDims returns buf shaped dims, calling tensor.Ensure only when the
// shape changes: building a variadic shape for a call allocates (tensor.New
// keeps it for its error message), which a training step must not do.
func ensureDims(buf *tensor.Tensor, dims ...int) *tensor.Tensor {
	if buf != nil && tensor.SameShape(buf.Shape, dims) {
		return buf
	}
	return tensor.Ensure(buf, append([]int(nil), dims...)...)
}
