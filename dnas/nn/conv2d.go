package nn

// Conv2d is a 2-D convolution (cross-correlation, like PyTorch) with bias.
//
//	x [N, Cin, H, W] -> y [N, Cout, OH, OW],  OH = (H + 2·Pad - K)/Stride + 1 (OW alike)
//	W [Cout, Cin, K, K], b [Cout]
//	y[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v] · x[n, c, i·Stride - Pad + u, j·Stride - Pad + v]
//	             (x is 0 outside the image: zero padding)
//	MACs per sample: Cout · OH·OW · Cin·K·K (the bias is not counted, as in torch_unet.py)
//
// It is computed as matrix products (im2col). For one sample, the column
// matrix col [Cin·K·K, OH·OW] holds in column p the input patch that output
// pixel p sees, so
//
//	forward:  y_n = W·col_n + b            (W viewed as [Cout, Cin·K·K])
//	backward: dW += dy_n·col_nᵀ,  db += Σ_p dy_n[:, p],
//	          dcol = Wᵀ·dy_n,  dx_n = col2im(dcol)  (each patch entry added back
//	          to the input pixel it was copied from)
//
// A 1x1 convolution with stride 1 and no padding needs no im2col in forward:
// col_n is x_n. A same-size convolution (stride 1, padding (K-1)/2: every
// searchable conv) runs its backward on the column matrix of dy instead (see
// backwardChunkFlipped), which needs no im2col of x and no col2im; on a large
// image (one sample per chunk) it skips im2col altogether and sums K·K
// products that read the padded image in place (see shiftForward).
//
// Parallelism and memory. The batch is cut into chunks of a few samples
// (enough to give each product at least convChunkCols columns: one sample at
// 28x28, several at 7x7, where a single sample's product would be too thin
// for BLAS to run fast); the samples of one chunk are laid side by side in
// one column matrix [Cin·K·K, S·OH·OW], so one blas.Sgemm serves S samples.
// tensor.Workers goroutines take chunks from a shared counter (so a core
// slowed by other work takes fewer), each with its own scratch buffers, and
// BLAS runs single-threaded inside each (see package blas). Backward hands
// out fixed groups of consecutive chunks instead, each summing its weight
// gradient into its own buffer, and adds the group sums in group order: which
// worker took which chunks then cannot change a bit of the result, so a
// training run is the same run every time (see convGradGroups). Scratch buffers
// (column matrix, staging output) are borrowed from a package-wide free list
// for the duration of one Forward or Backward, so their memory is that of the
// largest layer times the number of workers, not of every layer, and a
// training step in steady state allocates nothing. Backward recomputes the
// column matrix instead of keeping it from Forward (it would be Cin·K·K times
// the size of the input).

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"dnas/dnas/blas"
	"dnas/dnas/tensor"
)

// convChunkCols is the number of output columns (samples x output pixels) a
// chunk aims for: below a few hundred columns OpenBLAS's kernels lose speed.
var convChunkCols = 512

// convGradGroups caps the number of chunk groups Backward sums weight
// gradients in: up to it every chunk is its own group. It is fixed, not the
// worker count, so the sum's order, and so its rounding, is the same on any
// number of cores and under any scheduling. Small groups keep two workers
// as evenly loaded as single chunks did (a worker that finishes early waits
// for at most one group); each group costs one gradient-sized addition.
const convGradGroups = 16

// convColBudget bounds the column matrix of a one-sample chunk (in float32
// values, 1 MiB): past it the sample is cut into bands of output rows.
var convColBudget = 1 << 18

// Conv2d holds the weights of a convolution and what its backward needs.
type Conv2d struct {
	Name                 string
	Cin, Cout, K         int
	Stride, Pad          int
	W                    *Param         // [Cout, Cin, K, K]
	B                    *Param         // [Cout]
	x, dy, add           *tensor.Tensor // add: the per-sample bias of ForwardAdd (nil for Forward)
	y, dx, dxOut         *tensor.Tensor // dxOut: where the running backward writes dx
	n, h, w, oh, ow      int            // geometry of the last Forward
	spc, chunks          int            // samples per chunk, number of chunks
	rowsPer, parts       int            // one-sample chunks: output rows per chunk, chunks per sample
	next                 atomic.Int64
	slots                []*convScratch
	groups               int          // Backward: chunk groups (see convGradGroups)
	gsc                  *convScratch // Backward: its dwBuf/dbBuf hold one gradient sum per group
	shift                bool         // this call runs the shifted-product path (see shiftForward)
	wflip                []float32    // flipWeights' kernel for the backward of a same-size conv
	wshift               []float32    // shiftWeights' kernel: per kernel offset, a [rows, cols] matrix
	dir                  bool         // this Forward runs the direct path (see directconv.go)
	dgeom                directGeom   // its geometry,
	doffs                []int64      // offset table
	dw8                  []float32    // and weights blocked by 8 output channels
	bdirect              bool         // this Backward computes dx by the direct kernel,
	boffs                []int64      // with these offsets into padded dy,
	bw8                  []float32    // these flipped weights blocked by 8 input channels,
	bzero                []float32    // a zero bias
	bnpix                int          // and this many output columns per channel
	gdirect              bool         // this Backward computes dW by the direct kernels (directgrad.go),
	goffs                []int64      // with these offsets into padded x
	wino                 bool         // this Forward runs the Winograd path (winograd.go),
	wf                   winoPlan     // with this plan
	bwino                bool         // this Backward computes dx by the Winograd path,
	wb                   winoPlan     // with this plan
	fwdWorker, bwdWorker func(lo, hi int)
}

