package unet

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// UNet is the noise-prediction network: a TimeMLP and a sequence of blocks
// (see Block). Forward and Backward run the whole network; RunBlock and
// BackwardBlock run one block on given inputs.
//
// Parameter names follow the module paths of torch_unet.py ("temb.0",
// "stem", "down.3.c1", "mid.1", "up.4", "out.2", ...); a searchable conv's
// choices carry their kernel size ("down.0.c1.k3.w"), so the same name means
// the same weights in a teacher, a supernet and a searched subnet.
type UNet struct {
	Config Config   // as built (Kernels: the starting kernels)
	Time   *TimeMLP // the time embedding, shared by every block of a whole-network pass

	blocks   []*Block
	convs    []*ConvChoice
	drops    []*ResBlock // ResBlocks in build order (= ResBlocks order), also for the dropout seeds
	training bool

	temb      *tensor.Tensor     // temb of the last whole-network Forward
	dTemb     *tensor.Tensor     // its gradient, summed over blocks
	skipGrads [][]*tensor.Tensor // per encoder level: gradients of its skips from the decoder
}

// New builds the UNet of cfg with weights initialised like PyTorch's defaults
// from seed (the same cfg and seed give the same weights). Dropout starts
// off (evaluation mode): call SetTraining(true) to train.
func New(cfg Config, seed uint64) (*UNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Mult, cfg.AttnRes = slices.Clone(cfg.Mult), slices.Clone(cfg.AttnRes)
	cfg.Kernels, cfg.KernelChoices = slices.Clone(cfg.Kernels), slices.Clone(cfg.KernelChoices)
	cfg.Widths, cfg.WidthChoices = slices.Clone(cfg.Widths), slices.Clone(cfg.WidthChoices)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	u := &UNet{Config: cfg}
	ch, tdim, last := cfg.Ch, 4*cfg.Ch, len(cfg.Mult)-1
	u.Time = newTimeMLP(ch, rng)
	attnAt := func(r int) bool { return slices.Contains(cfg.AttnRes, r) }
	shape := func(c, r int) []int { return []int{1, c, r, r} }

	newRes := func(name string, cin, cout int) (*ResBlock, error) {
		i, j := len(u.convs), len(u.drops)
		r, err := newResBlock(cfg, name, cin, cout, tdim, cfg.choicesAt(i), cfg.choicesAt(i+1), cfg.kernelAt(i), cfg.kernelAt(i+1),
			cfg.widthChoicesAt(j), cfg.widthAt(j), rng)
		if err != nil {
			return nil, err
		}
		u.convs = append(u.convs, r.Conv1, r.Conv2)
		u.drops = append(u.drops, r)
		return r, nil
	}
	newAttn := func(name string, c int) (*nn.Attention, error) { return nn.NewAttention(name, c, rng) }
	finish := func(b *Block, c, r int) {
		b.OutShape = []int{c, r, r}
		scratch := &gradScratch{}
		b.scratch = scratch
		for _, s := range b.steps {
			if s.kind == stepRes {
				b.convs = append(b.convs, s.res.Conv1, s.res.Conv2)
				s.res.scratch = scratch
			}
		}
		u.blocks = append(u.blocks, b)
	}

	// Encoder. The torch ModuleList "down" holds, per level, the ResBlocks,
	// their attention and the level's downsample; idx mirrors its indices.
	c, r, idx := ch, cfg.Resolution, 0
	var down *nn.Conv2d // the downsample leading into the next level
	for lvl, m := range cfg.Mult {
		b := &Block{Name: fmt.Sprintf("enc%d", lvl), Kind: Encoder, Searchable: true, Level: lvl, tdim: tdim}
		if lvl == 0 {
			stem, err := nn.NewConv2d("stem", cfg.InChannels, ch, 3, 1, 1, rng)
			if err != nil {
				return nil, err
			}
			b.InShape = []int{cfg.InChannels, r, r}
			b.steps = append(b.steps, step{kind: stepConv, conv: stem, skipIn: -1, skipOut: true, in: shape(cfg.InChannels, r)})
		} else {
			b.InShape = []int{c, r, r}
			b.steps = append(b.steps, step{kind: stepConv, conv: down, skipIn: -1, skipOut: true, in: shape(c, r)})
			r = (r + 1) / 2
		}
		b.SkipShapes = append(b.SkipShapes, []int{c, r, r})
		for range cfg.NumResBlocks {
			res, err := newRes(fmt.Sprintf("down.%d", idx), c, ch*m)
			if err != nil {
				return nil, err
			}
			idx++
			b.steps = append(b.steps, step{kind: stepRes, res: res, skipIn: -1, skipOut: !attnAt(r), in: shape(c, r)})
			c = ch * m
			if attnAt(r) {
				a, err := newAttn(fmt.Sprintf("down.%d", idx), c)
				if err != nil {
					return nil, err
				}
				idx++
				b.steps = append(b.steps, step{kind: stepAttn, attn: a, skipIn: -1, skipOut: true, in: shape(c, r)})
			}
			b.SkipShapes = append(b.SkipShapes, []int{c, r, r})
		}
		if lvl != last {
			var err error
			if down, err = nn.NewConv2d(fmt.Sprintf("down.%d", idx), c, c, 3, 2, 1, rng); err != nil {
				return nil, err
			}
			idx++
		}
		finish(b, c, r)
	}

	// Middle: ResBlock, attention (always, as in torch_unet.py), ResBlock.
	mid := &Block{Name: "mid", Kind: Middle, Searchable: true, Level: last, tdim: tdim, InShape: []int{c, r, r}}
	for i := range 3 {
		name := fmt.Sprintf("mid.%d", i)
		if i == 1 {
			a, err := newAttn(name, c)
			if err != nil {
				return nil, err
			}
			mid.steps = append(mid.steps, step{kind: stepAttn, attn: a, skipIn: -1, in: shape(c, r)})
			continue
		}
		res, err := newRes(name, c, c)
		if err != nil {
			return nil, err
		}
		mid.steps = append(mid.steps, step{kind: stepRes, res: res, skipIn: -1, in: shape(c, r)})
	}
	finish(mid, c, r)

	// Decoder, deepest level first. decN consumes encN's skips, last first.
	idx = 0
	var upConv *nn.Conv2d // the upsample conv leading into the next level
	for lvl := last; lvl >= 0; lvl-- {
		enc := u.blocks[lvl]
		b := &Block{Name: fmt.Sprintf("dec%d", lvl), Kind: Decoder, Searchable: true, Level: lvl, tdim: tdim,
			InShape: []int{c, r, r}, SkipShapes: enc.SkipShapes}
		if upConv != nil {
			b.steps = append(b.steps, step{kind: stepUpConv, up: &nn.Upsample2x{Name: upConv.Name + ".up"}, conv: upConv, skipIn: -1, in: shape(c, r)})
			r *= 2
		}
		nrb := cfg.NumResBlocks
		for j := range nrb + 1 {
			skipC := enc.SkipShapes[nrb-j][0]
			name := fmt.Sprintf("up.%d", idx)
			res, err := newRes(name, c+skipC, ch*cfg.Mult[lvl])
			if err != nil {
				return nil, err
			}
			idx++
			b.steps = append(b.steps, step{kind: stepRes, res: res, cat: &nn.Concat{Name: name + ".cat"}, skipIn: nrb - j, in: shape(c+skipC, r)})
			c = ch * cfg.Mult[lvl]
			if attnAt(r) {
				a, err := newAttn(fmt.Sprintf("up.%d", idx), c)
				if err != nil {
					return nil, err
				}
				idx++
				b.steps = append(b.steps, step{kind: stepAttn, attn: a, skipIn: -1, in: shape(c, r)})
			}
		}
		upConv = nil
		if lvl != 0 {
			var err error
			// torch: Sequential(Upsample, Conv2d), so the conv is "up.<idx>.1".
			if upConv, err = nn.NewConv2d(fmt.Sprintf("up.%d.1", idx), c, c, 3, 1, 1, rng); err != nil {
				return nil, err
			}
			idx++
		}
		finish(b, c, r)
	}

	// Head.
	norm, err := nn.NewGroupNorm("out.0", cfg.groupsFor(c), c)
	if err != nil {
		return nil, err
	}
	conv, err := nn.NewConv2d("out.2", c, cfg.InChannels, 3, 1, 1, rng)
	if err != nil {
		return nil, err
	}
	head := &Block{Name: "head", Kind: Head, Level: 0, tdim: tdim, InShape: []int{c, r, r}}
	norm.SiLU = true // out.1, the SiLU, fused into the norm
	head.steps = []step{{kind: stepHead, norm: norm, conv: conv, skipIn: -1, in: shape(c, r)}}
	finish(head, cfg.InChannels, r)

	u.skipGrads = make([][]*tensor.Tensor, len(cfg.Mult))
	return u, nil
}

