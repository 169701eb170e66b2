package nn

// The direct weight gradient of a same-size convolution (stride 1,
// 2·Pad = K-1, K > 1): an AVX2 kernel (dwGrad4x3 in directconv_amd64.s)
// instead of BLAS products. With dy and x of each sample zero-padded as for
// the shifted products (shiftPad: planes of PH values in rows of WP), the
// gradient of weight l = (ci·K + u)·K + v of output channel o is
//
//	dW[o, l] = Σ_s Σ_q dypw_s[o, q] · xpad_s[ci·PH + u·WP + v + q]
//
// over the H·WP padded-width columns q, where dypw is dypad seen at offset
// Pad·WP + Pad: its columns past each row's W fall on the zero border, so
// they add nothing (the same identity as shiftBackward's). The kernel keeps
// a block of 4 output channels x 3 weights in 12 registers of 8 lanes while
// it runs over the pixels of every sample of a chunk, then adds each
// register's lanes (in a fixed order) into its weight. BLAS ran these as
// thin products (32-64 rows and columns, a long inner dimension, and at
// 14x14 and 7x7 an im2col of dy first) at about half the speed of the
// convolution kernels.

// directGradSlack is the readable slack after the last sample's padded x:
// a block's last vector may read up to 7 values past a plane (they meet
// zeros of dy).
const directGradSlack = 8

// directGradOK reports whether Backward computes the weight gradient by the
// direct kernels: the input gradient is direct too (a same-size conv with
// K > 1 and Cin in blocks of 8), the CPU has AVX2 with FMA but not AVX-512
// (where OpenBLAS's products use 16-lane kernels; this 8-lane one was
// measured only against OpenBLAS's AVX2 kernels, on Zen 3), the output
// channels come in blocks of 4, the padding is wide enough that a vector's
// overrun past the last row of dy stays in its zero border, and the image
// has at least directGradMinPixels pixels.
func (c *Conv2d) directGradOK() bool {
	wp, _, _ := c.shiftGeom()
	return c.bdirect && useAVX2 && !useAVX512 && c.Cout%4 == 0 && c.Pad*(wp+1) >= directGradSlack-1 &&
		c.h*c.w >= directGradMinPixels
}

// directGradMinPixels is the smallest image the direct weight gradient
// takes. Measured per layer (3x3, batch 64, one core, best of 5): 28x28
// 32->32 22% and 14x14 64->64 10% less time for the whole backward than the
// BLAS paths, 7x7 64->64 none (8.3 against 8.4 ms): its padded rows of 9
// columns for 7 pixels (63 of them rounded up to 64) waste a quarter of the
// sums, which the im2col product does not compute.
var directGradMinPixels = 14 * 14

// directGradSetup fills goffs[l], the start of weight l's input run in a
// sample's padded x (see padOffsets).
func (c *Conv2d) directGradSetup() {
	wp, ph, _ := c.shiftGeom()
	c.goffs = padOffsets(c.goffs, c.Cin, c.K, wp, ph)
}

// padOffsets returns offs (reused when large enough) holding, for l =
// (ch·K + u)·K + v, the offset ch·PH + u·WP + v of kernel term (ch, u, v)
// in channels planes padded as by shiftPad: the offset tables of the direct
// input and weight gradients.
func padOffsets(offs []int64, channels, k, wp, ph int) []int64 {
	l := channels * k * k
	if cap(offs) < l {
		offs = make([]int64, l)
	}
	offs = offs[:l]
	for ch := range channels {
		for u := range k {
			for v := range k {
				offs[(ch*k+u)*k+v] = int64(ch*ph + u*wp + v)
			}
		}
	}
	return offs
}

// directGradChunk is the backward of chunk ci (whole samples) by the direct
// kernels: db and dW (in W's layout) are accumulated, dx is written. The
// chunk's samples are padded side by side, so one kernel call sums a block
// over all of them.
func (c *Conv2d) directGradChunk(ci int, sc *convScratch, dw, db []float32) {
	n0, ns, _, _ := c.chunk(ci)
	_, ph, n := c.shiftGeom()
	ohw := c.oh * c.ow
	sdy, sx := c.Cout*ph, c.Cin*ph
	// dypad is followed by the slack directBackward's last blocks read.
	sc.padBuf = convGrow(sc.padBuf, ns*sdy+c.bnpix)
	sc.xpadBuf = convGrow(sc.xpadBuf, ns*sx+directGradSlack)
	dypad, xpad := sc.padBuf, sc.xpadBuf
	for s := range ns {
		dyn := c.dy.Sample(n0 + s)
		for o := range c.Cout {
			db[o] += Sum(dyn[o*ohw : (o+1)*ohw])
		}
		c.shiftPad(dyn, c.Cout, dypad[s*sdy:])
		c.shiftPad(c.x.Sample(n0+s), c.Cin, xpad[s*sx:])
	}
	clear(xpad[ns*sx : ns*sx+directGradSlack])
	c.directGrad(dypad, xpad, ns, (n+7)/8, dw)
	for s := range ns {
		if c.bwino {
			c.winoBackward(c.dy.Sample(n0+s), sc, c.dxOut.Sample(n0+s))
			continue
		}
		c.directBackward(dypad[s*sdy:], sc, c.dxOut.Sample(n0+s))
	}
}

// directGrad adds into dw [Cout, Cin·K·K] the weight gradient of ns samples
// padded side by side in dypad and xpad, n8 vectors of 8 columns each.
func (c *Conv2d) directGrad(dypad, xpad []float32, ns, n8 int, dw []float32) {
	wp, ph, _ := c.shiftGeom()
	l := c.Cin * c.K * c.K
	sdy, sx := c.Cout*ph, c.Cin*ph
	dyw := dypad[c.Pad*wp+c.Pad:]
	_ = dw[c.Cout*l-1] // the kernels write dw[(ob+o)·l + lb+t] < Cout·l
	for ob := 0; ob < c.Cout; ob += 4 {
		dyo := dyw[ob*ph:]
		lb := 0
		for ; lb+3 <= l; lb += 3 {
			dwGrad4x3(&dyo[0], &xpad[0], &c.goffs[lb], ph, n8, ns, sdy, sx, &dw[ob*l+lb], l)
		}
		for ; lb < l; lb++ {
			dwGrad4x1(&dyo[0], &xpad[0], &c.goffs[lb], ph, n8, ns, sdy, sx, &dw[ob*l+lb], l)
		}
	}
}

// dwGradRef is the Go statement of dwGrad4x3 and dwGrad4x1 (lt = 3 or 1),
// for their tests: it adds into dw as they do.
func dwGradRef(dy, x []float32, offs []int64, ldo, n, ns, sdy, sx int, dw []float32, ldw, lt int) {
	for o := range 4 {
		for t := range lt {
			var acc float32
			for s := range ns {
				for i := range 8 * n {
					acc += dy[s*sdy+o*ldo+i] * x[s*sx+int(offs[t])+i]
				}
			}
			dw[o*ldw+t] += acc
		}
	}
}