// NewConv2d returns a k x k convolution from cin to cout channels with the
// given stride and zero padding, initialised like PyTorch's nn.Conv2d
// (weights and bias uniform in ±1/sqrt(cin·k·k)). Parameters are named
// name+".w" and name+".b". It fails for an even or non-positive kernel (the
// search space uses odd kernels so that padding k/2 keeps the image size),
// non-positive channel counts or stride, or negative padding.
func NewConv2d(name string, cin, cout, k, stride, pad int, rng *rand.Rand) (*Conv2d, error) {
	switch {
	case k <= 0 || k%2 == 0:
		return nil, fmt.Errorf("nn.NewConv2d %s: kernel size %d: want an odd positive size (1, 3, 5, ...)", name, k)
	case cin <= 0 || cout <= 0:
		return nil, fmt.Errorf("nn.NewConv2d %s: %d input and %d output channels: both must be positive", name, cin, cout)
	case stride <= 0:
		return nil, fmt.Errorf("nn.NewConv2d %s: stride %d: want 1 or more", name, stride)
	case pad < 0:
		return nil, fmt.Errorf("nn.NewConv2d %s: padding %d: want 0 or more", name, pad)
	}
	c := &Conv2d{Name: name, Cin: cin, Cout: cout, K: k, Stride: stride, Pad: pad,
		W: NewParam(name+".w", cout, cin, k, k), B: NewParam(name+".b", cout)}
	fanIn := cin * k * k
	UniformFanIn(c.W.Data, fanIn, rng)
	UniformFanIn(c.B.Data, fanIn, rng)
	c.fwdWorker, c.bwdWorker = c.forwardWorker, c.backwardWorker
	return c, nil
}

// Params returns W and B.
func (c *Conv2d) Params() []*Param { return []*Param{c.W, c.B} }

// OutShape returns the output shape for an input shape [N, Cin, H, W]; it
// panics with a *ShapeError when the input does not fit.
func (c *Conv2d) OutShape(in []int) []int {
	oh, ow := c.outSize(in, "Conv2d.OutShape")
	return []int{in[0], c.Cout, oh, ow}
}

func (c *Conv2d) outSize(in []int, op string) (oh, ow int) {
	if len(in) != 4 || in[1] != c.Cin || in[2]+2*c.Pad < c.K || in[3]+2*c.Pad < c.K {
		panic(&ShapeError{Layer: c.Name, Op: op, Got: append([]int(nil), in...),
			Want: fmt.Sprintf("[N, %d, H, W] with H, W >= %d (a %dx%d kernel, padding %d)", c.Cin, max(1, c.K-2*c.Pad), c.K, c.K, c.Pad)})
	}
	return (in[2]+2*c.Pad-c.K)/c.Stride + 1, (in[3]+2*c.Pad-c.K)/c.Stride + 1
}

// MACs is Cout·OH·OW·Cin·K·K for one sample of input shape in ([N, Cin, H, W]
// or [Cin, H, W]).
func (c *Conv2d) MACs(in []int) int64 {
	if len(in) == 3 {
		in = []int{1, in[0], in[1], in[2]}
	}
	oh, ow := c.outSize(in, "Conv2d.MACs")
	return int64(c.Cout) * int64(oh*ow) * int64(c.Cin*c.K*c.K)
}

// direct reports whether col_n is x_n itself (1x1, stride 1, no padding).
func (c *Conv2d) direct() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 }

// plan fixes the chunking of a batch of n samples and borrows one scratch per
// worker. Small images are grouped several samples to a chunk; a large one
// (one sample per chunk) may be cut into bands of output rows, so that its
// column matrix stays within convColBudget values and in the core's cache
// while BLAS reads it. splitRows allows the bands: backward of a strided
// conv must not use them (the bands' input gradients would overlap). A
// same-size conv with one sample per chunk takes the shifted-product path
// instead, whose buffers are only the padded image and output; forward takes
// it for small images too (one sample per chunk; see the measurements in the
// code).
func (c *Conv2d) plan(n int, forward, splitRows bool) {
	ohw := c.oh * c.ow
	c.spc = max(1, min(n, (convChunkCols+ohw-1)/ohw))
	c.rowsPer, c.parts = c.oh, 1
	// Measured per layer (batch 64, CPU time): the shifted forward beats
	// im2col at every UNet size (28x28 1.2-1.45x, 14x14 1.2x, 7x7 1.5x); the
	// shifted backward only at 28x28, where im2col gets one sample per chunk
	// (its small per-offset weight-gradient products lose at 7x7 and 14x14).
	c.shift = c.sameSize() && c.K > 1 && (forward || c.spc == 1)
	if c.shift {
		c.spc = 1
	}
	if c.spc == 1 && splitRows && !c.shift {
		kmax := max(c.Cin, c.Cout) * c.K * c.K
		c.rowsPer = max(1, min(c.oh, convColBudget/(kmax*c.ow)))
		c.parts = (c.oh + c.rowsPer - 1) / c.rowsPer
	}
	c.chunks = (n + c.spc - 1) / c.spc * c.parts
	c.borrowSlots()
}

// planDirect is plan for the direct path of Forward: one sample per chunk.
func (c *Conv2d) planDirect(n int) {
	c.spc, c.rowsPer, c.parts, c.shift = 1, c.oh, 1, false
	c.chunks = n
	c.borrowSlots()
}

// borrowSlots borrows one scratch per worker (no more than chunks) and
// resets the chunk counter.
func (c *Conv2d) borrowSlots() {
	workers := max(1, min(tensor.Workers, c.chunks))
	c.slots = c.slots[:0]
	for range workers {
		c.slots = append(c.slots, scratches.Get())
	}
	c.next.Store(0)
}

