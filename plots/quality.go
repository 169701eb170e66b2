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

// QualityCurve is sample quality measured at several points of training,
// e.g. on the EMA snapshots a teacher keeps as it trains.
type QualityCurve struct {
	// Title of the chart ("" gives a generic one).
	Title string
	// Steps are the training steps of the measured points, increasing.
	Steps []float64
	// FID at each step (lower is better); required.
	FID []float64
	// Confident is the fraction (0..1) of samples the classifier labels
	// with probability >= 0.9 at each step; nil leaves the lower panel out.
	Confident []float64
	// Target, when > 0, draws a dashed line at this confident fraction
	// (e.g. 0.9).
	Target float64
	// Note is printed under the title (how the points were measured).
	Note string
}

// QualityCurveChart draws FID against the training step (log scale when it
// spans more than a decade) with the confident fraction in a panel below.
func QualityCurveChart(q QualityCurve) (*Chart, error) {
	n := len(q.Steps)
	if n == 0 {
		return nil, fmt.Errorf("plots: QualityCurveChart needs at least one measured step")
	}
	if len(q.FID) != n {
		return nil, fmt.Errorf("plots: QualityCurveChart has %d steps but %d FID values: they must pair up", n, len(q.FID))
	}
	if q.Confident != nil && len(q.Confident) != n {
		return nil, fmt.Errorf("plots: QualityCurveChart has %d steps but %d confident fractions: they must pair up (or leave Confident nil)", n, len(q.Confident))
	}
	for i := range n {
		if err := checkFinite("step", i, q.Steps[i]); err != nil {
			return nil, err
		}
		if err := checkFinite("FID", i, q.FID[i]); err != nil {
			return nil, err
		}
		if q.FID[i] <= 0 {
			return nil, fmt.Errorf("plots: FID %d is %v: an FID is positive", i, q.FID[i])
		}
		if i > 0 && q.Steps[i] <= q.Steps[i-1] {
			return nil, fmt.Errorf("plots: steps must increase (step %d is %v after %v)", i, q.Steps[i], q.Steps[i-1])
		}
		if q.Confident != nil && !(q.Confident[i] >= 0 && q.Confident[i] <= 1) {
			return nil, fmt.Errorf("plots: confident fraction %d is %v: it must be in [0, 1]", i, q.Confident[i])
		}
	}
	xlabel := "training step"
	fidColor := rgb(0x1F, 0x77, 0xB4)
	confColor := rgb(0x2C, 0xA0, 0x2C)
	top := newPlot("", xlabel, "FID (lower is better)")
	if err := addMarkedLine(top, q.Steps, q.FID, fidColor); err != nil {
		return nil, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range q.FID {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi > 10*lo {
		setLogY(top)
		padRange(&top.Y, true, 0.05)
	}
	title := q.Title
	if title == "" {
		title = "Sample quality during training"
	}
	legend := []LegendEntry{{Label: "FID", Thumbs: []plot.Thumbnailer{lineThumb(draw.LineStyle{Color: fidColor, Width: vg.Points(1.8)})}}}
	if q.Note != "" {
		title += "\n" + q.Note
	}
	c := &Chart{P: top, Legend: legend, LegendAt: LegendBottom, Width: 7.5 * vg.Inch, Height: 4.6 * vg.Inch, Title: title}
	if q.Confident == nil {
		return c, nil
	}
	bottom := newPlot("", xlabel, "confident (%)")
	pct := make([]float64, n)
	for i, v := range q.Confident {
		pct[i] = 100 * v
	}
	if err := addMarkedLine(bottom, q.Steps, pct, confColor); err != nil {
		return nil, err
	}
	bottom.Y.Min, bottom.Y.Max = 0, 100
	c.Legend = append(c.Legend, LegendEntry{Label: "confident: samples labelled with p >= 0.9", Thumbs: []plot.Thumbnailer{lineThumb(draw.LineStyle{Color: confColor, Width: vg.Points(1.8)})}})
	if q.Target > 0 {
		sty := draw.LineStyle{Color: rgb(0x99, 0x99, 0x99), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
		bottom.Add(refLine{value: 100 * q.Target, style: sty})
		c.Legend = append(c.Legend, LegendEntry{Label: fmt.Sprintf("target %.0f%%", 100*q.Target), Thumbs: []plot.Thumbnailer{lineThumb(sty)}})
	}
	top.X.Label.Text = ""
	lo, hi = math.Min(top.X.Min, bottom.X.Min), math.Max(top.X.Max, bottom.X.Max)
	top.X.Min, top.X.Max, bottom.X.Min, bottom.X.Max = lo, hi, lo, hi
	c.P = nil
	c.Panels = [][]*plot.Plot{{top}, {bottom}}
	c.RowWeights = []float64{2, 1}
	c.Height = 5.6 * vg.Inch
	return c, nil
}

// addMarkedLine draws y against x as a line with a dot at every point.
func addMarkedLine(p *plot.Plot, x, y []float64, c color.Color) error {
	xy := xyData(x, y)
	l, pts, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(1.8)}
	pts.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.6), Shape: draw.CircleGlyph{}}
	p.Add(l, pts)
	return nil
}
