package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/tensor"
)

// directKernels runs f once with each micro-kernel this CPU has (AVX-512,
// AVX2), the other switched off, and skips the test on a CPU with neither.
func directKernels(t *testing.T, f func(t *testing.T, kernel string)) {
	t.Helper()
	if !directKernel() {
		t.Skip("no AVX-512 or AVX2 on this CPU: the direct path is not used")
	}
	defer func(old bool) { useAVX512 = old }(useAVX512)
	has512 := useAVX512
	for _, k := range []string{"avx512", "avx2"} {
		if (k == "avx512" && !has512) || (k == "avx2" && !useAVX2) {
			continue
		}
		useAVX512 = k == "avx512"
		t.Run(k, func(t *testing.T) { f(t, k) })
	}
}

// TestDirectConvKernel checks the assembly micro-kernels against their Go
// statement on random data with scattered offsets, and against each other:
// where a CPU has both, they must give the same bits.
func TestDirectConvKernel(t *testing.T) {
	outs := map[string][][]float32{}
	directKernels(t, func(t *testing.T, kernel string) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{1, 7, 288} {
			x := make([]float32, 4096)
			for i := range x {
				x[i] = rng.Float32()*2 - 1
			}
			offs := make([]int64, n)
			for i := range offs {
				offs[i] = int64(rng.IntN(len(x) - directBlockPixels))
			}
			w := make([]float32, n*directBlockChans)
			for i := range w {
				w[i] = rng.Float32()*2 - 1
			}
			bias := []float32{1, -2, 3, -4, 5, -6, 7, -8}
			ldy := 61
			got := make([]float32, 7*ldy+directBlockPixels)
			want := make([]float32, len(got))
			directBlock(x, offs, w, n, bias, got, ldy, directBlockPixels)
			directConvRef(x, offs, w, bias, want, ldy)
			for o := range directBlockChans {
				for p := range directBlockPixels {
					g, e := got[o*ldy+p], want[o*ldy+p]
					if math.Abs(float64(g-e)) > 1e-4*(1+math.Abs(float64(e))) {
						t.Fatalf("n=%d: y[%d, %d] = %v, want %v", n, o, p, g, e)
					}
				}
			}
			outs[kernel] = append(outs[kernel], got)
			if kernel != "avx2" {
				continue
			}
			// A half block (the AVX2 kernel's last 24 pixels of a row)
			// writes those and nothing past them.
			half := make([]float32, len(got))
			for i := range half {
				half[i] = float32(math.NaN())
			}
			directBlock(x, offs, w, n, bias, half, ldy, directBlockPixels/2)
			for o := range directBlockChans {
				for p := range directBlockPixels {
					h, g := half[o*ldy+p], got[o*ldy+p]
					if p < directBlockPixels/2 && math.Float32bits(h) != math.Float32bits(g) {
						t.Fatalf("n=%d: half block y[%d, %d] = %v, the whole block's is %v", n, o, p, h, g)
					}
					if p >= directBlockPixels/2 && !math.IsNaN(float64(h)) {
						t.Fatalf("n=%d: a half block wrote y[%d, %d] = %v, past its 24 pixels", n, o, p, h)
					}
				}
			}
		}
	})
	if a, b := outs["avx512"], outs["avx2"]; a != nil && b != nil {
		for i := range a {
			for j := range a[i] {
				if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
					t.Fatalf("case %d, output %d: AVX-512 %v, AVX2 %v: the kernels must give the same bits", i, j, a[i][j], b[i][j])
				}
			}
		}
	}
}

// TestDirectConvMatchesBLASPaths runs the same convolutions through the
// direct path and the BLAS paths: every kernel size, stride 1 and 2, odd
// image sizes, padding other than K/2, ForwardAdd's per-sample bias.
func TestDirectConvMatchesBLASPaths(t *testing.T) {
	directKernels(t, func(t *testing.T, _ string) { testDirectConvMatchesBLASPaths(t) })
}

