package nn

// The direct convolution: the forward of a Conv2d computed by a register-
// blocked micro-kernel (directconv_amd64.s, AVX-512 or AVX2) instead of BLAS
// products. The BLAS paths pay for their thin shapes (32 or 64 output
// channels): im2col copies K·K times the input and the shifted products
// (shiftForward) re-read and re-write the output K·K times. The micro-kernel
// keeps an 8-channel x 48-pixel block of outputs in registers while it sums
// all Cin·K·K terms, so the input is read from cache and the output written
// once.
//
// Layout. One sample's input is copied into a buffer of zero-padded planes
// so that every term of the sum is one contiguous run of pixels. With
// stride s the padded image (HP = H + 2·Pad rows of WP = W + 2·Pad) is split
// into s·s phase planes of HS = ⌈HP/s⌉ rows of WS = ⌈WP/s⌉ (phase (a, b)
// holds the padded pixels (s·r + a, s·c + b)); for s = 1 the single phase is
// the padded image itself. Output pixel (i, j) lives at flat column
// q = i·WS + j of a padded-width output, and its kernel term (ci, u, v)
// reads
//
//	x[ci, s·i + u - Pad, s·j + v - Pad] = planes[plane(ci, u%s, v%s) + (i + u/s)·WS + j + v/s]
//	                                    = planes[q + offs[(ci·K + u)·K + v]]
//
// with offs[l] = plane(ci, u%s, v%s) + (u/s)·WS + v/s: one table of Cin·K·K
// offsets serves every output pixel. The columns j >= OW of each output row
// (and the tail of the last 48-pixel block) are garbage and are dropped when
// the block is copied into y. The weights are laid out per block of 8 output
// channels as w8[(cb·L + l)·8 + o] = W[cb·8 + o, l] (L = Cin·K·K), so the
// kernel reads them in order.

// directBlockPixels and directBlockChans are the micro-kernel's block.
const (
	directBlockPixels = 48
	directBlockChans  = 8
)

// useDirectConv enables the direct path where it applies; tests and
// benchmarks switch it off to compare with the BLAS paths.
var useDirectConv = true

// directGeom is the geometry of the direct path for the current input.
type directGeom struct {
	ws, hs, plane int // phase-plane row width, rows and size
	npix          int // output columns per channel: OH·WS rounded up to the block
	inLen         int // input buffer length (planes plus slack for the last block)
}

// directKernel reports whether a micro-kernel can run on this CPU: AVX-512,
// or AVX2 with FMA.
func directKernel() bool { return useAVX512 || useAVX2 }

// directPixels rounds a row of n output columns up to what the kernel
// computes: whole blocks of 48 pixels for the AVX-512 kernel, half blocks
// (24) for the AVX2 one, whose calls are 24 pixels wide (at 7x7 a padded
// row of 63 columns is then 72, not 96: a quarter less work).
func directPixels(n int) int {
	g := directBlockPixels
	if !useAVX512 {
		g = directBlockPixels / 2
	}
	return (n + g - 1) / g * g
}

// directBlock computes one block of 8 channels by 48 pixels, or by the 24
// of a last half block (pixels, which only the AVX2 kernel is asked for):
// for o < 8 and p < pixels, y[o·ldy + p] = bias[o] + Σ_{l<n} w[l·8+o] ·
// x[offs[l]+p], by the AVX-512 kernel or by calls of the AVX2 one. Either
// way every output sums its n terms in order with one FMA each, so the bits
// are the same.
func directBlock(x []float32, offs []int64, w []float32, n int, bias, y []float32, ldy, pixels int) {
	if useAVX512 {
		directConv8x48(&x[0], &offs[0], &w[0], n, &bias[0], &y[0], ldy)
		return
	}
	const hc, hp = directBlockChans / 2, directBlockPixels / 2
	for o := 0; o < directBlockChans; o += hc {
		for p := 0; p < pixels; p += hp {
			directConv4x24(&x[p], &offs[0], &w[o], n, &bias[o], &y[o*ldy+p], ldy)
		}
	}
}

// directOK reports whether Forward may take the direct path: a micro-kernel
// for this CPU, output channels a multiple of its block and a stride of 1
// or 2.
func (c *Conv2d) directOK() bool {
	return useDirectConv && directKernel() && c.Cout%directBlockChans == 0 && c.Stride <= 2
}

