package dnas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"dnas/dnas/checkpoint"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
	"dnas/plots"
)

// Candidate is one architecture of one block in stage 2: the kernel size of
// every searchable conv of the block (in the order the UNet lists them),
// with a width search the inner-width multiplier of every ResBlock of the
// block, and what the search measured for it with the supernet's shared
// weights.
type Candidate struct {
	Kernels []int `json:"kernels"` // kernel size per searchable conv of the block
	// Widths is the width multiplier per ResBlock of the block (ResBlock i
	// holds convs 2i and 2i+1); nil without a width search (full width).
	Widths []float64 `json:"widths,omitempty"`
	Loss   float64   `json:"loss"`   // MSE to the teacher's block output on the evaluation set
	MACs   int64     `json:"macs"`   // multiply-accumulates of the block, one sample
	Params int64     `json:"params"` // parameters of the block on this path
}

// IsTeacher reports whether the candidate is the teacher's architecture:
// every kernel 3 and every width 1.
func (c Candidate) IsTeacher() bool {
	return allEqual(c.Kernels, 3) && !slices.ContainsFunc(c.Widths, func(w float64) bool { return w != 1 })
}

// BlockSearch is the candidate table of one block: every candidate the
// search evaluated, which one is the baseline (the teacher's architecture,
// all kernels 3 at full width, inside the supernet) and which one was
// chosen.
type BlockSearch struct {
	Block      string      `json:"block"` // block name, e.g. "enc1", "mid", "dec0"
	Index      int         `json:"index"` // position in UNet.Blocks()
	Candidates []Candidate `json:"candidates"`
	Baseline   int         `json:"baseline"` // index into Candidates of the teacher architecture
	Choice     int         `json:"choice"`   // index into Candidates of the chosen architecture
	// NoneQualified is set when no candidate had loss <= baseline x
	// loss_scale (possible with loss_scale < 1); the block then keeps the
	// baseline architecture.
	NoneQualified bool `json:"none_qualified,omitempty"`
}

// Chosen is the chosen candidate of the block.
func (b *BlockSearch) Chosen() Candidate { return b.Candidates[b.Choice] }

// BaselineCandidate is the teacher-architecture candidate of the block.
func (b *BlockSearch) BaselineCandidate() Candidate { return b.Candidates[b.Baseline] }

// SearchResult is the outcome of stage 2: for every searchable block, its
// full candidate table and the chosen architecture. Block-wise local search
// (the DiffNAS rule), the global evolutionary search and the random search
// all return this type, so they can be compared side by side, saved and
// reloaded (Save / LoadSearchResult), and turned into a standalone UNet
// (BuildSubnet).
type SearchResult struct {
	// Method is "blockwise", "global" or "random".
	Method string `json:"method"`
	// Teacher identifies the teacher the supernet distilled (a hash of its
	// config, see TeacherID); a result is refused for any other teacher.
	Teacher string `json:"teacher"`
	// LossScale is the block-wise rule's tolerance: loss <= baseline x LossScale.
	LossScale float64 `json:"loss_scale"`
	// MinReduction is set when LossScale was not given but picked: the
	// smallest tolerance whose subnet removes at least this fraction of the
	// teacher's MACs (SelectForReduction).
	MinReduction float64 `json:"min_reduction,omitempty"`
	// Seed drew the evaluation set (and the random choices of the global and
	// random searches).
	Seed uint64 `json:"seed"`
	// EvalBatch is the number of (x0, t, noise) samples in the evaluation set.
	EvalBatch int           `json:"eval_batch"`
	Blocks    []BlockSearch `json:"blocks"`
	// FixedMACs / FixedParams count what lies outside the searchable blocks
	// (time embedding, stem, head): the same for every candidate.
	FixedMACs   int64 `json:"fixed_macs"`
	FixedParams int64 `json:"fixed_params"`
	// Notes says how the choice was made (e.g. the global search's budget).
	Notes string `json:"notes,omitempty"`
}

// Kernels lists the chosen kernel size of every searchable conv of the
// model, block after block: the Kernels field of the subnet's unet.Config.
func (r *SearchResult) Kernels() []int {
	var k []int
	for i := range r.Blocks {
		k = append(k, r.Blocks[i].Chosen().Kernels...)
	}
	return k
}

