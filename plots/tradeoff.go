package plots

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Candidate is one architecture of one block as the stage-2 (block-wise)
// search evaluated it with the supernet's shared weights.
type Candidate struct {
	// Kernels is the kernel size of each searchable conv of the block, in
	// the order the search lists them (used for labels only).
	Kernels []int
	// Loss is the block's distillation loss: the MSE between the student
	// block's output and the teacher block's output on the fixed
	// evaluation set. Must be finite and >= 0.
	Loss float64
	// MACs is the multiply-accumulate count of the block for one sample
	// at one timestep. Must be >= 0.
	MACs int64
	// Params is the block's parameter count (shown in labels when > 0).
	Params int64
	// Widths is the inner-width multiplier of each ResBlock of the block
	// when the search covered widths (nil: all full width). Candidates with
	// a width below 1 are drawn with their own marker.
	Widths []float64
}

// narrow reports whether some ResBlock of c runs below full width.
func (c Candidate) narrow() bool {
	for _, w := range c.Widths {
		if w < 1 {
			return true
		}
	}
	return false
}

// BlockSearch is everything the trade-off chart needs about one block.
type BlockSearch struct {
	// Block is the block's name ("enc0", "mid", "dec2", ...).
	Block string
	// Candidates are all evaluated candidates of the block.
	Candidates []Candidate
	// Baseline is the index in Candidates of the teacher's architecture
	// (all kernels 3) inside the supernet; -1 if there is none to mark.
	Baseline int
	// Chosen is the index in Candidates of the candidate the search
	// picked; -1 if there is none to mark.
	Chosen int
	// LossScale, when > 0, draws the search's threshold line at
	// Candidates[Baseline].Loss * LossScale (it needs a Baseline).
	LossScale float64
	// LossAxis picks a linear or log loss axis (ScaleAuto by default).
	LossAxis Scale
}

// ParetoFront returns the indices of the candidates that no other candidate
// beats on both MACs and loss (at most as many MACs and at most the loss,
// one of them strictly less), sorted by increasing MACs (and so decreasing
// loss). Of exact duplicates only the first is kept.
func ParetoFront(cands []Candidate) []int {
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := cands[idx[a]], cands[idx[b]]
		if ca.MACs != cb.MACs {
			return ca.MACs < cb.MACs
		}
		return ca.Loss < cb.Loss
	})
	var front []int
	best := math.Inf(1)
	for _, i := range idx {
		if cands[i].Loss < best {
			front = append(front, i)
			best = cands[i].Loss
		}
	}
	return front
}

// check validates a BlockSearch.
func (s *BlockSearch) check() error {
	name := s.Block
	if name == "" {
		name = "(unnamed block)"
	}
	if len(s.Candidates) == 0 {
		return fmt.Errorf("plots: block %s has no candidates to plot", name)
	}
	for i, c := range s.Candidates {
		if err := checkFinite("block "+name+" candidate loss", i, c.Loss); err != nil {
			return err
		}
		if c.Loss < 0 {
			return fmt.Errorf("plots: block %s candidate %d has loss %v < 0: a loss is a mean squared error", name, i, c.Loss)
		}
		if c.MACs < 0 || c.Params < 0 {
			return fmt.Errorf("plots: block %s candidate %d has MACs %d, params %d: counts cannot be negative", name, i, c.MACs, c.Params)
		}
	}
	n := len(s.Candidates)
	if s.Baseline < -1 || s.Baseline >= n {
		return fmt.Errorf("plots: block %s: Baseline index %d is outside the %d candidates (use -1 for none)", name, s.Baseline, n)
	}
	if s.Chosen < -1 || s.Chosen >= n {
		return fmt.Errorf("plots: block %s: Chosen index %d is outside the %d candidates (use -1 for none)", name, s.Chosen, n)
	}
	if math.IsNaN(s.LossScale) || math.IsInf(s.LossScale, 0) || s.LossScale < 0 {
		return fmt.Errorf("plots: block %s: LossScale %v must be a finite number >= 0 (0 draws no threshold)", name, s.LossScale)
	}
	if s.LossScale > 0 && s.Baseline < 0 {
		return fmt.Errorf("plots: block %s: a LossScale threshold needs the Baseline index (the threshold is baseline loss x LossScale)", name)
	}
	return nil
}

