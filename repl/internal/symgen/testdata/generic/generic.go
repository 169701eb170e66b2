// Package generic is a fixture for symgen's tests: a package mixing generic
// and plain declarations.
package generic

// Map applies f to every element (generic: cannot be exported to yaegi).
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Box holds a value of any type (generic type: skipped too).
type Box[T any] struct{ V T }

// Double doubles x.
func Double(x float64) float64 { return 2 * x }

// Pair is a plain type.
type Pair struct{ A, B int }

// Sum adds the pair.
func (p Pair) Sum() int { return p.A + p.B }