func testDirectConvMatchesBLASPaths(t *testing.T) {
	defer func(old bool) { useDirectConv = old }(useDirectConv)
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []struct{ cin, cout, k, stride, pad, h, w int }{
		{3, 8, 3, 1, 1, 28, 28}, {16, 16, 1, 1, 0, 7, 7}, {5, 24, 5, 1, 2, 14, 14},
		{8, 8, 3, 2, 1, 28, 28}, {8, 16, 3, 2, 1, 7, 7}, {4, 8, 5, 2, 2, 13, 11},
		{6, 8, 3, 1, 0, 9, 12}, {2, 8, 1, 2, 0, 9, 9}, {7, 16, 5, 1, 1, 10, 6},
	}
	for _, tc := range cases {
		c, err := NewConv2d("c", tc.cin, tc.cout, tc.k, tc.stride, tc.pad, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(3, tc.cin, tc.h, tc.w)
		for i := range x.Data {
			x.Data[i] = rng.Float32()*2 - 1
		}
		add := tensor.New(3, tc.cout)
		for i := range add.Data {
			add.Data[i] = rng.Float32()
		}
		useDirectConv = true
		got := c.ForwardAdd(x, add).Clone()
		if !c.dir {
			t.Fatalf("%+v: the direct path was not taken", tc)
		}
		useDirectConv = false
		want := c.ForwardAdd(x, add)
		for i := range want.Data {
			if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-4*(1+math.Abs(float64(want.Data[i]))) {
				t.Fatalf("%+v: output %d: direct %v, BLAS %v", tc, i, got.Data[i], want.Data[i])
			}
		}
	}
}

// TestDirectConvBackwardMatchesBLASPaths compares the input and weight
// gradients of the direct kernels with the BLAS paths: the shifted-product
// path at 28x28 (one sample per chunk) and the im2col path at small sizes
// (several samples per chunk, a last chunk of one); weight rows whose length
// is not a multiple of the kernel's 3 columns; output channels not in 4s
// (BLAS weight gradient beside the direct input gradient).
func TestDirectConvBackwardMatchesBLASPaths(t *testing.T) {
	directKernels(t, func(t *testing.T, _ string) { testDirectConvBackwardMatchesBLASPaths(t) })
}

func testDirectConvBackwardMatchesBLASPaths(t *testing.T) {
	defer func(old bool) { useDirectConv = old }(useDirectConv)
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct{ n, cin, cout, k, h int }{
		{3, 8, 16, 3, 28}, {2, 16, 8, 5, 28}, {7, 8, 8, 3, 14}, {5, 16, 24, 3, 7}, {4, 8, 3, 5, 9},
		{3, 8, 12, 5, 9}, {13, 8, 8, 3, 7}, {6, 8, 8, 3, 14},
	}
	defer func(old int) { directGradMinPixels = old }(directGradMinPixels)
	for i, tc := range cases {
		// Small images take the direct weight gradient too here, but for
		// the last case, which keeps the BLAS one beside the direct input
		// gradient.
		directGradMinPixels = 1
		if i == len(cases)-1 {
			directGradMinPixels = tc.h*tc.h + 1
		}
		c, err := NewConv2d("c", tc.cin, tc.cout, tc.k, 1, tc.k/2, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(tc.n, tc.cin, tc.h, tc.h)
		for i := range x.Data {
			x.Data[i] = rng.Float32()*2 - 1
		}
		dy := tensor.New(tc.n, tc.cout, tc.h, tc.h)
		for i := range dy.Data {
			dy.Data[i] = rng.Float32()*2 - 1
		}
		run := func(direct bool) (dx, dw, db []float32) {
			useDirectConv = direct
			ZeroGrads(c.Params())
			c.Forward(x)
			dx = append([]float32(nil), c.Backward(dy).Data...)
			if c.bdirect != direct {
				t.Fatalf("%+v: direct backward %v, want %v", tc, c.bdirect, direct)
			}
			// The direct weight gradient takes output channels in 4s.
			if want := direct && useAVX2 && !useAVX512 && tc.cout%4 == 0 && tc.h*tc.h >= directGradMinPixels; c.gdirect != want {
				t.Fatalf("%+v: direct weight gradient %v, want %v", tc, c.gdirect, want)
			}
			return dx, append([]float32(nil), c.W.Grad...), append([]float32(nil), c.B.Grad...)
		}
		dx1, dw1, db1 := run(true)
		dx0, dw0, db0 := run(false)
		for _, p := range []struct {
			name      string
			got, want []float32
		}{{"dx", dx1, dx0}, {"dW", dw1, dw0}, {"db", db1, db0}} {
			for i := range p.want {
				if d := math.Abs(float64(p.got[i] - p.want[i])); d > 1e-4*(1+math.Abs(float64(p.want[i]))) {
					t.Fatalf("%+v: %s[%d]: direct %v, BLAS %v", tc, p.name, i, p.got[i], p.want[i])
				}
			}
		}
	}
}

// BenchmarkDirectKernel times the micro-kernel alone on data that stays in
// the L1 cache (one 8x48 block of a 3x3 conv of 64 channels: 576 terms), so
// its GFLOP/s is the ceiling of the direct path on this CPU.
func BenchmarkDirectKernel(b *testing.B) {
	if !directKernel() {
		b.Skip("no AVX-512 or AVX2 on this CPU")
	}
	const n, ws = 576, 16
	x := make([]float32, 64*ws*ws+2*directBlockPixels)
	offs := make([]int64, n)
	for l := range offs {
		ci, u, v := l/9, l/3%3, l%3
		offs[l] = int64(ci*ws*ws + u*ws + v)
	}
	w := make([]float32, n*directBlockChans)
	for i := range w {
		w[i] = float32(i%7) * 0.01
	}
	bias := make([]float32, directBlockChans)
	y := make([]float32, directBlockChans*directBlockPixels)
	for b.Loop() {
		directBlock(x, offs, w, n, bias, y, directBlockPixels, directBlockPixels)
	}
	b.ReportMetric(2*float64(n*directBlockChans*directBlockPixels)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestDirectGradKernel checks the weight-gradient kernels against their Go
// statement: several samples, scattered offsets, both block widths.
func TestDirectGradKernel(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 with FMA on this CPU: the direct weight gradient is not used")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const ldo, n, sdy, sx = 83, 9, 4*83 + 5, 700
	for _, ns := range []int{1, 3} {
		dy := make([]float32, ns*sdy)
		x := make([]float32, ns*sx)
		for _, v := range [][]float32{dy, x} {
			for i := range v {
				v[i] = rng.Float32()*2 - 1
			}
		}
		offs := []int64{0, 11, int64(sx - 8*n)}
		for _, lt := range []int{3, 1} {
			const ldw = 5
			got, want := make([]float32, 4*ldw), make([]float32, 4*ldw)
			for i := range got {
				got[i] = float32(i)
				want[i] = float32(i)
			}
			if lt == 3 {
				dwGrad4x3(&dy[0], &x[0], &offs[0], ldo, n, ns, sdy, sx, &got[1], ldw)
			} else {
				dwGrad4x1(&dy[0], &x[0], &offs[2], ldo, n, ns, sdy, sx, &got[1], ldw)
			}
			dwGradRef(dy, x, offs[3-lt:], ldo, n, ns, sdy, sx, want[1:], ldw, lt)
			for i, e := range want {
				if g := got[i]; math.Abs(float64(g-e)) > 1e-5*(1+math.Abs(float64(e))) {
					t.Fatalf("ns=%d, %d columns: dw[%d] = %v, want %v", ns, lt, i, g, e)
				}
			}
		}
	}
}

// BenchmarkDirectGradKernel times the weight-gradient kernel alone on data
// that stays in the L1 cache (a 4x3 block over one 28x28 sample's padded
// rows: 105 vectors).
func BenchmarkDirectGradKernel(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2 with FMA on this CPU")
	}
	const ldo, n = 904, 105
	dy := make([]float32, 4*ldo)
	x := make([]float32, ldo+64)
	offs := []int64{0, 1, 2}
	dw := make([]float32, 4*3)
	for b.Loop() {
		dwGrad4x3(&dy[0], &x[0], &offs[0], ldo, n, 1, 0, 0, &dw[0], 3)
	}
	b.ReportMetric(2*float64(4*3*8*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