// Widths lists the chosen width multiplier of every ResBlock of the model,
// block after block: the Widths field of the subnet's unet.Config. It is nil
// when every chosen width is 1 or the search had no widths (nil means full
// width in a unet.Config).
func (r *SearchResult) Widths() []float64 {
	var ws []float64
	narrow := false
	for i := range r.Blocks {
		c := r.Blocks[i].Chosen()
		for _, w := range c.Widths {
			narrow = narrow || w != 1
		}
		ws = append(ws, c.Widths...)
	}
	if !narrow {
		return nil
	}
	return ws
}

// SubnetConfig returns the unet.Config of the chosen architecture for a
// teacher of config base: base with the chosen kernels and widths, as a
// plain network (no kernel or width choices), so unet.New builds convs of
// exactly the chosen sizes. BuildSubnet builds from it.
func (r *SearchResult) SubnetConfig(base unet.Config) unet.Config {
	c := base
	c.Mult, c.AttnRes = slices.Clone(base.Mult), slices.Clone(base.AttnRes)
	c.Kernels, c.KernelChoices = r.Kernels(), nil
	c.Widths, c.WidthChoices = r.Widths(), nil
	return c
}

// MACs is the whole model's multiply-accumulates (one sample, one timestep)
// with the chosen architecture.
func (r *SearchResult) MACs() int64 {
	macs, _ := r.total(false)
	return macs
}

// Params is the whole model's parameter count with the chosen architecture.
func (r *SearchResult) Params() int64 {
	_, params := r.total(false)
	return params
}

// SearchableMACs is the MACs of the searchable blocks alone.
func (r *SearchResult) SearchableMACs() int64 { return r.MACs() - r.FixedMACs }

// TeacherMACs is the whole model's MACs with the teacher's architecture
// (every block at its baseline).
func (r *SearchResult) TeacherMACs() int64 {
	macs, _ := r.total(true)
	return macs
}

// TeacherParams is the parameter count of the teacher's architecture.
func (r *SearchResult) TeacherParams() int64 {
	_, params := r.total(true)
	return params
}

// total returns the whole model's MACs and parameter count: the fixed
// layers plus, in every block, the chosen candidate or, when teacher is
// true, the baseline (the teacher's architecture).
func (r *SearchResult) total(teacher bool) (macs, params int64) {
	macs, params = r.FixedMACs, r.FixedParams
	for i := range r.Blocks {
		var c Candidate
		if teacher {
			c = r.Blocks[i].BaselineCandidate()
		} else {
			c = r.Blocks[i].Chosen()
		}
		macs += c.MACs
		params += c.Params
	}
	return macs, params
}

// MACReduction is 1 - MACs/TeacherMACs: 0.3 means 30% fewer MACs.
func (r *SearchResult) MACReduction() float64 {
	return 1 - float64(r.MACs())/float64(r.TeacherMACs())
}

// TotalLoss is the sum over blocks of the chosen candidates' losses (the
// quantity the global search constrains).
func (r *SearchResult) TotalLoss() float64 {
	var s float64
	for i := range r.Blocks {
		s += r.Blocks[i].Chosen().Loss
	}
	return s
}

// BaselineLoss is the sum over blocks of the baselines' losses.
func (r *SearchResult) BaselineLoss() float64 {
	var s float64
	for i := range r.Blocks {
		s += r.Blocks[i].BaselineCandidate().Loss
	}
	return s
}

// Block returns the table of the named block, or an error listing the
// block names there are.
func (r *SearchResult) Block(name string) (*BlockSearch, error) {
	var names []string
	for i := range r.Blocks {
		if r.Blocks[i].Block == name {
			return &r.Blocks[i], nil
		}
		names = append(names, r.Blocks[i].Block)
	}
	return nil, fmt.Errorf("unknown block %q: this search has blocks %s", name, strings.Join(names, ", "))
}

// CheckTeacher refuses a result that was searched for another teacher: id is
// the TeacherID of the teacher at hand.
func (r *SearchResult) CheckTeacher(id string) error {
	if r.Teacher != id {
		return fmt.Errorf("search result belongs to teacher %s, not to this teacher %s: search again with this teacher's supernet", r.Teacher, id)
	}
	return nil
}