// chunk returns the samples [n0, n0+ns) and output rows [i0, i1) of chunk ci.
func (c *Conv2d) chunk(ci int) (n0, ns, i0, i1 int) {
	g, part := ci/c.parts, ci%c.parts
	n0 = g * c.spc
	ns = min(c.spc, c.n-n0)
	i0 = part * c.rowsPer
	return n0, ns, i0, min(c.oh, i0+c.rowsPer)
}

// run executes worker over the borrowed scratches and returns them.
func (c *Conv2d) run(worker func(lo, hi int)) {
	// A grain of 1<<20 per slot makes ParallelFor give every slot its own range.
	tensor.ParallelFor(len(c.slots), 1<<20, worker)
	c.release()
}

// release returns the borrowed scratches to the free list.
func (c *Conv2d) release() {
	for i, s := range c.slots {
		scratches.Put(s)
		c.slots[i] = nil
	}
	c.slots = c.slots[:0]
}

// Forward returns the convolution of x [N, Cin, H, W] in a buffer owned by c.
// It keeps a reference to x for Backward; do not modify x in between.
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor { return c.ForwardAdd(x, nil) }

// ForwardAdd is Forward plus a per-sample bias: y[n, o] = conv(x)[n, o] +
// add[n, o] at every pixel, for add [N, Cout] (nil: none). It is the
// ResBlock's time-embedding injection folded into the conv's own bias, at no
// extra pass over the output. The gradient of add is the sum of dy over the
// pixels, which the caller computes (Backward does not).
func (c *Conv2d) ForwardAdd(x, add *tensor.Tensor) *tensor.Tensor {
	c.oh, c.ow = c.outSize(x.Shape, "Conv2d.Forward")
	c.n, c.h, c.w = x.Shape[0], x.Shape[2], x.Shape[3]
	if add != nil && (len(add.Shape) != 2 || add.Shape[0] != c.n || add.Shape[1] != c.Cout) {
		panic(&ShapeError{Layer: c.Name, Op: "Conv2d.ForwardAdd", Got: append([]int(nil), add.Shape...), Want: fmt.Sprintf("[%d, %d] (batch, output channels)", c.n, c.Cout)})
	}
	c.x, c.add = x, add
	c.y = convEnsure(c.y, c.n, c.Cout, c.oh, c.ow)
	if c.n > 0 {
		c.dir = c.directOK()
		c.wino = c.dir && winoOK(c.K, c.Stride, c.Pad, c.Cin, c.Cout, c.h, c.w)
		switch {
		case c.wino:
			c.planDirect(c.n)
			c.wf.setup(c.Cin, c.Cout, c.h, c.w, c.W.Data, false)
		case c.dir:
			c.planDirect(c.n)
			c.directSetup()
		default:
			c.plan(c.n, true, true)
			if c.shift {
				c.shiftWeights(false)
			}
		}
		c.run(c.fwdWorker)
	}
	c.add = nil
	return c.y
}

// ShareOutput makes c write its Forward output into out, a tensor it may
// share with other convs that never need their outputs at the same time
// (the kernel choices of one searchable conv: only the active one runs).
// out is resized as needed and keeps its identity.
func (c *Conv2d) ShareOutput(out *tensor.Tensor) { c.y = out }

// bias is the bias of output channel o for sample n.
func (c *Conv2d) bias(n, o int) float32 {
	if c.add != nil {
		return c.B.Data[o] + c.add.Data[n*c.Cout+o]
	}
	return c.B.Data[o]
}

// forwardWorker runs chunks on the scratches slots[lo:hi] until none is left.
func (c *Conv2d) forwardWorker(lo, hi int) {
	for _, sc := range c.slots[lo:hi] {
		for {
			ci := int(c.next.Add(1)) - 1
			if ci >= c.chunks {
				break
			}
			switch {
			case c.wino:
				c.winoForward(ci, sc)
			case c.dir:
				c.directForward(ci, sc)
			case c.shift:
				c.shiftForward(ci, sc)
			default:
				c.forwardChunk(ci, sc)
			}
		}
	}
}

// forwardChunk computes the outputs of chunk ci: several whole samples, or
// output rows [i0, i1) of one sample.
func (c *Conv2d) forwardChunk(ci int, sc *convScratch) {
	n0, ns, i0, i1 := c.chunk(ci)
	ohw, kdim := c.oh*c.ow, c.Cin*c.K*c.K
	if ns == 1 {
		// Write straight into rows i0..i1 of y_n (a [Cout, cols] block of
		// row stride OH·OW): prefill the bias, then add W·col.
		cols, at := (i1-i0)*c.ow, i0*c.ow
		yn := c.y.Sample(n0)
		for o := range c.Cout {
			convFill(yn[o*ohw+at:o*ohw+at+cols], c.bias(n0, o))
		}
		col, ld := c.x.Sample(n0)[at:], ohw // 1x1: the input pixels are the columns
		if !c.direct() {
			col, ld = sc.col(kdim*cols), cols
			c.im2col(c.x.Sample(n0), c.Cin, col, cols, 0, i0, i1)
		}
		blas.Sgemm(false, false, c.Cout, cols, kdim, 1, c.W.Data, kdim, col, ld, 1, yn[at:], ohw)
		return
	}
	cols := ns * ohw
	col := sc.col(kdim * cols)
	for s := range ns {
		c.im2col(c.x.Sample(n0+s), c.Cin, col, cols, s*ohw, 0, c.oh)
	}
	out := sc.stage(c.Cout * cols)
	blas.Sgemm(false, false, c.Cout, cols, kdim, 1, c.W.Data, kdim, col, cols, 0, out, cols)
	for s := range ns {
		yn := c.y.Sample(n0 + s)
		for o := range c.Cout {
			src := out[o*cols+s*ohw : o*cols+(s+1)*ohw]
			dst := yn[o*ohw : (o+1)*ohw]
			b := c.bias(n0+s, o)
			for p, v := range src {
				dst[p] = v + b
			}
		}
	}
}