// Marker styles shared by the single and grid trade-off charts.
var (
	candStyle = draw.GlyphStyle{Color: withAlpha(Palette[0], 120), Radius: vg.Points(2.4), Shape: draw.CircleGlyph{}}
	narrowSty = draw.GlyphStyle{Color: withAlpha(Palette[3], 120), Radius: vg.Points(2.4), Shape: draw.TriangleGlyph{}}
	frontDot  = draw.GlyphStyle{Color: Palette[1], Radius: vg.Points(2.6), Shape: draw.CircleGlyph{}}
	frontLine = draw.LineStyle{Color: Palette[1], Width: vg.Points(1.6)}
	baseStyle = draw.GlyphStyle{Color: black, Radius: vg.Points(7), Shape: diamondGlyph{}}
	chosenSty = draw.GlyphStyle{Color: Palette[2], Radius: vg.Points(8), Shape: starGlyph{}}
	threshSty = draw.LineStyle{Color: rgb(0x55, 0x55, 0x55), Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
)

// tradeoffPanel draws one block's scatter into a new plot. It returns the
// plot and the per-block descriptions of the baseline and chosen markers.
func tradeoffPanel(s *BlockSearch, title string, short bool) (p *plot.Plot, legend []LegendEntry, err error) {
	maxMACs := int64(0)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range s.Candidates {
		maxMACs = max(maxMACs, c.MACs)
		lo, hi = math.Min(lo, c.Loss), math.Max(hi, c.Loss)
	}
	scale, unit := macUnit(maxMACs)
	xlabel := "block MACs per sample" + unitSuffix(unit)
	ylabel := "distillation loss (MSE to teacher)"
	if short {
		xlabel = "MACs" + unitSuffix(unit)
		ylabel = "loss (MSE to teacher)"
	}
	p = newPlot(title, xlabel, ylabel)
	logY, err := s.LossAxis.resolve("block "+s.Block+" loss", lo, hi)
	if err != nil {
		return nil, nil, err
	}
	if logY {
		setLogY(p)
	}

	pts := make(plotter.XYs, len(s.Candidates))
	var full, thin plotter.XYs
	for i, c := range s.Candidates {
		pts[i] = plotter.XY{X: float64(c.MACs) / scale, Y: c.Loss}
		if c.narrow() {
			thin = append(thin, pts[i])
		} else {
			full = append(full, pts[i])
		}
	}
	for _, set := range []struct {
		pts   plotter.XYs
		style draw.GlyphStyle
		label string
	}{{full, candStyle, "candidate architecture"}, {thin, narrowSty, "candidate with a narrower inner width"}} {
		if len(set.pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.pts)
		if err != nil {
			return nil, nil, fmt.Errorf("plots: block %s: %w", s.Block, err)
		}
		sc.GlyphStyle = set.style
		p.Add(sc)
		label := set.label
		if !short {
			label += fmt.Sprintf(" (%d evaluated)", len(set.pts))
		}
		legend = append(legend, LegendEntry{Label: label, Thumbs: []plot.Thumbnailer{glyphThumb(set.style)}})
	}

	front := ParetoFront(s.Candidates)
	fpts := make(plotter.XYs, len(front))
	for i, k := range front {
		fpts[i] = pts[k]
	}
	fl, err := plotter.NewLine(fpts)
	if err != nil {
		return nil, nil, fmt.Errorf("plots: block %s: %w", s.Block, err)
	}
	fl.LineStyle = frontLine
	fl.StepStyle = plotter.PostStep
	fs, _ := plotter.NewScatter(fpts)
	fs.GlyphStyle = frontDot
	p.Add(fl, fs)
	legend = append(legend, LegendEntry{Label: "Pareto front (lowest loss for its MACs)", Thumbs: []plot.Thumbnailer{lineThumb(frontLine), glyphThumb(frontDot)}})

	if s.LossScale > 0 {
		th := refLine{value: s.Candidates[s.Baseline].Loss * s.LossScale, style: threshSty}
		p.Add(th)
		legend = append(legend, LegendEntry{Label: fmt.Sprintf("threshold: baseline loss × %.3g", s.LossScale), Thumbs: []plot.Thumbnailer{th}})
	}
	if s.Baseline >= 0 {
		b := s.Candidates[s.Baseline]
		m, _ := plotter.NewScatter(plotter.XYs{pts[s.Baseline]})
		m.GlyphStyle = baseStyle
		p.Add(m)
		label := "baseline: teacher architecture"
		if !short {
			label = fmt.Sprintf("baseline (teacher arch.)%s: loss %s, %s MACs", archLabel(b), formatNum(b.Loss), formatCount(b.MACs))
		}
		legend = append(legend, LegendEntry{Label: label, Thumbs: []plot.Thumbnailer{glyphThumb(baseStyle)}})
	}
	if s.Chosen >= 0 {
		c := s.Candidates[s.Chosen]
		m, _ := plotter.NewScatter(plotter.XYs{pts[s.Chosen]})
		m.GlyphStyle = chosenSty
		p.Add(m)
		label := "chosen by the search"
		if !short {
			label = fmt.Sprintf("chosen%s: loss %s, %s MACs%s", archLabel(c), formatNum(c.Loss), formatCount(c.MACs), s.saving())
		}
		legend = append(legend, LegendEntry{Label: label, Thumbs: []plot.Thumbnailer{glyphThumb(chosenSty)}})
	}
	// Leave room around the extreme points so the large markers are not
	// cut by the frame.
	p.X.Min = math.Min(p.X.Min, 0)
	padRange(&p.Y, logY, 0.06)
	padRange(&p.X, false, 0.04)
	return p, legend, nil
}

// saving describes the chosen candidate's MACs relative to the baseline,
// e.g. " (-34% MACs)".
func (s *BlockSearch) saving() string {
	if s.Baseline < 0 || s.Chosen < 0 || s.Candidates[s.Baseline].MACs == 0 {
		return ""
	}
	if s.Chosen == s.Baseline {
		return " (the baseline itself)"
	}
	b, c := float64(s.Candidates[s.Baseline].MACs), float64(s.Candidates[s.Chosen].MACs)
	return fmt.Sprintf(" (%+.0f%% vs baseline)", 100*(c-b)/b)
}

// padRange widens an axis range by frac of its span on both sides (in log
// space for a log axis).
func padRange(a *plot.Axis, log bool, frac float64) {
	if log {
		lo, hi := math.Log10(a.Min), math.Log10(a.Max)
		d := (hi - lo) * frac
		if d == 0 {
			d = 0.1
		}
		a.Min, a.Max = math.Pow(10, lo-d), math.Pow(10, hi+d)
		return
	}
	d := (a.Max - a.Min) * frac
	if d == 0 { // a single value: give it some room
		d = math.Abs(a.Max) * 0.1
		if d == 0 {
			d = 1
		}
	}
	if a.Min != 0 {
		a.Min -= d
	}
	a.Max += d
}

// kernelString prints kernel sizes compactly: [1 3 5 3] (or "?" when the
// caller gave none).
func kernelString(k []int) string {
	if len(k) == 0 {
		return "?"
	}
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// BlockTradeoff draws the search result of one block: every candidate as a
// dot at (MACs, loss), the Pareto front as a step line, the baseline
// (teacher architecture) as a black diamond, the chosen candidate as a
// green star and, when s.LossScale > 0, the loss threshold as a dashed line.
// The legend below the plot gives the kernel sizes, losses and MACs of the
// baseline and the chosen candidate.
func BlockTradeoff(s BlockSearch) (*Chart, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	p, legend, err := tradeoffPanel(&s, "", false)
	if err != nil {
		return nil, err
	}
	return &Chart{
		P: p, Legend: legend, LegendAt: LegendBottom,
		Width: 7.5 * vg.Inch, Height: 5 * vg.Inch,
		Title: fmt.Sprintf("Block %s: distillation loss vs MACs of every candidate", s.Block),
	}, nil
}

// TradeoffGrid draws BlockTradeoff panels of several blocks in one figure,
// cols panels per row (cols <= 0 picks up to 4), with one shared legend.
// Each panel's title names the block, the chosen kernel sizes and the MAC
// change against the baseline.
func TradeoffGrid(cols int, blocks ...BlockSearch) (*Chart, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("plots: TradeoffGrid needs at least one block")
	}
	if cols <= 0 {
		cols = min(4, len(blocks))
		if len(blocks) == 4 {
			cols = 2
		}
	}
	cols = min(cols, len(blocks))
	rows := (len(blocks) + cols - 1) / cols
	panels := make([][]*plot.Plot, rows)
	for i := range panels {
		panels[i] = make([]*plot.Plot, cols)
	}
	var legend []LegendEntry
	for i := range blocks {
		s := &blocks[i]
		if err := s.check(); err != nil {
			return nil, err
		}
		title := s.Block
		switch {
		case s.Chosen >= 0 && s.Chosen == s.Baseline:
			title += ": chosen = baseline k=" + kernelString(s.Candidates[s.Chosen].Kernels)
		case s.Chosen >= 0:
			title += ": chosen" + archLabel(s.Candidates[s.Chosen]) + s.saving()
		}
		p, leg, err := tradeoffPanel(s, title, true)
		if err != nil {
			return nil, err
		}
		setFont(&p.Title.TextStyle, axisLabelSize, false)
		panels[i/cols][i%cols] = p
		if len(leg) > len(legend) {
			legend = leg
		}
	}
	return &Chart{
		Panels: panels, Legend: legend, LegendAt: LegendBottom,
		Width:  vg.Length(cols)*3.9*vg.Inch + 0.3*vg.Inch,
		Height: vg.Length(rows)*3.1*vg.Inch + 1.1*vg.Inch,
		Title:  "Block-wise search: distillation loss vs MACs per block",
	}, nil
}

// starGlyph is a filled five-pointed star with a white rim (the chosen
// candidate).
type starGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (starGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	polyGlyph(c, sty, pt, 5, 0.45)
}

// diamondGlyph is a filled diamond with a white rim (the baseline).
type diamondGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	polyGlyph(c, sty, pt, 2, 0.72)
}

