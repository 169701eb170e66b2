package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// AblationRun is the outcome of retraining the same subnet with one beta
// schedule (same budget, same seed) in a beta-schedule ablation.
type AblationRun struct {
	// Schedule names the beta schedule, e.g. "linear", "cosine",
	// "hard switch @50%", "constant 0.5", "noise only".
	Schedule string
	// FID of the retrained model's samples; math.NaN() if not measured.
	FID float64
	// NoiseLoss is the held-out noise-prediction loss (MSE) after
	// retraining; math.NaN() if not measured.
	NoiseLoss float64
	// Curve, optional, is a quantity logged over retraining (typically
	// the noise loss); its Name is ignored (the run's Schedule names it).
	Curve Series
}

// Ablation is a set of runs to compare side by side.
type Ablation struct {
	// Title of the chart; empty gives a default one.
	Title string
	// Runs, one per schedule, in the order to show them.
	Runs []AblationRun
	// CurveLabel is the y-axis label of the curve panel; empty means
	// "noise loss (MSE)".
	CurveLabel string
	// Smooth is the EMA weight applied to the curves, in [0, 1).
	Smooth float64
	// CurveY picks the curve panel's y scale (ScaleAuto by default).
	CurveY Scale
}

// check validates the ablation and reports which panels have data.
func (a *Ablation) check() (hasFID, hasLoss, hasCurves bool, err error) {
	if len(a.Runs) == 0 {
		return false, false, false, fmt.Errorf("plots: the ablation has no runs")
	}
	if !(a.Smooth >= 0 && a.Smooth < 1) {
		return false, false, false, fmt.Errorf("plots: smoothing weight %v must be in [0, 1) (0 = none, 0.9 = strong)", a.Smooth)
	}
	for i, r := range a.Runs {
		if r.Schedule == "" {
			return false, false, false, fmt.Errorf("plots: ablation run %d has no Schedule name", i)
		}
		for _, m := range []struct {
			name string
			v    float64
		}{{"FID", r.FID}, {"NoiseLoss", r.NoiseLoss}} {
			if math.IsInf(m.v, 0) || m.v < 0 {
				return false, false, false, fmt.Errorf("plots: ablation run %q has %s = %v: it must be a finite value >= 0 (NaN = not measured)", r.Schedule, m.name, m.v)
			}
		}
		hasFID = hasFID || !math.IsNaN(r.FID)
		hasLoss = hasLoss || !math.IsNaN(r.NoiseLoss)
		if len(r.Curve.Y) > 0 || len(r.Curve.X) > 0 {
			if err := r.Curve.check(fmt.Sprintf("curve of ablation run %q", r.Schedule)); err != nil {
				return false, false, false, err
			}
			hasCurves = true
		}
	}
	if !hasFID && !hasLoss && !hasCurves {
		return false, false, false, fmt.Errorf("plots: the ablation runs have no FID, no noise loss and no curve: nothing to plot")
	}
	return hasFID, hasLoss, hasCurves, nil
}

// AblationChart compares beta schedules side by side: a bar per schedule
// for the final FID and for the held-out noise loss (each bar annotated
// with its value; "n/a" where not measured), and, when runs carry curves,
// a panel below with one curve per schedule. Colours match across panels
// and the legend on the right names the schedules.
func AblationChart(a Ablation) (*Chart, error) {
	hasFID, hasLoss, hasCurves, err := a.check()
	if err != nil {
		return nil, err
	}
	var bars []*plot.Plot
	if hasFID {
		bars = append(bars, metricBars(a.Runs, "final FID (lower is better)", func(r AblationRun) float64 { return r.FID }))
	}
	if hasLoss {
		bars = append(bars, metricBars(a.Runs, "held-out noise loss, MSE (lower is better)", func(r AblationRun) float64 { return r.NoiseLoss }))
	}
	var legend []LegendEntry
	for i, r := range a.Runs {
		legend = append(legend, LegendEntry{Label: r.Schedule, Thumbs: []plot.Thumbnailer{boxThumb{fill: seriesColor(i)}}})
	}
	title := a.Title
	if title == "" {
		title = "Beta-schedule ablation: same subnet, same budget, same seed"
	}
	c := &Chart{Legend: legend, Title: title, Width: 9 * vg.Inch, Height: 4.4 * vg.Inch}
	if len(bars) > 0 {
		c.Panels = append(c.Panels, bars)
	}
	if hasCurves {
		label := a.CurveLabel
		if label == "" {
			label = "noise loss (MSE)"
		}
		xlabel := "retraining step"
		if a.Smooth > 0 {
			xlabel += fmt.Sprintf("   (bold: EMA %.3g of the raw values, faint)", a.Smooth)
		}
		p := newPlot("", xlabel, label)
		var series []Series
		var styles []draw.LineStyle
		for i, r := range a.Runs {
			if len(r.Curve.Y) == 0 {
				continue
			}
			series = append(series, Series{Name: r.Schedule, X: r.Curve.X, Y: r.Curve.Y})
			styles = append(styles, curveStyle(i, vg.Points(1.8)))
		}
		if _, err := addCurves(p, a.CurveY, a.Smooth, "ablation curves", series, styles...); err != nil {
			return nil, err
		}
		c.Panels = append(c.Panels, []*plot.Plot{p})
		if len(bars) > 0 {
			c.Height = 7.6 * vg.Inch
			c.RowWeights = []float64{1, 1.15}
		}
		for i := range legend {
			legend[i].Thumbs = append(legend[i].Thumbs, lineThumb(curveStyle(i, vg.Points(1.8))))
		}
	}
	return c, nil
}

