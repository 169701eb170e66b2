// Package progressview shows the progress of dnas training and search in a
// Jupyter notebook: one live display per task (a bar, the step, the loss,
// the speed and a small loss chart) that is replaced in place as the task
// advances, through update_display_data, so the notebook keeps one output
// per task and its final frame stays in the saved notebook.
//
// The dnas kernel installs a Reporter as progress.Default while it runs.
package progressview

import (
	"fmt"
	"html"
	"math"
	"strings"
	"sync"
	"time"

	"dnas/dnas/progress"
	"dnas/kernel"
)

// Reporter turns progress events into one live notebook display per task.
type Reporter struct {
	out kernel.Output
	// Interval is the least time between two redraws of a task (default
	// 250 ms); the first and the last (Done) event are always drawn.
	Interval time.Duration

	mu       sync.Mutex
	id       string // display id of the current task, "" when none
	task     string
	lastStep int
	last     time.Time
	seq      int
}

// New returns a Reporter that displays through out.
func New(out kernel.Output) *Reporter {
	return &Reporter{out: out, Interval: 250 * time.Millisecond}
}

// Report draws ev: a new display for a new task, an in-place update otherwise.
func (r *Reporter) Report(ev progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	newTask := r.id == "" || ev.Task != r.task || ev.Step < r.lastStep
	if !newTask && !ev.Done && now.Sub(r.last) < r.Interval {
		r.lastStep = ev.Step
		return
	}
	b := kernel.Bundle{Data: Render(ev)}
	if newTask {
		r.seq++
		r.id = fmt.Sprintf("dnas-progress-%d-%d", now.UnixNano(), r.seq)
		r.task = ev.Task
		b.ID = r.id
		r.out.Display(b)
	} else {
		b.ID = r.id
		_ = r.out.UpdateDisplay(b)
	}
	r.last = now
	r.lastStep = ev.Step
	if ev.Done {
		r.id = ""
	}
}

// Render returns the MIME bundle of one frame: HTML with a bar and a loss
// chart, and the one-line text form for consoles and text exports.
func Render(ev progress.Event) map[string]any {
	return map[string]any{
		"text/plain": progress.Format(ev),
		"text/html":  renderHTML(ev),
	}
}

func renderHTML(ev progress.Event) string {
	var s strings.Builder
	s.WriteString(`<div style="font-family:var(--jp-code-font-family,monospace);font-size:12px;line-height:1.6">`)
	fmt.Fprintf(&s, `<div><b>%s</b>`, html.EscapeString(ev.Task))
	if ev.Total > 0 {
		fmt.Fprintf(&s, ` &middot; step %d/%d (%.0f%%)`, ev.Step, ev.Total, 100*frac(ev))
	} else {
		fmt.Fprintf(&s, ` &middot; step %d`, ev.Step)
	}
	if ev.Loss != 0 {
		fmt.Fprintf(&s, ` &middot; loss %.4g`, ev.Loss)
	}
	if ev.LR != 0 {
		fmt.Fprintf(&s, ` &middot; lr %.3g`, ev.LR)
	}
	if sp := ev.Speed(); sp != "" {
		s.WriteString(` &middot; ` + html.EscapeString(sp))
	}
	fmt.Fprintf(&s, ` &middot; %s`, ev.Elapsed.Round(time.Second))
	switch {
	case ev.Done:
		s.WriteString(` &middot; done`)
	default:
		if left, ok := ev.Left(); ok {
			fmt.Fprintf(&s, ` &middot; %s left`, left.Round(time.Second))
		}
	}
	s.WriteString(`</div><div style="display:flex;align-items:center;gap:12px">`)
	color := "#00add8"
	if ev.Done {
		color = "#2e9d4c"
	}
	fmt.Fprintf(&s, `<div style="width:240px;height:10px;background:#e3e3e3;border-radius:3px;overflow:hidden">`+
		`<div style="width:%.1f%%;height:100%%;background:%s"></div></div>`, 100*frac(ev), color)
	s.WriteString(sparkline(ev.Losses, 200, 36))
	s.WriteString(`</div></div>`)
	return s.String()
}

// frac is the fraction of the task done, in [0, 1]; 1 once Done.
func frac(ev progress.Event) float64 {
	if ev.Done {
		return 1
	}
	if ev.Total <= 0 {
		return 0
	}
	return math.Min(math.Max(float64(ev.Step)/float64(ev.Total), 0), 1)
}

// sparkline draws losses as an inline SVG polyline of w x h pixels, with the
// lowest and highest loss written beside it; "" for fewer than two points.
func sparkline(losses []float64, w, h int) string {
	var pts []float64
	for _, l := range losses {
		if !math.IsNaN(l) && !math.IsInf(l, 0) {
			pts = append(pts, l)
		}
	}
	if len(pts) < 2 {
		return ""
	}
	lo, hi := pts[0], pts[0]
	for _, p := range pts {
		lo, hi = math.Min(lo, p), math.Max(hi, p)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, h, w, h)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="#f7f7f7"/><polyline fill="none" stroke="#d9534f" stroke-width="1.5" points="`, w, h)
	for i, p := range pts {
		x := float64(i) / float64(len(pts)-1) * float64(w-2)
		y := 2 + (hi-p)/span*float64(h-4)
		fmt.Fprintf(&s, "%.1f,%.1f ", x+1, y)
	}
	s.WriteString(`"/></svg>`)
	fmt.Fprintf(&s, `<span style="color:#777">loss %.3g&ndash;%.3g</span>`, lo, hi)
	return s.String()
}
