package nn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"dnas/dnas/tensor"
)

// naiveConv computes the forward pass and, for a given dy, the backward
// pass of c straight from the definition, in float64: the reference the
// im2col implementation is checked against.
func naiveConv(c *Conv2d, x, dy *tensor.Tensor) (y, dx, dw, db []float64) {
	n, cin, h, w := x.NCHW()
	oh, ow := (h+2*c.Pad-c.K)/c.Stride+1, (w+2*c.Pad-c.K)/c.Stride+1
	y = make([]float64, n*c.Cout*oh*ow)
	dx = make([]float64, len(x.Data))
	dw = make([]float64, len(c.W.Data))
	db = make([]float64, c.Cout)
	for b := range n {
		for o := range c.Cout {
			for i := range oh {
				for j := range ow {
					yi := ((b*c.Cout+o)*oh+i)*ow + j
					acc := float64(c.B.Data[o])
					g := float64(dy.Data[yi])
					db[o] += g
					for ci := range cin {
						for u := range c.K {
							for v := range c.K {
								yy, xx := i*c.Stride-c.Pad+u, j*c.Stride-c.Pad+v
								if yy < 0 || yy >= h || xx < 0 || xx >= w {
									continue
								}
								xi := ((b*cin+ci)*h+yy)*w + xx
								wi := ((o*cin+ci)*c.K+u)*c.K + v
								acc += float64(c.W.Data[wi]) * float64(x.Data[xi])
								dx[xi] += float64(c.W.Data[wi]) * g
								dw[wi] += float64(x.Data[xi]) * g
							}
						}
					}
					y[yi] = acc
				}
			}
		}
	}
	return y, dx, dw, db
}

