package nn

import "testing"

func TestSumExact(t *testing.T) {
	// Small integers add exactly in float32 whatever the order: every
	// length from empty to two rounds of four plus a tail.
	for n := range 11 {
		x := make([]float32, n)
		want := float32(0)
		for i := range x {
			x[i] = float32(i + 1)
			want += x[i]
		}
		if got := Sum(x); got != want {
			t.Errorf("Sum(1..%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSumOrder(t *testing.T) {
	// 1e8 absorbs a 1 in float32 (its neighbours are 8 apart), so the
	// result shows the order. In Sum's order s0 = 1e8+1 (x[0] and the tail
	// x[4]) = 1e8, s1 = 1, s2 = -1e8, s3 = 1, and (s0+s1) + (s2+s3) =
	// 1e8 + -1e8 = 0; left to right it would be 2.
	x := []float32{1e8, 1, -1e8, 1, 1}
	if got := Sum(x); got != 0 {
		t.Errorf("Sum(%v) = %v, want 0 (four accumulators, (s0+s1)+(s2+s3))", x, got)
	}
}
