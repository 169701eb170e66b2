package nn

// Winograd's minimal filtering F(2x2, 3x3) for the 3x3 same-size
// convolutions (stride 1, padding 1) of the UNet, forward and input gradient
// (the input gradient of such a conv is the same kind of conv of dy with the
// flipped, transposed kernel). Each 2x2 block of outputs, a "tile", is
//
//	Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// with d_c the 4x4 patch of input channel c under the tile, g_c the 3x3
// kernel from channel c, and ⊙ elementwise: the sum over input channels is
// 16 independent matrix products (one per position e of the 4x4 transform
// domain) of the transformed weights U_e [Cout, Cin] by the transformed
// inputs V_e [Cin, tiles]: 16 multiply-adds per tile per channel pair instead
// of the direct path's 36. The three steps all run on the direct path's AVX2
// micro-kernel (directConv4x24: 4 outputs by 24 pixels, each a sum of terms
// w·x[offset+p]), so this file holds no assembly of its own:
//
//   - input transform: the padded input is split into its four (row, column)
//     parity planes, so that input (2·ti + r, 2·tj + s) of tile (ti, tj) is
//     plane (r%2, s%2) at index (ti + r/2)·WS + tj + s/2 = p + const, with
//     p = ti·WS + tj the tile's column (WS = tiles per row + 1). Each entry
//     of Bᵀ d B is a ±1 sum of 4 of the 16 inputs; the 16 entries are
//     computed in 4 groups of 4 that share their inputs (36 terms in all,
//     not 256);
//   - the 16 products, 24 tiles at a time, with weights laid out as the
//     direct path's (8 output channels per row of the table);
//   - output transform: the 4 outputs of a tile from the 16 products, plus
//     the bias, into four output parity planes, then copied into y.
//
// The transforms are exact in binary (±1 sums and, for the weights, halves
// and quarters), but the sums run in another order than the direct path's,
// so results differ from it in the last bits (tests allow 1e-4 relative).
// Measured per layer and for the whole training step in the commit that
// added it (see winoOK).

// useWinograd enables the Winograd path where it applies; tests switch it
// off to compare with the direct path.
var useWinograd = true

// winoPix is the number of tiles per kernel call (directConv4x24's width).
const winoPix = 24

// winoOK reports whether a conv may take the Winograd path: 3x3, stride 1,
// padding 1, at least 8 input channels inCh (with fewer, the transforms cost
// about as much as the direct sums they save: the stem has 1), outCh output
// channels in blocks of 8, an image of at least winoMinPixels, on an AVX2
// CPU without AVX-512 (where the direct path's 8x48 kernel, twice as wide,
// was not measured against it).
func winoOK(k, stride, pad, inCh, outCh, h, w int) bool {
	return useWinograd && useAVX2 && !useAVX512 && k == 3 && stride == 1 && pad == 1 &&
		inCh >= directBlockChans && outCh%directBlockChans == 0 && h*w >= winoMinPixels
}

// winoMinPixels is the smallest image the Winograd path takes. Measured per
// layer (BenchmarkConv2d3x3: 3x3, batch 64, CPU time, two runs each, Zen 3),
// Winograd against direct: 28x28 32->32 forward 11.3-12.8 against 17.6-18.1
// ms, 14x14 64->64 forward 12.1-12.8 against 20.2-20.4 ms, backward (with
// the weight gradient, which does not change) 29.8-30.7 against 37.3 ms;
// 7x7 64->64 no faster (forward 5.7-5.9 against 5.5-6.2 ms): its 4x4 tiles
// fill 16 of every 24 columns the kernels compute.
var winoMinPixels = 14 * 14