// Backward takes dy (the shape Forward returned), accumulates dW and db, and
// returns dx [N, Cin, H, W] in a buffer owned by c.
func (c *Conv2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	c.dx = c.BackwardTo(dy, c.dx)
	return c.dx
}

// BackwardTo is Backward writing dx into the caller's buffer dx (resized to
// [N, Cin, H, W], its storage reused when large enough; nil allocates) and
// returning it. Networks use it to share one scratch buffer between the
// short-lived input gradients of many layers.
func (c *Conv2d) BackwardTo(dy, dx *tensor.Tensor) *tensor.Tensor {
	if c.x == nil {
		panic("nn: Conv2d.Backward " + c.Name + " called before Forward")
	}
	if !tensor.SameShape(dy.Shape, c.y.Shape) {
		panic(&ShapeError{Layer: c.Name, Op: "Conv2d.Backward", Got: append([]int(nil), dy.Shape...),
			Want: fmt.Sprintf("%v (the shape Forward returned)", c.y.Shape)})
	}
	dx = convEnsure(dx, c.n, c.Cin, c.h, c.w)
	if c.n == 0 {
		return dx
	}
	c.dy, c.dxOut = dy, dx
	c.plan(c.n, false, c.sameSize())
	c.bdirect = c.directBackOK()
	c.gdirect = c.directGradOK()
	c.bwino = c.bdirect && winoOK(c.K, c.Stride, c.Pad, c.Cout, c.Cin, c.h, c.w)
	if c.bwino {
		c.wb.setup(c.Cout, c.Cin, c.h, c.w, c.W.Data, true)
	}
	switch {
	case c.bdirect:
		c.directBackSetup()
		if c.gdirect {
			c.directGradSetup()
		}
	case c.shift:
		c.shiftWeights(true)
	case c.sameSize():
		c.flipWeights()
	}
	nw, nb := c.Cout*c.Cin*c.K*c.K, c.Cout
	c.groups = min(c.chunks, convGradGroups)
	for len(c.slots) > c.groups {
		scratches.Put(c.slots[len(c.slots)-1])
		c.slots = c.slots[:len(c.slots)-1]
	}
	c.gsc = scratches.Get()
	c.gsc.dwBuf = convGrow(c.gsc.dwBuf, c.groups*nw)
	c.gsc.dbBuf = convGrow(c.gsc.dbBuf, c.groups*nb)
	tensor.ParallelFor(len(c.slots), 1<<20, c.bwdWorker)
	// Group 0 gathers the others' sums, in group order, before the one
	// addGrads (which may have to reorder the layout on the way).
	dw0, db0 := c.gsc.dwBuf[:nw], c.gsc.dbBuf[:nb]
	for g := 1; g < c.groups; g++ {
		addTo(dw0, c.gsc.dwBuf[g*nw:(g+1)*nw])
		addTo(db0, c.gsc.dbBuf[g*nb:(g+1)*nb])
	}
	c.addGrads(dw0, db0)
	scratches.Put(c.gsc)
	c.gsc = nil
	c.release()
	c.dy, c.dxOut = nil, nil
	return dx
}

// backwardWorker runs chunk groups on the scratches slots[lo:hi], summing
// each group's weight gradients in that group's buffer (BackwardTo adds the
// sums into W.Grad, in group order).
func (c *Conv2d) backwardWorker(lo, hi int) {
	nw, nb := c.Cout*c.Cin*c.K*c.K, c.Cout
	for _, sc := range c.slots[lo:hi] {
		for {
			g := int(c.next.Add(1)) - 1
			if g >= c.groups {
				break
			}
			dw, db := c.gsc.dwBuf[g*nw:(g+1)*nw], c.gsc.dbBuf[g*nb:(g+1)*nb]
			clear(dw)
			clear(db)
			for ci := g * c.chunks / c.groups; ci < (g+1)*c.chunks/c.groups; ci++ {
				switch {
				case c.gdirect:
					c.directGradChunk(ci, sc, dw, db)
				case c.shift:
					c.shiftBackward(ci, sc, dw, db)
				case c.sameSize():
					c.backwardChunkFlipped(ci, sc, dw, db)
				default:
					c.backwardChunk(ci, sc, dw, db)
				}
			}
		}
	}
}

