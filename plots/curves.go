package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named curve: Y[i] at X[i]. X may be nil, which puts the
// points at 0, 1, 2, ... (one per logged step). All values must be finite.
type Series struct {
	Name string
	X, Y []float64
}

// xs returns the x values of s, making them up when X is nil.
func (s Series) xs() []float64 {
	if s.X != nil {
		return s.X
	}
	x := make([]float64, len(s.Y))
	for i := range x {
		x[i] = float64(i)
	}
	return x
}

// check validates a series; what names it in errors.
func (s Series) check(what string) error {
	if s.Name != "" {
		what += fmt.Sprintf(" %q", s.Name)
	}
	if len(s.Y) == 0 {
		return fmt.Errorf("plots: %s has no points (Y is empty)", what)
	}
	if s.X != nil && len(s.X) != len(s.Y) {
		return fmt.Errorf("plots: %s has %d X values but %d Y values: they must pair up (or leave X nil for 0, 1, 2, ...)", what, len(s.X), len(s.Y))
	}
	for i, v := range s.X {
		if err := checkFinite(what+" X", i, v); err != nil {
			return err
		}
	}
	for i, v := range s.Y {
		if err := checkFinite(what+" Y", i, v); err != nil {
			return err
		}
	}
	return nil
}

// yRange returns the smallest and largest Y over several series.
func yRange(ss ...Series) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, v := range s.Y {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// EMA returns the exponential moving average of y with weight alpha on
// the past, bias-corrected so the first values are not pulled towards 0
// (as TensorBoard smooths): m_i = alpha*m_(i-1) + (1-alpha)*y_i, reported as
// m_i / (1 - alpha^(i+1)). alpha = 0 returns a copy of y; alpha must be in
// [0, 1).
func EMA(y []float64, alpha float64) []float64 {
	out := make([]float64, len(y))
	m, w := 0.0, 0.0
	for i, v := range y {
		m = alpha*m + (1-alpha)*v
		w = alpha*w + (1 - alpha)
		out[i] = m / w
	}
	return out
}

// maxLinePoints bounds the points drawn per line; longer series are
// reduced to the minimum and maximum of each bucket, which keeps the
// envelope of a noisy curve while keeping SVG output small and rendering
// fast.
const maxLinePoints = 2000

func decimate(x, y []float64) plotter.XYs {
	n := len(y)
	if n <= maxLinePoints {
		return xyData(x, y)
	}
	buckets := maxLinePoints / 2
	out := make(plotter.XYs, 0, maxLinePoints)
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if y[i] < y[imin] {
				imin = i
			}
			if y[i] > y[imax] {
				imax = i
			}
		}
		first, second := min(imin, imax), max(imin, imax)
		out = append(out, plotter.XY{X: x[first], Y: y[first]})
		if second != first {
			out = append(out, plotter.XY{X: x[second], Y: y[second]})
		}
	}
	return out
}

// CurveOptions controls Curves.
type CurveOptions struct {
	// Title is the chart title.
	Title string
	// XLabel labels the x axis; empty means "training step".
	XLabel string
	// YLabel labels the y axis, with its unit (e.g. "noise loss (MSE)").
	YLabel string
	// Y picks a linear or log y axis (ScaleAuto by default).
	Y Scale
	// Smooth, when > 0, draws each series as its exponential moving
	// average with this weight on the past (0.9 is typical for per-step
	// losses) over the raw values in a faint line. Must be in [0, 1).
	Smooth float64
	// Width and Height of the chart; 0 means 7.5 x 4.6 inches.
	Width, Height vg.Length
}

// TrainingCurves draws one or more loss curves against the training step
// with a linear or log y axis chosen automatically (ScaleAuto) and no
// smoothing. Use Curves for smoothing, a forced scale or other labels.
func TrainingCurves(title, ylabel string, series ...Series) (*Chart, error) {
	return Curves(CurveOptions{Title: title, YLabel: ylabel}, series...)
}

// Curves draws one or more series as lines in one panel, each in its own
// colour (and dash pattern past eight series), with a legend on the right.
func Curves(opts CurveOptions, series ...Series) (*Chart, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("plots: Curves needs at least one series")
	}
	if !(opts.Smooth >= 0 && opts.Smooth < 1) {
		return nil, fmt.Errorf("plots: smoothing weight %v must be in [0, 1) (0 = none, 0.9 = strong)", opts.Smooth)
	}
	for i, s := range series {
		if err := s.check(fmt.Sprintf("series %d", i)); err != nil {
			return nil, err
		}
	}
	xlabel := opts.XLabel
	if xlabel == "" {
		xlabel = "training step"
	}
	if opts.Smooth > 0 {
		xlabel += fmt.Sprintf("   (bold: EMA %.3g of the raw values, faint)", opts.Smooth)
	}
	p := newPlot("", xlabel, opts.YLabel)
	legend, err := addCurves(p, opts.Y, opts.Smooth, "y values", series)
	if err != nil {
		return nil, err
	}
	c := &Chart{P: p, Legend: legend, Width: opts.Width, Height: opts.Height, Title: opts.Title}
	if c.Width == 0 {
		c.Width = 7.5 * vg.Inch
	}
	if c.Height == 0 {
		c.Height = 4.6 * vg.Inch
	}
	if len(series) == 1 && series[0].Name == "" {
		c.Legend = nil
	}
	return c, nil
}

