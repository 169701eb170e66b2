package display

import (
	"encoding/json"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type pngChart struct{ fail bool }

func (c *pngChart) PNG() ([]byte, error) {
	if c.fail {
		return nil, errors.New("no data to draw")
	}
	return []byte("\x89PNG"), nil
}

type page struct{}

// namedChart is a PNGer that describes itself.
type namedChart struct{ pngChart }

func (*namedChart) String() string { return "chart of x" }

func (page) HTML() string     { return "<p>hi</p>" }
func (page) Markdown() string { return "hi" }

func TestConstructors(t *testing.T) {
	for _, c := range []struct {
		d    Data
		mime string
		want any
	}{
		{HTML("<b>x</b>"), MIMETypeHTML, "<b>x</b>"},
		{Markdown("# t"), MIMETypeMarkdown, "# t"},
		{Latex(`$x$`), MIMETypeLatex, `$x$`},
		{Math(`x^2`), MIMETypeLatex, `$$x^2$$`},
		{SVG("<svg/>"), MIMETypeSVG, "<svg/>"},
		{JavaScript("1"), MIMETypeJavaScript, "1"},
	} {
		if got := c.d.Data[c.mime]; got != c.want {
			t.Errorf("%s: %v, want %v", c.mime, got, c.want)
		}
	}
	if got := string(PNG([]byte("p")).Data[MIMETypePNG].([]byte)); got != "p" {
		t.Errorf("PNG: %q", got)
	}
	if got := Markdown("**bold**").String(); got != "**bold**" {
		t.Errorf("Markdown's text form: %q, want its source", got)
	}
	if got := HTML("<b>x</b>").String(); got != "display.Data{text/html}" {
		t.Errorf("HTML's text form: %q", got)
	}
	d := MIME(MIMEMap{"text/plain": "x"}, MIMEMap{"text/plain": map[string]any{"a": 1}})
	if d.String() != "x" || d.Metadata == nil {
		t.Errorf("MIME: %+v", d)
	}
}

func TestRender(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	d, ok, err := Render(img)
	if !ok || err != nil || !strings.HasPrefix(string(d.Data[MIMETypePNG].([]byte)), "\x89PNG") {
		t.Errorf("image: %v %v", ok, err)
	}
	if d, ok, _ := Render(&pngChart{}); !ok || d.Data[MIMETypePNG] == nil {
		t.Errorf("PNGer not rendered")
	} else if _, has := d.Data[MIMETypeText]; has {
		t.Errorf("a PNGer without a String method got a text form %q", d.Data[MIMETypeText])
	}
	if d, ok, _ := Render(&namedChart{}); !ok || d.Data[MIMETypePNG] == nil || d.Data[MIMETypeText] != "chart of x" {
		t.Errorf("a PNGer with a String method: %+v; want its PNG and its words as text/plain", d)
	}
	if _, ok, err := Render(&pngChart{fail: true}); ok || err == nil {
		t.Errorf("a failing PNGer: ok %v err %v; want the error", ok, err)
	}
	if d, ok, _ := Render(page{}); !ok || d.Data[MIMETypeHTML] != "<p>hi</p>" || d.Data[MIMETypeMarkdown] != "hi" {
		t.Errorf("HTMLer: %+v", d)
	}
	for _, v := range []any{nil, 3, "text", (*pngChart)(nil)} {
		if _, ok, _ := Render(v); ok {
			t.Errorf("Render(%#v) claims a rich form", v)
		}
	}
	if Auto(42).Data[MIMETypeText] != "42" {
		t.Error("Auto of a plain value is not its text")
	}
}

func TestSink(t *testing.T) {
	var shown []Data
	var updated []bool
	SetSink(func(d Data, update bool) { shown = append(shown, d); updated = append(updated, update) })
	defer SetSink(nil)
	if err := Display(HTML("a"), &pngChart{}, 7); err != nil {
		t.Fatal(err)
	}
	if err := Display(&pngChart{fail: true}); err == nil {
		t.Error("Display of a failing chart reports no error")
	}
	if err := Update("", HTML("b")); err == nil {
		t.Error("Update without an ID reports no error")
	}
	id := NewID()
	if err := Update(id, Markdown("c")); err != nil {
		t.Fatal(err)
	}
	if len(shown) != 4 || shown[2].Data[MIMETypeText] != "7" || shown[3].ID != id || !updated[3] || updated[0] {
		t.Errorf("sink saw %+v %v", shown, updated)
	}
}

func TestFileAndJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.svg")
	os.WriteFile(p, []byte("<svg/>"), 0o644)
	d, err := File("", p)
	if err != nil || d.Data[MIMETypeSVG] != "<svg/>" {
		t.Errorf("File: %+v %v", d, err)
	}
	if _, err := File("", filepath.Join(t.TempDir(), "x.unknownext")); err == nil {
		t.Error("File of a missing file reports no error")
	}
	b, err := json.Marshal(PNG([]byte{1, 2}).WithID("i"))
	if err != nil || string(b) != `{"data":{"image/png":"AQI="},"metadata":{},"display_id":"i"}` {
		t.Errorf("JSON: %s %v", b, err)
	}
}

func TestClearOutputReachesTheSink(t *testing.T) {
	var got []Data
	SetSink(func(d Data, update bool) { got = append(got, d) })
	defer SetSink(nil)
	ClearOutput(true)
	if len(got) != 1 {
		t.Fatalf("sink got %d bundles, want 1", len(got))
	}
	v, ok := got[0].Data[MIMETypeClearOutput].(map[string]any)
	if !ok || v["wait"] != true {
		t.Fatalf("bundle %v is not a clear-output request with wait=true", got[0].Data)
	}
}

// The text form of a value is bounded, and fast for a huge slice.
func TestTextIsBounded(t *testing.T) {
	big := make([]float32, 10_000_000)
	big[1] = 0.5
	got := Text(big, 100)
	if !strings.HasPrefix(got, "[0 0.5 0 0") || !strings.HasSuffix(got, "of 10000000 elements shown)") || len(got) > 200 {
		t.Errorf("Text of a 10M slice: %q", got)
	}
	if got := Auto(big).Data[MIMETypeText].(string); len(got) > MaxText+100 {
		t.Errorf("Auto of a 10M slice: %d bytes", len(got))
	}
	if got, want := Text([]int{1, 2}, 100), "[1 2]"; got != want {
		t.Errorf("short slice: %q, want %q", got, want)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	if got := Text(long, 51); !strings.HasPrefix(got, strings.Repeat("é", 25)+"…") || !strings.HasSuffix(got, "(150 more bytes)") {
		t.Errorf("a long string is cut at a character boundary: %q", got)
	}
}
