package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette is the colour cycle of the charts: the Okabe-Ito colours, which
// stay distinguishable for the common forms of colour blindness, ordered so
// that the first few contrast most on white. Series beyond its length
// reuse the colours with a different dash pattern.
var Palette = []color.Color{
	rgb(0x00, 0x72, 0xB2), // blue
	rgb(0xD5, 0x5E, 0x00), // vermillion
	rgb(0x00, 0x9E, 0x73), // bluish green
	rgb(0xCC, 0x79, 0xA7), // reddish purple
	rgb(0xE6, 0x9F, 0x00), // orange
	rgb(0x56, 0xB4, 0xE9), // sky blue
	rgb(0x66, 0x66, 0x66), // grey
	rgb(0xB8, 0xA0, 0x00), // dark yellow (the pure yellow is unreadable on white)
}

// Dashes are the dash patterns cycled after the palette is used up.
var Dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 255} }

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// Premultiplied, as color.RGBA expects.
	return color.RGBA{R: uint8(r >> 8 * uint32(a) / 255), G: uint8(g >> 8 * uint32(a) / 255), B: uint8(b >> 8 * uint32(a) / 255), A: a}
}

// seriesColor and seriesDash give the i-th series its colour and dashes.
func seriesColor(i int) color.Color { return Palette[i%len(Palette)] }
func seriesDash(i int) []vg.Length  { return Dashes[(i/len(Palette))%len(Dashes)] }

var (
	black     = rgb(0, 0, 0)
	gridColor = rgb(0xE2, 0xE2, 0xE2)
)

// newPlot returns a plot with the project's fonts, a light grid and the
// given title and axis labels.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	setFont(&p.Title.TextStyle, panelTitle, false)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		setFont(&a.Label.TextStyle, axisLabelSize, false)
		setFont(&a.Tick.Label, tickSize, false)
		a.Label.Padding = vg.Points(4)
		a.Padding = vg.Points(3)
		a.Tick.Length = vg.Points(4)
		a.Tick.Marker = linearTicks{}
	}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	p.Add(g)
	return p
}

// setLogY switches the y axis of p to a log scale with readable ticks.
func setLogY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
}

// logTicks labels a log axis: powers of ten when the range spans several
// decades, 1-2-5 steps inside a decade or two, so a narrow range still
// gets labels.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	decades := math.Log10(hi / lo)
	var mantissas []float64
	switch {
	case decades > 4:
		mantissas = []float64{1}
	case decades > 1.5:
		mantissas = []float64{1, 2, 5}
	case decades > 0.7:
		mantissas = []float64{1, 2, 3, 5}
	default:
		mantissas = []float64{1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	var ticks []plot.Tick
	labelled := 0
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for _, m := range mantissas {
			v := m * base
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: formatNum(v)})
			labelled++
		}
		// Minor ticks at the integer mantissas without labels.
		if decades <= 4 {
			for m := 2.0; m < 10; m++ {
				v := m * base
				if v >= lo && v <= hi && !contains(mantissas, m) {
					ticks = append(ticks, plot.Tick{Value: v})
				}
			}
		}
	}
	if labelled < 2 { // a very narrow range: label its ends
		ticks = append(ticks, plot.Tick{Value: lo, Label: formatNum(lo)}, plot.Tick{Value: hi, Label: formatNum(hi)})
	}
	return ticks
}

func contains(xs []float64, x float64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// formatNum prints a tick or annotation value compactly: 0.0031, 12.5,
// 4e+05.
func formatNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e6 || a < 1e-3:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 1:
		// Round to 4 significant digits, then print without exponent.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// macUnit picks the unit for a MAC (or parameter) count axis so that the
// largest value lies between 1 and 1000 of it.
func macUnit(maxv int64) (scale float64, suffix string) {
	switch {
	case maxv >= 1e9:
		return 1e9, "G"
	case maxv >= 1e6:
		return 1e6, "M"
	case maxv >= 1e3:
		return 1e3, "K"
	}
	return 1, ""
}

// unitSuffix turns a unit prefix into an axis-label suffix: "M" -> " (M)".
func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " (" + u + ")"
}

// formatCount prints 12345678 as "12.3M".
func formatCount(n int64) string {
	s, u := macUnit(n)
	return fmt.Sprintf("%.3g%s", float64(n)/s, u)
}

