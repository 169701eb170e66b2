package dnas

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"dnas/dnas/unet"
	"dnas/plots"
)

// LossScalePoint is the block-wise rule's subnet from one loss_scale on.
type LossScalePoint struct {
	// LossScale is the smallest tolerance giving this subnet: the loss ratio
	// (candidate loss / baseline loss) of the candidate it admits.
	LossScale    float64   `json:"loss_scale"`
	MACs         int64     `json:"macs"`
	MACReduction float64   `json:"mac_reduction"` // 1 - MACs / teacher MACs
	Params       int64     `json:"params"`
	TotalLoss    float64   `json:"total_loss"` // sum of the chosen blocks' losses
	Kernels      []int     `json:"kernels"`
	Widths       []float64 `json:"widths,omitempty"`
}

// LossScaleSweep is how the block-wise rule's MAC saving grows with its
// tolerance loss_scale, from one search's candidate tables: no candidate is
// evaluated again. The rule's choice only changes where loss_scale crosses
// some candidate's loss ratio, so the sweep is exact, not sampled.
type LossScaleSweep struct {
	Teacher     string  `json:"teacher"`
	TeacherMACs int64   `json:"teacher_macs"`
	From        float64 `json:"from"`
	To          float64 `json:"to"`
	// Points lists every change of the whole model's MACs, LossScale
	// increasing; Points[0] is the choice at From.
	Points []LossScalePoint `json:"points"`
}

// SweepLossScale re-selects r's block-wise choice at every loss_scale in
// [from, to] where it changes (use from = 1, METHOD.md's default). r is any
// search result with its candidate tables (the method does not matter).
func SweepLossScale(r *SearchResult, from, to float64) (*LossScaleSweep, error) {
	if !(from > 0) || !(to > from) || math.IsInf(to, 0) {
		return nil, fmt.Errorf("dnas.SweepLossScale: want 0 < from < to (finite), got from %v, to %v (e.g. 1 and 1.5)", from, to)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	// Every loss_scale where some candidate starts to qualify.
	scales := []float64{from}
	for i := range r.Blocks {
		b := &r.Blocks[i]
		base := b.BaselineCandidate().Loss
		for _, c := range b.Candidates {
			if q := c.Loss / base; q > from && q <= to {
				scales = append(scales, q)
			}
		}
	}
	slices.Sort(scales)
	scales = slices.Compact(scales)
	sw := &LossScaleSweep{Teacher: r.Teacher, TeacherMACs: r.TeacherMACs(), From: from, To: to}
	last := int64(-1)
	for i, q := range scales {
		s := q
		if i > 0 {
			// Admit the candidate whose ratio q is: baseline x q can round
			// just below its loss.
			s = q * (1 + 1e-12)
		}
		var macs int64
		for j := range r.Blocks {
			b := &r.Blocks[j]
			idx, ok, err := ChooseCandidate(b.Candidates, b.BaselineCandidate().Loss, s)
			if err != nil {
				return nil, fmt.Errorf("block %s: %w", b.Block, err)
			}
			if !ok {
				idx = b.Baseline
			}
			macs += b.Candidates[idx].MACs
		}
		if macs == last {
			continue
		}
		last = macs
		sel, err := SelectBlockwise(r, s)
		if err != nil {
			return nil, err
		}
		p := LossScalePoint{LossScale: q, MACs: sel.MACs(), MACReduction: sel.MACReduction(), Params: sel.Params(),
			TotalLoss: sel.TotalLoss(), Kernels: sel.Kernels()}
		if sel.HasWidths() {
			p.Widths = sel.Widths()
		}
		sw.Points = append(sw.Points, p)
	}
	return sw, nil
}

// At returns the rule's subnet at loss_scale s (From <= s <= To).
func (sw *LossScaleSweep) At(s float64) (LossScalePoint, error) {
	if s < sw.From || s > sw.To {
		return LossScalePoint{}, fmt.Errorf("dnas: loss_scale %v is outside the sweep [%v, %v]", s, sw.From, sw.To)
	}
	i := 0
	for j, p := range sw.Points {
		if p.LossScale <= s {
			i = j
		}
	}
	return sw.Points[i], nil
}

// MinLossScaleFor returns the first point (the smallest loss_scale) whose
// subnet has at least the given MAC reduction (0.3 = 30% fewer MACs); ok is
// false when no loss_scale up to To reaches it.
func (sw *LossScaleSweep) MinLossScaleFor(reduction float64) (p LossScalePoint, ok bool) {
	for _, p := range sw.Points {
		if p.MACReduction >= reduction {
			return p, true
		}
	}
	return LossScalePoint{}, false
}

// SelectForReduction applies the block-wise rule at the smallest loss_scale
// >= from (METHOD.md's default is 1) whose subnet removes at least
// reduction of the teacher's MACs (0.3 = 30% fewer), found exactly from r's
// candidate tables: the question "how much block loss must I tolerate for
// this saving?" answered without evaluating anything again. The loss_scale
// is the threshold rounded up to 4 decimals (LossScalePoint.Rounded), so
// passing the result's LossScale back as a loss_scale gives the same subnet.
// When even every block's cheapest candidate does not reach the reduction,
// the error says the most the rule can remove.
func SelectForReduction(r *SearchResult, from, reduction float64) (*SearchResult, error) {
	if err := checkReduction(reduction); err != nil {
		return nil, fmt.Errorf("dnas.SelectForReduction: %w", err)
	}
	if !(from > 0) || math.IsInf(from, 0) {
		return nil, fmt.Errorf("dnas.SelectForReduction: loss_scale %v must be a finite number > 0 (1 is METHOD.md's default)", from)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	// Past the largest loss ratio of any candidate every candidate
	// qualifies: the sweep need not go further.
	top := from
	for i := range r.Blocks {
		b := &r.Blocks[i]
		base := b.BaselineCandidate().Loss
		for _, c := range b.Candidates {
			if q := c.Loss / base; q > top && !math.IsInf(q, 0) {
				top = q
			}
		}
	}
	scale := from
	if top > from {
		sw, err := SweepLossScale(r, from, top)
		if err != nil {
			return nil, err
		}
		p, ok := sw.MinLossScaleFor(reduction)
		if !ok {
			return nil, unreachableReduction(reduction, sw.Points[len(sw.Points)-1].MACReduction)
		}
		if p.LossScale > from {
			scale = p.Rounded()
		}
	}
	sel, err := SelectBlockwise(r, scale)
	if err != nil {
		return nil, err
	}
	if got := sel.MACReduction(); got < reduction {
		return nil, unreachableReduction(reduction, got)
	}
	sel.MinReduction = reduction
	sel.Notes += fmt.Sprintf("; loss_scale %g is the smallest >= %g removing >= %.4g%% of the teacher's MACs", scale, from, 100*reduction)
	return sel, nil
}

// unreachableReduction is the error for a MAC reduction beyond the most the
// rule can give on a candidate table.
func unreachableReduction(want, most float64) error {
	return fmt.Errorf("no loss_scale removes %.1f%% of the MACs: the block-wise rule removes at most %.1f%% (every block at its cheapest candidate); ask for less, or widen the search space (e.g. --widths)",
		100*want, 100*most)
}

// checkReduction validates a requested MAC reduction: 0 (none asked) or a
// fraction in (0, 1).
func checkReduction(v float64) error {
	if v == 0 {
		return nil
	}
	if !(v > 0 && v < 1) {
		return fmt.Errorf("MAC reduction %v must be a fraction in (0, 1), e.g. 0.3 for 30%% fewer MACs than the teacher", v)
	}
	return nil
}

// Rounded is LossScale rounded up to 4 decimals: unlike a value rounded to
// nearest, passed back as a loss_scale (dnas run --loss-scale) it gives
// this point's subnet.
func (p LossScalePoint) Rounded() float64 { return scaleUp(p.LossScale) }

// scaleUp rounds a loss_scale threshold up to 4 decimals.
func scaleUp(q float64) float64 { return math.Ceil(q*1e4-1e-9) / 1e4 }

// Table is a Markdown table of the points.
func (sw *LossScaleSweep) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Block-wise rule against its tolerance, teacher %s (%s MACs), loss_scale %g to %g; each row holds from its loss_scale (rounded up to 4 decimals) to the next\n\n",
		sw.Teacher, FormatCount(sw.TeacherMACs), sw.From, sw.To)
	b.WriteString("| loss_scale from | MACs | MAC reduction | params | sum of block losses | kernels |\n|---:|---:|---:|---:|---:|---|\n")
	for _, p := range sw.Points {
		fmt.Fprintf(&b, "| %.4f | %s | %.1f%% | %s | %.5f | %v |\n", p.Rounded(), FormatCount(p.MACs), 100*p.MACReduction,
			FormatCount(p.Params), p.TotalLoss, p.Kernels)
	}
	return b.String()
}

