package plots

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
)

// TestChartsRender renders every chart of the gallery as PNG and SVG and
// checks the PNG decodes at the chart's stated pixel size, quickly.
func TestChartsRender(t *testing.T) {
	charts := galleryCharts()
	names := make([]string, 0, len(charts))
	for n := range charts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			c, err := charts[name]()
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.PNG()
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("PNG does not decode: %v", err)
			}
			w, h := c.PixelSize()
			wantW := int(math.Round(float64(c.Width/vg.Inch) * DefaultDPI))
			if w != wantW || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
				t.Fatalf("PNG is %v, PixelSize %dx%d, want width %d", img.Bounds().Size(), w, h, wantW)
			}
			if !notBlank(img) {
				t.Fatal("PNG is a single colour: nothing was drawn")
			}
			// The text a terminal or a notebook's text/plain shows.
			desc := c.String()
			if !strings.HasPrefix(desc, "chart") || regexp.MustCompile(`0x[0-9a-f]{4}`).MatchString(desc) ||
				!strings.Contains(desc, strings.ReplaceAll(c.Title, "\n", " / ")) || !strings.HasSuffix(desc, fmt.Sprintf("; %dx%d px", w, h)) {
				t.Fatalf("String() = %q: want a description with the title %q and the size, no pointers", desc, c.Title)
			}
			t.Log(desc)
			svg, err := c.SVG()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("</svg>")) {
				t.Fatalf("SVG output is not an SVG document: %.80q", svg)
			}
			dec := xml.NewDecoder(bytes.NewReader(svg))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("SVG is not well-formed XML: %v", err)
				}
			}
			// Time is logged, not asserted: unit tests on shared machines
			// must not fail on load (typical is < 0.3 s per chart).
			t.Logf("%s: %dx%d PNG %d bytes, SVG %d bytes, %v", name, w, h, len(b), len(svg), elapsed)
		})
	}
}

func notBlank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				return true
			}
		}
	}
	return false
}