// Validate checks the internal consistency of a result (indexes in range,
// every block has candidates, the candidates of a block agree on their
// number of convs and ResBlocks, widths are multipliers in (0, 1]).
func (r *SearchResult) Validate() error {
	if len(r.Blocks) == 0 {
		return errors.New("search result has no blocks: run the search (stage 2) first")
	}
	for i := range r.Blocks {
		b := &r.Blocks[i]
		n := len(b.Candidates)
		if n == 0 {
			return fmt.Errorf("search result: block %s has no candidates", b.Block)
		}
		if b.Baseline < 0 || b.Baseline >= n || b.Choice < 0 || b.Choice >= n {
			return fmt.Errorf("search result: block %s has baseline %d / choice %d outside its %d candidates", b.Block, b.Baseline, b.Choice, n)
		}
		k, w := len(b.Candidates[0].Kernels), len(b.Candidates[0].Widths)
		for _, c := range b.Candidates {
			if len(c.Kernels) != k {
				return fmt.Errorf("search result: block %s mixes candidates with %d and %d convs", b.Block, k, len(c.Kernels))
			}
			if len(c.Widths) != w {
				return fmt.Errorf("search result: block %s mixes candidates with %d and %d widths", b.Block, w, len(c.Widths))
			}
			if w > 0 && 2*w != k {
				return fmt.Errorf("search result: block %s has candidates with %d convs but %d widths (one per ResBlock, i.e. per 2 convs)", b.Block, k, w)
			}
			for _, x := range c.Widths {
				if !(x > 0 && x <= 1) {
					return fmt.Errorf("search result: block %s has a candidate with width %v, outside (0, 1]", b.Block, x)
				}
			}
		}
	}
	return nil
}

// Clone returns a deep copy (the candidate tables are shared read-only data,
// copied too so the clone can be edited freely).
func (r *SearchResult) Clone() *SearchResult {
	c := *r
	c.Blocks = make([]BlockSearch, len(r.Blocks))
	for i, b := range r.Blocks {
		nb := b
		nb.Candidates = make([]Candidate, len(b.Candidates))
		for j, cd := range b.Candidates {
			cd.Kernels = append([]int(nil), cd.Kernels...)
			if cd.Widths != nil {
				cd.Widths = append([]float64(nil), cd.Widths...)
			}
			nb.Candidates[j] = cd
		}
		c.Blocks[i] = nb
	}
	return &c
}

// ChooseCandidate is the DiffNAS selection rule for one block: among the
// candidates whose loss is <= baselineLoss x lossScale, the one with the
// fewest MACs; a tie on MACs goes to the lower loss (then to the earlier
// candidate). ok is false when no candidate qualifies (possible only with
// lossScale < 1), and the index is then -1. lossScale must be > 0.
func ChooseCandidate(cands []Candidate, baselineLoss, lossScale float64) (index int, ok bool, err error) {
	if !(lossScale > 0) || math.IsInf(lossScale, 0) {
		return -1, false, fmt.Errorf("loss_scale %g must be a finite number > 0 (1.0 keeps candidates no worse than the teacher architecture)", lossScale)
	}
	if len(cands) == 0 {
		return -1, false, errors.New("no candidates to choose from: the block's table is empty")
	}
	limit := baselineLoss * lossScale
	best := -1
	for i, c := range cands {
		if math.IsNaN(c.Loss) || c.Loss > limit {
			continue
		}
		if best < 0 || c.MACs < cands[best].MACs || (c.MACs == cands[best].MACs && c.Loss < cands[best].Loss) {
			best = i
		}
	}
	return best, best >= 0, nil
}

// SelectBlockwise applies the DiffNAS block-wise local search rule to every
// block of a candidate table, independently, and returns a new result with
// Method "blockwise". A block where nothing qualifies keeps its baseline
// (NoneQualified is set). r itself is not changed, so the same table can be
// re-selected with several loss scales.
func SelectBlockwise(r *SearchResult, lossScale float64) (*SearchResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	out := r.Clone()
	out.Method, out.LossScale = "blockwise", lossScale
	out.Notes = fmt.Sprintf("per block: fewest MACs with loss <= baseline x %g (MAC tie: lower loss)", lossScale)
	for i := range out.Blocks {
		b := &out.Blocks[i]
		idx, ok, err := ChooseCandidate(b.Candidates, b.BaselineCandidate().Loss, lossScale)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", b.Block, err)
		}
		b.NoneQualified = !ok
		if ok {
			b.Choice = idx
		} else {
			b.Choice = b.Baseline
		}
	}
	return out, nil
}

