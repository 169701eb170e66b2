package dnas

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"dnas/dnas/diffusion"
	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

// SupernetOptions configures the supernet and its stage-1 training. Zero
// fields take the defaults of METHOD.md.
type SupernetOptions struct {
	// KernelChoices are the kernel sizes every searchable conv may take
	// (default {1, 3, 5}); each has its own weights. It must contain 3, the
	// teacher's kernel, so the baseline exists.
	KernelChoices []int `json:"kernel_choices"`
	// LR is Adam's learning rate (default 2e-4).
	LR float32 `json:"lr"`
	// GradClip is the global gradient-norm clip of each step (default 1.0).
	GradClip float64 `json:"grad_clip"`
	// BatchSize is the number of images per step (default 32; antithetic
	// timesteps come in pairs, so it should be even).
	BatchSize int `json:"batch_size"`
	// Seed drives the weights, the batches, the timesteps, the noise and the
	// sampled paths (default 1).
	Seed uint64 `json:"seed"`
	// Parallel makes TrainAll train every block on each teacher pass (one
	// step of each block per batch) instead of block after block (the
	// default of METHOD.md). Both give every block the same number of
	// steps; parallel runs the teacher once per step for all blocks.
	Parallel bool `json:"parallel"`
	// WidthChoices is the width-multiplier extension of METHOD.md (open
	// question 2), off by default: the inner-width multipliers every
	// ResBlock may take, e.g. {0.5, 0.75, 1}. Each multiplier must be in
	// (0, 1], listed once, and 1 (the teacher's width, the baseline) must be
	// among them. The supernet keeps full-width weights and a narrower width
	// runs on their leading slice (unet.ResBlock; channel counts are rounded
	// to whole GroupNorm groups, unet.InnerChannels); stage 1 draws a width
	// per ResBlock along with the kernels, and every candidate of stage 2
	// is a choice of kernels and widths. Empty (or just {1}) searches
	// kernels only, exactly as without this field.
	WidthChoices []float64 `json:"width_choices,omitempty"`
	// Sandwich (width supernets only; off by default) applies the
	// "sandwich rule" of slimmable networks: every stage-1 step also trains
	// the widest and the narrowest path of the block on the same batch
	// (kernels drawn uniformly for each) and sums the three gradients
	// before the one optimiser step. Without it, the channels that only
	// the wider paths use are trained less often than the leading ones that
	// every path shares, which flatters narrow candidates in the search
	// (results/README.md). A step costs about three plain ones; the recorded
	// loss is the uniformly drawn path's, as without it.
	Sandwich bool `json:"sandwich,omitempty"`
}

