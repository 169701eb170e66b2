package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"dnas/internal/atomicfile"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgeps"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// DefaultDPI is the resolution of PNG (and JPEG/TIFF) output when Chart.DPI
// is zero. A 7 x 4.4 inch chart at 100 dots per inch is 700 x 440 pixels.
const DefaultDPI = 100

// LegendPosition says where a Chart draws its figure legend.
type LegendPosition int

const (
	// LegendRight draws the legend in a column to the right of the panels
	// (the zero value, so it is the default).
	LegendRight LegendPosition = iota
	// LegendBottom draws the legend below the panels, in as many columns
	// as fit the width.
	LegendBottom
)

// LegendEntry is one line of a figure legend: a label and the small
// pictures (thumbnails) drawn next to it. Any gonum plotter that draws
// data (a *plotter.Scatter, *plotter.Line, *plotter.BarChart, ...) is a
// plot.Thumbnailer; several thumbnails are drawn on top of each other.
type LegendEntry struct {
	Label  string
	Thumbs []plot.Thumbnailer
}

// Chart is a figure: one plot (P) or a grid of plots (Panels), an optional
// figure title and legend, and the size to render it at.
//
// Legends are drawn outside the data area so they never hide data; a
// panel's own plot.Legend (P.Legend), if a caller fills it, is drawn inside
// that panel as gonum/plot normally does.
//
// The zero value is not useful: use one of the constructors (BlockTradeoff,
// TrainingCurves, ...) or fill P or Panels yourself. Rendering settles the
// plots' axis ranges in place, so do not render one Chart from several
// goroutines at once.
type Chart struct {
	// P is the plot of a single-panel chart. When Panels is non-empty, P
	// is ignored.
	P *plot.Plot
	// Panels is the grid of a multi-panel chart, row by row (Panels[0] is
	// the top row). When every row has the same length the panels are
	// aligned as a grid (equal data areas, axes lined up); rows of
	// different lengths are each laid out across the full width. A nil
	// entry leaves its tile empty.
	Panels [][]*plot.Plot
	// RowWeights optionally gives the relative heights of the rows of
	// Panels (nil: all rows equally high). Its length must equal
	// len(Panels).
	RowWeights []float64
	// Legend is the figure legend; nil draws none.
	Legend []LegendEntry
	// LegendAt says where Legend goes (LegendRight by default).
	LegendAt LegendPosition
	// Width and Height are the size of the whole figure, title and legend
	// included (vg.Inch, vg.Centimeter, vg.Points(...) are handy units).
	Width, Height vg.Length
	// DPI is the resolution of raster output (PNG, JPEG, TIFF); 0 means
	// DefaultDPI. The PNG is round(Width/vg.Inch*DPI) pixels wide.
	DPI int
	// Title is the figure title, drawn centred above everything.
	Title string
}

// String describes the chart in words (title, panels, legend, size): what
// a terminal without pictures, or a notebook's text/plain representation,
// shows instead of the image.
func (c *Chart) String() string {
	if c == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString("chart")
	title := c.Title
	var panels []*plot.Plot
	rows, cols := 0, 0
	if len(c.Panels) > 0 {
		rows = len(c.Panels)
		for _, row := range c.Panels {
			cols = max(cols, len(row))
			for _, p := range row {
				if p != nil {
					panels = append(panels, p)
				}
			}
		}
	} else if c.P != nil {
		panels = []*plot.Plot{c.P}
	}
	if title == "" && len(panels) == 1 {
		title = panels[0].Title.Text
	}
	if title != "" {
		fmt.Fprintf(&b, " \"%s\"", strings.ReplaceAll(title, "\n", " / "))
	}
	switch {
	case len(c.Panels) > 0:
		var names []string
		for _, p := range panels {
			names = append(names, p.Title.Text)
		}
		fmt.Fprintf(&b, ": %d panels in %d row%s", len(panels), rows, plural(rows))
		if rows > 1 && cols > 1 {
			fmt.Fprintf(&b, " of up to %d", cols)
		}
		if l := listOf(names, 8); l != "" {
			fmt.Fprintf(&b, " (%s)", l)
		}
	case c.P == nil:
		b.WriteString(": no plot")
	case c.P.X.Label.Text != "" || c.P.Y.Label.Text != "":
		fmt.Fprintf(&b, ": x %s, y %s", orDash(c.P.X.Label.Text), orDash(c.P.Y.Label.Text))
	}
	var labels []string
	for _, e := range c.Legend {
		labels = append(labels, e.Label)
	}
	if l := listOf(labels, 6); l != "" {
		fmt.Fprintf(&b, "; legend: %s", l)
	}
	w, h := c.PixelSize()
	fmt.Fprintf(&b, "; %dx%d px", w, h)
	return b.String()
}

