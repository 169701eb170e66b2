// Package display shows rich output (HTML, Markdown, images, charts, LaTeX,
// JSON) from Go code running in the dnas REPL or in a Jupyter notebook on the
// dnas kernel.
//
// The function names are those of gophernotes' display package, so notebook
// code written for gophernotes runs unchanged:
//
//	display.HTML("<b>bold</b>")           // as the last expression of a cell: shown
//	display.Display(display.Markdown("# Title"))  // shown at once, mid-cell
//	Display(display.PNG(pngBytes))        // the predeclared Display does the same
//
// A Data value is a MIME bundle: one representation of the same content per
// MIME type ("text/html", "image/png", ...); the front end picks the richest
// it can show. A Data with an ID is a display that can be replaced later with
// Update, which is how live progress displays work in notebooks.
//
// Where the output goes is decided by whoever runs the code: the REPL or the
// kernel installs a sink with SetSink. Without a sink (a plain Go program),
// Display writes the text/plain representation to standard output.
package display

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// MIME types of the representations this package builds.
const (
	MIMETypeHTML       = "text/html"
	MIMETypeJavaScript = "application/javascript"
	MIMETypeJPEG       = "image/jpeg"
	MIMETypeJSON       = "application/json"
	MIMETypeLatex      = "text/latex"
	MIMETypeMarkdown   = "text/markdown"
	MIMETypePNG        = "image/png"
	MIMETypePDF        = "application/pdf"
	MIMETypeSVG        = "image/svg+xml"
	MIMETypeText       = "text/plain"
)

// MIMEMap maps a MIME type to one representation: a string for text formats,
// []byte for binary ones (the kernel base64-encodes them), a JSON-able value
// for application/json.
type MIMEMap = map[string]any

// Data is one rich output: its representations by MIME type, optional
// metadata by MIME type (for example {"image/png": {"width": 300}}), and an
// optional display ID that Update can later replace.
type Data struct {
	Data     MIMEMap
	Metadata MIMEMap
	ID       string
}

// WithID returns a copy of d carrying the display ID id, so that it can be
// replaced in place later with Update(id, ...).
func (d Data) WithID(id string) Data {
	d.ID = id
	return d
}

// String returns the text/plain representation, or else the Markdown or
// LaTeX source (text a terminal shows well), or else a short description of
// what the Data holds.
func (d Data) String() string {
	// The text form, or else a source that reads as text (Markdown, LaTeX).
	for _, m := range []string{MIMETypeText, MIMETypeMarkdown, MIMETypeLatex} {
		if s, ok := d.Data[m].(string); ok {
			return s
		}
	}
	types := make([]string, 0, len(d.Data))
	for t := range d.Data {
		types = append(types, t)
	}
	return "display.Data{" + strings.Join(sortStrings(types), ", ") + "}"
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// Any returns the bundle with a single representation of the given MIME type.
func Any(mimeType string, data any) Data {
	return Data{Data: MIMEMap{mimeType: data}}
}

// MIME returns the bundle made of the given representations and metadata, as
// gophernotes' display.MIME does.
func MIME(data, metadata MIMEMap) Data {
	return Data{Data: data, Metadata: metadata}
}

// HTML returns an HTML fragment to show.
func HTML(html string) Data { return Any(MIMETypeHTML, html) }

// Markdown returns Markdown text to show rendered.
func Markdown(markdown string) Data { return Any(MIMETypeMarkdown, markdown) }

// Latex returns LaTeX to show rendered (text mode; wrap formulas in $...$).
func Latex(latex string) Data { return Any(MIMETypeLatex, latex) }

// Math returns a LaTeX formula to show as display maths: Math(`\frac{1}{2}`).
func Math(latex string) Data { return Any(MIMETypeLatex, "$$"+strings.Trim(latex, "$")+"$$") }

// JavaScript returns JavaScript for the notebook front end to run.
func JavaScript(javascript string) Data { return Any(MIMETypeJavaScript, javascript) }

// JSON returns a JSON document to show as a collapsible tree.
func JSON(json map[string]any) Data { return Any(MIMETypeJSON, json) }

// PNG returns an encoded PNG picture to show.
func PNG(png []byte) Data { return Any(MIMETypePNG, png) }

// JPEG returns an encoded JPEG picture to show.
func JPEG(jpeg []byte) Data { return Any(MIMETypeJPEG, jpeg) }

// SVG returns an SVG drawing to show.
func SVG(svg string) Data { return Any(MIMETypeSVG, svg) }

// PDF returns a PDF document to show.
func PDF(pdf []byte) Data { return Any(MIMETypePDF, pdf) }

// Image encodes img as PNG and returns it to show.
func Image(img image.Image) (Data, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return Data{}, fmt.Errorf("display.Image: encoding the picture as PNG: %v", err)
	}
	return PNG(b.Bytes()), nil
}