// Blocks returns the blocks in the order they run: enc0 .. encL-1, mid,
// decL-1 .. dec0, head.
func (u *UNet) Blocks() []*Block { return u.blocks }

// Block returns the block with the given name, or nil.
func (u *UNet) Block(name string) *Block {
	for _, b := range u.blocks {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// SearchableConvs returns every searchable conv, block after block (in
// Blocks order), ResBlock after ResBlock, conv1 then conv2: the order of
// Config.Kernels and SetKernels.
func (u *UNet) SearchableConvs() []*ConvChoice { return u.convs }

// Kernels returns the active kernel of every searchable conv.
func (u *UNet) Kernels() []int {
	ks := make([]int, len(u.convs))
	for i, c := range u.convs {
		ks[i] = c.Kernel()
	}
	return ks
}

// SetKernels activates one kernel per searchable conv (SearchableConvs
// order): the path of a supernet. On error nothing changes.
func (u *UNet) SetKernels(ks []int) error {
	if len(ks) != len(u.convs) {
		return fmt.Errorf("unet: SetKernels: got %d kernels, the network has %d searchable convs", len(ks), len(u.convs))
	}
	for i, k := range ks {
		if !slices.Contains(u.convs[i].Kernels, k) {
			return fmt.Errorf("unet: SetKernels: kernels[%d] = %d, but conv %s holds %v", i, k, u.convs[i].Name, u.convs[i].Kernels)
		}
	}
	for i, k := range ks {
		u.convs[i].SetKernel(k)
	}
	return nil
}

// ResBlocks returns every ResBlock, block after block (in Blocks order):
// the order of Config.Widths and SetWidths. ResBlock i owns searchable convs
// 2i (Conv1) and 2i+1 (Conv2).
func (u *UNet) ResBlocks() []*ResBlock { return u.drops }

// Widths returns the active inner-width multiplier of every ResBlock.
func (u *UNet) Widths() []float64 {
	ws := make([]float64, len(u.drops))
	for i, r := range u.drops {
		ws[i] = r.Width()
	}
	return ws
}

// SetWidths sets the inner-width multiplier of every ResBlock (ResBlocks
// order), each one of its WidthChoices: with SetKernels, the path of a
// width supernet. On error nothing changes.
func (u *UNet) SetWidths(ws []float64) error {
	if len(ws) != len(u.drops) {
		return fmt.Errorf("unet: SetWidths: got %d widths, the network has %d ResBlocks", len(ws), len(u.drops))
	}
	for i, w := range ws {
		if !slices.Contains(u.drops[i].WidthChoices, w) {
			return fmt.Errorf("unet: SetWidths: widths[%d] = %v, but ResBlock %s can take %v", i, w, u.drops[i].Name, u.drops[i].WidthChoices)
		}
	}
	for i, w := range ws {
		u.drops[i].SetWidth(w)
	}
	return nil
}

// SubnetConfig is the Config of a plain network with the active kernels and
// widths: the standalone model of the current supernet path (build it with
// New), whose convs have exactly the active path's shapes. Widths stays nil
// when every ResBlock runs at full width.
func (u *UNet) SubnetConfig() Config {
	c := u.Config
	c.Mult, c.AttnRes = slices.Clone(c.Mult), slices.Clone(c.AttnRes)
	c.Kernels, c.KernelChoices = u.Kernels(), nil
	c.Widths, c.WidthChoices = nil, nil
	if ws := u.Widths(); slices.ContainsFunc(ws, func(w float64) bool { return w != 1 }) {
		c.Widths = ws
	}
	return c
}

// SetTraining switches dropout on (true) or off.
func (u *UNet) SetTraining(on bool) {
	u.training = on
	for _, r := range u.drops {
		r.drop.training = on
	}
}

// Training reports whether dropout is on.
func (u *UNet) Training() bool { return u.training }

// SetDropoutSeed reseeds the dropout masks of every ResBlock, so that a
// training step can be reproduced (e.g. seed = run seed ^ step).
func (u *UNet) SetDropoutSeed(seed uint64) {
	for i, r := range u.drops {
		r.drop.src.Seed(seed, uint64(i))
	}
}

// Params returns the weights of the active path: the TimeMLP's, then every
// block's in Blocks order. In a width supernet the ResBlocks' weights are the
// full-width ones even when a narrower width runs (the gradient of the
// slice lands in them); NumParams counts what the path actually uses.
func (u *UNet) Params() []*nn.Param {
	ps := u.Time.Params()
	for _, b := range u.blocks {
		ps = append(ps, b.Params()...)
	}
	return ps
}

// AllParams returns every weight, including the inactive kernel choices of
// a supernet (a width supernet's weights are full-width: slices are views).
func (u *UNet) AllParams() []*nn.Param {
	ps := u.Time.Params()
	for _, b := range u.blocks {
		ps = append(ps, b.AllParams()...)
	}
	return ps
}

// NumParams counts the weights of the active path, ResBlocks at their
// active width: the parameter count of the standalone subnet of this path.
func (u *UNet) NumParams() int64 {
	n := nn.CountParams(u.Time.Params())
	for _, b := range u.blocks {
		n += b.NumParams()
	}
	return n
}

// MACs counts the multiply-accumulates of one sample at one timestep along
// the active path: every conv, linear (the TimeMLP included) and attention
// matmul, as torch_unet.py's macs().
func (u *UNet) MACs() int64 {
	m := u.Time.MACs()
	for _, b := range u.blocks {
		m += b.MACs()
	}
	return m
}

// SearchableMACs counts the MACs of the active searchable convs only.
func (u *UNet) SearchableMACs() int64 {
	var m int64
	for _, b := range u.blocks {
		m += b.SearchableMACs()
	}
	return m
}

// SearchableParams counts the weights of the active searchable convs only
// (at their active channel slices).
func (u *UNet) SearchableParams() int64 {
	var n int64
	for _, c := range u.convs {
		n += c.NumParams()
	}
	return n
}

// checkInput panics with a *nn.ShapeError when x, t do not fit the network.
func (u *UNet) checkInput(x *tensor.Tensor, t []float32) {
	c := u.Config
	if x == nil || len(x.Shape) != 4 || x.Shape[1] != c.InChannels || x.Shape[2] != c.Resolution || x.Shape[3] != c.Resolution {
		var got []int
		if x != nil {
			got = x.Shape
		}
		panic(&nn.ShapeError{Layer: "unet", Op: "UNet.Forward", Got: append([]int(nil), got...),
			Want: fmt.Sprintf("[N, %d, %d, %d] (in_channels, resolution, resolution)", c.InChannels, c.Resolution, c.Resolution)})
	}
	if len(t) != x.Shape[0] {
		panic(&nn.ShapeError{Layer: "unet", Op: "UNet.Forward (timesteps)", Got: []int{len(t)},
			Want: fmt.Sprintf("one timestep per sample: %d", x.Shape[0])})
	}
}

// Forward predicts the noise in x [N, InChannels, Resolution, Resolution] at
// timesteps t [N]. The result is a buffer owned by the network, overwritten
// by the next Forward. A misfit input panics with a *nn.ShapeError (Predict
// returns it as an error instead).
func (u *UNet) Forward(x *tensor.Tensor, t []float32) *tensor.Tensor {
	u.checkInput(x, t)
	u.temb = u.Time.Forward(t)
	in := BlockInput{X: x, Temb: u.temb}
	for _, b := range u.blocks {
		if b.Kind == Decoder {
			in.Skips = u.blocks[b.Level].skips
		} else {
			in.Skips = nil
		}
		in.X = b.forward(in).Out
	}
	return in.X
}

// Predict is Forward returning a misfit input as an error.
func (u *UNet) Predict(x *tensor.Tensor, t []float32) (y *tensor.Tensor, err error) {
	defer nn.Catch(&err)
	return u.Forward(x, t), nil
}

// Backward takes dy, the gradient of the loss with respect to the last
// Forward's output, and accumulates (+=) the gradients of the active path's
// weights into their Param.Grad (the TimeMLP's included).
func (u *UNet) Backward(dy *tensor.Tensor) {
	if u.temb == nil {
		panic("unet: Backward called before Forward")
	}
	u.dTemb = ensureLike(u.dTemb, u.temb)
	u.dTemb.Zero()
	g := dy
	for i := len(u.blocks) - 1; i >= 0; i-- {
		b := u.blocks[i]
		var dSkips []*tensor.Tensor
		if b.Kind == Encoder {
			dSkips = u.skipGrads[b.Level]
		}
		grad := b.backward(g, dSkips)
		if b.Kind == Decoder {
			u.skipGrads[b.Level] = grad.Skips
		}
		if grad.Temb != nil {
			acc := u.dTemb.Data
			for j, v := range grad.Temb.Data {
				acc[j] += v
			}
		}
		g = grad.X
	}
	u.Time.Backward(u.dTemb)
}

// RunBlock runs block i alone on in and returns its output (buffers owned by
// the block, overwritten by its next run). Decoder blocks need in.Skips (the
// matching encoder block's skips), every block but the head in.Temb (from
// this network's Time, or a teacher's captured embedding). An input that
// does not fit is an error naming the block, the input and the shapes.
func (u *UNet) RunBlock(i int, in BlockInput) (out BlockOutput, err error) {
	defer nn.Catch(&err)
	if i < 0 || i >= len(u.blocks) {
		return BlockOutput{}, fmt.Errorf("unet: RunBlock: no block %d (the network has %d)", i, len(u.blocks))
	}
	b := u.blocks[i]
	b.checkInput(in)
	return b.forward(in), nil
}

// RunBlockSteps runs steps [from, to) of block i (see Block.NumSteps), as
// RunBlock runs them (in the network's current training mode), from h, the
// output of step from-1 (for from = 0, in.X; h is then ignored), and
// returns the output of step to-1. The skips and time
// embedding come from in, checked as by RunBlock. Running a block in parts
// gives the bits of RunBlock; a search uses it to share the steps before a
// ResBlock among every candidate that agrees on them. The output is owned by
// the step's last layer: valid until that step runs again. Only RunBlock
// prepares a BackwardBlock.
func (u *UNet) RunBlockSteps(i int, in BlockInput, h *tensor.Tensor, from, to int) (out *tensor.Tensor, err error) {
	defer nn.Catch(&err)
	if i < 0 || i >= len(u.blocks) {
		return nil, fmt.Errorf("unet: RunBlockSteps: no block %d (the network has %d)", i, len(u.blocks))
	}
	b := u.blocks[i]
	if from < 0 || to > len(b.steps) || from >= to {
		return nil, fmt.Errorf("unet: RunBlockSteps: steps [%d, %d) of block %s, which has %d", from, to, b.Name, len(b.steps))
	}
	b.checkInput(in)
	if from == 0 {
		h = in.X
	} else if h == nil {
		return nil, fmt.Errorf("unet: RunBlockSteps: from step %d of block %s needs the output of step %d", from, b.Name, from-1)
	}
	b.n = 0 // the block's backward state no longer matches a forward
	for s := from; s < to; s++ {
		h = b.runStep(s, h, in)
	}
	return h, nil
}

// BackwardBlock runs the backward of block i for dOut, the gradient of the
// output of its last RunBlock, accumulating the gradients of the block's
// active weights, and returns the gradients of its inputs. The skips an
// encoder block produced get no gradient here (only Out is supervised in
// block-wise distillation). Pass the returned Temb gradient to
// TimeMLP.Backward to train the time embedding.
func (u *UNet) BackwardBlock(i int, dOut *tensor.Tensor) (grad BlockGrad, err error) {
	defer nn.Catch(&err)
	if i < 0 || i >= len(u.blocks) {
		return BlockGrad{}, fmt.Errorf("unet: BackwardBlock: no block %d (the network has %d)", i, len(u.blocks))
	}
	b := u.blocks[i]
	if b.n == 0 || len(b.steps) == 0 {
		return BlockGrad{}, fmt.Errorf("unet: BackwardBlock(%d): block %s has not run", i, b.Name)
	}
	want := []int{b.n, b.OutShape[0], b.OutShape[1], b.OutShape[2]}
	if dOut == nil || !tensor.SameShape(dOut.Shape, want) {
		var got []int
		if dOut != nil {
			got = dOut.Shape
		}
		return BlockGrad{}, &nn.ShapeError{Layer: b.Name, Op: "BackwardBlock", Got: got, Want: fmt.Sprintf("%v (the block's output)", want)}
	}
	return b.backward(dOut, nil), nil
}

// ForwardCapture runs the whole network on x, t and returns, for every block
// in Blocks order, copies of its inputs and outputs: a teacher's block
// features for DiffNAS (the student's block i is fed In and trained to match
// Out.Out). The last entry's Out.Out is the noise prediction. Decoder inputs
// share their skip copies with the encoder outputs they come from.
func (u *UNet) ForwardCapture(x *tensor.Tensor, t []float32) (ios []BlockIO, err error) {
	return u.ForwardCaptureInto(nil, x, t)
}

// ForwardCaptureInto is ForwardCapture writing the copies into the tensors
// of prev, the result of an earlier call (nil allocates them): a training
// loop that captures the teacher every step then copies into the same
// buffers instead of allocating a fresh set (a hundred megabytes a step on
// the base teacher). prev's tensors are overwritten, so pass it only when
// nothing reads the earlier capture any more. The copies run on all cores.
func (u *UNet) ForwardCaptureInto(prev []BlockIO, x *tensor.Tensor, t []float32) (ios []BlockIO, err error) {
	defer nn.Catch(&err)
	u.checkInput(x, t)
	u.temb = u.Time.Forward(t)
	old := func(i int) BlockIO {
		if i < len(prev) {
			return prev[i]
		}
		return BlockIO{}
	}
	var oldTemb *tensor.Tensor
	if len(prev) > 0 {
		oldTemb = prev[0].In.Temb
	}
	temb := copyInto(oldTemb, u.temb)
	in := BlockInput{X: x, Temb: u.temb}
	prevOut := copyInto(old(0).In.X, x)
	encSkips := make([][]*tensor.Tensor, len(u.Config.Mult))
	ios = make([]BlockIO, 0, len(u.blocks))
	for i, b := range u.blocks {
		was := old(i)
		io := BlockIO{Block: b.Name, In: BlockInput{X: prevOut}}
		in.Skips = nil
		if b.Kind != Head {
			io.In.Temb = temb
		}
		if b.Kind == Decoder {
			in.Skips = u.blocks[b.Level].skips
			io.In.Skips = encSkips[b.Level]
		}
		out := b.forward(in)
		io.Out.Out = copyInto(was.Out.Out, out.Out)
		if b.Kind == Encoder {
			for j, s := range out.Skips {
				var o *tensor.Tensor
				if j < len(was.Out.Skips) {
					o = was.Out.Skips[j]
				}
				io.Out.Skips = append(io.Out.Skips, copyInto(o, s))
			}
			encSkips[b.Level] = io.Out.Skips
		}
		ios = append(ios, io)
		in.X, prevOut = out.Out, io.Out.Out
	}
	return ios, nil
}

// copyInto copies src into dst (resized to src's shape; nil allocates) on
// all cores and returns it.
func copyInto(dst, src *tensor.Tensor) *tensor.Tensor {
	dst = tensor.Ensure(dst, src.Shape...)
	tensor.ParallelForAligned(len(src.Data), 1, 4096, func(lo, hi int) { copy(dst.Data[lo:hi], src.Data[lo:hi]) })
	return dst
}

// InitByName draws every conv, linear and attention weight and bias again,
// from the same distribution as New (uniform ±1/sqrt(fan-in), the fan-in of
// the weight's layer) but from a random stream of its own, seeded by seed
// and the parameter's name; norms keep their ones and zeros. Two UNets of
// different architectures initialised this way start every layer they share
// (same name and shape) from the same weights: a comparison between them
// (a searched subnet against the teacher architecture) is then not also a
// comparison of two random initialisations. New's single stream shifts as
// soon as one conv changes size, so every later layer starts differently.
func (u *UNet) InitByName(seed uint64) error {
	params := u.AllParams()
	byName := make(map[string]*nn.Param, len(params))
	for _, p := range params {
		byName[p.Name] = p
	}
	for _, p := range params {
		var w *nn.Param
		switch {
		case strings.HasSuffix(p.Name, ".gamma") || strings.HasSuffix(p.Name, ".beta"):
			continue
		case strings.HasSuffix(p.Name, ".w"):
			w = p
		case strings.HasSuffix(p.Name, ".b"):
			w = byName[strings.TrimSuffix(p.Name, ".b")+".w"]
		}
		if w == nil || len(w.Shape) < 2 {
			return fmt.Errorf("unet.InitByName: no initialisation rule for parameter %s %v", p.Name, p.Shape)
		}
		fanIn := 1
		for _, d := range w.Shape[1:] {
			fanIn *= d
		}
		h := fnv.New64a()
		h.Write([]byte(p.Name))
		nn.UniformFanIn(p.Data, fanIn, rand.New(rand.NewPCG(seed, h.Sum64())))
	}
	return nil
}
