// Package progress reports the advance of long-running work (training,
// sampling, search) to whoever is watching: a terminal bar by default, a
// notebook widget or a REPL line when the front end installs its own
// Reporter.
//
// Work calls Default().Report(ev) (or a Reporter it was given) with an Event
// per step; the reporter decides how often to draw. A Tracker does the
// bookkeeping (elapsed time, speed, recent losses) for a loop.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Event is one report on a task: step Step of Total is done.
type Event struct {
	Task        string        // what is running, e.g. "teacher small"
	Step, Total int           // steps done so far and steps planned (Total 0 = unknown)
	Start       int           // steps done before this run (a resumed task); Elapsed counts from there
	Loss        float64       // the latest loss (0 when the task has none)
	LR          float64       // the learning rate of the latest step (0 when not reported)
	ItemsPerSec float64       // speed in items (samples, images) per second, over the last PaceWindow
	Elapsed     time.Duration // wall time since the task started
	Done        bool          // true on the last event of the task
	Losses      []float64     // recent loss history (oldest first), for a mini chart
	// Pace is the time per step over the last PaceWindow (0: none yet, or
	// an event not made by a Tracker); Speed and Left use it, so a run that
	// was paused or slowed by other jobs soon reports its present speed.
	Pace time.Duration
}

// Reporter receives events. Implementations must be safe for use from one
// goroutine at a time and must return quickly: they are called every step.
type Reporter interface {
	Report(Event)
}

// ReporterFunc adapts a function to the Reporter interface.
type ReporterFunc func(Event)

// Report calls f(ev).
func (f ReporterFunc) Report(ev Event) { f(ev) }

// Discard is a Reporter that ignores every event.
var Discard Reporter = ReporterFunc(func(Event) {})

var (
	mu  sync.Mutex
	def Reporter
)

// SetDefault installs r as the reporter returned by Default. A nil r restores
// the terminal bar. The REPL and the Jupyter kernel install theirs.
func SetDefault(r Reporter) {
	mu.Lock()
	defer mu.Unlock()
	def = r
}

// Default returns the reporter installed by SetDefault, or a bar on stderr
// (see NewBar: a terminal bar, or log lines when stderr is a file or pipe).
func Default() Reporter {
	mu.Lock()
	defer mu.Unlock()
	if def == nil {
		def = NewBar(os.Stderr)
	}
	return def
}

// Bar draws events as a one-line text progress bar, at most every Interval.
// The last event of a task (Done) is always drawn, unless After holds the
// task back and it ended before drawing anything.
type Bar struct {
	W        io.Writer
	Interval time.Duration // minimum time between redraws (default 100ms)
	Enabled  bool          // false => draw nothing
	Newlines bool          // true => end each redraw with "\n" instead of redrawing with "\r"
	// After, when > 0, draws nothing of a task until it has run this long
	// (its Elapsed), so short tasks stay silent (log lines of long runs).
	After time.Duration

	last time.Time
	task string // the task of the last event, and
	drew bool   // whether anything of it was drawn
}

// Heartbeat is the interval of the log lines a bar writes by default when
// its output is not a terminal.
const Heartbeat = time.Minute