// File reads the file at path and returns it with the given MIME type; an
// empty mimeType is guessed from the file name's extension.
func File(mimeType, path string) (Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Data{}, fmt.Errorf("display.File: %v", err)
	}
	if mimeType == "" {
		mimeType = mime.TypeByExtension(filepath.Ext(path))
		if i := strings.IndexByte(mimeType, ';'); i >= 0 {
			mimeType = mimeType[:i]
		}
		if mimeType == "" {
			return Data{}, fmt.Errorf("display.File: cannot tell the MIME type of %s from its extension; pass it explicitly", path)
		}
	}
	if strings.HasPrefix(mimeType, "text/") || mimeType == MIMETypeSVG {
		return Any(mimeType, string(b)), nil
	}
	return Any(mimeType, b), nil
}

// PNGer is implemented by values that can draw themselves as a PNG picture,
// such as plots.Chart. A cell whose value is a PNGer shows the picture.
type PNGer interface{ PNG() ([]byte, error) }

// SVGer is implemented by values that can draw themselves as SVG.
type SVGer interface{ SVG() ([]byte, error) }

// HTMLer is implemented by values that render themselves as HTML.
type HTMLer interface{ HTML() string }

// Markdowner is implemented by values that render themselves as Markdown.
type Markdowner interface{ Markdown() string }

// Render turns a value into a bundle when it has a rich representation: a
// Data (or *Data), an image.Image, or a PNGer, SVGer, HTMLer or Markdowner
// (whose String method, if it has one, gives the bundle's text/plain).
// It reports false for everything else (plain values are printed as text).
// A rendering that panics (a chart with broken data, a user type's PNG
// method) is a failed rendering: false and an error naming the panic.
func Render(v any) (d Data, ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, ok, err = Data{}, false, fmt.Errorf("it panicked: %v", r)
		}
	}()
	return render(v)
}