// metricBars draws one coloured bar per run with its value written on top.
func metricBars(runs []AblationRun, ylabel string, metric func(AblationRun) float64) *plot.Plot {
	p := newPlot("", "", ylabel)
	n := len(runs)
	names := make([]string, n)
	top := 0.0
	var xys plotter.XYs
	var texts []string
	for i, r := range runs {
		names[i] = r.Schedule
		v := metric(r)
		if math.IsNaN(v) {
			xys = append(xys, plotter.XY{X: float64(i), Y: 0})
			texts = append(texts, "n/a")
			continue
		}
		p.Add(bar{x: float64(i), y: v, width: 0.7, fill: seriesColor(i)})
		top = math.Max(top, v)
		xys = append(xys, plotter.XY{X: float64(i), Y: v})
		texts = append(texts, formatNum(v))
	}
	lab, _ := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	for i := range lab.TextStyle {
		lab.TextStyle[i] = textStyle(tickSize, false)
		lab.TextStyle[i].XAlign = draw.XCenter
	}
	lab.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(lab)
	p.NominalX(names...)
	setFont(&p.X.Tick.Label, tickSize, false)
	if n > 3 {
		p.X.Tick.Label.Rotation = math.Pi / 7
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.Y.Min = 0
	p.Y.Max = math.Max(top*1.18, 1e-9)
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4
	return p
}

// AblationTable tabulates an ablation: one row per schedule with its FID
// and held-out noise loss (n/a where not measured) and, for runs with a
// curve, the curve's last value; the best (lowest) value of each metric is
// bold.
func AblationTable(a Ablation) (*Table, error) {
	_, _, hasCurves, err := a.check()
	if err != nil {
		return nil, err
	}
	cols := []string{"β schedule", "FID", "held-out noise loss"}
	if hasCurves {
		label := a.CurveLabel
		if label == "" {
			label = "noise loss (MSE)"
		}
		cols = append(cols, "final "+label)
	}
	title := a.Title
	if title == "" {
		title = "Beta-schedule ablation"
	}
	t := NewTable(title, cols...)
	for _, r := range a.Runs {
		cells := []any{r.Schedule, r.FID, r.NoiseLoss}
		if hasCurves {
			last := math.NaN()
			if n := len(r.Curve.Y); n > 0 {
				last = r.Curve.Y[n-1]
			}
			cells = append(cells, last)
		}
		if err := t.AddRow(cells...); err != nil {
			return nil, err
		}
	}
	for j := 1; j < len(cols); j++ {
		t.BoldMin(j)
	}
	return t, nil
}

// bar is one vertical bar from 0 to y, width data units wide, centred on x.
type bar struct {
	x, y, width float64
	fill        color.Color
}

// Plot implements plot.Plotter.
func (b bar) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	r := vg.Rectangle{
		Min: vg.Point{X: tx(b.x - b.width/2), Y: ty(0)},
		Max: vg.Point{X: tx(b.x + b.width/2), Y: ty(b.y)},
	}
	c.SetColor(b.fill)
	c.Fill(r.Path())
}

// DataRange implements plot.DataRanger.
func (b bar) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.x - b.width/2, b.x + b.width/2, math.Min(0, b.y), math.Max(0, b.y)
}