// listOf joins the non-empty names, at most n of them, saying how many more
// there are.
func listOf(names []string, n int) string {
	var kept []string
	for _, s := range names {
		if s != "" {
			kept = append(kept, s)
		}
	}
	if len(kept) > n {
		return strings.Join(kept[:n], ", ") + fmt.Sprintf(", ... (%d in all)", len(kept))
	}
	return strings.Join(kept, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// PNG renders the chart as a PNG image of PixelSize() pixels.
func (c *Chart) PNG() ([]byte, error) { return c.Render("png") }

// SVG renders the chart as an SVG document (fonts referenced by name,
// not embedded).
func (c *Chart) SVG() ([]byte, error) { return c.Render("svg") }

// PDF renders the chart as a one-page PDF document.
func (c *Chart) PDF() ([]byte, error) { return c.Render("pdf") }

// PixelSize returns the width and height in pixels of the chart's raster
// output (PNG, JPEG, TIFF) at its DPI.
func (c *Chart) PixelSize() (w, h int) {
	dpi := c.dpi()
	return int(math.Round(float64(c.Width/vg.Inch) * float64(dpi))),
		int(math.Round(float64(c.Height/vg.Inch) * float64(dpi)))
}

// Save writes the chart to path, atomically; the extension picks the
// format: .png, .svg, .pdf, .eps, .jpg/.jpeg, .tif/.tiff. The parent
// directory must exist.
func (c *Chart) Save(path string) error {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format == "" {
		return fmt.Errorf("plots: cannot save chart to %q: the file name needs an extension (.png, .svg, .pdf, .eps, .jpg or .tiff) to choose the format", path)
	}
	b, err := c.Render(format)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("plots: saving chart: %w", err)
	}
	return nil
}

// Render draws the chart in the named format ("png", "svg", "pdf", "eps",
// "jpg"/"jpeg", "tif"/"tiff") and returns the encoded bytes.
func (c *Chart) Render(format string) (out []byte, err error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var cw vg.CanvasWriterTo
	switch strings.ToLower(format) {
	case "png":
		cw = vgimg.PngCanvas{Canvas: c.rasterCanvas()}
	case "jpg", "jpeg":
		cw = vgimg.JpegCanvas{Canvas: c.rasterCanvas()}
	case "tif", "tiff":
		cw = vgimg.TiffCanvas{Canvas: c.rasterCanvas()}
	case "svg":
		cw = vgsvg.New(c.Width, c.Height)
	case "pdf":
		cw = vgpdf.New(c.Width, c.Height)
	case "eps":
		cw = vgeps.New(c.Width, c.Height)
	default:
		return nil, fmt.Errorf("plots: unknown chart format %q: use png, svg, pdf, eps, jpg or tiff", format)
	}
	// gonum/plot panics on some degenerate inputs (for example a log axis
	// over non-positive values set by a caller); report them as errors.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("plots: rendering %q as %s failed: %v", c.Title, format, r)
		}
	}()
	// vgpdf registers only the regular face of a font, so the PDF title
	// is drawn in the regular weight.
	c.draw(draw.New(cw), strings.ToLower(format) != "pdf")
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plots: encoding chart as %s: %w", format, err)
	}
	out = buf.Bytes()
	if cw, ok := cw.(*vgsvg.Canvas); ok && cw != nil {
		// Fonts are not embedded (that would add ~1 MB): name fallbacks
		// with the same metrics (Liberation Sans is metric-compatible
		// with Arial) so text keeps its width on machines without it.
		out = bytes.ReplaceAll(out, []byte("font-family:Liberation Sans;"),
			[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	}
	return out, nil
}

// WriteTo writes the chart as PNG to w, so a Chart can be streamed
// anywhere an io.WriterTo is accepted.
func (c *Chart) WriteTo(w io.Writer) (int64, error) {
	b, err := c.PNG()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

func (c *Chart) dpi() int {
	if c.DPI > 0 {
		return c.DPI
	}
	return DefaultDPI
}

func (c *Chart) rasterCanvas() *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseWH(c.Width, c.Height), vgimg.UseDPI(c.dpi()),
		vgimg.UseBackgroundColor(color.White))
}

// check reports a chart that cannot be drawn.
func (c *Chart) check() error {
	if c == nil {
		return fmt.Errorf("plots: nil chart")
	}
	if !(c.Width > 0) || !(c.Height > 0) || math.IsInf(float64(c.Width+c.Height), 0) {
		return fmt.Errorf("plots: chart %q has size %v x %v: Width and Height must be positive (e.g. 7*vg.Inch)", c.Title, c.Width, c.Height)
	}
	if c.P == nil && len(c.Panels) == 0 {
		return fmt.Errorf("plots: chart %q has nothing to draw: set P or Panels", c.Title)
	}
	if len(c.Panels) > 0 && c.RowWeights != nil {
		if len(c.RowWeights) != len(c.Panels) {
			return fmt.Errorf("plots: chart %q has %d RowWeights for %d rows of panels", c.Title, len(c.RowWeights), len(c.Panels))
		}
		for i, w := range c.RowWeights {
			if !(w > 0) || math.IsInf(w, 0) {
				return fmt.Errorf("plots: chart %q: RowWeights[%d] = %v must be positive", c.Title, i, w)
			}
		}
	}
	return nil
}

