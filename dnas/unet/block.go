package unet

import (
	"fmt"
	"slices"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// BlockKind says where a block sits in the UNet.
type BlockKind string

// The four kinds of block.
const (
	Encoder BlockKind = "encoder"
	Middle  BlockKind = "middle"
	Decoder BlockKind = "decoder"
	Head    BlockKind = "head"
)

// Block is one unit of block-wise search (METHOD.md "Blocks"): one per
// resolution level on each side, the middle and the head. In the order
// UNet.Blocks returns them (the order they run):
//
//	encN  (N = 0 .. L-1): level N of the encoder: for enc0 the stem conv, for
//	      the others the strided downsample from level N-1; then the level's
//	      ResBlocks (and attention). Produces NumResBlocks+1 skip tensors:
//	      the stem's or downsample's output and every ResBlock's (or its
//	      attention's) output; the last one is also the block's output.
//	mid   ResBlock, attention, ResBlock.
//	decN  (N = L-1 .. 0, deepest first): level N of the decoder: for N < L-1
//	      the upsample (nearest 2x + conv) from level N+1; then NumResBlocks+1
//	      ResBlocks (and attention), ResBlock j consuming encN's skip
//	      NumResBlocks-j. decN runs at encN's resolution and consumes exactly
//	      encN's skips.
//	head  GroupNorm, SiLU, conv to the image channels: the noise prediction.
//	      Not searchable.
//
// A block runs alone on given inputs (UNet.RunBlock), so DiffNAS stage 1
// can feed a student block the teacher's block inputs.
type Block struct {
	Name       string    // "enc0", ..., "mid", "dec2", ..., "dec0", "head"
	Kind       BlockKind // Encoder, Middle, Decoder or Head
	Searchable bool      // has searchable convs (every block but the head)
	Level      int       // resolution level: 0 is full resolution (mid: the deepest)
	InShape    []int     // [C, H, W] of the block's input X (per sample)
	OutShape   []int     // [C, H, W] of its output
	SkipShapes [][]int   // encoder: the skips it produces; decoder: those it consumes ([C, H, W] each)

	steps []step
	tdim  int
	convs []*ConvChoice

	// Run-time state of the last RunBlock / BackwardBlock.
	n       int
	skips   []*tensor.Tensor // encoder: skips produced by the last forward
	inSkips []*tensor.Tensor // decoder: skips consumed by the last forward
	dSkips  []*tensor.Tensor // decoder: gradients of the consumed skips
	dTemb   *tensor.Tensor
	scratch *gradScratch // short-lived gradients, shared with the block's ResBlocks
	gadd    sum2         // dOut + dSkip in an encoder backward
	gacc    adder        // g += dSkip in an encoder backward
}

type stepKind int

const (
	stepConv   stepKind = iota // a plain conv: the stem, a downsample
	stepUpConv                 // nearest 2x upsample then a conv
	stepRes                    // a ResBlock (decoder: after concatenating a skip)
	stepAttn                   // self-attention
	stepHead                   // GroupNorm+SiLU, conv
)

// step is one layer group of a block.
type step struct {
	kind    stepKind
	conv    *nn.Conv2d
	up      *nn.Upsample2x
	res     *ResBlock
	cat     *nn.Concat // decoder ResBlocks: concatenation with skip skipIn
	attn    *nn.Attention
	norm    *nn.GroupNorm // head: GroupNorm with the SiLU fused
	skipIn  int           // index into the block's input skips, -1 for none
	skipOut bool          // encoder: the output is pushed as a skip tensor
	in      []int         // input shape of the step for one sample [1, C, H, W] (after the concat)
}

// BlockInput is what a block consumes: the feature X, the skip tensors (for
// decoder blocks: encN's skips, in encN's order) and the time embedding
// (every block but the head).
type BlockInput struct {
	X     *tensor.Tensor
	Skips []*tensor.Tensor
	Temb  *tensor.Tensor
}

// BlockOutput is what a block produces: Out, and for encoder blocks the skip
// tensors the decoder will consume (the last of them is Out itself).
type BlockOutput struct {
	Out   *tensor.Tensor
	Skips []*tensor.Tensor
}

// BlockGrad holds the gradients BackwardBlock returns for a block's inputs.
type BlockGrad struct {
	X     *tensor.Tensor   // dL/dX
	Skips []*tensor.Tensor // decoder: dL/dSkips[i], in the order of BlockInput.Skips
	Temb  *tensor.Tensor   // dL/dTemb (nil for the head); feed it to TimeMLP.Backward
}

// BlockIO is a block's inputs and outputs from ForwardCapture (copies).
type BlockIO struct {
	Block string
	In    BlockInput
	Out   BlockOutput
}

// Convs returns the block's searchable convs, in UNet.SearchableConvs order.
func (b *Block) Convs() []*ConvChoice { return b.convs }

// ResBlocks returns the block's ResBlocks in order.
func (b *Block) ResBlocks() []*ResBlock {
	var rs []*ResBlock
	for _, s := range b.steps {
		if s.kind == stepRes {
			rs = append(rs, s.res)
		}
	}
	return rs
}

// Kernels returns the active kernel of each of the block's searchable convs.
func (b *Block) Kernels() []int {
	ks := make([]int, len(b.convs))
	for i, c := range b.convs {
		ks[i] = c.Kernel()
	}
	return ks
}

// SetKernels activates one kernel per searchable conv of the block (in
// Convs order); on error nothing changes.
func (b *Block) SetKernels(ks []int) error {
	if len(ks) != len(b.convs) {
		return fmt.Errorf("unet: block %s has %d searchable convs, got %d kernels", b.Name, len(b.convs), len(ks))
	}
	for i, k := range ks {
		if !slices.Contains(b.convs[i].Kernels, k) {
			return fmt.Errorf("unet: block %s: conv %s has no %dx%d choice (it holds %v)", b.Name, b.convs[i].Name, k, k, b.convs[i].Kernels)
		}
	}
	for i, k := range ks {
		b.convs[i].SetKernel(k)
	}
	return nil
}

// Widths returns the active inner-width multiplier of each of the block's
// ResBlocks, in ResBlocks order.
func (b *Block) Widths() []float64 {
	rs := b.ResBlocks()
	ws := make([]float64, len(rs))
	for i, r := range rs {
		ws[i] = r.Width()
	}
	return ws
}

// SetWidths sets the inner-width multiplier of each of the block's
// ResBlocks (in ResBlocks order); on error nothing changes.
func (b *Block) SetWidths(ws []float64) error {
	rs := b.ResBlocks()
	if len(ws) != len(rs) {
		return fmt.Errorf("unet: block %s has %d ResBlocks, got %d widths", b.Name, len(rs), len(ws))
	}
	for i, w := range ws {
		if !slices.Contains(rs[i].WidthChoices, w) {
			return fmt.Errorf("unet: block %s: ResBlock %s has no width %v (it can take %v)", b.Name, rs[i].Name, w, rs[i].WidthChoices)
		}
	}
	for i, w := range ws {
		rs[i].SetWidth(w)
	}
	return nil
}

// NumCandidates is the number of architectures of the block: the product of
// its convs' kernel-choice counts and of its ResBlocks' width-choice counts
// (81 for an encoder block of the default supernet, 729 for a decoder
// block; with 3 width choices, 81·9 = 729 and 729·27 = 19683).
func (b *Block) NumCandidates() int {
	n := 1
	for _, c := range b.convs {
		n *= len(c.Kernels)
	}
	for _, r := range b.ResBlocks() {
		n *= len(r.WidthChoices)
	}
	return n
}

// Params returns the weights of the block's active path.
func (b *Block) Params() []*nn.Param { return b.params(false) }

// AllParams returns every weight of the block, inactive choices included.
func (b *Block) AllParams() []*nn.Param { return b.params(true) }

func (b *Block) params(all bool) []*nn.Param {
	var ps []*nn.Param
	for _, s := range b.steps {
		switch s.kind {
		case stepConv, stepUpConv:
			ps = append(ps, s.conv.Params()...)
		case stepRes:
			if all {
				ps = append(ps, s.res.AllParams()...)
			} else {
				ps = append(ps, s.res.Params()...)
			}
		case stepAttn:
			ps = append(ps, s.attn.Params()...)
		case stepHead:
			ps = append(ps, s.norm.Params()...)
			ps = append(ps, s.conv.Params()...)
		}
	}
	return ps
}

// NumParams counts the weights of the block's active path, ResBlocks at
// their active width (ResBlock.NumParams): what a standalone block of this
// architecture holds.
func (b *Block) NumParams() int64 {
	var n int64
	for _, s := range b.steps {
		switch s.kind {
		case stepConv, stepUpConv:
			n += nn.CountParams(s.conv.Params())
		case stepRes:
			n += s.res.NumParams()
		case stepAttn:
			n += nn.CountParams(s.attn.Params())
		case stepHead:
			n += nn.CountParams(s.norm.Params()) + nn.CountParams(s.conv.Params())
		}
	}
	return n
}

// MACs counts the multiply-accumulates of the block's active path for one
// sample (convs, linears and attention matmuls, as torch_unet.py's macs()).
func (b *Block) MACs() int64 {
	var m int64
	for _, s := range b.steps {
		switch s.kind {
		case stepConv, stepHead:
			m += s.conv.MACs(s.in)
		case stepUpConv:
			m += s.conv.MACs([]int{1, s.in[1], 2 * s.in[2], 2 * s.in[3]})
		case stepRes:
			m += s.res.MACs(s.in, b.tdim)
		case stepAttn:
			m += s.attn.MACs(s.in)
		}
	}
	return m
}

// SearchableMACs counts the MACs of the block's active searchable convs.
func (b *Block) SearchableMACs() int64 {
	var m int64
	for _, s := range b.steps {
		if s.kind == stepRes {
			m += s.res.Conv1.MACs(s.in) + s.res.Conv2.MACs(s.res.midShape(s.in))
		}
	}
	return m
}

// checkInput panics with a *nn.ShapeError naming the block when in does not
// fit the block.
func (b *Block) checkInput(in BlockInput) {
	bad := func(what string, got []int, want string) {
		panic(&nn.ShapeError{Layer: b.Name, Op: "Block input " + what, Got: append([]int(nil), got...), Want: want})
	}
	if in.X == nil {
		bad("X", nil, "a tensor, not nil")
	}
	x := in.X.Shape
	if len(x) != 4 || x[1] != b.InShape[0] || x[2] != b.InShape[1] || x[3] != b.InShape[2] {
		bad("X", x, fmt.Sprintf("[N, %d, %d, %d]", b.InShape[0], b.InShape[1], b.InShape[2]))
	}
	n := x[0]
	if b.Kind != Head {
		if in.Temb == nil || len(in.Temb.Shape) != 2 || in.Temb.Shape[0] != n || in.Temb.Shape[1] != b.tdim {
			var got []int
			if in.Temb != nil {
				got = in.Temb.Shape
			}
			bad("Temb", got, fmt.Sprintf("[%d, %d] (batch, time-embedding width)", n, b.tdim))
		}
	}
	if b.Kind == Decoder {
		if len(in.Skips) != len(b.SkipShapes) {
			bad("Skips", []int{len(in.Skips)}, fmt.Sprintf("%d skip tensors (the matching encoder block's)", len(b.SkipShapes)))
		}
		for i, s := range in.Skips {
			w := b.SkipShapes[i]
			if s == nil || len(s.Shape) != 4 || s.Shape[0] != n || s.Shape[1] != w[0] || s.Shape[2] != w[1] || s.Shape[3] != w[2] {
				var got []int
				if s != nil {
					got = s.Shape
				}
				bad(fmt.Sprintf("Skips[%d]", i), got, fmt.Sprintf("[%d, %d, %d, %d]", n, w[0], w[1], w[2]))
			}
		}
	}
}

// forward runs the block on in (already checked).
func (b *Block) forward(in BlockInput) BlockOutput {
	b.n = in.X.Shape[0]
	h := in.X
	b.skips = b.skips[:0]
	b.inSkips = append(b.inSkips[:0], in.Skips...)
	for i := range b.steps {
		h = b.runStep(i, h, in)
		if b.steps[i].skipOut {
			b.skips = append(b.skips, h)
		}
	}
	out := BlockOutput{Out: h}
	if b.Kind == Encoder {
		out.Skips = b.skips
	}
	return out
}

// runStep runs step i of the block on h (the previous step's output, or
// the block's input X for step 0) and returns its output, owned by the
// step's last layer.
func (b *Block) runStep(i int, h *tensor.Tensor, in BlockInput) *tensor.Tensor {
	s := &b.steps[i]
	switch s.kind {
	case stepConv:
		h = s.conv.Forward(h)
	case stepUpConv:
		h = s.conv.Forward(s.up.Forward(h))
	case stepRes:
		if s.skipIn >= 0 {
			h = s.cat.Forward(h, in.Skips[s.skipIn])
		}
		h = s.res.Forward(h, in.Temb)
	case stepAttn:
		h = s.attn.Forward(h)
	case stepHead:
		h = s.conv.Forward(s.norm.Forward(h)) // norm has the SiLU fused
	}
	return h
}

// NumSteps is the number of layer groups (steps) of the block: a stem or
// downsample conv, an upsample and its conv, a ResBlock (with the concat of
// its skip), an attention, the head.
func (b *Block) NumSteps() int { return len(b.steps) }

// ResBlockSteps returns the step index of each of the block's ResBlocks, in
// ResBlocks order.
func (b *Block) ResBlockSteps() []int {
	var idx []int
	for i, s := range b.steps {
		if s.kind == stepRes {
			idx = append(idx, i)
		}
	}
	return idx
}

// backward runs the block's backward for dOut, the gradient of its output,
// and (encoder blocks in a whole-network backward) dSkips, the gradients of
// the skips it produced, any of which may be nil (zero).
func (b *Block) backward(dOut *tensor.Tensor, dSkips []*tensor.Tensor) BlockGrad {
	g := dOut
	if b.Kind != Head {
		b.dTemb = ensure2(b.dTemb, b.n, b.tdim)
		b.dTemb.Zero()
	}
	if b.Kind == Decoder {
		if len(b.dSkips) != len(b.SkipShapes) {
			b.dSkips = make([]*tensor.Tensor, len(b.SkipShapes)) // every entry is set below
		}
	}
	skip := len(b.skips) - 1
	for i := len(b.steps) - 1; i >= 0; i-- {
		s := &b.steps[i]
		if s.skipOut {
			if skip < len(dSkips) && dSkips[skip] != nil {
				if g == dOut {
					g = b.gadd.Forward(g, dSkips[skip]) // the caller's tensor: leave it alone
				} else {
					b.gacc.into(g, dSkips[skip]) // a layer's gradient buffer, read by nothing else
				}
			}
			skip--
		}
		switch s.kind {
		case stepConv:
			// The input gradient of a downsample (or the stem) is the
			// block's: it goes to the block's scratch, valid until the
			// block's next backward, like the layers' own buffers.
			b.scratch.b = s.conv.BackwardTo(g, b.scratch.b)
			g = b.scratch.b
		case stepUpConv:
			b.scratch.a = s.conv.BackwardTo(g, b.scratch.a)
			g = s.up.Backward(b.scratch.a)
		case stepRes:
			var dte *tensor.Tensor
			g, dte = s.res.Backward(g)
			acc := b.dTemb.Data
			for j, v := range dte.Data {
				acc[j] += v
			}
			if s.skipIn >= 0 {
				var ds *tensor.Tensor
				g, ds = s.cat.Backward(g)
				b.dSkips[s.skipIn] = ds
			}
		case stepAttn:
			g = s.attn.Backward(g)
		case stepHead:
			g = s.norm.Backward(s.conv.Backward(g))
		}
	}
	grad := BlockGrad{X: g}
	if b.Kind != Head {
		grad.Temb = b.dTemb
	}
	if b.Kind == Decoder {
		grad.Skips = b.dSkips
	}
	return grad
}
