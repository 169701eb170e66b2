package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/tensor"
)

// TestWinogradKernels checks the assembly helpers against their Go
// statements: the input and output transforms on random data (Bᵀ d B and
// Aᵀ M A written out as sums), and the pair split and join.
func TestWinogradKernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this CPU: the Winograd path is not used")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const plane, ws, ldv = 300, 17, 40
	x := make([]float32, 4*plane+winoPix+ws+2)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	v := make([]float32, 16*ldv)
	winoInput24(&x[0], plane, ws, &v[0], ldv)
	for p := range winoPix {
		for e := range 16 {
			i, j := e/4, e%4
			var want float32
			for r := range 4 {
				for s := range 4 {
					want += winoBT[i][r] * winoBT[j][s] * x[(r%2*2+s%2)*plane+(r/2)*ws+s/2+p]
				}
			}
			if got := v[e*ldv+p]; math.Abs(float64(got-want)) > 1e-5 {
				t.Fatalf("tile %d, position (%d, %d): %v, want %v", p, i, j, got, want)
			}
		}
	}
	const lde, ldy = 50, 30
	m := make([]float32, 16*lde)
	for i := range m {
		m[i] = rng.Float32()*2 - 1
	}
	y := make([]float32, 4*ldy)
	bias := float32(0.25)
	winoOutput24(&m[0], lde, &y[0], ldy, &bias)
	for p := range winoPix {
		for ab := range 4 {
			want := bias
			for e := range 16 {
				want += winoAT[ab/2][e/4] * winoAT[ab%2][e%4] * m[e*lde+p]
			}
			if got := y[ab*ldy+p]; math.Abs(float64(got-want)) > 1e-5 {
				t.Fatalf("output transform, tile %d, output (%d, %d): %v, want %v", p, ab/2, ab%2, got, want)
			}
		}
	}
	for _, n := range []int{0, 1, 3} {
		src := make([]float32, 16*n+1)
		for i := range src {
			src[i] = float32(i)
		}
		ev, od := make([]float32, 8*n+1), make([]float32, 8*n+1)
		ev[8*n], od[8*n] = -1, -1
		if n > 0 {
			winoDeint(&ev[0], &od[0], &src[0], n)
		}
		for i := range 8 * n {
			if ev[i] != src[2*i] || od[i] != src[2*i+1] {
				t.Fatalf("winoDeint n=%d: pair %d = (%v, %v), want (%v, %v)", n, i, ev[i], od[i], src[2*i], src[2*i+1])
			}
		}
		dst := make([]float32, 16*n+1)
		dst[16*n] = -1
		if n > 0 {
			winoInt(&dst[0], &ev[0], &od[0], n)
		}
		for i := range 16 * n {
			if dst[i] != src[i] {
				t.Fatalf("winoInt n=%d: dst[%d] = %v, want %v", n, i, dst[i], src[i])
			}
		}
		if ev[8*n] != -1 || od[8*n] != -1 || dst[16*n] != -1 {
			t.Fatalf("n=%d: a kernel wrote past its 8n or 16n values", n)
		}
	}
}

// winoCase runs the forward and backward of a 3x3 same-size conv with the
// Winograd path on and off and compares output, dx, dW and db.
func winoCase(t *testing.T, rng *rand.Rand, n, cin, cout, h, w int) {
	t.Helper()
	defer func(old bool) { useWinograd = old }(useWinograd)
	c, err := NewConv2d("c", cin, cout, 3, 1, 1, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(n, cin, h, w)
	for i := range x.Data {
		x.Data[i] = rng.Float32()*2 - 1
	}
	add := tensor.New(n, cout)
	for i := range add.Data {
		add.Data[i] = rng.Float32()
	}
	dy := tensor.New(n, cout, h, w)
	for i := range dy.Data {
		dy.Data[i] = rng.Float32()*2 - 1
	}
	run := func(on bool) (y, dx, dw, db []float32) {
		useWinograd = on
		ZeroGrads(c.Params())
		y = append([]float32(nil), c.ForwardAdd(x, add).Data...)
		big := h*w >= winoMinPixels
		if c.wino != (on && big && cin >= 8 && cout%8 == 0) {
			t.Fatalf("%dx%d %d->%d: Winograd forward %v with the path on=%v", h, w, cin, cout, c.wino, on)
		}
		dx = append([]float32(nil), c.Backward(dy).Data...)
		if c.bwino != (on && big && cout >= 8 && cin%8 == 0) {
			t.Fatalf("%dx%d %d->%d: Winograd input gradient %v with the path on=%v", h, w, cin, cout, c.bwino, on)
		}
		return y, dx, append([]float32(nil), c.W.Grad...), append([]float32(nil), c.B.Grad...)
	}
	y1, dx1, dw1, db1 := run(true)
	y0, dx0, dw0, db0 := run(false)
	for _, p := range []struct {
		name      string
		got, want []float32
	}{{"y", y1, y0}, {"dx", dx1, dx0}, {"dW", dw1, dw0}, {"db", db1, db0}} {
		for i := range p.want {
			if d := math.Abs(float64(p.got[i] - p.want[i])); d > 1e-4*(1+math.Abs(float64(p.want[i]))) {
				t.Fatalf("%dx%d %d->%d: %s[%d]: Winograd %v, direct %v", h, w, cin, cout, p.name, i, p.got[i], p.want[i])
			}
		}
	}
}

// TestWinogradMatchesDirect compares the Winograd path with the direct one
// on the UNet's sizes, odd and non-square images, one input channel (the
// stem), and channel counts that leave one direction without it.
func TestWinogradMatchesDirect(t *testing.T) {
	if !useAVX2 || useAVX512 {
		t.Skip("the Winograd path runs only on AVX2 CPUs without AVX-512")
	}
	defer func(old int) { winoMinPixels = old }(winoMinPixels)
	winoMinPixels = 1 // small images too (the last case checks the limit)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ n, cin, cout, h, w int }{
		{3, 8, 16, 28, 28}, {2, 16, 8, 14, 14}, {5, 16, 16, 7, 7}, {2, 1, 8, 28, 28}, {2, 8, 4, 12, 12},
		{2, 8, 8, 9, 11}, {2, 8, 8, 13, 6}, {2, 8, 8, 1, 1}, {2, 8, 8, 2, 3},
		{2, 12, 8, 10, 10}, {2, 8, 12, 10, 10}, {2, 24, 32, 5, 5}, {3, 16, 16, 7, 7},
	} {
		if tc.n == 3 && tc.h == 7 {
			winoMinPixels = 14 * 14
		}
		t.Run(fmt.Sprintf("%dx%d_%d_%d", tc.h, tc.w, tc.cin, tc.cout), func(t *testing.T) {
			winoCase(t, rng, tc.n, tc.cin, tc.cout, tc.h, tc.w)
		})
	}
}