// curveStyle is the look of the i-th line.
func curveStyle(i int, width vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: seriesColor(i), Width: width, Dashes: seriesDash(i)}
}

// addCurves adds the series to p (raw, or faint raw + bold EMA) and returns
// their legend entries. colours, when given, overrides the palette.
func addCurves(p *plot.Plot, scale Scale, smooth float64, what string, series []Series, styles ...draw.LineStyle) ([]LegendEntry, error) {
	lo, hi := yRange(series...)
	logY, err := scale.resolve(what, lo, hi)
	if err != nil {
		return nil, err
	}
	if logY {
		setLogY(p)
	}
	var legend []LegendEntry
	for i, s := range series {
		sty := curveStyle(i, vg.Points(1.8))
		if smooth == 0 {
			sty.Width = vg.Points(1.3)
		}
		if i < len(styles) {
			sty = styles[i]
		}
		x := s.xs()
		if smooth > 0 {
			raw, err := plotter.NewLine(decimate(x, s.Y))
			if err != nil {
				return nil, err
			}
			raw.LineStyle = draw.LineStyle{Color: withAlpha(sty.Color, 70), Width: vg.Points(0.8)}
			p.Add(raw)
		}
		y := s.Y
		if smooth > 0 {
			y = EMA(s.Y, smooth)
		}
		l, err := plotter.NewLine(decimate(x, y))
		if err != nil {
			return nil, err
		}
		l.LineStyle = sty
		p.Add(l)
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		legend = append(legend, LegendEntry{Label: name, Thumbs: []plot.Thumbnailer{lineThumb(sty)}})
	}
	if logY {
		padRange(&p.Y, true, 0.03)
	}
	return legend, nil
}

// Schedule is a named joint-loss weight function beta(step, total) in
// [0, 1], as passed to BetaSchedules. Beta may be any Go function, e.g. a
// method value of the dnas package's schedule type or a notebook closure.
type Schedule struct {
	Name string
	Beta func(step, total int) float64
}

// betaAxis configures p's y axis for a weight in [0, 1].
func betaAxis(p *plot.Plot) {
	p.Y.Min, p.Y.Max = -0.04, 1.04
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"},
		{Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"},
	})
}

// overlapStyles gives n lines widths that shrink from the first to the
// last, so schedules that coincide over a stretch (noise-only and a hard
// switch after it switched, say) show as a thin line inside a thick one.
func overlapStyles(n int) []draw.LineStyle {
	out := make([]draw.LineStyle, n)
	for i := range out {
		w := 1.6
		if n > 1 {
			w = 1.4 + 3.2*float64(n-1-i)/float64(n-1)
		}
		out[i] = curveStyle(i, vg.Points(w))
	}
	return out
}

// BetaSchedules samples each schedule's beta(step, total) at up to 1001
// steps from 0 to total and draws them together. A schedule that panics or
// returns a value outside [0, 1] (or NaN) is reported as an error.
func BetaSchedules(total int, schedules ...Schedule) (*Chart, error) {
	if total <= 0 {
		return nil, fmt.Errorf("plots: BetaSchedules needs total > 0 steps, got %d", total)
	}
	if len(schedules) == 0 {
		return nil, fmt.Errorf("plots: BetaSchedules needs at least one schedule")
	}
	n := min(total, 1000) + 1
	series := make([]Series, len(schedules))
	for i, sc := range schedules {
		if sc.Beta == nil {
			return nil, fmt.Errorf("plots: schedule %d (%q) has a nil Beta function", i, sc.Name)
		}
		s := Series{Name: sc.Name, X: make([]float64, n), Y: make([]float64, n)}
		for k := range n {
			step := int(math.Round(float64(k) * float64(total) / float64(n-1)))
			b, err := callBeta(sc, step, total)
			if err != nil {
				return nil, err
			}
			s.X[k], s.Y[k] = float64(step), b
		}
		series[i] = s
	}
	return BetaSeries(series...)
}

// callBeta evaluates one schedule, turning a panic or an invalid value into
// an error.
func callBeta(sc Schedule, step, total int) (b float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plots: schedule %q panicked at step %d of %d: %v", sc.Name, step, total, r)
		}
	}()
	b = sc.Beta(step, total)
	if !(b >= 0 && b <= 1) {
		return 0, fmt.Errorf("plots: schedule %q gives beta = %v at step %d of %d: beta must be in [0, 1]", sc.Name, b, step, total)
	}
	return b, nil
}