// addGrads adds the weight and bias gradient sums of a backward (dw, db, in
// the layout of the path that ran) into W.Grad and B.Grad. BackwardTo calls
// it once, after the workers are done: a mutex shared by the workers would
// make them queue at the end of every backward (and a goroutine that blocks
// on a mutex takes a sudog from the runtime, an allocation after a garbage
// collection), and the order of their additions would vary from run to run.
func (c *Conv2d) addGrads(dw, db []float32) {
	switch {
	case c.gdirect:
		// The direct kernels sum in W's own layout.
		addTo(c.W.Grad, dw)
	case c.shift:
		// dw holds, per kernel offset r = u·K+v, a [Cout, Cin] block.
		kk, ck := c.K*c.K, c.Cout*c.Cin
		for co := range c.Cout {
			for ci := range c.Cin {
				g := c.W.Grad[(co*c.Cin+ci)*kk : (co*c.Cin+ci+1)*kk]
				for r := range g {
					g[r] += dw[r*ck+co*c.Cin+ci]
				}
			}
		}
	case c.sameSize():
		// dw holds the gradient of wflip: flip it back.
		k, kk, fk := c.K, c.K*c.K, c.Cout*c.K*c.K
		for co := range c.Cout {
			for ci := range c.Cin {
				g := c.W.Grad[(co*c.Cin+ci)*kk : (co*c.Cin+ci+1)*kk]
				src := dw[ci*fk+co*kk : ci*fk+(co+1)*kk]
				for u := range k {
					for v := range k {
						g[u*k+v] += src[(k-1-u)*k+(k-1-v)]
					}
				}
			}
		}
	default:
		for i, v := range dw {
			c.W.Grad[i] += v
		}
	}
	for i, v := range db {
		c.B.Grad[i] += v
	}
}

// backwardChunkFlipped is the backward of chunk ci for a same-size
// convolution (stride 1, 2·Pad = K-1). Its input gradient is the same-size
// convolution of dy with the flipped, transposed kernel wflip:
//
//	coldy = im2col(dy)  [Cout·K·K, cols]
//	dx    = wflip · coldy                 (straight into dx, no col2im)
//	dwflip += x · coldyᵀ                  (the gradient of wflip, flipped back
//	                                       into W.Grad by backwardWorker)
//
// so the one column matrix of dy serves both products and the input needs
// no im2col at all.
func (c *Conv2d) backwardChunkFlipped(ci int, sc *convScratch, dwf, db []float32) {
	n0, ns, i0, i1 := c.chunk(ci)
	ohw, fk := c.oh*c.ow, c.Cout*c.K*c.K
	if ns == 1 {
		// Rows i0..i1 of one sample: x, dy and dx are [C, cols] blocks of
		// row stride OH·OW (same-size: input and output pixels coincide).
		cols, at := (i1-i0)*c.ow, i0*c.ow
		col := sc.col(fk * cols)
		dyn := c.dy.Sample(n0)
		for o := range c.Cout {
			db[o] += Sum(dyn[o*ohw+at : o*ohw+at+cols])
		}
		c.im2col(dyn, c.Cout, col, cols, 0, i0, i1)
		blas.Sgemm(false, true, c.Cin, fk, cols, 1, c.x.Sample(n0)[at:], ohw, col, cols, 1, dwf, fk)
		if c.bdirect { // K > 1: plan gives whole samples (i0 = 0, i1 = OH)
			c.inputGrad(dyn, sc, c.dxOut.Sample(n0))
			return
		}
		blas.Sgemm(false, false, c.Cin, cols, fk, 1, c.wflip, fk, col, cols, 0, c.dxOut.Sample(n0)[at:], ohw)
		return
	}
	cols := ns * ohw
	col := sc.col(fk * cols)
	for s := range ns {
		dyn := c.dy.Sample(n0 + s)
		for o := range c.Cout {
			db[o] += Sum(dyn[o*ohw : (o+1)*ohw])
		}
		c.im2col(dyn, c.Cout, col, cols, s*ohw, 0, c.oh)
	}
	// x of the chunk's samples side by side [Cin, cols], then dx into the
	// same staging buffer once x has been used.
	xc := sc.stage(c.Cin * cols)
	for s := range ns {
		xn := c.x.Sample(n0 + s)
		for ch := range c.Cin {
			copy(xc[ch*cols+s*ohw:ch*cols+(s+1)*ohw], xn[ch*ohw:(ch+1)*ohw])
		}
	}
	blas.Sgemm(false, true, c.Cin, fk, cols, 1, xc, cols, col, cols, 1, dwf, fk)
	if c.bdirect {
		for s := range ns {
			c.inputGrad(c.dy.Sample(n0+s), sc, c.dxOut.Sample(n0+s))
		}
		return
	}
	blas.Sgemm(false, false, c.Cin, cols, fk, 1, c.wflip, fk, col, cols, 0, xc, cols)
	for s := range ns {
		dxn := c.dxOut.Sample(n0 + s)
		for ch := range c.Cin {
			copy(dxn[ch*ohw:(ch+1)*ohw], xc[ch*cols+s*ohw:ch*cols+(s+1)*ohw])
		}
	}
}

// backwardChunk adds the weight gradients of chunk ci into dw, db and writes
// the chunk's input gradients: the general case (strided convs), through
// im2col of x and col2im of Wᵀ·dy.
func (c *Conv2d) backwardChunk(ci int, sc *convScratch, dw, db []float32) {
	n0, ns, _, _ := c.chunk(ci) // whole samples: plan does not cut strided convs into bands
	ohw, kdim := c.oh*c.ow, c.Cin*c.K*c.K
	cols := ns * ohw
	// dyc [Cout, cols]: dy of the chunk's samples side by side.
	var dyc []float32
	if ns == 1 {
		dyc = c.dy.Sample(n0)
	} else {
		dyc = sc.stage(c.Cout * cols)
		for s := range ns {
			dyn := c.dy.Sample(n0 + s)
			for o := range c.Cout {
				copy(dyc[o*cols+s*ohw:o*cols+(s+1)*ohw], dyn[o*ohw:(o+1)*ohw])
			}
		}
	}
	for o := range c.Cout {
		db[o] += Sum(dyc[o*cols : (o+1)*cols])
	}
	col := sc.col(kdim * cols)
	for s := range ns {
		c.im2col(c.x.Sample(n0+s), c.Cin, col, cols, s*ohw, 0, c.oh)
	}
	blas.Sgemm(false, true, c.Cout, kdim, cols, 1, dyc, cols, col, cols, 1, dw, kdim)
	// dcol = Wᵀ·dyc, into the same buffer (col is no longer needed).
	blas.Sgemm(true, false, kdim, cols, c.Cout, 1, c.W.Data, kdim, dyc, cols, 0, col, cols)
	for s := range ns {
		dxn := c.dxOut.Sample(n0 + s)
		clear(dxn)
		c.col2im(col, cols, s*ohw, dxn)
	}
}

