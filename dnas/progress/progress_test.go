package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarThrottlesAndAlwaysDrawsDone(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{W: &buf, Interval: time.Hour, Enabled: true}
	for i := 1; i <= 100; i++ {
		b.Report(Event{Task: "t", Step: i, Total: 100, Loss: 0.5})
	}
	b.Report(Event{Task: "t", Step: 100, Total: 100, Loss: 0.25, Done: true})
	out := buf.String()
	if n := strings.Count(out, "t ["); n != 2 {
		t.Fatalf("want 2 draws (first step, done), got %d: %q", n, out)
	}
	if !strings.Contains(out, "100/100") || !strings.Contains(out, "loss 0.25") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("done line misses step, loss or newline: %q", out)
	}
}

func TestDisabledBarDrawsNothing(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{W: &buf, Enabled: false}
	b.Report(Event{Task: "t", Done: true})
	if buf.Len() != 0 {
		t.Fatalf("disabled bar wrote %q", buf.String())
	}
}

func TestTrackerSpeedAndHistory(t *testing.T) {
	var got []Event
	tr := NewTracker("x", 10, ReporterFunc(func(e Event) { got = append(got, e) }))
	tr.HistoryLen = 3
	for i := 1; i <= 5; i++ {
		tr.Step(i, 8, float64(i))
	}
	tr.Done(5, 5)
	last := got[len(got)-1]
	if !last.Done || last.Step != 5 || last.Total != 10 {
		t.Fatalf("bad final event %+v", last)
	}
	if len(last.Losses) != 3 || last.Losses[0] != 3 || last.Losses[2] != 5 {
		t.Fatalf("history should keep the last 3 losses, got %v", last.Losses)
	}
	if last.ItemsPerSec <= 0 {
		t.Fatalf("speed not computed: %v", last.ItemsPerSec)
	}
}

func TestSetDefault(t *testing.T) {
	defer SetDefault(nil)
	n := 0
	SetDefault(ReporterFunc(func(Event) { n++ }))
	Default().Report(Event{})
	if n != 1 {
		t.Fatal("installed reporter not used")
	}
	SetDefault(nil)
	if _, ok := Default().(*Bar); !ok {
		t.Fatal("SetDefault(nil) should restore the terminal bar")
	}
}

func TestResumedTaskCountsAbsoluteStepsAndEstimatesFromThisRun(t *testing.T) {
	// 600 of 1,000 steps were done before; this run did 100 in 10 s: 300
	// steps remain at 10 steps/s, i.e. 30 s (not 300/700 of 10 s).
	ev := Event{Task: "x", Step: 700, Total: 1000, Start: 600, Elapsed: 10 * time.Second}
	left, ok := ev.Left()
	if !ok || left != 30*time.Second {
		t.Fatalf("Left() = %v, %v; want 30s, true", left, ok)
	}
	if s := Format(ev); !strings.Contains(s, "700/1000") || !strings.Contains(s, "(30s left)") {
		t.Fatalf("Format = %q", s)
	}
	for _, e := range []Event{
		{Step: 600, Total: 1000, Start: 600, Elapsed: time.Second}, // nothing done in this run yet
		{Step: 5, Elapsed: time.Second},                            // no total
		{Step: 700, Total: 1000, Start: 600, Done: true},           // over
	} {
		if _, ok := e.Left(); ok {
			t.Errorf("Left() of %+v should have no estimate", e)
		}
	}
	var got []Event
	tr := NewTracker("x", 10, ReporterFunc(func(e Event) { got = append(got, e) }))
	tr.Start = 4
	tr.Step(5, 1, 1)
	if got[0].Start != 4 || got[0].Step != 5 || got[0].Total != 10 {
		t.Fatalf("tracker event %+v", got[0])
	}
}

// The learning rate a caller sets on the tracker travels with each event and
// shows in the progress line; none set, none shown.
func TestTrackerReportsTheLearningRate(t *testing.T) {
	var got []Event
	tr := NewTracker("teacher base", 10, ReporterFunc(func(e Event) { got = append(got, e) }))
	tr.Step(1, 8, 0.5)
	tr.LR = 2.5e-4
	tr.Step(2, 8, 0.4)
	if got[0].LR != 0 || got[1].LR != 2.5e-4 {
		t.Fatalf("event learning rates %v and %v, want 0 and 2.5e-4", got[0].LR, got[1].LR)
	}
	if line := Format(got[0]); strings.Contains(line, "lr") {
		t.Errorf("line without a learning rate: %q", line)
	}
	if line := Format(got[1]); !strings.Contains(line, "loss 0.4 lr 0.00025 ") {
		t.Errorf("line %q lacks the learning rate after the loss", line)
	}
}