// Draw draws the chart onto a canvas (the Render methods call it; use it
// to place a chart inside a larger drawing).
func (c *Chart) Draw(dc draw.Canvas) { c.draw(dc, true) }

func (c *Chart) draw(dc draw.Canvas, bold bool) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	dc = draw.Crop(dc, margin, -margin, margin, -margin)

	if c.Title != "" {
		sty := textStyle(titleSize, bold)
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y}, c.Title)
		dc.Max.Y -= sty.Height(c.Title) + margin
	}

	if len(c.Legend) > 0 {
		dc = c.drawLegend(dc)
	}

	if len(c.Panels) == 0 {
		c.P.Draw(dc)
		return
	}
	c.drawPanels(dc)
}

// Layout constants shared by the charts.
const (
	margin        = vg.Length(6)
	titleSize     = vg.Length(14)
	panelTitle    = vg.Length(12)
	axisLabelSize = vg.Length(11)
	tickSize      = vg.Length(10)
	legendSize    = vg.Length(10.5)
	thumbWidth    = vg.Length(22)
)

// BaseFont is the typeface of all chart text: Liberation Sans, which
// gonum/plot embeds, so output looks the same on every machine.
var BaseFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// textStyle returns a left/bottom aligned style of BaseFont.
func textStyle(size vg.Length, bold bool) text.Style {
	sty := text.Style{Color: color.Black, Handler: plot.DefaultTextHandler}
	setFont(&sty, size, bold)
	return sty
}

// setFont changes the font of a style, keeping its alignment and rotation.
func setFont(sty *text.Style, size vg.Length, bold bool) {
	f := BaseFont
	if bold {
		f.Weight = xfont.WeightBold
	}
	sty.Font = font.From(f, size)
}

// drawLegend draws the figure legend at the chosen side and returns the
// canvas left for the panels.
func (c *Chart) drawLegend(dc draw.Canvas) draw.Canvas {
	sty := textStyle(legendSize, false)
	ext := sty.FontExtents()
	rowH := ext.Ascent + ext.Descent + 3
	gap := sty.Width(" ")
	entryW := vg.Length(0)
	for _, e := range c.Legend {
		if w := thumbWidth + gap + sty.Width(e.Label); w > entryW {
			entryW = w
		}
	}
	drawEntry := func(e LegendEntry, x, yTop vg.Length) {
		thumb := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: yTop - rowH + 2},
			Max: vg.Point{X: x + thumbWidth, Y: yTop - 2},
		}}
		for _, t := range e.Thumbs {
			t.Thumbnail(&thumb)
		}
		dc.FillText(sty, vg.Point{X: x + thumbWidth + gap, Y: yTop - rowH/2 - (ext.Ascent-ext.Descent)/2}, e.Label)
	}

	if c.LegendAt == LegendBottom {
		// As many columns as fit; each column as wide as its widest entry.
		avail := dc.Max.X - dc.Min.X
		colGap := 2 * sty.Width("  ")
		cols := len(c.Legend)
		var widths []vg.Length
		for ; cols > 1; cols-- {
			widths = legendColumns(c.Legend, cols, sty, gap)
			total := vg.Length(cols-1) * colGap
			for _, w := range widths {
				total += w
			}
			if total <= avail {
				break
			}
		}
		if cols == 1 {
			widths = []vg.Length{entryW}
		}
		total := vg.Length(cols-1) * colGap
		for _, w := range widths {
			total += w
		}
		rows := (len(c.Legend) + cols - 1) / cols
		height := vg.Length(rows)*rowH + margin
		x := dc.Center().X - total/2
		for col := range cols {
			for r := range rows {
				if i := r*cols + col; i < len(c.Legend) {
					drawEntry(c.Legend[i], x, dc.Min.Y+height-margin-vg.Length(r)*rowH)
				}
			}
			x += widths[col] + colGap
		}
		dc.Min.Y += height
		return dc
	}
	// Right: a column next to the panels, level with the top of the data.
	width := entryW + margin
	x0 := dc.Max.X - entryW
	yTop := dc.Max.Y - margin
	if len(c.Panels) == 0 && c.P != nil && c.P.Title.Text != "" {
		yTop -= c.P.Title.TextStyle.Height(c.P.Title.Text) + c.P.Title.Padding
	} else if len(c.Panels) > 0 && len(c.Panels[0]) > 0 && c.Panels[0][0] != nil && c.Panels[0][0].Title.Text != "" {
		p := c.Panels[0][0]
		yTop -= p.Title.TextStyle.Height(p.Title.Text) + p.Title.Padding
	}
	for i, e := range c.Legend {
		drawEntry(e, x0, yTop-vg.Length(i)*rowH)
	}
	dc.Max.X -= width
	return dc
}