// Save writes the result as indented JSON (directories are created).
func (r *SearchResult) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save search result: %w", err)
	}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("save search result: %w", err)
	}
	return checkpoint.WriteFileAtomic(path, append(b, '\n'))
}

// LoadSearchResult reads a result written by Save and checks its
// consistency. Check it against the teacher at hand with CheckTeacher (the
// functions that use a result do so themselves).
func LoadSearchResult(path string) (*SearchResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load search result: %w", err)
	}
	var r SearchResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("load search result %s: not a search result JSON: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("load search result %s: %w", path, err)
	}
	return &r, nil
}

// ParetoFront returns the indexes of the block's candidates that no other
// candidate beats on both MACs and loss, sorted by MACs: the trade-off curve
// drawn in the per-block chart.
func (b *BlockSearch) ParetoFront() []int {
	idx := make([]int, len(b.Candidates))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, c int) bool {
		ca, cc := b.Candidates[idx[a]], b.Candidates[idx[c]]
		if ca.MACs != cc.MACs {
			return ca.MACs < cc.MACs
		}
		return ca.Loss < cc.Loss
	})
	var front []int
	best := math.Inf(1)
	for _, i := range idx {
		if b.Candidates[i].Loss < best {
			front = append(front, i)
			best = b.Candidates[i].Loss
		}
	}
	return front
}

// HasWidths reports whether the search had width choices (its candidates
// record widths).
func (r *SearchResult) HasWidths() bool {
	return len(r.Blocks) > 0 && len(r.Blocks[0].Candidates) > 0 && r.Blocks[0].Candidates[0].Widths != nil
}

// NumCandidates is the number of candidates the search evaluated, over all
// blocks.
func (r *SearchResult) NumCandidates() int {
	n := 0
	for i := range r.Blocks {
		n += len(r.Blocks[i].Candidates)
	}
	return n
}

// Table renders the chosen architecture block by block as a Markdown table
// (kernels, with a width search the widths, loss vs baseline, MACs vs
// baseline, and the number of candidates).
func (r *SearchResult) Table() string {
	var sb strings.Builder
	wh, wsep := "", ""
	if r.HasWidths() {
		wh, wsep = " widths (chosen) |", "---|"
	}
	fmt.Fprintf(&sb, "| block | kernels (chosen) |%s loss | baseline loss | MACs | baseline MACs | candidates |\n", wh)
	fmt.Fprintf(&sb, "|---|---|%s---|---|---|---|---|\n", wsep)
	for i := range r.Blocks {
		b := &r.Blocks[i]
		c, base := b.Chosen(), b.BaselineCandidate()
		wc := ""
		if wh != "" {
			wc = fmt.Sprintf(" %v |", c.Widths)
		}
		fmt.Fprintf(&sb, "| %s | %v |%s %.5f | %.5f | %s | %s | %d |\n", b.Block, c.Kernels, wc, c.Loss, base.Loss,
			FormatCount(c.MACs), FormatCount(base.MACs), len(b.Candidates))
	}
	wt, count := "", ""
	if wh != "" {
		wt, count = " |", fmt.Sprintf(" %d", r.NumCandidates())
	}
	fmt.Fprintf(&sb, "| **total** (%s) | |%s %.5f | %.5f | %s | %s |%s |\n", r.Method, wt, r.TotalLoss(), r.BaselineLoss(),
		FormatCount(r.MACs()), FormatCount(r.TeacherMACs()), count)
	return sb.String()
}

