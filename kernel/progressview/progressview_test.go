package progressview

import (
	"io"
	"strings"
	"testing"
	"time"

	"dnas/dnas/progress"
	"dnas/kernel"
)

// recorder is a kernel.Output that records displays.
type recorder struct {
	shows, updates []kernel.Bundle
}

func (r *recorder) Stdout() io.Writer                   { return io.Discard }
func (r *recorder) Stderr() io.Writer                   { return io.Discard }
func (r *recorder) Display(b kernel.Bundle)             { r.shows = append(r.shows, b) }
func (r *recorder) UpdateDisplay(b kernel.Bundle) error { r.updates = append(r.updates, b); return nil }
func (r *recorder) ClearOutput(bool)                    {}
func (r *recorder) Input(string, bool) (string, error)  { return "", io.EOF }

func TestOneDisplayPerTaskUpdatedInPlace(t *testing.T) {
	rec := &recorder{}
	r := New(rec)
	r.Interval = time.Hour // only the first and the last frame of a task
	var losses []float64
	for step := 1; step <= 100; step++ {
		losses = append(losses, 1/float64(step))
		r.Report(progress.Event{Task: "teacher tiny", Step: step, Total: 100, Loss: 1 / float64(step),
			ItemsPerSec: 250, Elapsed: time.Duration(step) * time.Second, Losses: losses, Done: step == 100})
	}
	r.Report(progress.Event{Task: "supernet", Step: 1, Total: 10})
	if len(rec.shows) != 2 || len(rec.updates) != 1 {
		t.Fatalf("%d displays and %d updates, want 2 and 1", len(rec.shows), len(rec.updates))
	}
	first, final := rec.shows[0], rec.updates[0]
	if first.ID == "" || final.ID != first.ID || rec.shows[1].ID == first.ID {
		t.Errorf("display ids: first %q final %q next task %q", first.ID, final.ID, rec.shows[1].ID)
	}
	h := final.Data["text/html"].(string)
	for _, want := range []string{"teacher tiny", "step 100/100", "loss 0.01", "250.0 img/s, 1 s/step", "done", "<polyline", "width:100.0%"} {
		if !strings.Contains(h, want) {
			t.Errorf("final frame lacks %q:\n%s", want, h)
		}
	}
	if txt := final.Data["text/plain"].(string); !strings.Contains(txt, "100/100") {
		t.Errorf("text frame %q", txt)
	}
}

func TestSparklineNeedsTwoFinitePoints(t *testing.T) {
	if s := sparkline([]float64{1}, 100, 20); s != "" {
		t.Errorf("one point drew %q", s)
	}
	s := sparkline([]float64{3, 2, 2, 1}, 100, 20)
	if !strings.Contains(s, `points="1.0,2.0 `) || !strings.Contains(s, "99.0,18.0") {
		t.Errorf("sparkline %s", s)
	}
}