func TestDPIAndSave(t *testing.T) {
	c, err := TrainingCurves("t", "loss", Series{Name: "a", Y: []float64{3, 2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	c.Width, c.Height, c.DPI = 4*vg.Inch, 3*vg.Inch, 150
	b, err := c.PNG()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 600 || cfg.Height != 450 {
		t.Fatalf("4x3 in at 150 dpi gave %dx%d, want 600x450", cfg.Width, cfg.Height)
	}
	dir := t.TempDir()
	magic := map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF"}
	for ext, m := range magic {
		path := filepath.Join(dir, "c"+ext)
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.HasPrefix(got, []byte(m)) {
			t.Errorf("%s starts with %.10q, want %q", ext, got, m)
		}
	}
	for _, bad := range []string{"c", "c.doc"} {
		if err := c.Save(filepath.Join(dir, bad)); err == nil {
			t.Errorf("Save(%q) succeeded, want an error about the format", bad)
		}
	}
	// Written through a temporary file renamed over the target: none is
	// left behind, and the file is readable by all like os.WriteFile's.
	if entries, _ := os.ReadDir(dir); len(entries) != len(magic) {
		t.Errorf("the directory holds %d files after %d saves: %v", len(entries), len(magic), entries)
	}
	if fi, err := os.Stat(filepath.Join(dir, "c.png")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("saved chart mode %v (%v), want 0644", fi.Mode(), err)
	}
	if err := c.Save(filepath.Join(dir, "missing", "c.png")); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
	var zero Chart
	if _, err := zero.PNG(); err == nil || !strings.Contains(err.Error(), "Width and Height") {
		t.Errorf("zero Chart: err = %v, want a size error", err)
	}
	c.Width = 0
	if _, err := c.SVG(); err == nil {
		t.Error("zero width rendered without error")
	}
}

// TestBadInput checks that bad data yields an error that names the
// problem, never a panic.
func TestBadInput(t *testing.T) {
	nan := math.NaN()
	good := fakeBlock("enc0", 2, 1)
	withLoss := func(v float64) BlockSearch {
		s := fakeBlock("enc0", 2, 1)
		s.Candidates[3].Loss = v
		return s
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"tradeoff empty", func() error { _, err := BlockTradeoff(BlockSearch{Block: "mid"}); return err }, "no candidates"},
		{"quality empty", func() error { _, err := QualityCurveChart(QualityCurve{}); return err }, "at least one"},
		{"loss_scale unpaired", func() error {
			_, err := LossScaleChart(LossScaleSweep{LossScale: []float64{1, 2}, Reduction: []float64{0.1}, Max: 3})
			return err
		}, "as many reductions"},
		{"loss_scale not increasing", func() error {
			_, err := LossScaleChart(LossScaleSweep{LossScale: []float64{1, 1}, Reduction: []float64{0.1, 0.2}, Max: 3})
			return err
		}, "increase"},
		{"loss_scale max", func() error {
			_, err := LossScaleChart(LossScaleSweep{LossScale: []float64{1, 2}, Reduction: []float64{0.1, 0.2}, Max: 2})
			return err
		}, "beyond the last"},
		{"loss_scale reduction of 1", func() error {
			_, err := LossScaleChart(LossScaleSweep{LossScale: []float64{1}, Reduction: []float64{1}, Max: 2})
			return err
		}, "fraction below 1"},
		{"loss_scale NaN level", func() error {
			_, err := LossScaleChart(LossScaleSweep{LossScale: []float64{1}, Reduction: []float64{0.1}, Max: 2, Levels: []Level{{"x", nan}}})
			return err
		}, "NaN"},
		{"quality unpaired", func() error {
			_, err := QualityCurveChart(QualityCurve{Steps: []float64{1, 2}, FID: []float64{3}})
			return err
		}, "pair up"},
		{"quality steps not increasing", func() error {
			_, err := QualityCurveChart(QualityCurve{Steps: []float64{2, 1}, FID: []float64{3, 2}})
			return err
		}, "increase"},
		{"quality confident out of range", func() error {
			_, err := QualityCurveChart(QualityCurve{Steps: []float64{1}, FID: []float64{3}, Confident: []float64{90}})
			return err
		}, "[0, 1]"},
		{"quality FID NaN", func() error {
			_, err := QualityCurveChart(QualityCurve{Steps: []float64{1}, FID: []float64{nan}})
			return err
		}, "NaN"},
		{"tradeoff NaN", func() error { _, err := BlockTradeoff(withLoss(nan)); return err }, "NaN"},
		{"tradeoff negative loss", func() error { _, err := BlockTradeoff(withLoss(-1)); return err }, "< 0"},
		{"tradeoff chosen out of range", func() error {
			s := good
			s.Chosen = 99
			_, err := BlockTradeoff(s)
			return err
		}, "Chosen index 99"},
		{"tradeoff threshold without baseline", func() error {
			s := good
			s.Baseline = -1
			_, err := BlockTradeoff(s)
			return err
		}, "needs the Baseline"},
		{"tradeoff log of zero", func() error {
			s := withLoss(0)
			s.LossAxis = ScaleLog
			_, err := BlockTradeoff(s)
			return err
		}, "log scale"},
		{"grid empty", func() error { _, err := TradeoffGrid(2); return err }, "at least one block"},
		{"grid bad block", func() error { _, err := TradeoffGrid(2, good, withLoss(math.Inf(1))); return err }, "+Inf"},
		{"models empty", func() error { _, err := ModelComparison(nil); return err }, "at least one"},
		{"models NaN", func() error {
			_, err := ModelComparison([]ModelPoint{{Name: "x", MACs: 1, FID: nan}})
			return err
		}, "NaN"},
		{"models zero MACs", func() error {
			_, err := ModelComparison([]ModelPoint{{Name: "x", FID: 1}})
			return err
		}, "MACs must be positive"},
		{"curves none", func() error { _, err := TrainingCurves("t", "y"); return err }, "at least one series"},
		{"curves empty", func() error { _, err := TrainingCurves("t", "y", Series{Name: "a"}); return err }, "no points"},
		{"curves mismatch", func() error {
			_, err := TrainingCurves("t", "y", Series{Name: "a", X: []float64{1, 2}, Y: []float64{1}})
			return err
		}, "2 X values but 1 Y"},
		{"curves NaN", func() error {
			_, err := TrainingCurves("t", "y", Series{Name: "a", Y: []float64{1, nan}})
			return err
		}, `"a" Y[1] is NaN`},
		{"curves bad smoothing", func() error {
			_, err := Curves(CurveOptions{Smooth: 1}, Series{Y: []float64{1}})
			return err
		}, "[0, 1)"},
		{"curves log of negative", func() error {
			_, err := Curves(CurveOptions{Y: ScaleLog}, Series{Y: []float64{1, -1}})
			return err
		}, "log scale"},
		{"beta no total", func() error {
			_, err := BetaSchedules(0, Schedule{"a", func(int, int) float64 { return 0 }})
			return err
		}, "total > 0"},
		{"beta nil func", func() error { _, err := BetaSchedules(10, Schedule{Name: "a"}); return err }, "nil Beta"},
		{"beta out of range", func() error {
			_, err := BetaSchedules(10, Schedule{"up", func(s, t int) float64 { return float64(s) / 5 }})
			return err
		}, "beta = 1.2"},
		{"beta NaN", func() error {
			_, err := BetaSchedules(10, Schedule{"nan", func(int, int) float64 { return nan }})
			return err
		}, "beta = NaN"},
		{"beta panics", func() error {
			_, err := BetaSchedules(10, Schedule{"boom", func(s, t int) float64 { panic("index out of range") }})
			return err
		}, "panicked"},
		{"beta series out of range", func() error { _, err := BetaSeries(Series{Name: "b", Y: []float64{0, 2}}); return err }, "beta = 2"},
		{"dynamics empty", func() error { _, err := DistillDynamics(Dynamics{}); return err }, "needs block losses"},
		{"dynamics mismatch", func() error {
			_, err := DistillDynamics(Dynamics{Blocks: []Series{{Name: "enc0", X: []float64{0}, Y: []float64{1, 2}}}})
			return err
		}, "1 X values but 2 Y"},
		{"dynamics bad beta", func() error {
			_, err := DistillDynamics(Dynamics{Noise: Series{Y: []float64{1}}, Beta: Series{Y: []float64{nan}}})
			return err
		}, "NaN"},
		{"samples empty", func() error { _, err := SampleGrid(nil, 28, 28, 4); return err }, "at least one image"},
		{"samples wrong size", func() error { _, err := SampleGrid([][]float32{make([]float32, 10)}, 28, 28, 4); return err }, "has 10 values"},
		{"samples ragged", func() error {
			_, err := SampleGrid([][]float32{make([]float32, 4), make([]float32, 3)}, 2, 2, 2)
			return err
		}, "same size"},
		{"samples NaN", func() error {
			_, err := SampleGrid([][]float32{{0, 0, float32(nan), 0}}, 2, 2, 1)
			return err
		}, "non-finite"},
		{"samples chart NaN", func() error {
			_, err := SampleChart("t", [][]float32{{0, 0, float32(nan), 0}}, 2, 2, 1)
			return err
		}, "non-finite"},
		{"ablation empty", func() error { _, err := AblationChart(Ablation{}); return err }, "no runs"},
		{"ablation nothing measured", func() error {
			_, err := AblationChart(Ablation{Runs: []AblationRun{{Schedule: "a", FID: nan, NoiseLoss: nan}}})
			return err
		}, "nothing to plot"},
		{"ablation Inf", func() error {
			_, err := AblationChart(Ablation{Runs: []AblationRun{{Schedule: "a", FID: math.Inf(1), NoiseLoss: 1}}})
			return err
		}, "FID = +Inf"},
		{"ablation unnamed", func() error {
			_, err := AblationChart(Ablation{Runs: []AblationRun{{FID: 1, NoiseLoss: 1}}})
			return err
		}, "no Schedule name"},
		{"ablation bad curve", func() error {
			_, err := AblationChart(Ablation{Runs: []AblationRun{{Schedule: "a", FID: 1, NoiseLoss: 1, Curve: Series{X: []float64{1}}}}})
			return err
		}, "no points"},
		{"ablation table", func() error { _, err := AblationTable(Ablation{}); return err }, "no runs"},
		{"table row length", func() error { return NewTable("t", "a", "b").AddRow(1) }, "1 cells but the table has 2 columns"},
		{"row weights", func() error {
			c := &Chart{Panels: [][]*plot.Plot{{plot.New()}}, RowWeights: []float64{1, 2}, Width: vg.Inch, Height: vg.Inch}
			_, err := c.PNG()
			return err
		}, "2 RowWeights for 1 rows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panicked: %v", r)
					}
				}()
				err = tc.run()
			}()
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParetoFront(t *testing.T) {
	c := []Candidate{
		{Loss: 0.5, MACs: 100}, // 0: front (cheapest)
		{Loss: 0.6, MACs: 150}, // 1: dominated by 0
		{Loss: 0.3, MACs: 200}, // 2: front
		{Loss: 0.3, MACs: 200}, // 3: duplicate of 2
		{Loss: 0.3, MACs: 250}, // 4: same loss, more MACs: dominated
		{Loss: 0.1, MACs: 400}, // 5: front
		{Loss: 0.2, MACs: 90},  // 6: front, cheapest of all... and better than 0
	}
	got := ParetoFront(c)
	want := []int{6, 5}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ParetoFront = %v, want %v", got, want)
	}
	c[6].Loss = 0.9
	got = ParetoFront(c)
	want = []int{6, 0, 2, 5}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("ParetoFront = %v, want %v", got, want)
		}
	}
}