// String summarises the result in one line.
func (r *SearchResult) String() string {
	if len(r.Blocks) == 0 {
		return "SearchResult{empty}"
	}
	widths := ""
	if r.HasWidths() {
		ws := r.Widths()
		if ws == nil {
			widths = ", widths all 1"
		} else {
			widths = fmt.Sprintf(", widths %v", ws)
		}
	}
	return fmt.Sprintf("SearchResult{%s: %s MACs (teacher %s, -%.1f%%), %s params, kernels %v%s}",
		r.Method, FormatCount(r.MACs()), FormatCount(r.TeacherMACs()), 100*r.MACReduction(), FormatCount(r.Params()), r.Kernels(), widths)
}

// FormatCount prints a count with a k/M/G suffix (1234567 -> "1.23M").
func FormatCount(n int64) string { return unet.FormatCount(n) }

// plotBlock converts one block's table to the plots package's plain data.
func (b *BlockSearch) plotBlock(lossScale float64) plots.BlockSearch {
	pb := plots.BlockSearch{Block: b.Block, Baseline: b.Baseline, Chosen: b.Choice}
	if lossScale > 0 {
		pb.LossScale = lossScale
	}
	for _, c := range b.Candidates {
		pb.Candidates = append(pb.Candidates, plots.Candidate{Kernels: c.Kernels, Loss: c.Loss, MACs: c.MACs, Params: c.Params, Widths: c.Widths})
	}
	return pb
}

// BlockChart draws the named block's loss-vs-MACs trade-off: every
// candidate, the Pareto front, the baseline (teacher architecture), the
// chosen candidate and the loss_scale threshold.
func (r *SearchResult) BlockChart(block string) (*plots.Chart, error) {
	b, err := r.Block(block)
	if err != nil {
		return nil, err
	}
	scale := 0.0
	if r.Method == "blockwise" {
		scale = r.LossScale
	}
	return plots.BlockTradeoff(b.plotBlock(scale))
}

// TradeoffChart draws the trade-off of every block in a grid (cols 0 picks
// a layout).
func (r *SearchResult) TradeoffChart(cols int) (*plots.Chart, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	scale := 0.0
	if r.Method == "blockwise" {
		scale = r.LossScale
	}
	var bs []plots.BlockSearch
	for i := range r.Blocks {
		bs = append(bs, r.Blocks[i].plotBlock(scale))
	}
	return plots.TradeoffGrid(cols, bs...)
}

// SearchOptions configures stage 2, the block-wise local search.
type SearchOptions struct {
	// EvalBatch is the number of (x0, t, noise) samples of the fixed
	// evaluation set (default 64).
	EvalBatch int
	// Seed draws the evaluation set (default 1234): the same seed gives the
	// same set, so results of several searches compare.
	Seed uint64
	// LossScale is the tolerance of the selection rule: a candidate
	// qualifies when its loss <= baseline loss x LossScale (default 1.0).
	LossScale float64
	// MinReduction, when > 0, asks for a MAC saving instead of a tolerance:
	// the rule runs at the smallest loss_scale >= LossScale whose subnet has
	// at least this many fewer MACs than the teacher (0.3 = 30% fewer),
	// found exactly from the candidate tables (SelectForReduction). The
	// result records the loss_scale it took. Asking for more than the
	// cheapest candidate of every block gives is an error that says the
	// most there is.
	MinReduction float64 `json:",omitempty"`
}