func render(v any) (Data, bool, error) {
	switch x := v.(type) {
	case nil:
		return Data{}, false, nil
	case Data:
		return x, true, nil
	case *Data:
		if x == nil {
			return Data{}, false, nil
		}
		return *x, true, nil
	case image.Image:
		if isNilPointer(x) {
			return Data{}, false, nil
		}
		d, err := Image(x)
		return d, err == nil, err
	}
	d := Data{Data: MIMEMap{}}
	var firstErr error
	if r, ok := v.(PNGer); ok && !isNilPointer(v) {
		b, err := r.PNG()
		if err == nil {
			d.Data[MIMETypePNG] = b
		} else {
			firstErr = err
		}
	}
	if r, ok := v.(SVGer); ok && !isNilPointer(v) && len(d.Data) == 0 {
		b, err := r.SVG()
		if err == nil {
			d.Data[MIMETypeSVG] = string(b)
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if r, ok := v.(HTMLer); ok && !isNilPointer(v) {
		d.Data[MIMETypeHTML] = r.HTML()
	}
	if r, ok := v.(Markdowner); ok && !isNilPointer(v) {
		d.Data[MIMETypeMarkdown] = r.Markdown()
	}
	if len(d.Data) == 0 {
		return Data{}, false, firstErr
	}
	// A value that describes itself (a chart, an image grid) gives its
	// words as the text form: what a terminal or a text-only front end shows.
	if r, ok := v.(fmt.Stringer); ok && !isNilPointer(v) {
		d.Data[MIMETypeText] = r.String()
	}
	return d, true, nil
}

func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// Auto returns the rich representation of v when it has one (see Render),
// and its fmt text otherwise.
func Auto(v any) Data {
	if d, ok, _ := Render(v); ok {
		return d
	}
	return Any(MIMETypeText, Text(v, MaxText))
}

var (
	sinkMu sync.RWMutex
	sink   func(d Data, update bool)
	nextID atomic.Int64
)

// SetSink installs the function that receives every Display and Update; the
// REPL and the Jupyter kernel call it. update is true for Update. A nil sink
// restores the default (text/plain to standard output).
func SetSink(f func(d Data, update bool)) {
	sinkMu.Lock()
	sink = f
	sinkMu.Unlock()
}

func emit(d Data, update bool) {
	sinkMu.RLock()
	f := sink
	sinkMu.RUnlock()
	if f != nil {
		f(d, update)
		return
	}
	writeText(os.Stdout, d)
}

func writeText(w io.Writer, d Data) {
	if s, ok := d.Data[MIMETypeText].(string); ok {
		fmt.Fprintln(w, s)
		return
	}
	fmt.Fprintln(w, d.String())
}

// NewID returns a fresh display ID ("dnas-1", "dnas-2", ...), for a display
// that will be updated in place.
func NewID() string { return fmt.Sprintf("dnas-%d", nextID.Add(1)) }

// Display shows each item now, without waiting for the end of the cell. An
// item is a Data, or any value Auto understands (pictures, charts, values
// with an HTML method; other values are shown as text). An item that fails
// to render (a chart whose PNG method fails) is reported as the error and
// the other items are still shown.
func Display(items ...any) error {
	var errs []error
	for _, it := range items {
		d, err := toData(it)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		emit(d, false)
	}
	return errors.Join(errs...)
}

// Update replaces the content of the display with the given ID (shown earlier
// with Display of a Data carrying that ID) by item. Nothing happens in front
// ends that cannot update in place other than showing the new content.
func Update(id string, item any) error {
	if id == "" {
		return errors.New("display.Update: empty display ID; show the first version with Display(d.WithID(id))")
	}
	d, err := toData(item)
	if err != nil {
		return err
	}
	d.ID = id
	emit(d, true)
	return nil
}

func toData(it any) (Data, error) {
	if d, ok, err := Render(it); ok {
		return d, nil
	} else if err != nil {
		return Data{}, fmt.Errorf("display: rendering %T: %v", it, err)
	}
	if it == nil {
		return Data{}, errors.New("display: nothing to show (nil)")
	}
	return Any(MIMETypeText, Text(it, MaxText)), nil
}

// MarshalJSON encodes a bundle the way Jupyter messages carry it: binary
// representations as base64 (encoding/json's []byte rule), the rest as is.
func (d Data) MarshalJSON() ([]byte, error) {
	type wire struct {
		Data     MIMEMap `json:"data"`
		Metadata MIMEMap `json:"metadata"`
		ID       string  `json:"display_id,omitempty"`
	}
	w := wire{Data: d.Data, Metadata: d.Metadata, ID: d.ID}
	if w.Data == nil {
		w.Data = MIMEMap{}
	}
	if w.Metadata == nil {
		w.Metadata = MIMEMap{}
	}
	return json.Marshal(w)
}

// MIMETypeClearOutput marks a bundle that asks the front end to clear the
// cell's output instead of showing anything; its value is {"wait": bool}.
const MIMETypeClearOutput = "application/vnd.jupyter.clear-output"

// ClearOutput clears what the running cell has shown so far. With wait, the
// front end clears only when the next output arrives, which avoids flicker
// when redrawing (clear, then display the new frame). In a terminal it does
// nothing.
func ClearOutput(wait bool) {
	sinkMu.RLock()
	f := sink
	sinkMu.RUnlock()
	if f != nil {
		f(Any(MIMETypeClearOutput, map[string]any{"wait": wait}), false)
	}
}

// MaxText bounds the text form of a value shown by Display or Auto.
const MaxText = 8000

// longElems is the length from which Text prints a slice or an array
// element by element, up to its bound, rather than through fmt, which
// builds the whole text first (47 million pixels: 17 s and a gigabyte).
const longElems = 512

// Text prints v as fmt's %v does, in at most about limit bytes: a long
// slice or array shows its first elements and how many there are, any
// other text is cut (at a character boundary) with how much was left out.
// It is the text form of a value that has no richer one.
func Text(v any, limit int) string {
	if t, ok := longText(reflect.ValueOf(v), limit); ok {
		return t
	}
	text := fmt.Sprintf("%v", v)
	if len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + fmt.Sprintf("… (%d more bytes)", len(text)-cut)
	}
	return text
}

// longText prints a long slice or array (or a pointer to one) the way %v
// does, as many elements as fit in limit bytes, then how many there are.
// ok is false for any other value.
func longText(v reflect.Value, limit int) (text string, ok bool) {
	for v.IsValid() && v.Kind() == reflect.Pointer && !v.IsNil() && (v.Elem().Kind() == reflect.Slice || v.Elem().Kind() == reflect.Array) {
		v = v.Elem()
		text = "&"
	}
	if !v.IsValid() || (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) || v.Len() < longElems || !v.Index(0).CanInterface() {
		return "", false
	}
	if _, isStringer := v.Interface().(fmt.Stringer); isStringer {
		return "", false // the type prints itself
	}
	var b strings.Builder
	b.WriteString(text + "[")
	n := v.Len()
	for i := range n {
		if b.Len() > limit {
			fmt.Fprintf(&b, " … (%d of %d elements shown)", i, n)
			return b.String(), true
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		e := v.Index(i)
		if t, long := longText(e, limit); long {
			b.WriteString(t)
		} else {
			fmt.Fprintf(&b, "%v", e.Interface())
		}
	}
	b.WriteString("]")
	return b.String(), true
}