func TestEMA(t *testing.T) {
	got := EMA([]float64{1, 2, 3}, 0.5)
	want := []float64{1, 1.25 / 0.75, 2.125 / 0.875}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("EMA = %v, want %v", got, want)
		}
	}
	if got := EMA([]float64{4, 5}, 0); got[0] != 4 || got[1] != 5 {
		t.Fatalf("EMA with alpha 0 = %v, want the input", got)
	}
}

func TestSampleGrid(t *testing.T) {
	// Two 2x3 grey images in one row: values -1, 0, 1 map to 0, 128, 255.
	a := []float32{-1, 0, 1, 1, 0, -1}
	b := []float32{2, -2, 0, 0, 0, 0} // clipped
	img, err := SampleGrid([][]float32{a, b}, 2, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := img.(*image.Gray)
	if g.Bounds().Dx() != 2*3+3*gridGap || g.Bounds().Dy() != 2+2*gridGap {
		t.Fatalf("grid is %v", g.Bounds())
	}
	at := func(x, y int) uint8 { return g.GrayAt(x, y).Y }
	if at(gridGap, gridGap) != 0 || at(gridGap+1, gridGap) != 128 || at(gridGap+2, gridGap) != 255 || at(gridGap, gridGap+1) != 255 {
		t.Fatalf("first image pixels wrong: %v", g.Pix)
	}
	x1 := 2*gridGap + 3
	if at(x1, gridGap) != 255 || at(x1+1, gridGap) != 0 {
		t.Fatalf("second image not clipped/placed right: %v", g.Pix)
	}
	if at(0, 0) != 64 {
		t.Fatalf("gap colour %d, want 64", at(0, 0))
	}

	// RGB in channel-major order.
	rgb := []float32{1, -1, -1} // 1x1: R=1, G=-1, B=-1 -> red
	img, err = SampleGrid([][]float32{rgb}, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, gg, bb, _ := img.At(gridGap, gridGap).RGBA()
	if r>>8 != 255 || gg != 0 || bb != 0 {
		t.Fatalf("RGB pixel = %d %d %d, want red", r>>8, gg>>8, bb>>8)
	}

	big := Upscale(g, 3)
	if big.Bounds().Dx() != 3*g.Bounds().Dx() {
		t.Fatalf("Upscale size %v", big.Bounds())
	}
	r1, _, _, _ := big.At(3*(gridGap+2)+2, 3*gridGap).RGBA()
	if r1>>8 != 255 {
		t.Fatalf("Upscale pixel = %d, want 255 (nearest neighbour)", r1>>8)
	}
}

func TestTable(t *testing.T) {
	tb := NewTable("Ablation <1>", "schedule", "FID", "MACs")
	if err := tb.AddRow("linear | ramp", 3.14159, int64(12000000)); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddRow("noise only", math.NaN(), 9); err != nil {
		t.Fatal(err)
	}
	tb.BoldMin(1)
	md := tb.Markdown()
	wantMD := "**Ablation <1>**\n\n| schedule | FID | MACs |\n| --- | ---: | ---: |\n| linear \\| ramp | **3.142** | 12000000 |\n| noise only | n/a | 9 |\n"
	if md != wantMD {
		t.Fatalf("Markdown:\n%s\nwant:\n%s", md, wantMD)
	}
	h := tb.HTML()
	for _, want := range []string{"<caption", "Ablation &lt;1&gt;", "<b>3.142</b>", "linear | ramp", "text-align:right", "n/a"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q:\n%s", want, h)
		}
	}
	if tb.String() != md {
		t.Error("String() differs from Markdown()")
	}
}

func TestAblationTable(t *testing.T) {
	a := fakeAblation()
	tb, err := AblationTable(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != len(a.Runs) || len(tb.Columns) != 4 {
		t.Fatalf("table %dx%d", len(tb.Rows), len(tb.Columns))
	}
	if !strings.Contains(tb.Markdown(), "| linear ramp | **3** |") {
		t.Fatalf("best FID not bold:\n%s", tb.Markdown())
	}
}

func TestTicks(t *testing.T) {
	for _, r := range [][2]float64{{0, 1}, {0, 61.2}, {0.003, 0.11}, {-5, 17}, {0, 25000}} {
		n := 0
		for _, tk := range (linearTicks{}).Ticks(r[0], r[1]) {
			if tk.Value < r[0]-1e-12 || tk.Value > r[1]+1e-12 {
				t.Errorf("range %v: tick %v outside", r, tk.Value)
			}
			if tk.Label != "" {
				n++
			}
		}
		if n < 3 || n > 9 {
			t.Errorf("range %v: %d labelled ticks, want 3..9", r, n)
		}
	}
	for _, r := range [][2]float64{{0.002, 0.3}, {0.01, 0.014}, {1e-6, 1}} {
		n := 0
		for _, tk := range (logTicks{}).Ticks(r[0], r[1]) {
			if tk.Label != "" {
				n++
			}
		}
		if n < 2 {
			t.Errorf("log range %v: %d labelled ticks, want >= 2", r, n)
		}
	}
	// A decade or so (an FID curve from ~1,000 to ~100): few enough labels
	// not to overlap on a short axis.
	n := 0
	for _, tk := range (logTicks{}).Ticks(96, 1162) {
		if tk.Label != "" {
			n++
		}
	}
	if n < 3 || n > 6 {
		t.Errorf("log range [96, 1162]: %d labelled ticks, want 3..6", n)
	}
	if got := formatNum(25000); got != "25000" {
		t.Errorf("formatNum(25000) = %q", got)
	}
	if got := formatCount(61_200_000); got != "61.2M" {
		t.Errorf("formatCount = %q", got)
	}
}

// TestLabelsDoNotOverlap draws the labels of two models with identical
// MACs and close FIDs and checks the texts land apart.
func TestLabelsDoNotOverlap(t *testing.T) {
	p := plot.New()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 10, 0, 10
	l := &pointLabels{
		pts:    plotter.XYs{{X: 5, Y: 5}, {X: 5, Y: 5.1}, {X: 5, Y: 4.9}},
		text:   []string{"teacher", "teacher arch. retrained", "third"},
		style:  textStyle(tickSize, false),
		radius: vg.Points(6),
	}
	rec := &recorder.Canvas{}
	dc := draw.NewCanvas(rec, 4*vg.Inch, 3*vg.Inch)
	l.Plot(dc, p)
	var boxes []vg.Rectangle
	for _, a := range rec.Actions {
		if fs, ok := a.(*recorder.FillString); ok {
			w := l.style.Width(fs.String)
			boxes = append(boxes, vg.Rectangle{Min: fs.Point, Max: vg.Point{X: fs.Point.X + w, Y: fs.Point.Y + 8}})
		}
	}
	if len(boxes) != 3 {
		t.Fatalf("drew %d labels, want 3", len(boxes))
	}
	for i := range boxes {
		if overlapsAny(boxes[i], append(append([]vg.Rectangle{}, boxes[:i]...), boxes[i+1:]...)) {
			t.Fatalf("label %d at %v overlaps another: %v", i, boxes[i], boxes)
		}
	}
}

// TestDegenerateButValid renders inputs at the edge of what is allowed:
// one point, zero spans, zero losses. They must draw, not fail or panic.
func TestDegenerateButValid(t *testing.T) {
	one := BlockSearch{Block: "head", Candidates: []Candidate{{Kernels: []int{3}, Loss: 0, MACs: 0}}, Baseline: 0, Chosen: 0, LossScale: 1}
	mk := map[string]func() (*Chart, error){
		"one candidate": func() (*Chart, error) { return BlockTradeoff(one) },
		"tiny MACs": func() (*Chart, error) {
			return BlockTradeoff(BlockSearch{Block: "enc0", Candidates: []Candidate{{Loss: 1, MACs: 512}, {Loss: 2, MACs: 64}}, Baseline: -1, Chosen: -1})
		},
		"one model": func() (*Chart, error) { return ModelComparison([]ModelPoint{{Name: "teacher", MACs: 10, FID: 0}}) },
		"one point": func() (*Chart, error) { return TrainingCurves("", "", Series{Y: []float64{0.5}}) },
		"flat series": func() (*Chart, error) {
			return Curves(CurveOptions{Smooth: 0.5}, Series{Name: "a", Y: []float64{2, 2, 2}})
		},
		"one-step beta": func() (*Chart, error) {
			return BetaSchedules(1, Schedule{"noise only", func(int, int) float64 { return 1 }})
		},
		"noise only": func() (*Chart, error) { return DistillDynamics(Dynamics{Noise: Series{Y: []float64{1, 0.5}}}) },
		"one image":  func() (*Chart, error) { return SampleChart("", [][]float32{make([]float32, 4)}, 2, 2, 0) },
		"one run": func() (*Chart, error) {
			return AblationChart(Ablation{Runs: []AblationRun{{Schedule: "linear", FID: 3, NoiseLoss: math.NaN()}}})
		},
		"curves only run": func() (*Chart, error) {
			return AblationChart(Ablation{Runs: []AblationRun{{Schedule: "linear", FID: math.NaN(), NoiseLoss: math.NaN(), Curve: Series{Y: []float64{1, 2}}}}})
		},
		"long grid": func() (*Chart, error) { return TradeoffGrid(1, one, one) },
	}
	for name, f := range mk {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panicked: %v", r)
				}
			}()
			c, err := f()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.PNG(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.SVG(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