// flipWeights fills wflip [Cin, Cout·K·K] with the kernel transposed over
// channels and rotated by 180 degrees: wflip[ci, (co·K+u)·K+v] =
// W[co, ci, K-1-u, K-1-v], the weights of the convolution that maps dy to dx.
func (c *Conv2d) flipWeights() {
	k, kk := c.K, c.K*c.K
	c.wflip = convGrow(c.wflip, c.Cin*c.Cout*kk)
	for co := range c.Cout {
		for ci := range c.Cin {
			src := c.W.Data[(co*c.Cin+ci)*kk : (co*c.Cin+ci+1)*kk]
			dst := c.wflip[ci*c.Cout*kk+co*kk : ci*c.Cout*kk+(co+1)*kk]
			for u := range k {
				for v := range k {
					dst[u*k+v] = src[(k-1-u)*k+(k-1-v)]
				}
			}
		}
	}
}

// The shifted-product path. For a same-size convolution of a large image
// (one sample per chunk: 28x28 in the UNet) the column matrix is K·K copies
// of the image shifted by the kernel offsets, so the convolution is also a
// sum of K·K products, one per offset (u, v), each reading the image in
// place. With the image zero-padded by Pad on every side into rows of width
// WP = W + K - 1 (xpad [Cin, PH], PH = (H+K-1)·WP + K-1), output pixel (i, j)
// sits at column q = i·WP + j of a padded-width output ypw [Cout, H·WP], and
//
//	ypw[:, q] = Σ_{u,v} W_uv · xpad[:, q + u·WP + v]     (W_uv [Cout, Cin])
//
// where xpad[:, q+u·WP+v .. ] is a plain matrix view of xpad (row stride PH,
// offset u·WP+v): no im2col at all. The K-1 columns j >= W of each output row
// are garbage and dropped when ypw is copied into y. Compared with im2col the
// products read a Cin·PH image that stays in cache instead of a K·K times
// larger column matrix that does not (measured 1.2-1.45x faster forward at
// 28x28, and a 1x instead of K·K-fold copy). Backward works the same way on
// dy: dx is the same-size convolution of dy with the flipped kernel, and
//
//	dW_uv += dypw · xpad[:, u·WP+v ..]ᵀ   (dypw: dy at padded-width columns)
//
// where dypw is dypad itself seen at offset Pad·WP+Pad: its garbage columns
// fall on the zero border, so they add nothing.

// shiftGeom returns the padded row width WP, the padded channel size PH and
// the number of padded-width output columns H·WP.
func (c *Conv2d) shiftGeom() (wp, ph, n int) {
	wp = c.w + c.K - 1
	return wp, (c.h+c.K-1)*wp + c.K - 1, c.h * wp
}

// shiftWeights fills wshift with the kernel split by offset r = u·K+v: for
// forward, block r is W_uv [Cout, Cin] (wshift[(r·Cout+o)·Cin+ci] =
// W[o, ci, u, v]); for backward (flip), block r is the flipped, transposed
// kernel [Cin, Cout] that maps dy to dx: W[o, ci, K-1-u, K-1-v].
func (c *Conv2d) shiftWeights(flip bool) {
	kk, ck := c.K*c.K, c.Cout*c.Cin
	c.wshift = convGrow(c.wshift, kk*ck)
	for o := range c.Cout {
		for ci := range c.Cin {
			src := c.W.Data[(o*c.Cin+ci)*kk : (o*c.Cin+ci+1)*kk]
			if flip {
				for r, v := range src {
					c.wshift[(kk-1-r)*ck+ci*c.Cout+o] = v
				}
			} else {
				for r, v := range src {
					c.wshift[r*ck+o*c.Cin+ci] = v
				}
			}
		}
	}
}

// shiftPad writes the image img [channels, H, W] zero-padded by Pad into
// dst [channels, PH] (the layout of shiftForward).
func (c *Conv2d) shiftPad(img []float32, channels int, dst []float32) {
	wp, ph, _ := c.shiftGeom()
	h, w, p := c.h, c.w, c.Pad
	clear(dst[:channels*ph])
	for ch := range channels {
		d := dst[ch*ph+p*wp+p:]
		src := img[ch*h*w : (ch+1)*h*w]
		for i := range h {
			copy(d[i*wp:i*wp+w], src[i*w:(i+1)*w])
		}
	}
}

// shiftProducts computes out [rows, H·WP] = Σ_r wshift_r · pad[:, off_r ..]
// (wshift_r [rows, inner], pad [inner, PH]): the K·K products of the
// shifted-product path.
func (c *Conv2d) shiftProducts(rows, inner int, pad, out []float32) {
	wp, ph, n := c.shiftGeom()
	for u := range c.K {
		for v := range c.K {
			r := u*c.K + v
			beta := float32(1)
			if r == 0 {
				beta = 0
			}
			blas.Sgemm(false, false, rows, n, inner, 1, c.wshift[r*rows*inner:], inner, pad[u*wp+v:], ph, beta, out, n)
		}
	}
}