// NewBar returns a bar writing to w. On a terminal it redraws one line in
// place. Otherwise (a log file or pipe: a background run) it writes a line
// per Heartbeat once a task has run that long, and the task's last line, so
// a long run's log shows where it is and a short command's stays clean. The
// environment variable DNAS_PROGRESS changes that: 1 writes a line every 10
// seconds from the start of every task, 0 draws nothing.
func NewBar(w io.Writer) *Bar {
	b := &Bar{W: w, Interval: 100 * time.Millisecond, Enabled: true}
	switch env := os.Getenv("DNAS_PROGRESS"); {
	case env == "0":
		b.Enabled = false
	case isTerminal(w):
	case env == "1":
		b.Newlines, b.Interval = true, 10*time.Second
	default:
		b.Newlines, b.Interval, b.After = true, Heartbeat, Heartbeat
	}
	return b
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// Report draws ev if enough time has passed since the last redraw.
func (b *Bar) Report(ev Event) {
	if !b.Enabled {
		return
	}
	if ev.Task != b.task {
		b.task, b.drew = ev.Task, false
	}
	if b.After > 0 && !b.drew && (ev.Done || ev.Elapsed < b.After) {
		return
	}
	now := time.Now()
	if !ev.Done && b.drew && now.Sub(b.last) < b.Interval {
		return
	}
	b.last, b.drew = now, true
	end := "\r"
	if b.Newlines || ev.Done {
		end = "\n"
	}
	fmt.Fprint(b.W, Format(ev)+end)
}

// Format renders ev as one line: task, bar, step/total, loss, speed, elapsed
// and remaining time.
func Format(ev Event) string {
	var s strings.Builder
	s.WriteString(ev.Task)
	const width = 24
	if ev.Total > 0 {
		frac := float64(ev.Step) / float64(ev.Total)
		frac = min(max(frac, 0), 1)
		filled := int(frac * width)
		fmt.Fprintf(&s, " [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), ev.Step, ev.Total)
	} else {
		fmt.Fprintf(&s, " %d", ev.Step)
	}
	if ev.Loss != 0 {
		fmt.Fprintf(&s, " loss %.4g", ev.Loss)
	}
	if ev.LR != 0 {
		fmt.Fprintf(&s, " lr %.3g", ev.LR)
	}
	if sp := ev.Speed(); sp != "" {
		s.WriteString(" " + sp)
	}
	fmt.Fprintf(&s, " %s", ev.Elapsed.Round(time.Second))
	if left, ok := ev.Left(); ok {
		fmt.Fprintf(&s, " (%s left)", left.Round(time.Second))
	}
	return s.String()
}

// Speed renders the pace of this run: images per second (every task counts
// its items in images: a batch of training, the images a sampler step
// denoises) and the time per step, or steps per second when faster than one
// a second, e.g. "46.8 img/s, 1.37 s/step". It is "" before there is a pace.
func (ev Event) Speed() string {
	var parts []string
	if ev.ItemsPerSec > 0 {
		parts = append(parts, fmt.Sprintf("%.1f img/s", ev.ItemsPerSec))
	}
	if per, ok := ev.stepSeconds(); ok {
		if per >= 1 {
			parts = append(parts, fmt.Sprintf("%.3g s/step", per))
		} else {
			parts = append(parts, fmt.Sprintf("%.3g step/s", 1/per))
		}
	}
	return strings.Join(parts, ", ")
}

// stepSeconds is the time per step: Pace, or else this run's average (the
// steps since Start over Elapsed).
func (ev Event) stepSeconds() (float64, bool) {
	if ev.Pace > 0 {
		return ev.Pace.Seconds(), true
	}
	if done, sec := ev.Step-ev.Start, ev.Elapsed.Seconds(); done > 0 && sec > 0 {
		return sec / float64(done), true
	}
	return 0, false
}

// Left estimates the time until the task ends from its recent pace (Pace),
// or else from the pace of this run (the steps since Start over Elapsed).
// ok is false when there is nothing to estimate from: no total, no step yet
// in this run, or the task is over.
func (ev Event) Left() (left time.Duration, ok bool) {
	if ev.Done || ev.Total <= 0 || ev.Step-ev.Start <= 0 || ev.Step >= ev.Total {
		return 0, false
	}
	per, ok := ev.stepSeconds()
	if !ok {
		return 0, false
	}
	return time.Duration(per * float64(ev.Total-ev.Step) * float64(time.Second)), true
}

// PaceWindow is how far back a Tracker looks for the speed it reports.
const PaceWindow = 2 * time.Minute

// paceMark is a point of a task's progress: when step was done, and the
// items processed by then.
type paceMark struct {
	at    time.Time
	step  int
	items float64
}

// Tracker does the bookkeeping of one task: it timestamps steps, computes the
// speed and keeps the last HistoryLen losses, and forwards events to a
// Reporter.
type Tracker struct {
	Task  string
	Total int
	// Start is the number of steps done before this run, for a task that
	// resumes: steps are then reported as absolute counts (Start+1, ...,
	// Total) and the time left is estimated from this run's steps only.
	Start      int
	Reporter   Reporter
	HistoryLen int // losses kept for Event.Losses (default 200)
	// LR, when set by the caller before Step, is reported as Event.LR: the
	// learning rate the step trained at (warm-ups, decays and restarts
	// then show in the progress line).
	LR float64

	began  time.Time
	items  float64
	losses []float64
	marks  []paceMark       // one per PaceWindow/32 at most, the oldest at most PaceWindow old (but one)
	clock  func() time.Time // time.Now; tests set it
}

func (t *Tracker) now() time.Time {
	if t.clock != nil {
		return t.clock()
	}
	return time.Now()
}

// mark records the progress at now and drops the marks the window no
// longer needs (keeping the newest one older than it, so that a step slower
// than the window still has a mark to measure from).
func (t *Tracker) mark(now time.Time, step int) {
	if n := len(t.marks); n == 0 || now.Sub(t.marks[n-1].at) >= PaceWindow/32 {
		t.marks = append(t.marks, paceMark{now, step, t.items})
	}
	drop := 0
	for drop+2 < len(t.marks) && now.Sub(t.marks[drop+1].at) > PaceWindow {
		drop++
	}
	t.marks = t.marks[drop:]
}

// NewTracker starts timing a task of total steps reported to r (nil r =>
// Default()).
func NewTracker(task string, total int, r Reporter) *Tracker {
	if r == nil {
		r = Default()
	}
	return &Tracker{Task: task, Total: total, Reporter: r, HistoryLen: 200, began: time.Now()}
}

// restartClock starts the task's timing now (tests: after setting clock).
func (t *Tracker) restartClock() { t.began, t.marks = t.now(), nil }

// Step reports that step (1-based count of steps done) finished, that the
// task has processed items more items since the last call, and its loss
// (NaN-free; pass 0 when there is none).
func (t *Tracker) Step(step, items int, loss float64) {
	t.items += float64(items)
	if loss != 0 {
		t.losses = append(t.losses, loss)
		if n := t.HistoryLen; n > 0 && len(t.losses) > n {
			t.losses = t.losses[len(t.losses)-n:]
		}
	}
	t.Reporter.Report(t.event(step, loss, false))
}

// Done reports the final event of the task.
func (t *Tracker) Done(step int, loss float64) {
	t.Reporter.Report(t.event(step, loss, true))
}

func (t *Tracker) event(step int, loss float64, done bool) Event {
	now := t.now()
	el := now.Sub(t.began)
	ev := Event{Task: t.Task, Step: step, Total: t.Total, Start: t.Start, Loss: loss, LR: t.LR, Elapsed: el, Done: done,
		Losses: append([]float64(nil), t.losses...)}
	if s := el.Seconds(); s > 0 {
		ev.ItemsPerSec = t.items / s
	}
	if len(t.marks) == 0 {
		t.marks = append(t.marks, paceMark{t.began, t.Start, 0})
	}
	t.mark(now, step)
	// The pace since the oldest mark in the window (the task's start while
	// it is younger than the window).
	if m := t.marks[0]; step > m.step && now.After(m.at) && !done {
		dt := now.Sub(m.at)
		ev.Pace = dt / time.Duration(step-m.step)
		ev.ItemsPerSec = (t.items - m.items) / dt.Seconds()
	}
	return ev
}
