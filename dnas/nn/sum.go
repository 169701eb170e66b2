package nn

// Sum returns Σ x in plain Go, always in the same order, so that the same x
// gives the same bits on every CPU (vsum, which uses AVX2 where the CPU has
// it, does not promise that). Four independent accumulators take x[0], x[1],
// x[2], x[3], then x[4] to x[7], and so on; the elements past the last
// multiple of 4 go to the first one, and the result is (s0+s1) + (s2+s3).
// Four chains run about four times as fast as one (each addition waits only
// for the one four elements back) and round less, since each accumulator
// grows to about a quarter of the total.
//
// Layers use it for bias gradients (the sum of dy over a feature map).
func Sum(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
