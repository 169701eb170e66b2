package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ModelPoint is one whole model in the model comparison.
type ModelPoint struct {
	// Name labels the point, e.g. "teacher", "searched subnet",
	// "teacher arch. retrained", "global search", "random subnet".
	Name string
	// MACs is the multiply-accumulate count of one UNet evaluation (one
	// sample, one timestep). Must be > 0.
	MACs int64
	// FID is the Frechet distance between generated samples and the test
	// set (in this project computed on features of a LeNet-style MNIST
	// classifier, not Inception). Must be finite and >= 0.
	FID float64
	// Params is the parameter count (shown in the legend when > 0).
	Params int64
}

// modelGlyphs gives each compared model its own marker shape, so points
// stay distinguishable in grey-scale print.
var modelGlyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, starGlyph{}, draw.BoxGlyph{}, diamondGlyph{}, draw.PyramidGlyph{},
}

// ModelComparison plots whole-model MACs (x, starting at 0 so relative
// savings read true) against FID (y, lower is better) for the compared
// models. Every point gets its own colour and marker, its name next to it
// (placed so labels do not overlap, which matters because the teacher and
// the teacher architecture retrained have the same MACs) and a legend line
// with its exact numbers.
func ModelComparison(points []ModelPoint) (*Chart, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("plots: ModelComparison needs at least one model")
	}
	var maxMACs int64
	for i, m := range points {
		if err := checkFinite("model FID", i, m.FID); err != nil {
			return nil, fmt.Errorf("%w (model %q)", err, m.Name)
		}
		if m.FID < 0 {
			return nil, fmt.Errorf("plots: model %q has FID %v < 0: an FID is a distance", m.Name, m.FID)
		}
		if m.MACs <= 0 || m.Params < 0 {
			return nil, fmt.Errorf("plots: model %q has MACs %d, params %d: MACs must be positive, params >= 0", m.Name, m.MACs, m.Params)
		}
		maxMACs = max(maxMACs, m.MACs)
	}
	scale, unit := macUnit(maxMACs)
	p := newPlot("", "MACs per network evaluation"+unitSuffix(unit)+"  (one sample, one timestep)",
		"FID, classifier features (lower is better)")
	labels := &pointLabels{style: textStyle(tickSize, false)}
	var legend []LegendEntry
	maxFID := 0.0
	for i, m := range points {
		name := m.Name
		if name == "" {
			name = fmt.Sprintf("model %d", i+1)
		}
		xy := plotter.XY{X: float64(m.MACs) / scale, Y: m.FID}
		sc, err := plotter.NewScatter(plotter.XYs{xy})
		if err != nil {
			return nil, fmt.Errorf("plots: model %q: %w", name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(6), Shape: modelGlyphs[i%len(modelGlyphs)]}
		p.Add(sc)
		labels.pts = append(labels.pts, xy)
		labels.text = append(labels.text, name)
		desc := fmt.Sprintf("%s: %s MACs", name, formatCount(m.MACs))
		if m.Params > 0 {
			desc += fmt.Sprintf(", %s params", formatCount(m.Params))
		}
		desc += fmt.Sprintf(", FID %.3g", m.FID)
		legend = append(legend, LegendEntry{Label: desc, Thumbs: []plot.Thumbnailer{glyphThumb(sc.GlyphStyle)}})
		maxFID = math.Max(maxFID, m.FID)
	}
	labels.radius = vg.Points(6)
	p.Add(labels)
	p.X.Min, p.Y.Min = 0, 0
	p.X.Max = float64(maxMACs) / scale * 1.25
	p.Y.Max = math.Max(maxFID*1.2, 1e-3)
	return &Chart{
		P: p, Legend: legend, LegendAt: LegendBottom,
		Width: 7.5 * vg.Inch, Height: 5.2 * vg.Inch,
		Title: "Model comparison: cost (MACs) vs sample quality (FID)",
	}, nil
}

// pointLabels writes a text label beside each point, trying several
// positions (right, left, above, below, then further away) and taking the
// first that overlaps neither an earlier label nor a marker.
type pointLabels struct {
	pts    plotter.XYs
	text   []string
	style  text.Style
	radius vg.Length // marker radius: labels keep clear of it
}

// Plot implements plot.Plotter.
func (l *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	var taken []vg.Rectangle
	for _, xy := range l.pts {
		pt := vg.Point{X: tx(xy.X), Y: ty(xy.Y)}
		taken = append(taken, vg.Rectangle{
			Min: vg.Point{X: pt.X - l.radius, Y: pt.Y - l.radius},
			Max: vg.Point{X: pt.X + l.radius, Y: pt.Y + l.radius},
		})
	}
	sty := l.style
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	for i, xy := range l.pts {
		pt := vg.Point{X: tx(xy.X), Y: ty(xy.Y)}
		w, h := sty.Width(l.text[i]), sty.Height(l.text[i])
		gap := l.radius + 3
		// Candidate lower-left corners, in order of preference.
		var cands []vg.Point
		for k := range 5 {
			dy := vg.Length(k) * (h + 2)
			cands = append(cands,
				vg.Point{X: pt.X + gap, Y: pt.Y - h/2 - dy},
				vg.Point{X: pt.X - gap - w, Y: pt.Y - h/2 - dy},
				vg.Point{X: pt.X - w/2, Y: pt.Y + gap + dy},
				vg.Point{X: pt.X - w/2, Y: pt.Y - gap - h - dy},
				vg.Point{X: pt.X + gap, Y: pt.Y - h/2 + dy},
				vg.Point{X: pt.X - gap - w, Y: pt.Y - h/2 + dy},
			)
		}
		best := cands[0]
		for _, q := range cands {
			r := vg.Rectangle{Min: q, Max: vg.Point{X: q.X + w, Y: q.Y + h}}
			if !inside(r, c.Rectangle) || overlapsAny(r, taken) {
				continue
			}
			best = q
			break
		}
		taken = append(taken, vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}})
		c.FillText(sty, best, l.text[i])
	}
}

func inside(r, outer vg.Rectangle) bool {
	return r.Min.X >= outer.Min.X && r.Min.Y >= outer.Min.Y && r.Max.X <= outer.Max.X && r.Max.Y <= outer.Max.Y
}

func overlapsAny(r vg.Rectangle, rs []vg.Rectangle) bool {
	for _, o := range rs {
		if r.Min.X < o.Max.X && o.Min.X < r.Max.X && r.Min.Y < o.Max.Y && o.Min.Y < r.Max.Y {
			return true
		}
	}
	return false
}