// shiftForward computes the output of chunk ci (one whole sample) by the
// shifted-product path.
func (c *Conv2d) shiftForward(ci int, sc *convScratch) {
	n0, _, _, _ := c.chunk(ci)
	wp, ph, n := c.shiftGeom()
	xpad := sc.col(c.Cin * ph)
	c.shiftPad(c.x.Sample(n0), c.Cin, xpad)
	ypw := sc.stage(c.Cout * n)
	c.shiftProducts(c.Cout, c.Cin, xpad, ypw)
	yn, h, w := c.y.Sample(n0), c.h, c.w
	for o := range c.Cout {
		b := c.bias(n0, o)
		for i := range h {
			src := ypw[o*n+i*wp : o*n+i*wp+w]
			dst := yn[(o*h+i)*w : (o*h+i+1)*w]
			for j, v := range src {
				dst[j] = v + b
			}
		}
	}
}

// shiftBackward is the backward of chunk ci (one whole sample) by the
// shifted-product path: db and dW (per offset, [K·K][Cout, Cin] in dw, put
// back in place by backwardWorker) are accumulated, dx is written.
func (c *Conv2d) shiftBackward(ci int, sc *convScratch, dw, db []float32) {
	n0, _, _, _ := c.chunk(ci)
	wp, ph, n := c.shiftGeom()
	ohw, p, ck := c.oh*c.ow, c.Pad, c.Cout*c.Cin
	dyn := c.dy.Sample(n0)
	for o := range c.Cout {
		db[o] += Sum(dyn[o*ohw : (o+1)*ohw])
	}
	buf := sc.col((c.Cout + c.Cin) * ph)
	dypad, xpad := buf[:c.Cout*ph], buf[c.Cout*ph:]
	c.shiftPad(dyn, c.Cout, dypad)
	c.shiftPad(c.x.Sample(n0), c.Cin, xpad)
	dypw := dypad[p*wp+p:]
	for u := range c.K {
		for v := range c.K {
			r := u*c.K + v
			blas.Sgemm(false, true, c.Cout, c.Cin, n, 1, dypw, ph, xpad[u*wp+v:], ph, 1, dw[r*ck:], c.Cin)
		}
	}
	switch {
	case c.bwino:
		c.winoBackward(dyn, sc, c.dxOut.Sample(n0))
		return
	case c.bdirect:
		// dypad is followed by xpad: the kernel's slack reads land there.
		c.directBackward(dypad, sc, c.dxOut.Sample(n0))
		return
	}
	dxpw := sc.stage(c.Cin * n)
	c.shiftProducts(c.Cin, c.Cout, dypad, dxpw)
	dxn, h, w := c.dxOut.Sample(n0), c.h, c.w
	for ch := range c.Cin {
		for i := range h {
			copy(dxn[(ch*h+i)*w:(ch*h+i+1)*w], dxpw[ch*n+i*wp:ch*n+i*wp+w])
		}
	}
}

// im2col writes the patches of output rows [i0, i1) of one sample xn
// [channels, H, W] into the columns off .. off+(i1-i0)·OW of col, a
// [channels·K·K, ld] matrix: row (ci·K + u)·K + v, column off + (i-i0)·OW + j
// holds xn[ci, i·Stride-Pad+u, j·Stride-Pad+v] (0 off the image). channels
// is Cin for the input; backward also takes the patches of dy (Cout
// channels).
func (c *Conv2d) im2col(xn []float32, channels int, col []float32, ld, off, i0, i1 int) {
	k, h, w, n := c.K, c.h, c.w, (i1-i0)*c.ow
	for ci := range channels {
		img := xn[ci*h*w : (ci+1)*h*w]
		for u := range k {
			for v := range k {
				r := (ci*k+u)*k + v
				dst := col[r*ld+off : r*ld+off+n]
				if c.sameSize() {
					c.shiftCopy(img, dst, u, v, i0, i1)
				} else {
					c.patchRows(img, dst, u, v, i0, i1)
				}
			}
		}
	}
}

// sameSize reports whether the output has the input's size at stride 1
// (2·Pad = K-1, the UNet's convs): then a row of the column matrix is the
// image shifted by (u-Pad, v-Pad), which shiftCopy exploits.
func (c *Conv2d) sameSize() bool { return c.Stride == 1 && 2*c.Pad == c.K-1 }

// validCols returns the output columns [jlo, jhi) whose input column
// j·Stride - Pad + v lies on the image.
func (c *Conv2d) validCols(v int) (jlo, jhi int) {
	s, p := c.Stride, c.Pad
	jlo = min(c.ow, max(0, (p-v+s-1)/s))
	jhi = max(jlo, min(c.ow, floorDiv(c.w-1+p-v, s)+1))
	return jlo, jhi
}

// validRows returns the output rows [ilo, ihi) whose input row
// i·Stride - Pad + u lies on the image.
func (c *Conv2d) validRows(u int) (ilo, ihi int) {
	s, p := c.Stride, c.Pad
	ilo = min(c.oh, max(0, (p-u+s-1)/s))
	ihi = max(ilo, min(c.oh, floorDiv(c.h-1+p-u, s)+1))
	return ilo, ihi
}

