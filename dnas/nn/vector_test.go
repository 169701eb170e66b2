package nn

import (
	"math"
	"testing"
)

// TestVectorKernelsMatchGo runs every vector kernel against its Go loop on
// all lengths 0..41 and on slices that start off a 32-byte boundary.
func TestVectorKernelsMatchGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no vector kernels on this CPU")
	}
	rng := testRNG()
	buf := func() []float32 {
		x := make([]float32, 50)
		for i := range x {
			x[i] = float32(rng.NormFloat64()) * 3
		}
		return x
	}
	close := func(a, b, scale float32) bool {
		return math.Abs(float64(a-b)) <= 1e-5*math.Max(1, float64(scale))
	}
	for n := range 42 {
		for _, off := range []int{0, 1, 3} {
			x, d := buf()[off:off+n], buf()[off:off+n]
			m, a, b, c := float32(0.3), float32(1.7), float32(-0.4), float32(0.25)
			yv, yg := make([]float32, n), make([]float32, n)
			sv, dsv := make([]float32, n), make([]float32, n)

			fv, fg := make([]float32, n), make([]float32, n)
			fbv, fbg := make([]float32, n), make([]float32, n)
			vaffineSiLU(x, fv, a, b)
			s1v, s2v := vaffineSiLUBack(x, d, fbv, a, b, m)
			sumV, sqV := vsum(x), vsqDevSum(x, m)
			sdV, sdxV := vsumDotDev(d, x, m)
			vaffine(x, yv, a, b)
			vnormBack(d, x, dsv, a, b, c, m)
			copy(sv, x)
			expV := float32(0)
			if n > 0 {
				expV = vexpShift(sv, m)
			}

			useAVX2 = false
			vaffineSiLU(x, fg, a, b)
			s1g, s2g := vaffineSiLUBack(x, d, fbg, a, b, m)
			sumG, sqG := vsum(x), vsqDevSum(x, m)
			sdG, sdxG := vsumDotDev(d, x, m)
			vaffine(x, yg, a, b)
			dsg := make([]float32, n)
			vnormBack(d, x, dsg, a, b, c, m)
			sg := append([]float32(nil), x...)
			expG := float32(0)
			if n > 0 {
				expG = vexpShift(sg, m)
			}
			useAVX2 = true

			if !close(sumV, sumG, float32(n)) || !close(sqV, sqG, sqG) || !close(sdV, sdG, float32(n)) || !close(sdxV, sdxG, float32(n)*3) || !close(expV, expG, expG) {
				t.Fatalf("n=%d off=%d: sums vector/Go %v/%v %v/%v %v/%v %v/%v %v/%v", n, off, sumV, sumG, sqV, sqG, sdV, sdG, sdxV, sdxG, expV, expG)
			}
			if !close(s1v, s1g, float32(n)*3) || !close(s2v, s2g, float32(n)*10) {
				t.Fatalf("n=%d off=%d: fused SiLU sums vector/Go %v/%v %v/%v", n, off, s1v, s1g, s2v, s2g)
			}
			for i := range n {
				if !close(fv[i], fg[i], fg[i]) || !close(fbv[i], fbg[i], fbg[i]) {
					t.Fatalf("n=%d off=%d i=%d: affine+SiLU %v/%v backward %v/%v", n, off, i, fv[i], fg[i], fbv[i], fbg[i])
				}
				if !close(yv[i], yg[i], yg[i]) || !close(dsv[i], dsg[i], dsg[i]) || !close(sv[i], sg[i], sg[i]) {
					t.Fatalf("n=%d off=%d i=%d: affine %v/%v normBack %v/%v exp %v/%v", n, off, i, yv[i], yg[i], dsv[i], dsg[i], sv[i], sg[i])
				}
			}
		}
	}
}