// BetaSeries draws recorded beta values (e.g. logged during retraining)
// as BetaSchedules does; every value must be in [0, 1].
func BetaSeries(series ...Series) (*Chart, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("plots: BetaSeries needs at least one series")
	}
	for i, s := range series {
		if err := s.check(fmt.Sprintf("beta series %d", i)); err != nil {
			return nil, err
		}
		for k, v := range s.Y {
			if v < 0 || v > 1 {
				return nil, fmt.Errorf("plots: beta series %q has beta = %v at index %d: beta must be in [0, 1]", s.Name, v, k)
			}
		}
	}
	p := newPlot("", "retraining step", "β  (weight of L_noise; L_distill gets 1-β)")
	legend, err := addCurves(p, ScaleLinear, 0, "beta", series, overlapStyles(len(series))...)
	if err != nil {
		return nil, err
	}
	betaAxis(p)
	return &Chart{
		P: p, Legend: legend,
		Width: 7.5 * vg.Inch, Height: 4.4 * vg.Inch,
		Title: "Joint-loss schedules: L = (1-β)·L_distill + β·L_noise",
	}, nil
}

// Dynamics is the retraining log DistillDynamics draws.
type Dynamics struct {
	// Title is the chart title; empty gives a default one.
	Title string
	// Blocks holds one series per block: its distillation loss (MSE of the
	// student block fed the teacher's inputs to the teacher's block output)
	// over retraining steps. Name each series after its block.
	Blocks []Series
	// Noise is the end-to-end noise-prediction loss over the same steps.
	Noise Series
	// Beta, when it has points, is drawn in a smaller panel underneath
	// with the same step axis, so changes in the losses can be read
	// against the schedule.
	Beta Series
	// Smooth is the EMA weight for the loss curves (0 = raw), in [0, 1).
	Smooth float64
	// Y picks the loss axis scale (ScaleAuto by default).
	Y Scale
}

// DistillDynamics draws the per-block distillation losses and the noise
// loss over retraining with the dynamic joint loss (open question 3 of the
// paper), block losses in colour and the noise loss in thick black, with
// beta(step) underneath when d.Beta is given.
func DistillDynamics(d Dynamics) (*Chart, error) {
	if len(d.Blocks) == 0 && len(d.Noise.Y) == 0 {
		return nil, fmt.Errorf("plots: DistillDynamics needs block losses or a noise loss to plot")
	}
	if !(d.Smooth >= 0 && d.Smooth < 1) {
		return nil, fmt.Errorf("plots: smoothing weight %v must be in [0, 1) (0 = none, 0.9 = strong)", d.Smooth)
	}
	var series []Series
	var styles []draw.LineStyle
	for i, s := range d.Blocks {
		if err := s.check(fmt.Sprintf("block loss series %d", i)); err != nil {
			return nil, err
		}
		if s.Name == "" {
			s.Name = fmt.Sprintf("block %d", i)
		}
		series = append(series, Series{Name: "L_distill " + s.Name, X: s.X, Y: s.Y})
		styles = append(styles, curveStyle(i, vg.Points(1.5)))
	}
	if len(d.Noise.Y) > 0 {
		if err := d.Noise.check("noise loss series"); err != nil {
			return nil, err
		}
		name := d.Noise.Name
		if name == "" {
			name = "L_noise (end to end)"
		}
		series = append(series, Series{Name: name, X: d.Noise.X, Y: d.Noise.Y})
		styles = append(styles, draw.LineStyle{Color: black, Width: vg.Points(2.6)})
	}
	xlabel := "retraining step"
	if d.Smooth > 0 {
		xlabel += fmt.Sprintf("   (bold: EMA %.3g of the raw values, faint)", d.Smooth)
	}
	top := newPlot("", xlabel, "loss (MSE)")
	legend, err := addCurves(top, d.Y, d.Smooth, "losses", series, styles...)
	if err != nil {
		return nil, err
	}
	title := d.Title
	if title == "" {
		title = "Retraining dynamics: per-block distillation losses and the noise loss"
	}
	c := &Chart{P: top, Legend: legend, Width: 8 * vg.Inch, Height: 4.8 * vg.Inch, Title: title}
	if len(d.Beta.Y) == 0 {
		return c, nil
	}
	if err := d.Beta.check("beta series"); err != nil {
		return nil, err
	}
	bottom := newPlot("", "retraining step", "β")
	bsty := draw.LineStyle{Color: rgb(0x6A, 0x3D, 0x9A), Width: vg.Points(1.8)}
	if _, err := addCurves(bottom, ScaleLinear, 0, "beta", []Series{d.Beta}, bsty); err != nil {
		return nil, err
	}
	betaAxis(bottom)
	bottom.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.5, Label: "0.5"}, {Value: 1, Label: "1"}})
	top.X.Label.Text = ""
	if d.Smooth > 0 {
		bottom.X.Label.Text = xlabel
	}
	// Share the step axis.
	lo := math.Min(top.X.Min, bottom.X.Min)
	hi := math.Max(top.X.Max, bottom.X.Max)
	top.X.Min, top.X.Max, bottom.X.Min, bottom.X.Max = lo, hi, lo, hi
	c.P = nil
	c.Panels = [][]*plot.Plot{{top}, {bottom}}
	c.RowWeights = []float64{3, 1}
	c.Height = 5.6 * vg.Inch
	c.Legend = append(c.Legend, LegendEntry{Label: "β(step), lower panel", Thumbs: []plot.Thumbnailer{lineThumb(bsty)}})
	return c, nil
}
