package nn

import "fmt"

// shapePanic raises the *ShapeError every layer of this package uses when an
// input does not fit: layer is the layer's Name, op the method ("GroupNorm.Forward"),
// got the offending shape and want a sentence saying what would fit.
// It is only called on the failure path, so the variadic arguments cost nothing
// in steady state.
func shapePanic(layer, op string, got []int, want string, args ...any) {
	panic(&ShapeError{Layer: layer, Op: op, Got: append([]int(nil), got...), Want: fmt.Sprintf(want, args...)})
}