// The transform matrices of F(2x2, 3x3).
var (
	winoBT = [4][4]float32{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoG  = [4][3]float32{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	winoAT = [2][4]float32{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// winoA8[e·8 + a·2+b] is Aᵀ[a][e/4]·Aᵀ[b][e%4]: output (a, b) of a tile
// from transform position e = i·4+j (the kernel's weight layout).
var (
	winoA8   [16 * directBlockChans]float32
	winoZero [4]float32
)

func init() {
	for e := range 16 {
		for a := range 2 {
			for b := range 2 {
				winoA8[e*directBlockChans+a*2+b] = winoAT[a][e/4] * winoAT[b][e%4]
			}
		}
	}
}

// winoPlan is the geometry, offset tables and transformed weights of one
// Winograd convolution (a conv's forward, or its input gradient).
type winoPlan struct {
	in, out int       // channels
	h, w    int       // image size (input and output)
	th, tw  int       // tiles per column and per row
	ws      int       // parity-plane row width (tw + 1)
	plane   int       // parity-plane size ((th + 1)·WS)
	npix    int       // tile columns computed: th·WS rounded up to winoPix
	inLen   int       // parity planes of all input channels, plus the slack the last block reads
	coffs   []int64   // products: offset c·winoPix of input channel c in a block of V
	eoffs   []int64   // output transform: offset e·out·winoPix of position e in a block of M
	u8      []float32 // transformed weights: u8[((e·out/8 + o/8)·in + c)·8 + o%8] = U_e[o, c]
}

// setup fills p for in -> out channels on h x w images. The kernel is
// wt [out, in, 3, 3], or with flip, wt [in, out, 3, 3] transposed and rotated
// by 180 degrees (the input gradient's kernel of a conv whose weights are wt).
func (p *winoPlan) setup(in, out, h, w int, wt []float32, flip bool) {
	weight := func(o, c, u, v int) float32 {
		if flip {
			return wt[((c*out+o)*3+2-u)*3+2-v]
		}
		return wt[((o*in+c)*3+u)*3+v]
	}
	p.in, p.out, p.h, p.w = in, out, h, w
	p.th, p.tw = (h+1)/2, (w+1)/2
	p.ws = p.tw + 1
	p.plane = (p.th + 1) * p.ws
	p.npix = (p.th*p.ws + winoPix - 1) / winoPix * winoPix
	p.inLen = in*4*p.plane + p.npix + p.ws + 2
	p.coffs = p.coffs[:0]
	for c := range in {
		p.coffs = append(p.coffs, int64(c*winoPix))
	}
	p.eoffs = p.eoffs[:0]
	for e := range 16 {
		p.eoffs = append(p.eoffs, int64(e*out*winoPix))
	}
	p.u8 = convGrow(p.u8, 16*out*in)
	ob := out / directBlockChans
	for o := range out {
		for c := range in {
			// t = G·g (4x3), then U = t·Gᵀ (4x4).
			var t [4][3]float32
			for i := range 4 {
				for v := range 3 {
					var acc float32
					for u := range 3 {
						if gw := winoG[i][u]; gw != 0 {
							acc += gw * weight(o, c, u, v)
						}
					}
					t[i][v] = acc
				}
			}
			for e := range 16 {
				var acc float32
				for v := range 3 {
					acc += t[e/4][v] * winoG[e%4][v]
				}
				p.u8[((e*ob+o/directBlockChans)*in+c)*directBlockChans+o%directBlockChans] = acc
			}
		}
	}
}

// winoScratch holds one worker's Winograd buffers.
type winoScratch struct {
	planes, v, m, y, bias []float32
	pairs                 []float32 // one image row split into its even and odd columns
	b                     []float32 // the forward's per-sample bias
}

// run computes one sample: y [out, H, W] = conv(x [in, H, W]) + bias[o]
// (bias nil: none).
func (p *winoPlan) run(x, bias, y []float32, sc *winoScratch) {
	h, w, ws, plane, npix := p.h, p.w, p.ws, p.plane, p.npix
	nb := (w + 15) / 16 // winoDeint and winoInt blocks per image row
	// The parity planes of the padded input (padded pixel (R, S) = x[R-1,
	// S-1] in plane (R%2, S%2) at (R/2)·WS + S/2), zero elsewhere. A row's
	// even columns go to plane (R%2, 1) from column 0, its odd ones to plane
	// (R%2, 0) from column 1 (column 0 is the left padding).
	sc.planes = convGrow(sc.planes, p.inLen)
	sc.pairs = convGrow(sc.pairs, 16*nb)
	planes, ev, od := sc.planes, sc.pairs[:8*nb], sc.pairs[8*nb:]
	clear(planes)
	for c := range p.in {
		for i := range h {
			at := (c*h + i) * w
			base := c*4*plane + ((i+1)%2*2)*plane + (i+1)/2*ws
			if at+16*nb <= len(x) {
				winoDeint(&ev[0], &od[0], &x[at], nb)
			} else {
				for j := range w {
					if j%2 == 0 {
						ev[j/2] = x[at+j]
					} else {
						od[j/2] = x[at+j]
					}
				}
			}
			copy(planes[base+plane:base+plane+(w+1)/2], ev)
			copy(planes[base+1:base+1+w/2], od)
		}
	}
	in, out, ob := p.in, p.out, p.out/directBlockChans
	sc.v = convGrow(sc.v, 16*in*winoPix)
	sc.m = convGrow(sc.m, 16*out*winoPix)
	sc.y = convGrow(sc.y, out*4*npix+8*nb)
	sc.bias = convGrow(sc.bias, out*4)
	v, m, yp, b4 := sc.v, sc.m, sc.y, sc.bias
	for o := range out {
		var bo float32
		if bias != nil {
			bo = bias[o]
		}
		b4[o*4], b4[o*4+1], b4[o*4+2], b4[o*4+3] = bo, bo, bo, bo
	}
	for pb := 0; pb < npix; pb += winoPix {
		for c := range in {
			winoInput24(&planes[c*4*plane+pb], plane, ws, &v[c*winoPix], in*winoPix)
		}
		for e := range 16 {
			ve := v[e*in*winoPix:]
			for o := 0; o < out; o += 4 {
				directConv4x24(&ve[0], &p.coffs[0], &p.u8[(e*ob+o/directBlockChans)*in*directBlockChans+o%directBlockChans], in,
					&winoZero[0], &m[(e*out+o)*winoPix], winoPix)
			}
		}
		for o := range out {
			directConv4x24(&m[o*winoPix], &p.eoffs[0], &winoA8[0], 16, &b4[o*4], &yp[o*4*npix+pb], npix)
		}
	}
	// Output (2·ti + a, 2·tj + b) is plane a·2+b of its channel at ti·WS + tj.
	// winoInt writes 16·nb values from a row's start: past the row, it
	// writes into rows written after it, so only the image's last rows
	// (where it would pass the end of y) take the loop.
	for o := range out {
		for i := range h {
			at := (o*h + i) * w
			src0 := yp[(o*4+i%2*2)*npix+i/2*ws:]
			src1 := yp[(o*4+i%2*2+1)*npix+i/2*ws:]
			if at+16*nb <= len(y) {
				winoInt(&y[at], &src0[0], &src1[0], nb)
				continue
			}
			row := y[at : at+w]
			for j := range row {
				if j%2 == 0 {
					row[j] = src0[j/2]
				} else {
					row[j] = src1[j/2]
				}
			}
		}
	}
}

// winoForward computes chunk ci (one sample) of Forward by the Winograd
// path.
func (c *Conv2d) winoForward(ci int, sc *convScratch) {
	n0, _, _, _ := c.chunk(ci)
	sc.wino.b = convGrow(sc.wino.b, c.Cout)
	for o := range c.Cout {
		sc.wino.b[o] = c.bias(n0, o)
	}
	c.wf.run(c.x.Sample(n0), sc.wino.b, c.y.Sample(n0), &sc.wino)
}

// winoBackward writes dxn [Cin, H, W], the input gradient of one sample,
// from its dyn [Cout, H, W] by the Winograd path.
func (c *Conv2d) winoBackward(dyn []float32, sc *convScratch, dxn []float32) {
	c.wb.run(dyn, nil, dxn, &sc.wino)
}
