package kernel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-zeromq/zmq4"
)

// publisher sends IOPub messages in order and batches stream text.
type publisher struct {
	k *Kernel

	mu      sync.Mutex
	parent  Header    // parent of stream text: the current (or last) execute request
	pending []segment // stream text not yet published, in order
	size    int
	timer   *time.Timer
}

// segment is stream text from one stream under one parent.
type segment struct {
	name   string // "stdout" or "stderr"
	parent Header
	text   []byte
}

func newPublisher(k *Kernel) *publisher { return &publisher{k: k} }

// setParent makes h the parent of stream text written from now on.
func (p *publisher) setParent(h Header) {
	p.mu.Lock()
	p.flushLocked(false)
	p.parent = h
	p.mu.Unlock()
}

// publish flushes pending stream text, then sends one message.
func (p *publisher) publish(msgType string, parent *Header, content any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(false)
	p.sendLocked(msgType, parent, content)
}

// sendLocked signs and queues a message on the PUB socket; p.mu is held.
func (p *publisher) sendLocked(msgType string, parent *Header, content any) {
	k := p.k
	topic := []byte("kernel." + k.session + "." + msgType)
	frames, err := k.signer.Encode([][]byte{topic}, NewHeader(msgType, k.session, "kernel"), parent, nil, content)
	if err != nil {
		k.log.Printf("iopub: %v", err)
		return
	}
	if err := k.iopub.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil && k.ctx.Err() == nil {
		k.log.Printf("iopub: sending %s: %v", msgType, err)
	}
}

// write appends stream text; it is published within the flush interval, or
// at once when enough is pending.
func (p *publisher) write(name string, b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.pending); n > 0 && p.pending[n-1].name == name && p.pending[n-1].parent == p.parent {
		p.pending[n-1].text = append(p.pending[n-1].text, b...)
	} else {
		p.pending = append(p.pending, segment{name: name, parent: p.parent, text: append([]byte(nil), b...)})
	}
	p.size += len(b)
	if p.size >= p.k.opts.StreamFlushBytes {
		p.flushLocked(true)
		return
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(p.k.opts.StreamFlushInterval, p.timerFlush)
	}
}

func (p *publisher) timerFlush() {
	p.mu.Lock()
	p.timer = nil
	p.flushLocked(true)
	p.mu.Unlock()
}

// flush publishes all pending stream text now.
func (p *publisher) flush() {
	p.mu.Lock()
	p.flushLocked(false)
	p.mu.Unlock()
}

// flushLocked publishes pending stream text. With holdPartial, an incomplete
// UTF-8 sequence at the very end is kept back for the next write, so a rune
// split across two writes is not mangled.
func (p *publisher) flushLocked(holdPartial bool) {
	if len(p.pending) == 0 {
		return
	}
	var keep []byte
	last := &p.pending[len(p.pending)-1]
	if holdPartial {
		if cut := partialRuneStart(last.text); cut < len(last.text) {
			keep = append([]byte(nil), last.text[cut:]...)
			last.text = last.text[:cut]
		}
	}
	lastSeg := *last
	for _, s := range p.pending {
		if len(s.text) == 0 {
			continue
		}
		parent := s.parent
		p.sendLocked("stream", &parent, map[string]any{"name": s.name, "text": string(s.text)})
	}
	p.pending = p.pending[:0]
	p.size = 0
	if keep != nil {
		p.pending = append(p.pending, segment{name: lastSeg.name, parent: lastSeg.parent, text: keep})
		p.size = len(keep)
		if p.timer == nil {
			p.timer = time.AfterFunc(p.k.opts.StreamFlushInterval, p.timerFlush)
		}
	}
}

// partialRuneStart returns where a trailing incomplete UTF-8 sequence of b
// starts, or len(b) if b ends with a complete rune (or invalid bytes, which
// no further byte can complete).
func partialRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}

// kernelOutput is the Output the kernel hands its interpreter.
type kernelOutput struct{ k *Kernel }

type streamWriter struct {
	p    *publisher
	name string
}

func (w streamWriter) Write(b []byte) (int, error) {
	w.p.write(w.name, b)
	return len(b), nil
}

func (o *kernelOutput) Stdout() io.Writer { return streamWriter{o.k.pub, "stdout"} }
func (o *kernelOutput) Stderr() io.Writer { return streamWriter{o.k.pub, "stderr"} }

func (o *kernelOutput) parent() *Header {
	p := o.k.pub
	p.mu.Lock()
	h := p.parent
	p.mu.Unlock()
	return &h
}

func (o *kernelOutput) Display(b Bundle) {
	o.k.pub.publish("display_data", o.parent(), displayContent(b))
}

func (o *kernelOutput) UpdateDisplay(b Bundle) error {
	if b.ID == "" {
		return fmt.Errorf("UpdateDisplay needs the display id of an earlier Display (Bundle.ID is empty)")
	}
	o.k.pub.publish("update_display_data", o.parent(), displayContent(b))
	return nil
}

func (o *kernelOutput) ClearOutput(wait bool) {
	o.k.pub.publish("clear_output", o.parent(), map[string]any{"wait": wait})
}

func (o *kernelOutput) Input(prompt string, password bool) (string, error) {
	return o.k.input(prompt, password)
}

func displayContent(b Bundle) map[string]any {
	transient := map[string]any{}
	if b.ID != "" {
		transient["display_id"] = b.ID
	}
	return map[string]any{
		"data":      encodeData(b.Data),
		"metadata":  nonNilMap(b.Metadata),
		"transient": transient,
	}
}

// encodeData prepares a MIME bundle for JSON: []byte values of binary types
// are base64-encoded (as the notebook format stores images), those of text
// types become strings.
func encodeData(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for mime, v := range d {
		if b, ok := v.([]byte); ok {
			switch {
			case strings.HasSuffix(mime, "json") && json.Valid(b):
				out[mime] = json.RawMessage(b)
			case isTextMIME(mime):
				out[mime] = string(b)
			default:
				out[mime] = base64.StdEncoding.EncodeToString(b)
			}
			continue
		}
		out[mime] = v
	}
	return out
}

// isTextMIME reports whether values of this MIME type are text in a notebook.
func isTextMIME(mime string) bool {
	return strings.HasPrefix(mime, "text/") || mime == "image/svg+xml" ||
		strings.HasSuffix(mime, "+xml") || strings.HasSuffix(mime, "json") ||
		mime == "application/javascript"
}

// discardOutput is the Output of user_expressions: nothing is shown.
type discardOutput struct{}

func (discardOutput) Stdout() io.Writer                  { return io.Discard }
func (discardOutput) Stderr() io.Writer                  { return io.Discard }
func (discardOutput) Display(Bundle)                     {}
func (discardOutput) UpdateDisplay(Bundle) error         { return nil }
func (discardOutput) ClearOutput(bool)                   {}
func (discardOutput) Input(string, bool) (string, error) { return "", errNoStdin }