// directSetup computes the geometry and fills the offset and weight tables
// for the current input size and weights.
func (c *Conv2d) directSetup() {
	s, k := c.Stride, c.K
	hp, wp := c.h+2*c.Pad, c.w+2*c.Pad
	g := &c.dgeom
	g.hs, g.ws = (hp+s-1)/s, (wp+s-1)/s
	g.plane = g.hs * g.ws
	g.npix = directPixels(c.oh * g.ws)
	g.inLen = c.Cin*s*s*g.plane + g.npix + k*g.ws + k
	l := c.Cin * k * k
	if cap(c.doffs) < l {
		c.doffs = make([]int64, l)
	}
	c.doffs = c.doffs[:l]
	for ci := range c.Cin {
		for u := range k {
			for v := range k {
				plane := ((ci*s+u%s)*s + v%s) * g.plane
				c.doffs[(ci*k+u)*k+v] = int64(plane + (u/s)*g.ws + v/s)
			}
		}
	}
	c.dw8 = convGrow(c.dw8, c.Cout*l)
	for cb := range c.Cout / directBlockChans {
		for o := range directBlockChans {
			src := c.W.Data[(cb*directBlockChans+o)*l : (cb*directBlockChans+o+1)*l]
			dst := c.dw8[cb*directBlockChans*l+o:]
			for i, v := range src {
				dst[i*directBlockChans] = v
			}
		}
	}
}

// directPlanes writes sample xn [Cin, H, W] into buf in the phase-plane
// layout (zero padding included).
func (c *Conv2d) directPlanes(xn, buf []float32) {
	g, s, p, h, w := &c.dgeom, c.Stride, c.Pad, c.h, c.w
	clear(buf[:g.inLen])
	if s == 1 {
		for ci := range c.Cin {
			img := xn[ci*h*w : (ci+1)*h*w]
			d := buf[ci*g.plane+p*g.ws+p:]
			for i := range h {
				copy(d[i*g.ws:i*g.ws+w], img[i*w:(i+1)*w])
			}
		}
		return
	}
	// Phase b of a row takes the input columns j0[b], j0[b]+s, ... (the
	// padded columns j+Pad ≡ b mod s), n[b] of them, from plane column
	// col0[b] on. Integer division by a variable s is slow: it is done here
	// once, not per row.
	var j0, n, col0 [2]int
	for b := range s {
		j0[b] = ((b-p)%s + s) % s
		n[b] = max(0, (w-j0[b]+s-1)/s)
		col0[b] = (j0[b] + p) / s
	}
	for ci := range c.Cin {
		img := xn[ci*h*w : (ci+1)*h*w]
		for i := range h {
			rp := i + p
			row := img[i*w : (i+1)*w]
			base := (ci*s+rp%s)*s*g.plane + (rp/s)*g.ws
			for b := range s {
				d := buf[base+b*g.plane+col0[b]:]
				d = d[:n[b]]
				if len(d) == 0 {
					continue
				}
				src := row[j0[b] : j0[b]+(len(d)-1)*s+1]
				if s == 2 {
					for t := range d {
						d[t] = src[2*t]
					}
					continue
				}
				for t := range d {
					d[t] = src[t*s]
				}
			}
		}
	}
}

// directForward computes chunk ci (one sample) of Forward by the direct
// path.
func (c *Conv2d) directForward(ci int, sc *convScratch) {
	n0, _, _, _ := c.chunk(ci)
	g := &c.dgeom
	buf := sc.col(g.inLen)
	c.directPlanes(c.x.Sample(n0), buf)
	ypw := sc.stage(c.Cout*g.npix + c.Cout)
	bias := ypw[c.Cout*g.npix:]
	for o := range c.Cout {
		bias[o] = c.bias(n0, o)
	}
	l := c.Cin * c.K * c.K
	// Pixel blocks outside: the input pixels a block reads (Cin·K rows of
	// about 48 + (K-1)·WS values) stay in the L1 cache while every block of
	// output channels uses them; the weights stream in order.
	for pb := 0; pb < g.npix; pb += directBlockPixels {
		px := min(directBlockPixels, g.npix-pb)
		for cb := range c.Cout / directBlockChans {
			directBlock(buf[pb:], c.doffs, c.dw8[cb*directBlockChans*l:], l, bias[cb*directBlockChans:],
				ypw[cb*directBlockChans*g.npix+pb:], g.npix, px)
		}
	}
	yn, ohw := c.y.Sample(n0), c.oh*c.ow
	for o := range c.Cout {
		for i := range c.oh {
			copy(yn[o*ohw+i*c.ow:o*ohw+(i+1)*c.ow], ypw[o*g.npix+i*g.ws:])
		}
	}
}