func closeTo(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestConv2dMatchesDefinition(t *testing.T) {
	oldCols, oldWorkers, oldBudget := convChunkCols, tensor.Workers, convColBudget
	defer func() { convChunkCols, tensor.Workers, convColBudget = oldCols, oldWorkers, oldBudget }()
	rng := testRNG()
	cases := []struct{ n, cin, cout, k, stride, pad, h, w int }{
		{2, 3, 4, 3, 1, 1, 6, 5},
		{3, 2, 5, 1, 1, 0, 4, 4}, // 1x1: no im2col
		{2, 3, 2, 5, 1, 2, 5, 7},
		{3, 4, 3, 3, 2, 1, 7, 7}, // strided downsample
		{2, 2, 3, 3, 2, 1, 6, 6},
		{2, 2, 2, 5, 2, 2, 3, 2}, // kernel wider than the image
		{2, 3, 2, 1, 2, 0, 5, 5},
		{1, 1, 1, 3, 1, 0, 3, 3},
		{2, 2, 3, 5, 1, 2, 2, 3}, // same-size, image smaller than the kernel
	}
	for _, tc := range cases {
		// One sample per product vs several side by side; 1 vs 3 workers;
		// samples whole or cut into bands of one or two output rows. One
		// sample per chunk sends the backward of same-size convs down the
		// shifted-product path (shiftBackward; their forward always takes it).
		for _, setting := range [][3]int{{1, 1, 1 << 20}, {1, 3, 1 << 20}, {1 << 20, 1, 1 << 20}, {1 << 20, 3, 1 << 20}, {1, 3, 1}, {1, 2, 2 * 5 * 25 * 7}} {
			convChunkCols, tensor.Workers, convColBudget = setting[0], setting[1], setting[2]
			name := fmt.Sprintf("%+v/cols%d/workers%d/budget%d", tc, setting[0], setting[1], setting[2])
			c, err := NewConv2d("conv", tc.cin, tc.cout, tc.k, tc.stride, tc.pad, rng)
			if err != nil {
				t.Fatal(err)
			}
			x := randTensor(rng, tc.n, tc.cin, tc.h, tc.w)
			y := c.Forward(x)
			dy := randTensor(rng, y.Shape...)
			wantY, wantDx, wantDw, wantDb := naiveConv(c, x, dy)
			closeTo(t, name+" y", y.Data, wantY)
			if want := c.sameSize() && tc.k > 1; c.shift != want {
				t.Errorf("%s: forward on the shifted-product path %v, want %v", name, c.shift, want)
			}
			// Gradients accumulate: start from a known non-zero value.
			for i := range c.W.Grad {
				c.W.Grad[i] = 1
			}
			for i := range wantDw {
				wantDw[i]++
			}
			dx := c.Backward(dy)
			if want := setting[0] == 1 && c.sameSize() && tc.k > 1; c.shift != want {
				t.Errorf("%s: backward on the shifted-product path %v, want %v", name, c.shift, want)
			}
			closeTo(t, name+" dx", dx.Data, wantDx)
			closeTo(t, name+" dW", c.W.Grad, wantDw)
			closeTo(t, name+" db", c.B.Grad, wantDb)
		}
	}
}

func TestConv2dGradCheck(t *testing.T) {
	rng := testRNG()
	for _, cfg := range [][3]int{{3, 1, 1}, {3, 2, 1}, {5, 1, 2}, {1, 1, 0}} {
		c, err := NewConv2d(fmt.Sprintf("conv%dx%d/s%d", cfg[0], cfg[0], cfg[1]), 2, 3, cfg[0], cfg[1], cfg[2], rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 2, 2, 5, 5)
		var dx *tensor.Tensor
		checkLayerGrad(t, c.Name, func() *tensor.Tensor { return c.Forward(x) },
			func(dy *tensor.Tensor) { dx = c.Backward(dy) },
			append(paramTargets(c.W, c.B), inputTarget("x", x, &dx))...)
	}
}

func TestNewConv2dRejectsBadSizes(t *testing.T) {
	for _, tc := range []struct{ cin, cout, k, stride, pad int }{
		{1, 1, 2, 1, 0}, {1, 1, 4, 1, 2}, {1, 1, 0, 1, 0}, {1, 1, -3, 1, 0},
		{0, 1, 3, 1, 1}, {1, 0, 3, 1, 1}, {1, 1, 3, 0, 1}, {1, 1, 3, 1, -1},
	} {
		c, err := NewConv2d("down.1.conv", tc.cin, tc.cout, tc.k, tc.stride, tc.pad, nil)
		if err == nil || c != nil {
			t.Errorf("NewConv2d(%+v) = %v, nil error; want an error", tc, c)
			continue
		}
		if !strings.Contains(err.Error(), "down.1.conv") {
			t.Errorf("error %q does not name the layer", err)
		}
	}
}

func TestConv2dShapeError(t *testing.T) {
	c, err := NewConv2d("enc.conv1", 4, 8, 3, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	forward := func(x *tensor.Tensor) (err error) {
		defer Catch(&err)
		c.Forward(x)
		return nil
	}
	err = forward(tensor.New(2, 3, 8, 8))
	var se *ShapeError
	if !errors.As(err, &se) || se.Layer != "enc.conv1" || !strings.Contains(err.Error(), "[2 3 8 8]") || !strings.Contains(err.Error(), "[N, 4, H, W]") {
		t.Fatalf("wrong channels: got %v, want a ShapeError naming enc.conv1, the shape and what fits", err)
	}
	if err := forward(tensor.New(8, 8)); !errors.As(err, &se) {
		t.Fatalf("2-D input: got %v, want a ShapeError", err)
	}
	backward := func(dy *tensor.Tensor) (err error) {
		defer Catch(&err)
		c.Backward(dy)
		return nil
	}
	c.Forward(tensor.New(2, 4, 8, 8))
	if err := backward(tensor.New(2, 8, 4, 4)); !errors.As(err, &se) || !strings.Contains(err.Error(), "[2 8 8 8]") {
		t.Fatalf("wrong dy: got %v, want a ShapeError naming the expected shape [2 8 8 8]", err)
	}
}

func TestConv2dMACs(t *testing.T) {
	// The stem of the reference UNet: 1 -> 32 channels, 3x3, on 28x28.
	c, _ := NewConv2d("stem", 1, 32, 3, 1, 1, nil)
	if got, want := c.MACs([]int{64, 1, 28, 28}), int64(32*28*28*9); got != want {
		t.Errorf("stem MACs = %d, want %d", got, want)
	}
	// The strided downsample 32 -> 32 from 28x28 to 14x14.
	d, _ := NewConv2d("down", 32, 32, 3, 2, 1, nil)
	if got, want := d.MACs([]int{32, 28, 28}), int64(32*14*14*32*9); got != want {
		t.Errorf("downsample MACs = %d, want %d", got, want)
	}
	if s := d.OutShape([]int{5, 32, 7, 7}); !tensor.SameShape(s, []int{5, 32, 4, 4}) {
		t.Errorf("downsample of 7x7: out shape %v, want [5 32 4 4]", s)
	}
}

func TestConv2dStepDoesNotAllocate(t *testing.T) {
	rng := testRNG()
	c, _ := NewConv2d("conv", 8, 8, 3, 1, 1, rng)
	d, _ := NewConv2d("down", 8, 8, 3, 2, 1, rng)
	x := randTensor(rng, 8, 8, 14, 14)
	step := func() {
		y := d.Forward(c.Forward(x))
		c.Backward(d.Backward(y))
	}
	step()
	// sync.Pool buffers are dropped at every GC; a GC during the count would
	// show as a refill, not a steady-state allocation, so keep GC off here.
	runtime.GC()
	step()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("a forward+backward step allocates %v times", n)
	}
}

// BenchmarkConv2d3x3 times the UNet's 3x3 convs, batch 64, with the
// Winograd path on (where this CPU takes it) and off (the direct path).
func BenchmarkConv2d3x3(b *testing.B) {
	defer func(old bool) { useWinograd = old }(useWinograd)
	rng := testRNG()
	for _, tc := range []struct {
		c, hw int
		wino  bool
	}{{32, 28, true}, {32, 28, false}, {64, 14, true}, {64, 14, false}, {64, 7, true}, {64, 7, false}} {
		useWinograd = tc.wino
		path := map[bool]string{true: "winograd", false: "direct"}[tc.wino]
		conv, _ := NewConv2d("conv", tc.c, tc.c, 3, 1, 1, rng)
		x := randTensor(rng, 64, tc.c, tc.hw, tc.hw)
		macs := conv.MACs(x.Shape) * 64
		b.Run(fmt.Sprintf("c%d_%dx%d/%s/forward", tc.c, tc.hw, tc.hw, path), func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				conv.Forward(x)
			}
			b.ReportMetric(2*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric((cpuSeconds()-cpu)*1e3/float64(b.N), "cpu-ms/op")
		})
		b.Run(fmt.Sprintf("c%d_%dx%d/%s/backward", tc.c, tc.hw, tc.hw, path), func(b *testing.B) {
			y := conv.Forward(x)
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				conv.Backward(y)
			}
			b.ReportMetric(4*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric((cpuSeconds()-cpu)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

func TestConv2dForwardAddAndBackwardTo(t *testing.T) {
	rng := testRNG()
	c, _ := NewConv2d("conv", 3, 4, 3, 1, 1, rng)
	x := randTensor(rng, 2, 3, 5, 5)
	add := randTensor(rng, 2, 4)
	plain := c.Forward(x).Clone()
	y := c.ForwardAdd(x, add)
	for n := range 2 {
		for o := range 4 {
			for p := range 25 {
				i := (n*4+o)*25 + p
				if d := y.Data[i] - plain.Data[i] - add.Data[n*4+o]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("ForwardAdd[%d] = %g, want %g + %g", i, y.Data[i], plain.Data[i], add.Data[n*4+o])
				}
			}
		}
	}
	dy := randTensor(rng, y.Shape...)
	want := c.Backward(dy).Clone()
	scratch := tensor.New(7) // wrong shape and too small: BackwardTo must resize it
	got := c.BackwardTo(dy, scratch)
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("BackwardTo shape %v, want %v", got.Shape, want.Shape)
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("BackwardTo[%d] = %g, Backward gave %g", i, got.Data[i], want.Data[i])
		}
	}
	if err := func() (err error) { defer Catch(&err); c.ForwardAdd(x, tensor.New(2, 3)); return nil }(); err == nil {
		t.Errorf("ForwardAdd with add [2 3] for 4 output channels: no error")
	}
}

// cpuSeconds is the process's user+system CPU time: on a machine shared with
// other work it measures a kernel's cost better than the wall clock.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// TestConv2dBackwardIsDeterministic runs the backward of convolutions whose
// batch is cut into many chunks (the shifted, flipped and strided paths)
// again and again on 1, 2 and 5 workers: the weight and bias gradients must
// be the same bits every time, whichever worker took which chunks.
func TestConv2dBackwardIsDeterministic(t *testing.T) {
	defer func(w int) { tensor.Workers = w }(tensor.Workers)
	rng := testRNG()
	for _, tc := range []struct{ cin, cout, k, stride, hw int }{
		{8, 8, 3, 1, 28}, {8, 16, 5, 1, 14}, {16, 16, 3, 1, 7}, {8, 8, 3, 2, 28}, {16, 8, 1, 1, 14}, {16, 8, 3, 1, 28}, {24, 8, 3, 1, 28}, {16, 16, 3, 1, 14},
	} {
		c, _ := NewConv2d("conv", tc.cin, tc.cout, tc.k, tc.stride, tc.k/2, rng)
		x := randTensor(rng, 24, tc.cin, tc.hw, tc.hw)
		dy := randTensor(rng, c.OutShape(x.Shape)...)
		var wantW, wantB []float32
		for run := range 12 {
			tensor.Workers = []int{1, 2, 5}[run%3]
			clear(c.W.Grad)
			clear(c.B.Grad)
			c.Forward(x)
			c.Backward(dy)
			if run == 0 {
				wantW, wantB = append([]float32(nil), c.W.Grad...), append([]float32(nil), c.B.Grad...)
				continue
			}
			for i := range wantW {
				if math.Float32bits(c.W.Grad[i]) != math.Float32bits(wantW[i]) {
					t.Fatalf("%+v, run %d on %d workers: dW[%d] = %v, first run %v", tc, run, tensor.Workers, i, c.W.Grad[i], wantW[i])
				}
			}
			for i := range wantB {
				if math.Float32bits(c.B.Grad[i]) != math.Float32bits(wantB[i]) {
					t.Fatalf("%+v, run %d on %d workers: dB[%d] = %v, first run %v", tc, run, tensor.Workers, i, c.B.Grad[i], wantB[i])
				}
			}
		}
	}
}