// shiftCopy fills one row of the column matrix (kernel offset u, v; output
// rows [i0, i1)) for a same-size convolution with one long copy of the
// shifted image, then zeroes the entries that fall off the image (the
// wrapped-around border columns and the rows above or below it).
func (c *Conv2d) shiftCopy(img, dst []float32, u, v, i0, i1 int) {
	w, p := c.w, c.Pad
	shift := (u-p)*w + (v - p)
	ilo, ihi := c.validRows(u)
	ilo, ihi = max(ilo, i0), min(ihi, i1)
	base := i0 * w // dst[q-base] is output pixel q
	qlo, qhi := max(ilo*w, -shift), min(ihi*w, len(img)-shift)
	if qhi <= qlo {
		clear(dst)
		return
	}
	clear(dst[:qlo-base])
	copy(dst[qlo-base:qhi-base], img[qlo+shift:qhi+shift])
	clear(dst[qhi-base:])
	jlo, jhi := c.validCols(v)
	if jlo == 0 && jhi == w {
		return
	}
	zeroBorderCols(dst, w, ilo-i0, ihi-i0, jlo, jhi)
}

// zeroBorderCols zeroes, in rows [ilo, ihi) of the w-wide matrix m, the
// columns left of jlo and from jhi on: a few entries per row, zeroed column
// by column with a strided loop (cheaper than slicing every row).
func zeroBorderCols(m []float32, w, ilo, ihi, jlo, jhi int) {
	end := ihi * w
	for j := 0; j < jlo; j++ {
		for q := ilo*w + j; q < end; q += w {
			m[q] = 0
		}
	}
	for j := jhi; j < w; j++ {
		for q := ilo*w + j; q < end; q += w {
			m[q] = 0
		}
	}
}

// patchRows fills one row of the column matrix (kernel offset u, v; output
// rows [i0, i1)) output row by output row: the general case (strides, other
// paddings).
func (c *Conv2d) patchRows(img, dst []float32, u, v, i0, i1 int) {
	s, p, w, ow := c.Stride, c.Pad, c.w, c.ow
	ilo, ihi := c.validRows(u)
	jlo, jhi := c.validCols(v)
	for i := i0; i < i1; i++ {
		row := dst[(i-i0)*ow : (i-i0+1)*ow]
		if i < ilo || i >= ihi {
			clear(row)
			continue
		}
		src := img[(i*s-p+u)*w : (i*s-p+u+1)*w]
		clear(row[:jlo])
		if s == 1 {
			copy(row[jlo:jhi], src[jlo-p+v:jhi-p+v])
		} else {
			for j := jlo; j < jhi; j++ {
				row[j] = src[j*s-p+v]
			}
		}
		clear(row[jhi:])
	}
}

// col2im adds the columns off .. off+OH·OW of dcol (a [Cin·K·K, ld] matrix,
// laid out as in im2col) back onto the input pixels they were copied from,
// into dxn [Cin, H, W]: the backward of im2col, used by strided convs.
func (c *Conv2d) col2im(dcol []float32, ld, off int, dxn []float32) {
	k, s, p, h, w, ow, ohw := c.K, c.Stride, c.Pad, c.h, c.w, c.ow, c.oh*c.ow
	for ci := range c.Cin {
		img := dxn[ci*h*w : (ci+1)*h*w]
		for u := range k {
			ilo, ihi := c.validRows(u)
			for v := range k {
				r := (ci*k+u)*k + v
				src := dcol[r*ld+off : r*ld+off+ohw]
				jlo, jhi := c.validCols(v)
				for i := ilo; i < ihi; i++ {
					row := src[i*ow : (i+1)*ow]
					dst := img[(i*s-p+u)*w : (i*s-p+u+1)*w]
					if s == 1 {
						d := dst[jlo-p+v : jhi-p+v]
						for j, g := range row[jlo:jhi] {
							d[j] += g
						}
					} else {
						for j := jlo; j < jhi; j++ {
							dst[j*s-p+v] += row[j]
						}
					}
				}
			}
		}
	}
}

// convScratch is one worker's scratch memory, borrowed for one call.
type convScratch struct {
	colBuf, stageBuf, dwBuf, dbBuf []float32
	padBuf, outBuf                 []float32 // the direct input gradient's padded dy and output
	xpadBuf                        []float32 // the direct weight gradient's padded x
	wino                           winoScratch
}

func (s *convScratch) col(n int) []float32   { s.colBuf = convGrow(s.colBuf, n); return s.colBuf }
func (s *convScratch) stage(n int) []float32 { s.stageBuf = convGrow(s.stageBuf, n); return s.stageBuf }

// The free list of scratches shared by every Conv2d. Unlike a sync.Pool it
// never drops its buffers at a garbage collection, so steady-state steps do
// not reallocate them.
var scratches tensor.FreeList[convScratch]

// convEnsure is tensor.Ensure for a 4-D shape, without a call (and so
// without the heap-allocated variadic shape) when buf already has it.
func convEnsure(buf *tensor.Tensor, n, c, h, w int) *tensor.Tensor {
	if buf != nil && len(buf.Shape) == 4 && buf.Shape[0] == n && buf.Shape[1] == c && buf.Shape[2] == h && buf.Shape[3] == w {
		return buf
	}
	if buf != nil && len(buf.Shape) == 4 && cap(buf.Data) >= n*c*h*w {
		buf.Shape[0], buf.Shape[1], buf.Shape[2], buf.Shape[3] = n, c, h, w
		buf.Data = buf.Data[:n*c*h*w]
		return buf
	}
	return tensor.Ensure(buf, n, c, h, w)
}

// convGrow returns buf with length n, reallocating only when it must grow.
func convGrow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// convFill sets every element of s to v, by doubling copies (memmove is
// vectorised; a plain store loop is not).
func convFill(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}

// floorDiv is a/b rounded down (b > 0); Go's / rounds towards zero.
func floorDiv(a, b int) int {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}