// Search runs stage 2 of DiffNAS on the trained supernet. It fixes an
// evaluation set (EvalBatch MNIST training images, timesteps in antithetic
// pairs and noise, drawn from Seed), runs the teacher on it once to get every
// block's inputs and outputs, then, for every searchable block, evaluates
// every candidate architecture of the block (every combination of kernel
// sizes of its convs and, with SupernetOptions.WidthChoices, of widths of
// its ResBlocks: kernel combinations outer, widths inner) with the
// supernet's shared weights: its MSE to the teacher's block output, its MACs
// and its parameters (at the candidate's widths: those of the standalone
// block). The baseline of a block is the all-3x3, full-width candidate
// inside the supernet. The returned result
// keeps every candidate and holds the block-wise choice (SelectBlockwise
// with LossScale); GlobalSearch and RandomSearch can re-select from it.
//
// Searching before every block has been trained is an error.
func (s *Supernet) Search(ctx context.Context, opts SearchOptions) (res *SearchResult, err error) {
	defer nn.Catch(&err)
	if opts.EvalBatch <= 0 {
		opts.EvalBatch = 64
	}
	if opts.Seed == 0 {
		opts.Seed = 1234
	}
	if opts.LossScale == 0 {
		opts.LossScale = 1
	}
	if !(opts.LossScale > 0) {
		return nil, fmt.Errorf("search: loss_scale %g must be > 0 (1.0 keeps candidates no worse than the teacher architecture)", opts.LossScale)
	}
	if err := checkReduction(opts.MinReduction); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var untrained []string
	for _, name := range s.BlockNames() {
		if i, _ := s.blockIndex(name); s.Steps[i] == 0 {
			untrained = append(untrained, name)
		}
	}
	if len(untrained) > 0 {
		return nil, fmt.Errorf("search before supernet training: block(s) %s have no stage-1 steps; run TrainAll (or TrainBlock) first", strings.Join(untrained, ", "))
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5ea2c4))
	idx := make([]int, opts.EvalBatch)
	for k := range idx {
		idx[k] = rng.IntN(s.data.N)
	}
	x0, _ := s.data.Batch(idx, nil)
	nb := s.Teacher.Schedule.Noisy(x0, rng, true, nil)
	io, err := s.teacherIO(nb.Xt, nb.TF)
	if err != nil {
		return nil, err
	}
	s.Net.SetTraining(false)
	temb := s.Net.Time.Forward(nb.TF).Clone()
	defer s.setTeacherPath()
	if err := s.setTeacherPath(); err != nil {
		return nil, err
	}
	res = &SearchResult{Method: "table", Teacher: s.Teacher.ID(), LossScale: opts.LossScale, Seed: opts.Seed, EvalBatch: opts.EvalBatch}
	var blockMACs, blockParams int64
	total := 0
	for _, i := range s.searchable() {
		total += s.Net.Blocks()[i].NumCandidates()
		blockMACs += s.Net.Blocks()[i].MACs()
		blockParams += s.Net.Blocks()[i].NumParams()
	}
	res.FixedMACs = s.Net.MACs() - blockMACs
	res.FixedParams = s.Net.NumParams() - blockParams
	tr := progress.NewTracker("stage 2: block-wise search", total, nil)
	done := 0
	for _, i := range s.searchable() {
		b := s.Net.Blocks()[i]
		bs := BlockSearch{Block: b.Name, Index: i, Baseline: -1}
		in := unet.BlockInput{X: io[i].In.X, Skips: io[i].In.Skips, Temb: temb}
		choices := make([][]int, len(b.Convs()))
		for c, conv := range b.Convs() {
			choices[c] = conv.Kernels
		}
		widthSets := [][]float64{nil} // without a width search: the full width, no Widths recorded
		if s.Opts.searchesWidths() {
			var wc [][]float64
			for _, r := range b.ResBlocks() {
				wc = append(wc, r.WidthChoices)
			}
			widthSets = choiceProduct(wc)
		}
		// Every candidate's loss, the steps before each ResBlock shared by
		// the candidates that agree on them; then the candidates in order.
		losses, err := s.blockLosses(ctx, i, in, io[i].Out.Out, func(loss float64) {
			done++
			tr.Step(done, opts.EvalBatch, loss)
		})
		if err != nil {
			tr.Done(done, 0)
			return nil, err
		}
		for _, ks := range kernelProduct(choices) {
			if err := b.SetKernels(ks); err != nil {
				return nil, err
			}
			for _, ws := range widthSets {
				if ws != nil {
					if err := b.SetWidths(ws); err != nil {
						return nil, err
					}
				}
				loss, ok := losses[candidateKey(ks, ws)]
				if !ok {
					return nil, fmt.Errorf("search: block %s: candidate %v %v was not evaluated", b.Name, ks, ws)
				}
				c := Candidate{Kernels: slices.Clone(ks), Widths: slices.Clone(ws), Loss: loss, MACs: b.MACs(), Params: b.NumParams()}
				if c.IsTeacher() {
					bs.Baseline = len(bs.Candidates)
				}
				bs.Candidates = append(bs.Candidates, c)
			}
		}
		if bs.Baseline < 0 {
			return nil, fmt.Errorf("search: block %s has no all-3x3 full-width candidate (kernel choices %v must include 3, width choices %v must include 1)", b.Name, s.Opts.KernelChoices, s.Opts.WidthChoices)
		}
		if err := s.setTeacherPath(); err != nil {
			return nil, err
		}
		res.Blocks = append(res.Blocks, bs)
	}
	tr.Done(done, 0)
	if opts.MinReduction > 0 {
		return SelectForReduction(res, opts.LossScale, opts.MinReduction)
	}
	return SelectBlockwise(res, opts.LossScale)
}