func (o SupernetOptions) withDefaults() SupernetOptions {
	if o.KernelChoices == nil {
		o.KernelChoices = []int{1, 3, 5}
	}
	if o.LR == 0 {
		o.LR = 2e-4
	}
	if o.GradClip == 0 {
		o.GradClip = 1
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Supernet is the DiffNAS supernet of one teacher: a UNet of the teacher's
// architecture in which every searchable ResBlock conv holds one set of
// weights per kernel size in KernelChoices ({1, 3, 5}), so every
// architecture of the search space is a path through it. Block inputs and
// outputs keep the teacher's shapes, so each student block can be fed the
// teacher's block inputs (stage 1, Train*) and scored against the teacher's
// block outputs (stage 2, Search).
//
// The student has its own time-embedding MLP (trained along with every
// block, with its own optimiser state) and its own stem (part of enc0).
type Supernet struct {
	Teacher *Teacher
	Net     *unet.UNet // the supernet (KernelChoices per searchable conv)
	Opts    SupernetOptions
	// Steps[i] counts the stage-1 steps block i of Net.Blocks() has had.
	Steps []int
	// Losses[i] is block i's training-loss history (one value per step).
	Losses [][]float64

	data  *mnist.Dataset
	opt   map[*nn.Param]*nn.Adam
	nb    *diffusion.NoisyBatch
	x0    *tensor.Tensor
	dOut  *tensor.Tensor
	idx   []int
	inUse []*nn.Param
	// capture holds the teacher's block features of the last training
	// step or search, reused by the next (teacherIO).
	capture []unet.BlockIO
}

// NewSupernet builds the supernet of teacher over the MNIST training images
// data (nil loads the full training set). Weights are initialised from
// opts.Seed like any fresh UNet.
func NewSupernet(teacher *Teacher, data *mnist.Dataset, opts SupernetOptions) (*Supernet, error) {
	if teacher == nil || teacher.Net == nil {
		return nil, errors.New("dnas.NewSupernet: no teacher: load one with dnas.LoadTeacherPreset or dnas.LoadTeacher")
	}
	o := opts.withDefaults()
	if !slices.Contains(o.KernelChoices, 3) {
		return nil, fmt.Errorf("dnas.NewSupernet: kernel choices %v must include 3, the teacher's kernel (the baseline of every block)", o.KernelChoices)
	}
	if err := CheckWidthChoices(o.WidthChoices); err != nil {
		return nil, fmt.Errorf("dnas.NewSupernet: %w", err)
	}
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("dnas.NewSupernet: batch size %d must be >= 1", o.BatchSize)
	}
	if o.Sandwich && !o.searchesWidths() {
		return nil, errors.New("dnas.NewSupernet: the sandwich rule trains the widest and narrowest paths: it needs WidthChoices (e.g. {0.5, 0.75, 1}); kernel choices have separate weights and need no sandwich")
	}
	cfg := teacher.Preset.UNet
	cfg.Kernels = nil
	cfg.KernelChoices = slices.Clone(o.KernelChoices)
	cfg.Widths, cfg.WidthChoices = nil, nil
	if o.searchesWidths() {
		cfg.WidthChoices = slices.Clone(o.WidthChoices)
	}
	net, err := unet.New(cfg, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("dnas.NewSupernet: %w", err)
	}
	if data == nil {
		if data, err = mnist.LoadTrain(); err != nil {
			return nil, err
		}
	}
	s := &Supernet{Teacher: teacher, Net: net, Opts: o, data: data, opt: map[*nn.Param]*nn.Adam{}}
	n := len(net.Blocks())
	s.Steps = make([]int, n)
	s.Losses = make([][]float64, n)
	if err := s.setTeacherPath(); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckWidthChoices checks a list of width multipliers for
// SupernetOptions.WidthChoices (and `dnas run --widths`): empty is fine (no
// width search); otherwise every multiplier must be in (0, 1], none may be
// listed twice, and 1 must be one of them.
func CheckWidthChoices(ws []float64) error {
	if len(ws) == 0 {
		return nil
	}
	for _, w := range ws {
		if !(w > 0 && w <= 1) {
			return fmt.Errorf("width multiplier %v: each must be in (0, 1] (1 is the teacher's width; e.g. 0.5,0.75,1)", w)
		}
	}
	for i, w := range ws {
		if slices.Index(ws, w) != i {
			return fmt.Errorf("width multipliers %v list %v twice: give each once", ws, w)
		}
	}
	if !slices.Contains(ws, 1) {
		return fmt.Errorf("width multipliers %v must include 1, the teacher's width (the baseline of every block)", ws)
	}
	return nil
}

// searchesWidths reports whether the options search widths (more than the
// full width alone).
func (o SupernetOptions) searchesWidths() bool { return len(o.WidthChoices) > 1 }

// setTeacherPath puts every searchable conv on kernel 3 and every ResBlock
// at full width (the teacher architecture).
func (s *Supernet) setTeacherPath() error {
	ks := make([]int, len(s.Net.SearchableConvs()))
	for i := range ks {
		ks[i] = 3
	}
	ws := make([]float64, len(s.Net.ResBlocks()))
	for i := range ws {
		ws[i] = 1
	}
	if err := s.Net.SetKernels(ks); err != nil {
		return err
	}
	return s.Net.SetWidths(ws)
}

// BlockNames lists the names of the searchable blocks, in the order they
// run ("enc0", "enc1", ..., "mid", ..., "dec0").
func (s *Supernet) BlockNames() []string {
	var names []string
	for _, b := range s.Net.Blocks() {
		if b.Searchable {
			names = append(names, b.Name)
		}
	}
	return names
}

// blockIndex resolves a searchable block's name to its index in
// Net.Blocks(), or an error listing the names there are.
func (s *Supernet) blockIndex(name string) (int, error) {
	for i, b := range s.Net.Blocks() {
		if b.Name == name && b.Searchable {
			return i, nil
		}
	}
	return -1, fmt.Errorf("unknown block %q: the supernet's searchable blocks are %s", name, strings.Join(s.BlockNames(), ", "))
}

// searchable returns the indexes of the searchable blocks in Net.Blocks().
func (s *Supernet) searchable() []int {
	var idx []int
	for i, b := range s.Net.Blocks() {
		if b.Searchable {
			idx = append(idx, i)
		}
	}
	return idx
}

// Trained reports whether every searchable block has had at least one
// stage-1 step (a search needs it).
func (s *Supernet) Trained() bool {
	for _, i := range s.searchable() {
		if s.Steps[i] == 0 {
			return false
		}
	}
	return true
}

// BlockSteps returns the number of stage-1 steps of each searchable block,
// by name.
func (s *Supernet) BlockSteps() map[string]int {
	m := map[string]int{}
	for _, i := range s.searchable() {
		m[s.Net.Blocks()[i].Name] = s.Steps[i]
	}
	return m
}

// NumCandidates is the number of candidate architectures of every block
// (e.g. 81 for an encoder block of the base teacher, 729 for a decoder
// block; with WidthChoices, times the number of width choices per ResBlock:
// 729 and 19683 with three widths) and the size of the whole search space
// (their product).
func (s *Supernet) NumCandidates() (perBlock map[string]int, total float64) {
	perBlock = map[string]int{}
	total = 1
	for _, i := range s.searchable() {
		b := s.Net.Blocks()[i]
		perBlock[b.Name] = b.NumCandidates()
		total *= float64(b.NumCandidates())
	}
	return perBlock, total
}

// String summarises the supernet.
func (s *Supernet) String() string {
	per, total := s.NumCandidates()
	var parts []string
	for _, name := range s.BlockNames() {
		i, _ := s.blockIndex(name)
		parts = append(parts, fmt.Sprintf("%s:%d cand/%d steps", name, per[name], s.Steps[i]))
	}
	widths := ""
	if s.Opts.searchesWidths() {
		widths = fmt.Sprintf(", widths %v per ResBlock", s.Opts.WidthChoices)
	}
	return fmt.Sprintf("supernet of %s, kernels %v%s, %d searchable convs, %.3g architectures, %s weights; %s",
		s.Teacher.Preset.Name, s.Opts.KernelChoices, widths, len(s.Net.SearchableConvs()), total,
		FormatCount(nn.CountParams(s.Net.AllParams())), strings.Join(parts, ", "))
}

// adam returns the optimiser of one parameter. Each parameter has its own
// Adam state, so a conv that was not on the sampled path is not touched
// (a zero gradient would still move it through Adam's momentum), as in
// PyTorch where unused parameters have no gradient.
func (s *Supernet) adam(p *nn.Param) *nn.Adam {
	a, ok := s.opt[p]
	if !ok {
		a = nn.NewAdam([]*nn.Param{p}, s.Opts.LR)
		s.opt[p] = a
	}
	return a
}

// stepRNG is the random stream of step `step` of block `block`: everything
// random in a step (images, timesteps, noise, path) comes from it, so a
// resumed run draws exactly what an uninterrupted one would.
func (s *Supernet) stepRNG(block, step int) *rand.Rand {
	return rand.New(rand.NewPCG(s.Opts.Seed, uint64(block)<<40|uint64(step)))
}

// batch draws the images, timesteps (antithetic pairs) and noise of a step.
func (s *Supernet) batch(rng *rand.Rand) *diffusion.NoisyBatch {
	n := s.Opts.BatchSize
	s.idx = s.idx[:0]
	for range n {
		s.idx = append(s.idx, rng.IntN(s.data.N))
	}
	s.x0, _ = s.data.Batch(s.idx, s.x0)
	s.nb = s.Teacher.Schedule.Noisy(s.x0, rng, true, s.nb)
	return s.nb
}

// samplePath activates a uniformly drawn kernel for every searchable conv of
// block b and, in a width supernet, a uniformly drawn width for every
// ResBlock of b (drawn after the kernels, so without widths the stream is
// that of a kernel-only supernet).
func (s *Supernet) samplePath(b *unet.Block, rng *rand.Rand) {
	ks := make([]int, len(b.Convs()))
	for i, c := range b.Convs() {
		ks[i] = c.Kernels[rng.IntN(len(c.Kernels))]
	}
	if err := b.SetKernels(ks); err != nil {
		panic(err) // the kernels come from the conv's own choices
	}
	if !s.Opts.searchesWidths() {
		return
	}
	rs := b.ResBlocks()
	ws := make([]float64, len(rs))
	for i, r := range rs {
		ws[i] = r.WidthChoices[rng.IntN(len(r.WidthChoices))]
	}
	if err := b.SetWidths(ws); err != nil {
		panic(err) // the widths come from the ResBlock's own choices
	}
}

// jsonString encodes v compactly (for checkpoint metadata).
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// jsonParse decodes s into v; an empty s leaves v alone.
func jsonParse(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