// polyGlyph draws a star with n points (n = 2 gives a diamond) whose inner
// radius is inner times the outer one, filled, with a white outline.
func polyGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point, n int, inner float64) {
	var path vg.Path
	for i := range 2 * n {
		r := float64(sty.Radius)
		if i%2 == 1 {
			r *= inner
		}
		a := math.Pi/2 + float64(i)*math.Pi/float64(n)
		q := vg.Point{X: pt.X + vg.Length(r*math.Cos(a)), Y: pt.Y + vg.Length(r*math.Sin(a))}
		if i == 0 {
			path.Move(q)
		} else {
			path.Line(q)
		}
	}
	path.Close()
	c.SetColor(sty.Color)
	c.Fill(path)
	c.SetLineStyle(draw.LineStyle{Color: rgb(255, 255, 255), Width: vg.Points(1)})
	c.Stroke(path)
}

// kernelLabel is " k=[1 3 5]" for a legend, or "" without kernel sizes.
func kernelLabel(k []int) string {
	if len(k) == 0 {
		return ""
	}
	return " k=" + kernelString(k)
}

// archLabel is kernelLabel plus the inner widths of a narrow candidate.
func archLabel(c Candidate) string {
	l := kernelLabel(c.Kernels)
	if c.narrow() {
		parts := make([]string, len(c.Widths))
		for i, w := range c.Widths {
			parts[i] = fmt.Sprint(w)
		}
		l += " w=[" + strings.Join(parts, " ") + "]"
	}
	return l
}