// checkFinite reports a NaN or infinite value, naming where it was.
func checkFinite(what string, i int, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("plots: %s[%d] is %v: every value must be a finite number (drop or replace missing points before plotting)", what, i, v)
	}
	return nil
}

// Scale chooses between a linear and a logarithmic axis.
type Scale int

const (
	// ScaleAuto uses a log axis when every value is positive and the
	// largest is at least 50 times the smallest, a linear one otherwise.
	ScaleAuto Scale = iota
	// ScaleLinear always uses a linear axis.
	ScaleLinear
	// ScaleLog always uses a log axis; every value must then be positive.
	ScaleLog
)

// String names the scale.
func (s Scale) String() string {
	switch s {
	case ScaleAuto:
		return "auto"
	case ScaleLinear:
		return "linear"
	case ScaleLog:
		return "log"
	}
	return fmt.Sprintf("Scale(%d)", int(s))
}

// resolve decides linear (false) or log (true) for values in [lo, hi].
func (s Scale) resolve(what string, lo, hi float64) (bool, error) {
	switch s {
	case ScaleLinear:
		return false, nil
	case ScaleLog:
		if !(lo > 0) {
			return false, fmt.Errorf("plots: %s has a value %v <= 0, which a log scale cannot show: use ScaleLinear or ScaleAuto", what, lo)
		}
		return true, nil
	case ScaleAuto:
		return lo > 0 && hi/lo >= 50, nil
	}
	return false, fmt.Errorf("plots: unknown scale %d: use ScaleAuto, ScaleLinear or ScaleLog", int(s))
}

// refLine is a horizontal (or vertical) reference line across the whole
// data area, e.g. the loss threshold of the block-wise search.
type refLine struct {
	value    float64
	vertical bool
	style    draw.LineStyle
}

// Plot implements plot.Plotter.
func (l refLine) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	if l.vertical {
		x := tx(l.value)
		c.StrokeLine2(l.style, x, c.Min.Y, x, c.Max.Y)
		return
	}
	y := ty(l.value)
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// DataRange implements plot.DataRanger: the line widens the range along
// its own axis only.
func (l refLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	inf := math.Inf(1)
	if l.vertical {
		return l.value, l.value, inf, -inf
	}
	return inf, -inf, l.value, l.value
}

// Thumbnail implements plot.Thumbnailer.
func (l refLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// glyphThumb is a legend thumbnail showing one marker.
type glyphThumb draw.GlyphStyle

// Thumbnail implements plot.Thumbnailer.
func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(draw.GlyphStyle(g), c.Center()) }

// lineThumb is a legend thumbnail showing a line style.
type lineThumb draw.LineStyle

// Thumbnail implements plot.Thumbnailer.
func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// boxThumb is a legend thumbnail showing a filled box (for bar charts).
type boxThumb struct{ fill color.Color }

// Thumbnail implements plot.Thumbnailer.
func (b boxThumb) Thumbnail(c *draw.Canvas) {
	h := (c.Max.Y - c.Min.Y) * 0.8
	ctr := c.Center()
	r := vg.Rectangle{Min: vg.Point{X: ctr.X - h*0.8, Y: ctr.Y - h/2}, Max: vg.Point{X: ctr.X + h*0.8, Y: ctr.Y + h/2}}
	c.SetColor(b.fill)
	c.Fill(r.Path())
}

// xyData turns parallel slices into a plotter.XYs, in place of copying
// twice.
func xyData(x, y []float64) plotter.XYs {
	xys := make(plotter.XYs, len(y))
	for i := range y {
		xys[i].X, xys[i].Y = x[i], y[i]
	}
	return xys
}

// linearTicks places 4 to 8 labelled ticks at round values (1, 2, 2.5 or
// 5 times a power of ten) with unlabelled minor ticks between them, and
// prints labels without trailing zeros (25, not 25.00).
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []plot.Tick{{Value: lo, Label: formatNum(lo)}}
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	minor := step / 5
	if r := step / mag; r == 2.5 || r == 25 {
		minor = step / 5
	} else if r == 2 || r == 20 {
		minor = step / 4
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo / minor); k*minor <= hi*(1+1e-12)+1e-300; k++ {
		v := k * minor
		if math.Abs(v) < minor*1e-9 {
			v = 0
		}
		if r := math.Abs(math.Remainder(v, step)); r < minor*1e-6 {
			ticks = append(ticks, plot.Tick{Value: v, Label: formatNum(v)})
		} else {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}