func TestSpeedShowsImagesAndStepPace(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		want string
	}{
		// A resumed teacher: 100 steps of batch 64 in 137 s.
		{Event{Step: 16364, Start: 16264, Elapsed: 137 * time.Second, ItemsPerSec: 6400.0 / 137}, "46.7 img/s, 1.37 s/step"},
		{Event{Step: 50, Elapsed: 2 * time.Second, ItemsPerSec: 2500}, "2500.0 img/s, 25 step/s"},
		{Event{Step: 3, Elapsed: 3 * time.Second}, "1 s/step"},
		{Event{Step: 0, Elapsed: time.Second}, ""},
		{Event{Step: 5, Start: 5, Elapsed: time.Second}, ""},
	} {
		if got := c.ev.Speed(); got != c.want {
			t.Errorf("Speed(%+v) = %q, want %q", c.ev, got, c.want)
		}
		if c.want != "" && !strings.Contains(Format(c.ev), " "+c.want+" ") {
			t.Errorf("Format misses the speed %q: %q", c.want, Format(c.ev))
		}
	}
}

// Log lines by default (output not a terminal): a task says nothing until it
// has run for After, then a line per Interval and its last line; a short
// task, its last line included, stays silent.
func TestBarHeartbeatKeepsShortTasksSilent(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{W: &buf, Interval: time.Hour, After: time.Minute, Newlines: true, Enabled: true}
	for i := 1; i <= 10; i++ {
		b.Report(Event{Task: "short", Step: i, Total: 10, Elapsed: time.Duration(i) * time.Second})
	}
	b.Report(Event{Task: "short", Step: 10, Total: 10, Elapsed: 10 * time.Second, Done: true})
	if buf.Len() != 0 {
		t.Fatalf("a 10-second task wrote %q", buf.String())
	}
	for i := 1; i <= 100; i++ {
		b.Report(Event{Task: "long", Step: i, Total: 100, Elapsed: time.Duration(i) * time.Second})
	}
	b.Report(Event{Task: "long", Step: 100, Total: 100, Elapsed: 100 * time.Second, Done: true})
	out := buf.String()
	if n := strings.Count(out, "long ["); n != 2 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "60/100") || !strings.Contains(out, "100/100") {
		t.Fatalf("want the line at one minute (step 60) and the last line, got %q", out)
	}
}

func TestNewBarFollowsDNASProgress(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		env      string
		enabled  bool
		interval time.Duration
		after    time.Duration
	}{{"", true, Heartbeat, Heartbeat}, {"1", true, 10 * time.Second, 0}, {"0", false, 100 * time.Millisecond, 0}} {
		t.Setenv("DNAS_PROGRESS", c.env)
		b := NewBar(&buf)
		if b.Enabled != c.enabled || (c.enabled && (b.Interval != c.interval || b.After != c.after || !b.Newlines)) {
			t.Errorf("DNAS_PROGRESS=%q, output not a terminal: bar %+v", c.env, b)
		}
	}
}

// The speed and the time left come from the last PaceWindow: ten minutes
// after a run was paused for an hour, it reports its present pace, not one
// diluted by the pause.
func TestPaceFollowsTheRecentSpeed(t *testing.T) {
	var got []Event
	tr := NewTracker("teacher base", 10000, ReporterFunc(func(e Event) { got = append(got, e) }))
	clock := time.Unix(1e9, 0)
	tr.clock = func() time.Time { return clock }
	tr.restartClock()
	step := 0
	run := func(n int, per time.Duration) {
		for range n {
			clock = clock.Add(per)
			step++
			tr.Step(step, 64, 0.02)
		}
	}
	run(100, time.Second)
	if ev := got[len(got)-1]; ev.Pace != time.Second || ev.ItemsPerSec != 64 {
		t.Fatalf("steady run: pace %v, %v img/s; want 1s, 64", ev.Pace, ev.ItemsPerSec)
	}
	clock = clock.Add(time.Hour) // paused (SIGSTOP), or another job took the cores
	run(1, time.Second)
	if ev := got[len(got)-1]; ev.Pace < 10*time.Second {
		t.Fatalf("right after the pause the pace should still show it: %v", ev.Pace)
	}
	run(600, 2*time.Second) // ten minutes at 2 s per step
	ev := got[len(got)-1]
	if ev.Pace < 1990*time.Millisecond || ev.Pace > 2010*time.Millisecond {
		t.Fatalf("pace %v ten minutes after the pause, want 2s", ev.Pace)
	}
	left, ok := ev.Left()
	if want := time.Duration(10000-701) * 2 * time.Second; !ok || left < want-5*time.Second || left > want+5*time.Second {
		t.Fatalf("left %v, want about %v", left, want)
	}
	if sp := ev.Speed(); sp != "32.0 img/s, 2 s/step" {
		t.Errorf("Speed() = %q, want the recent pace", sp)
	}
	if n := len(tr.marks); n > 40 {
		t.Errorf("%d pace marks kept: the window should bound them", n)
	}
	// The last event reports the whole run's average.
	tr.Done(step, 0.02)
	if d := got[len(got)-1]; d.Pace != 0 || d.ItemsPerSec >= 32 {
		t.Errorf("done event: pace %v, %v img/s; want the run's average", d.Pace, d.ItemsPerSec)
	}
}