// directConvRef is the Go statement of directConv8x48 (for its tests).
func directConvRef(x []float32, offs []int64, w []float32, bias, y []float32, ldy int) {
	for o := range directBlockChans {
		for p := range directBlockPixels {
			acc := bias[o]
			for l, off := range offs {
				acc += w[l*directBlockChans+o] * x[int(off)+p]
			}
			y[o*ldy+p] = acc
		}
	}
}

// The input gradient of a same-size convolution (stride 1, 2·Pad = K-1) is
// itself a same-size convolution: of dy with the kernel transposed over
// channels and rotated by 180 degrees. Backward computes it with the same
// micro-kernel, reading dy padded by shiftPad ([Cout, PH] planes of rows of
// WP, see shiftGeom), when Cin is a multiple of the kernel's block.

// directBackOK reports whether Backward computes dx by the direct kernel.
func (c *Conv2d) directBackOK() bool {
	return useDirectConv && directKernel() && c.Cin%directBlockChans == 0 && c.K > 1 && c.sameSize()
}

// directBackSetup fills the offset and weight tables of the input-gradient
// convolution: boffs[(co·K+u)·K+v] = co·PH + u·WP + v and, per block of 8
// input channels, bw8[(cb·L + l)·8 + o] = W[co, cb·8+o, K-1-u, K-1-v]
// (L = Cout·K·K).
func (c *Conv2d) directBackSetup() {
	wp, ph, n := c.shiftGeom()
	k, kk := c.K, c.K*c.K
	l := c.Cout * kk
	c.bnpix = directPixels(n)
	c.boffs = padOffsets(c.boffs, c.Cout, k, wp, ph)
	c.bw8 = convGrow(c.bw8, c.Cin*l)
	for co := range c.Cout {
		for ci := range c.Cin {
			src := c.W.Data[(co*c.Cin+ci)*kk : (co*c.Cin+ci+1)*kk]
			cb, o := ci/directBlockChans, ci%directBlockChans
			dst := c.bw8[(cb*l+co*kk)*directBlockChans+o:]
			for r, v := range src {
				dst[(kk-1-r)*directBlockChans] = v
			}
		}
	}
	if len(c.bzero) < c.Cin {
		c.bzero = make([]float32, c.Cin)
	}
}

// inputGrad writes dxn, the input gradient of one sample, from its dyn by
// the Winograd path or the direct kernel (Backward with bdirect).
func (c *Conv2d) inputGrad(dyn []float32, sc *convScratch, dxn []float32) {
	if c.bwino {
		c.winoBackward(dyn, sc, dxn)
		return
	}
	pad := c.directBackPad(sc)
	c.shiftPad(dyn, c.Cout, pad)
	c.directBackward(pad, sc, dxn)
}

// directBackPad returns a buffer for one sample's padded dy: Cout planes of
// PH values and a block of slack the kernel's last block may read.
func (c *Conv2d) directBackPad(sc *convScratch) []float32 {
	_, ph, _ := c.shiftGeom()
	sc.padBuf = convGrow(sc.padBuf, c.Cout*ph+c.bnpix)
	return sc.padBuf
}

// directBackward writes dxn [Cin, H, W], the input gradient of one sample,
// from its padded dy (dypad, followed by at least a block of readable
// slack), using sc's output buffer.
func (c *Conv2d) directBackward(dypad []float32, sc *convScratch, dxn []float32) {
	wp, _, _ := c.shiftGeom()
	l, npix := c.Cout*c.K*c.K, c.bnpix
	sc.outBuf = convGrow(sc.outBuf, c.Cin*npix)
	out := sc.outBuf
	for pb := 0; pb < npix; pb += directBlockPixels { // as in directForward
		px := min(directBlockPixels, npix-pb)
		for cb := range c.Cin / directBlockChans {
			directBlock(dypad[pb:], c.boffs, c.bw8[cb*directBlockChans*l:], l, c.bzero[cb*directBlockChans:],
				out[cb*directBlockChans*npix+pb:], npix, px)
		}
	}
	h, wd := c.h, c.w
	for ch := range c.Cin {
		for i := range h {
			copy(dxn[(ch*h+i)*wd:(ch*h+i+1)*wd], out[ch*npix+i*wp:])
		}
	}
}