// candidateKey names a candidate of a block: its kernels and widths.
func candidateKey(ks []int, ws []float64) string { return fmt.Sprint(ks, ws) }

// blockLosses returns the MSE to target of every candidate of block i, fed
// in, keyed by candidateKey, calling each after every one. It walks the
// candidates depth first, a ResBlock at a time (its two kernels, and its
// width when widths are searched), and runs the block's steps up to that
// ResBlock once per choice of it and of the ResBlocks before it, not once
// per candidate: a decoder block of three ResBlocks then runs 9 + 81 + 729
// ResBlocks instead of 3 x 729. The steps run are the same as RunBlock's, so
// are the losses, bit for bit.
func (s *Supernet) blockLosses(ctx context.Context, i int, in unet.BlockInput, target *tensor.Tensor, each func(loss float64)) (map[string]float64, error) {
	b := s.Net.Blocks()[i]
	rs, rsteps, convs := b.ResBlocks(), b.ResBlockSteps(), b.Convs()
	if len(convs) != 2*len(rs) {
		return nil, fmt.Errorf("search: block %s has %d searchable convs for %d ResBlocks; want two each", b.Name, len(convs), len(rs))
	}
	for r, rb := range rs {
		if convs[2*r] != rb.Conv1 || convs[2*r+1] != rb.Conv2 {
			return nil, fmt.Errorf("search: block %s: its searchable convs are not its ResBlocks' in order", b.Name)
		}
	}
	widths := s.Opts.searchesWidths()
	ks := b.Kernels()
	var ws []float64
	if widths {
		ws = b.Widths()
	}
	table := make(map[string]float64, b.NumCandidates())
	var walk func(d int, h *tensor.Tensor, from int) error
	walk = func(d int, h *tensor.Tensor, from int) error {
		if d == len(rs) {
			if err := ctx.Err(); err != nil {
				return err
			}
			out := h
			if from < b.NumSteps() {
				var err error
				if out, err = s.Net.RunBlockSteps(i, in, h, from, b.NumSteps()); err != nil {
					return err
				}
			}
			loss := float64(nn.MSELoss(out, target, nil))
			table[candidateKey(ks, ws)] = loss
			each(loss)
			return nil
		}
		wc := []float64{0} // 0: the width is not searched, leave it
		if widths {
			wc = rs[d].WidthChoices
		}
		to := rsteps[d] + 1
		for _, k1 := range convs[2*d].Kernels {
			for _, k2 := range convs[2*d+1].Kernels {
				for _, w := range wc {
					convs[2*d].SetKernel(k1)
					convs[2*d+1].SetKernel(k2)
					ks[2*d], ks[2*d+1] = k1, k2
					if widths {
						rs[d].SetWidth(w)
						ws[d] = w
					}
					hd, err := s.Net.RunBlockSteps(i, in, h, from, to)
					if err != nil {
						return err
					}
					if err := walk(d+1, hd, to); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(0, nil, 0); err != nil {
		return nil, err
	}
	return table, nil
}

// kernelProduct lists every combination of one kernel per conv, the first
// conv varying slowest.
func kernelProduct(choices [][]int) [][]int { return choiceProduct(choices) }

// choiceProduct lists every combination of one value per position from
// choices[position], the first position varying slowest.
func choiceProduct[T any](choices [][]T) [][]T {
	out := [][]T{{}}
	for _, cs := range choices {
		var next [][]T
		for _, prefix := range out {
			for _, k := range cs {
				next = append(next, append(slices.Clone(prefix), k))
			}
		}
		out = next
	}
	return out
}

func allEqual(ks []int, v int) bool {
	for _, k := range ks {
		if k != v {
			return false
		}
	}
	return true
}
