package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LossScaleSweep is how much the block-wise rule saves as its tolerance
// grows: from LossScale[i] on (up to the next one), the subnet the rule
// picks has Reduction[i] fewer MACs than the teacher (a fraction).
type LossScaleSweep struct {
	// LossScale increases; Reduction pairs up with it (fractions < 1).
	LossScale, Reduction []float64
	// Max is where the x axis ends (> the last LossScale).
	Max float64
	// Levels are horizontal reference levels (fractions), e.g. the MAC
	// target or what the global search found.
	Levels []Level
	// Marks are loss_scales to mark with a dot and their saving, e.g. 1
	// (METHOD.md's default) and the smallest one that reaches the target.
	Marks []float64
	// Title; empty gives a default.
	Title string
}

// Level is a named horizontal reference line.
type Level struct {
	Name  string
	Value float64
}

// at returns the reduction in force at loss_scale s.
func (s *LossScaleSweep) at(x float64) float64 {
	r := 0.0
	for i, v := range s.LossScale {
		if v <= x {
			r = s.Reduction[i]
		}
	}
	return r
}

// LossScaleChart draws the rule's MAC saving (percent) against loss_scale
// as a step line (the saving changes only where a candidate's loss ratio is
// crossed), with the reference levels dashed and the marks labelled.
func LossScaleChart(s LossScaleSweep) (*Chart, error) {
	n := len(s.LossScale)
	if n == 0 || len(s.Reduction) != n {
		return nil, fmt.Errorf("plots: LossScaleChart needs as many reductions as loss_scales (got %d and %d, at least one)", n, len(s.Reduction))
	}
	for i := range n {
		if err := checkFinite("loss_scale", i, s.LossScale[i]); err != nil {
			return nil, err
		}
		if err := checkFinite("reduction", i, s.Reduction[i]); err != nil {
			return nil, err
		}
		if s.LossScale[i] <= 0 || (i > 0 && s.LossScale[i] <= s.LossScale[i-1]) {
			return nil, fmt.Errorf("plots: loss_scales must be positive and increase (%d is %v)", i, s.LossScale[i])
		}
		if s.Reduction[i] >= 1 {
			return nil, fmt.Errorf("plots: reduction %d is %v: a MAC saving is a fraction below 1", i, s.Reduction[i])
		}
	}
	if !(s.Max > s.LossScale[n-1]) {
		return nil, fmt.Errorf("plots: Max %v must be beyond the last loss_scale %v", s.Max, s.LossScale[n-1])
	}
	p := newPlot("", "loss_scale: a candidate qualifies when its loss <= baseline x loss_scale", "fewer MACs than the teacher (%)")
	xy := make(plotter.XYs, 0, n+1)
	lo, hi := 0.0, 0.0
	for i := range n {
		xy = append(xy, plotter.XY{X: s.LossScale[i], Y: 100 * s.Reduction[i]})
		lo, hi = math.Min(lo, 100*s.Reduction[i]), math.Max(hi, 100*s.Reduction[i])
	}
	xy = append(xy, plotter.XY{X: s.Max, Y: 100 * s.Reduction[n-1]})
	line, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	col := seriesColor(0)
	line.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.8)}
	line.StepStyle = plotter.PostStep
	p.Add(line)
	legend := []LegendEntry{{Label: "block-wise rule (re-selected from one search's candidate tables)", Thumbs: []plot.Thumbnailer{lineThumb(line.LineStyle)}}}
	for i, l := range s.Levels {
		if err := checkFinite("level", i, l.Value); err != nil {
			return nil, err
		}
		sty := draw.LineStyle{Color: seriesColor(i + 1), Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		p.Add(refLine{value: 100 * l.Value, style: sty})
		legend = append(legend, LegendEntry{Label: fmt.Sprintf("%s: %.1f%%", l.Name, 100*l.Value), Thumbs: []plot.Thumbnailer{lineThumb(sty)}})
		hi = math.Max(hi, 100*l.Value)
	}
	if len(s.Marks) > 0 {
		var pts plotter.XYs
		labels := &pointLabels{style: textStyle(tickSize, false), radius: vg.Points(4)}
		for i, m := range s.Marks {
			if err := checkFinite("mark", i, m); err != nil {
				return nil, err
			}
			pt := plotter.XY{X: m, Y: 100 * s.at(m)}
			pts = append(pts, pt)
			labels.pts = append(labels.pts, pt)
			labels.text = append(labels.text, fmt.Sprintf("%.5g: %.1f%%", m, pt.Y))
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		p.Add(sc, labels)
	}
	p.X.Min, p.X.Max = s.LossScale[0], s.Max
	p.Y.Min, p.Y.Max = math.Min(0, lo), math.Max(hi*1.12, 1)
	title := s.Title
	if title == "" {
		title = "Block-wise search: MAC saving against the rule's tolerance"
	}
	return &Chart{P: p, Legend: legend, LegendAt: LegendBottom, Width: 7.5 * vg.Inch, Height: 4.8 * vg.Inch, Title: title}, nil
}