// legendColumns returns the width of each column when the entries are laid
// out row by row in cols columns.
func legendColumns(entries []LegendEntry, cols int, sty text.Style, gap vg.Length) []vg.Length {
	w := make([]vg.Length, cols)
	for i, e := range entries {
		w[i%cols] = max(w[i%cols], thumbWidth+gap+sty.Width(e.Label))
	}
	return w
}

// drawPanels lays out and draws c.Panels inside dc.
func (c *Chart) drawPanels(dc draw.Canvas) {
	rows := c.Panels
	weights := c.RowWeights
	if weights == nil {
		weights = make([]float64, len(rows))
		for i := range weights {
			weights[i] = 1
		}
	}
	pad := 2 * margin
	same := true
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			same = false
		}
	}
	if same && len(rows[0]) > 0 {
		canvases := alignGrid(rows, weights, pad, dc)
		for i, r := range rows {
			for j, p := range r {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		return
	}
	// Rows of different lengths: split the height, then align each row.
	total := 0.0
	for _, w := range weights {
		total += w
	}
	avail := dc.Max.Y - dc.Min.Y - vg.Length(len(rows)-1)*pad
	top := dc.Max.Y
	for i, r := range rows {
		h := avail * vg.Length(weights[i]/total)
		rc := dc
		rc.Max.Y, rc.Min.Y = top, top-h
		top -= h + pad
		if len(r) == 0 {
			continue
		}
		canvases := alignGrid([][]*plot.Plot{r}, []float64{1}, pad, rc)
		for j, p := range r {
			if p != nil {
				p.Draw(canvases[0][j])
			}
		}
	}
}

// alignGrid is plot.Align with weighted row heights: it returns one canvas
// per panel such that all data areas in a column share their left and right
// edges and all data areas in a row share their top and bottom edges.
func alignGrid(rows [][]*plot.Plot, weights []float64, pad vg.Length, dc draw.Canvas) [][]draw.Canvas {
	nr, nc := len(rows), len(rows[0])
	// Space taken by axes and titles around each data area, measured on
	// a nominal tile of the final size.
	tiles := draw.Tiles{Rows: nr, Cols: nc, PadX: pad, PadY: pad}
	left := make([]vg.Length, nc)
	right := make([]vg.Length, nc)
	bottom := make([]vg.Length, nr)
	topS := make([]vg.Length, nr)
	for i, r := range rows {
		for j, p := range r {
			if p == nil {
				continue
			}
			t := tiles.At(dc, j, i)
			d := p.DataCanvas(t)
			left[j] = max(left[j], d.Min.X-t.Min.X)
			right[j] = max(right[j], t.Max.X-d.Max.X)
			bottom[i] = max(bottom[i], d.Min.Y-t.Min.Y)
			topS[i] = max(topS[i], t.Max.Y-d.Max.Y)
		}
	}
	var sx, sy vg.Length
	for j := range nc {
		sx += left[j] + right[j]
	}
	for i := range nr {
		sy += bottom[i] + topS[i]
	}
	dataW := (dc.Max.X - dc.Min.X - sx - vg.Length(nc-1)*pad) / vg.Length(nc)
	total := 0.0
	for _, w := range weights {
		total += w
	}
	availH := dc.Max.Y - dc.Min.Y - sy - vg.Length(nr-1)*pad

	out := make([][]draw.Canvas, nr)
	y := dc.Max.Y
	for i := range nr {
		h := availH * vg.Length(weights[i]/total)
		out[i] = make([]draw.Canvas, nc)
		x := dc.Min.X
		for j := range nc {
			out[i][j] = draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - topS[i] - h - bottom[i]},
				Max: vg.Point{X: x + left[j] + dataW + right[j], Y: y},
			}}
			// Shift each panel so its own axes fit the column's widest.
			if p := rows[i][j]; p != nil {
				d := p.DataCanvas(out[i][j])
				out[i][j] = draw.Crop(out[i][j],
					left[j]-(d.Min.X-out[i][j].Min.X), -(right[j] - (out[i][j].Max.X - d.Max.X)),
					bottom[i]-(d.Min.Y-out[i][j].Min.Y), -(topS[i] - (out[i][j].Max.Y - d.Max.Y)))
			}
			x += left[j] + dataW + right[j] + pad
		}
		y -= topS[i] + h + bottom[i] + pad
	}
	return out
}