// Chart draws the MAC reduction against loss_scale (see plots.LossScaleChart),
// with the headline's 30% target and the given levels dashed (e.g.
// plots.Level{Name: "global search", Value: g.MACReduction()}), and From,
// 1 (METHOD.md's default) and the smallest loss_scale reaching 30% marked.
func (sw *LossScaleSweep) Chart(levels ...plots.Level) (*plots.Chart, error) {
	in := plots.LossScaleSweep{Max: sw.To, Marks: []float64{sw.From},
		Levels: append([]plots.Level{{Name: "headline target", Value: 0.3}}, levels...)}
	for _, p := range sw.Points {
		in.LossScale = append(in.LossScale, p.LossScale)
		in.Reduction = append(in.Reduction, p.MACReduction)
	}
	if sw.From < 1 && sw.To > 1 {
		in.Marks = append(in.Marks, 1) // METHOD.md's default
	}
	if p, ok := sw.MinLossScaleFor(0.3); ok && p.LossScale > sw.From {
		in.Marks = append(in.Marks, p.Rounded())
	}
	return plots.LossScaleChart(in)
}

// MaxMACReduction is the most any subnet of a supernet over the teacher
// network (with opts' kernel and width choices) can remove of its MACs:
// every searchable conv at its smallest kernel and every ResBlock at its
// narrowest width. It needs no training, so a MAC target beyond it
// (SearchOptions.MinReduction) can be refused before stage 1 rather than
// after it.
func MaxMACReduction(teacher *unet.UNet, opts SupernetOptions) (float64, error) {
	opts = opts.withDefaults()
	cfg := teacher.Config
	cfg.KernelChoices, cfg.WidthChoices, cfg.Widths = nil, nil, nil
	cfg.Kernels = make([]int, cfg.NumSearchableConvs())
	for i := range cfg.Kernels {
		cfg.Kernels[i] = slices.Min(opts.KernelChoices)
	}
	if len(opts.WidthChoices) > 0 {
		cfg.Widths = make([]float64, cfg.NumResBlocksTotal())
		for i := range cfg.Widths {
			cfg.Widths[i] = slices.Min(opts.WidthChoices)
		}
	}
	small, err := unet.New(cfg, 0)
	if err != nil {
		return 0, fmt.Errorf("dnas.MaxMACReduction: %w", err)
	}
	return 1 - float64(small.MACs())/float64(teacher.MACs()), nil
}
