package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dnas/display"
	"dnas/dnas/progress"
)

// syncBuffer is a bytes.Buffer safe for the capture goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Compiled helpers handed to the interpreter as the package "replhelp".
var spinSteps atomic.Int64

// spin stands for a long training call: steps of 5ms that watch ctx.
func spin(ctx context.Context, steps int) error {
	for i := 0; i < steps; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		time.Sleep(5 * time.Millisecond)
		spinSteps.Add(1)
	}
	return nil
}

var progressEvents atomic.Int64

// counter is a progress reporter that counts events.
type counter struct{}

func (counter) Report(progress.Event) { progressEvents.Add(1) }

func explode(msg string) { panic("helper: " + msg) }

func printCompiled(s string) {
	fmt.Println("compiled:", s)
	os.Stderr.WriteString("compiled-stderr\n")
}

type chart struct{}

func (chart) PNG() ([]byte, error) { return []byte("\x89PNG fake"), nil }

// badChart's rendering panics, as a chart with broken data may.
type badChart struct{}

func (badChart) PNG() ([]byte, error) { panic("no data to draw") }

var helpers = map[string]map[string]reflect.Value{
	"replhelp/replhelp": {
		"Spin":     reflect.ValueOf(spin),
		"Counter":  reflect.ValueOf(func() progress.Reporter { return counter{} }),
		"Explode":  reflect.ValueOf(explode),
		"Print":    reflect.ValueOf(printCompiled),
		"NewChart": reflect.ValueOf(func() chart { return chart{} }),
		"BadChart": reflect.ValueOf(func() badChart { return badChart{} }),
		"Image": reflect.ValueOf(func() image.Image {
			m := image.NewGray(image.Rect(0, 0, 2, 2))
			m.Set(1, 1, color.White)
			return m
		}),
	},
}

type fixture struct {
	s        *Session
	out, err *syncBuffer
	displays []display.Data
	updates  []display.Data
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{out: &syncBuffer{}, err: &syncBuffer{}}
	s, err := New(Options{
		Stdout:        f.out,
		Stderr:        f.err,
		Symbols:       helpers,
		Display:       func(d display.Data) { f.displays = append(f.displays, d) },
		DisplayUpdate: func(d display.Data) { f.updates = append(f.updates, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.s = s
	return f
}

// eval runs code and fails the test on error; it returns the value's text.
func (f *fixture) eval(t testing.TB, code string) string {
	t.Helper()
	res, err := f.s.Eval(context.Background(), code)
	if err != nil {
		t.Fatalf("Eval(%q): %v", code, err)
	}
	return res.Text
}

// evalErr runs code that must fail with the given kind.
func (f *fixture) evalErr(t *testing.T, code, kind string) *EvalError {
	t.Helper()
	_, err := f.s.Eval(context.Background(), code)
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("Eval(%q) = %v, want an *EvalError of kind %q", code, err, kind)
	}
	if ee.Kind != kind {
		t.Fatalf("Eval(%q): kind %q (%v), want %q", code, ee.Kind, ee, kind)
	}
	return ee
}

// A value whose rendering panics is still a result: its text says what
// happened, the session (and its output capture) goes on.
func TestRenderingPanicKeepsSession(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "replhelp"`)
	res, err := f.s.Eval(context.Background(), "replhelp.BadChart()")
	if err != nil {
		t.Fatalf("a value whose PNG panics: %v", err)
	}
	if !strings.Contains(res.Text, "no data to draw") || res.Bundle != nil {
		t.Errorf("result text %q, bundle %v: want the panic named and no picture", res.Text, res.Bundle)
	}
	if got := f.eval(t, `fmt.Println("still here"); 1+1`); got != "2" || !strings.Contains(f.out.String(), "still here") {
		t.Errorf("after the panic: %q, output %q", got, f.out.String())
	}
}

func TestMixedCell(t *testing.T) {
	f := newFixture(t)
	got := f.eval(t, `import "strings"
x := 20
func double(v int) int { return 2 * v }
type pair struct{ a, b int }
var p = pair{1, 2}
fmt.Println(strings.ToUpper("hi"))
double(x) + p.b`)
	if got != "42" {
		t.Errorf("value %q, want 42", got)
	}
	if f.out.String() != "HI\n" {
		t.Errorf("output %q, want HI", f.out.String())
	}
	// State persists; declarations have no value; print calls neither.
	if got := f.eval(t, "x + 1"); got != "21" {
		t.Errorf("x+1 = %q", got)
	}
	if got := f.eval(t, "ch := make(chan int, 1)\nch <- 5\ns := []int{1, 2, 3}\ns[1:2]"); got != "[2]" {
		t.Errorf("s[1:2] = %q", got)
	}
	if got := f.eval(t, "<-ch"); got != "5" {
		t.Errorf("<-ch = %q", got)
	}
	for _, code := range []string{"y := 3", "func g() {}", `fmt.Println("a")`, "var z int", "y++", "y += 2", "ch <- 1", "y, x = x, y"} {
		res, err := f.s.Eval(context.Background(), code)
		if err != nil || res.HasValue {
			t.Errorf("Eval(%q) = %+v, %v; want no value", code, res, err)
		}
	}
}

// A cell ending in a call with several results shows all of them: the
// error of dnas.LoadTeacher is not hidden behind its nil teacher.
func TestCallWithSeveralResults(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ code, want string }{
		{`f := func() (int, error) { return 0, fmt.Errorf("bad") }
f()`, "(0, bad)"},
		{`strings.Cut("a=b", "=")`, `("a", "b", true)`},
		{`x := 1; strings.Cut("a=b", "=")`, `("a", "b", true)`},
		{`dnas.LoadTeacher("/nonexistent.safetensors")`, "(<nil>, checkpoint: open /nonexistent.safetensors: no such file or directory)"},
		{"func h() (string, bool) { return \"h\", false }\nh()", `("h", false)`},
		{`strings.ToUpper("one")`, "ONE"}, // one result: as before
		{`dnas.LookupTeacherPreset("huge")`, `(dnas.TeacherPreset{}, dnas: unknown preset "huge"; choose one of tiny, small, base)`},
		// A nil error is left out: a lone value stands alone (and a
		// picture shows as a picture).
		{`g := func() (int, error) { return 7, nil }
g()`, "7"},
		{`g3 := func() (int, string, error) { return 7, "s", nil }
g3()`, `(7, "s")`},
	} {
		if got := f.eval(t, c.code); got != c.want {
			t.Errorf("%s: value %q, want %q", c.code, got, c.want)
		}
	}
	res, err := f.s.Eval(context.Background(), `strings.Cut("k=v", "=")`)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := res.Value.Interface().(Values); !ok || len(v) != 3 || v[0] != "k" || v[2] != true {
		t.Errorf("Result.Value = %#v, want the three results as Values", res.Value.Interface())
	}
	res, err = f.s.Eval(context.Background(), `dnas.SampleGrid(tensor.New(2, 1, 28, 28), 2)`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bundle == nil || res.Bundle.Data[display.MIMETypePNG] == nil || !strings.HasPrefix(res.Text, "image grid: 2 images") {
		t.Errorf("a (picture, nil error) result: text %q, bundle %v; want the picture", res.Text, res.Bundle != nil)
	}
	// The user's own mistake is reported in the user's terms.
	if _, err := f.s.Eval(context.Background(), `strings.Cut("a")`); err == nil || strings.Contains(err.Error(), "__dnas") {
		t.Errorf("a bad call: %v; want the compiler's error on the user's code", err)
	}
	// Should the session read a call's type wrong, the call runs as written.
	if _, err := f.s.Eval(context.Background(), "x9 := 0\nfunc k() { x9 = 7 }"); err != nil {
		t.Fatal(err)
	}
	f.s.funcs["k"] = f.s.funcs["h"] // claims two results
	if res, err := f.s.Eval(context.Background(), "k()"); err != nil || res.HasValue {
		t.Errorf("a call typed wrong: %+v, %v; want it run as written", res, err)
	}
	if got := f.eval(t, "x9"); got != "7" {
		t.Errorf("k did not run: x9 = %s", got)
	}
	if _, err := f.s.Eval(context.Background(), "y8 := 3\nx9 = 1\nk()"); err != nil {
		t.Errorf("statements before a call typed wrong: %v", err)
	}
	if got := f.eval(t, "fmt.Sprint(y8, x9)"); got != "3 7" {
		t.Errorf("y8, x9 = %s; want 3 7 (each statement run once)", got)
	}
	// A call whose only result is an error: nothing when it succeeds, the
	// error when it fails.
	if res, err := f.s.Eval(context.Background(), "ok1 := func() error { return nil }\nok1()"); err != nil || res.HasValue {
		t.Errorf("a call returning a nil error: %+v, %v; want no value", res, err)
	}
	if got := f.eval(t, "bad1 := func() error { return fmt.Errorf(\"it broke\") }\nbad1()"); got != "it broke" {
		t.Errorf("a call returning an error shows %q", got)
	}
	// A call without results still has no value.
	if res, err := f.s.Eval(context.Background(), "v := func() {}\nv()"); err != nil || res.HasValue {
		t.Errorf("a call without results: %+v, %v", res, err)
	}
}

// A huge slice prints its first elements and its length, at once: fmt
// would print all of it first (47 million floats took 17 s and a gigabyte).
func TestLongSlicePrintsBounded(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	got := f.eval(t, "big := make([]float32, 20_000_000)\nbig[1] = 0.5\nbig")
	if !strings.HasPrefix(got, "[0 0.5 0 0") || !strings.HasSuffix(got, "of 20000000 elements shown)") || len(got) > maxText+100 {
		t.Errorf("a 20M-element slice printed as %d bytes: %.60q ... %.60q", len(got), got, got[max(0, len(got)-60):])
	}
	t.Logf("printed in %v", time.Since(start)) // ~1 ms; fmt took seconds
	if got := f.eval(t, "&big"); !strings.HasPrefix(got, "&[0 0.5") {
		t.Errorf("a pointer to it: %.40q", got)
	}
	// Below longElems, fmt's text exactly.
	if got, want := f.eval(t, "[]string{\"a\", \"b\"}"), "[a b]"; got != want {
		t.Errorf("short slice: %q, want %q", got, want)
	}
	if got, want := f.eval(t, "make([]int, 600)[:5]"), "[0 0 0 0 0]"; got != want {
		t.Errorf("short slice: %q, want %q", got, want)
	}
}

func TestPreimported(t *testing.T) {
	f := newFixture(t)
	if got := f.eval(t, "tensor.New(1, 2).Shape"); got != "[1 2]" {
		t.Errorf("tensor.New(1,2).Shape = %q", got)
	}
	if got := f.eval(t, `display.HTML("<b>x</b>").Data["text/html"]`); got != "<b>x</b>" {
		t.Errorf("display.HTML = %q", got)
	}
}

func TestReimport(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "fmt"`)
	f.eval(t, `import ("fmt"; "strings")`)
	f.eval(t, `import "strings"`)
	f.eval(t, `import "dnas/dnas/tensor"`)
	if got := f.eval(t, `strings.Repeat("ab", 2)`); got != "abab" {
		t.Errorf("got %q", got)
	}
	f.eval(t, `import str "strings"`)
	if got := f.eval(t, `str.ToUpper("x")`); got != "X" {
		t.Errorf("got %q", got)
	}
}

// A versioned import path binds the package's name, not its last element.
func TestVersionedImportName(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "math/rand/v2"`)
	if got := f.eval(t, `rand.New(rand.NewPCG(1, 2)).IntN(1) == 0`); got != "true" {
		t.Errorf("got %q", got)
	}
}

func TestRedefineFunc(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "func f() int { return 1 }")
	f.eval(t, "func f() int { return 2 }")
	if got := f.eval(t, "f()"); got != "2" {
		t.Errorf("f() = %q after redefinition, want 2", got)
	}
}

func TestRedefineType(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "type T struct{ A int }\nfunc (t T) M() int { return t.A }")
	f.eval(t, "old := T{3}")
	f.eval(t, "type T struct{ A, B int }\nfunc (t T) M() int { return t.A + t.B }")
	if got := f.eval(t, "T{A: 1, B: 2}.M()"); got != "3" {
		t.Errorf("new T's M() = %q, want 3", got)
	}
	if got := f.eval(t, "old.A"); got != "3" {
		t.Errorf("a value of the old type changed: %q", got)
	}
}

func TestRangeOverInt(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `for i := range 3 { fmt.Print(i) }`)
	f.eval(t, "n := 2\nfor i := range n { fmt.Print(i) }")
	f.eval(t, "func count(k int) (s int) {\nouter:\n\tfor i := range k {\n\t\tfor range 2 { if i == 1 { continue outer } }\n\t\ts += i\n\t}\n\treturn s\n}")
	if got := f.eval(t, "count(4)"); got != "5" {
		t.Errorf("count(4) = %q, want 0+2+3 = 5", got)
	}
	f.eval(t, "for range len(\"ab\") { fmt.Print(\"x\") }")
	if got := f.out.String(); got != "01201xx" {
		t.Errorf("output %q, want 01201xx", got)
	}
	// A range over a slice is left alone.
	if got := f.eval(t, "s := 0\nfor i := range []int{5, 6} { s += i }\ns"); got != "1" {
		t.Errorf("range over slice: %q", got)
	}
}

func TestCompileErrors(t *testing.T) {
	f := newFixture(t)
	e := f.evalErr(t, "x := 1\ny := undefinedName + 1", "compile")
	if !strings.Contains(e.Msg, "line 2") {
		t.Errorf("message %q should name line 2", e.Msg)
	}
	e = f.evalErr(t, "x := 1\nfmt.Println(x, undefinedName)", "compile")
	if !strings.Contains(e.Msg, "line 2") || !strings.Contains(e.Msg, "undefinedName") {
		t.Errorf("message %q should name line 2 and the name", e.Msg)
	}
	f.evalErr(t, "x := )", "compile")
	// Code the interpreter cannot handle is refused, never a crash.
	f.evalErr(t, "func seq(yield func(int) bool) { yield(1) }\nfor v := range seq { fmt.Println(v) }", "compile")
	if got := f.eval(t, "1 + 1"); got != "2" {
		t.Errorf("after errors: %q", got)
	}
}

func TestPanics(t *testing.T) {
	f := newFixture(t)
	e := f.evalErr(t, "func f() { panic(\"boom\") }\nfunc g() { f() }\ng()", "panic")
	if e.Msg != "boom" || e.Value != "boom" {
		t.Errorf("panic value %q / %v (%T)", e.Msg, e.Value, e.Value)
	}
	if len(e.Trace) < 3 || e.Trace[0] != "line 1: f" || e.Trace[1] != "line 2: g" {
		t.Errorf("trace %q, want f at line 1 then g at line 2", e.Trace)
	}
	// Runtime errors of interpreted code.
	f.evalErr(t, "var m map[string]int\nm[\"a\"] = 1", "panic")
	// Compiled code panics: the trace names the compiled function.
	f.eval(t, `import "replhelp"`)
	e = f.evalErr(t, `replhelp.Explode("deep")`, "panic")
	if e.Msg != "helper: deep" {
		t.Errorf("compiled panic value %q", e.Msg)
	}
	if len(e.Trace) < 2 || !strings.Contains(e.Trace[0], "repl.explode") || e.Trace[len(e.Trace)-1] != "line 1: cell" {
		t.Errorf("compiled panic trace %q: want the compiled function first, the cell last", e.Trace)
	}
	// Goroutines started by interpreted code, literal and named.
	e = f.evalErr(t, "done := make(chan bool)\ngo func() { defer close(done); panic(\"in goroutine\") }()\n<-done\ntime.Sleep(20 * time.Millisecond)", "panic")
	if !strings.Contains(e.Msg, "in goroutine") {
		t.Errorf("goroutine panic message %q", e.Msg)
	}
	f.eval(t, "func worker(n int) { var s []int; _ = s[n] }")
	e = f.evalErr(t, "go worker(3)\ntime.Sleep(50 * time.Millisecond)", "panic")
	if !strings.Contains(e.Msg, "goroutine") {
		t.Errorf("named goroutine panic message %q", e.Msg)
	}
	if got := f.eval(t, "1 + 1"); got != "2" {
		t.Errorf("session unusable after panics: %q", got)
	}
	if s := f.err.String(); strings.Contains(s, "panic: ") {
		t.Errorf("the interpreter's panic lines leaked to stderr: %q", s)
	}
}

func TestExit(t *testing.T) {
	f := newFixture(t)
	e := f.evalErr(t, "os.Exit(3)", "exit")
	if e.Value != 3 {
		t.Errorf("exit code %v", e.Value)
	}
	f.evalErr(t, `import "log"`+"\nlog.Fatalf(\"bad %d\", 7)", "exit")
	if !strings.Contains(f.err.String(), "bad 7") {
		t.Errorf("log.Fatal message not on stderr: %q", f.err.String())
	}
	if got := f.eval(t, "2 * 21"); got != "42" {
		t.Errorf("after exit: %q", got)
	}
}

func TestCapturedCompiledOutput(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "replhelp"`)
	f.eval(t, "fmt.Println(\"interpreted 1\")\nreplhelp.Print(\"x\")\nfmt.Println(\"interpreted 2\")")
	want := "interpreted 1\ncompiled: x\ninterpreted 2\n"
	if got := f.out.String(); got != want {
		t.Errorf("stdout %q, want %q (in order)", got, want)
	}
	if got := f.err.String(); !strings.Contains(got, "compiled-stderr") {
		t.Errorf("stderr %q misses the compiled code's output", got)
	}
	// Direct writes to the process's stdout from interpreted code too.
	f.eval(t, `os.Stdout.WriteString("direct\n")`)
	if got := f.out.String(); !strings.HasSuffix(got, "direct\n") {
		t.Errorf("stdout %q misses the direct write", got)
	}
}

func TestInterruptCompiledCall(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "replhelp"`)
	f.eval(t, "state := 0")
	spinSteps.Store(0)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := f.s.Eval(context.Background(), "state = 1\nerr := replhelp.Spin(ctx, 100000)\nstate = 2")
		errc <- err
	}()
	for spinSteps.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	f.s.Interrupt()
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Interrupt did not stop the compiled call within 5s")
	}
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Kind != "interrupted" {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("interrupt took %v", d)
	}
	steps := spinSteps.Load()
	time.Sleep(30 * time.Millisecond)
	if spinSteps.Load() != steps {
		t.Error("the compiled call goes on after the interrupt")
	}
	if got := f.eval(t, "state"); got != "1" {
		t.Errorf("state = %q: the rest of the cell ran after the interrupt, or state was lost", got)
	}
	if got := f.eval(t, "ctx.Err() == nil"); got != "true" {
		t.Errorf("the next cell's ctx is still cancelled")
	}
}

func TestInterruptInterpretedLoop(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "n := 0")
	errc := make(chan error, 1)
	go func() {
		_, err := f.s.Eval(context.Background(), "for { n++ }")
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	f.s.Interrupt()
	select {
	case err := <-errc:
		var ee *EvalError
		if !errors.As(err, &ee) || ee.Kind != "interrupted" {
			t.Fatalf("err = %v, want interrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("interpreted loop not interrupted")
	}
	if got := f.eval(t, "n > 0"); got != "true" {
		t.Errorf("n > 0 = %q", got)
	}
	// Cancelling Eval's context interrupts too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.s.Eval(ctx, "for { n++ }")
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Kind != "interrupted" {
		t.Fatalf("err = %v, want interrupted", err)
	}
}

// TestInterruptTraining interrupts a real dnas training call, when the dnas
// package is in the symbol tables and the tiny preset can be built here.
func TestInterruptTraining(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.Eval(context.Background(), "var _ = dnas.NewTeacherTrainerByName"); err != nil {
		t.Skipf("dnas.NewTeacherTrainerByName not exported to the interpreter yet: %v", err)
	}
	if _, err := f.s.Eval(context.Background(), `import "replhelp"
tr, err := dnas.NewTeacherTrainerByName("tiny", 1)
if err != nil { panic(err) }
tr.Reporter = replhelp.Counter()`); err != nil {
		t.Skipf("cannot build the tiny teacher trainer here: %v", err)
	}
	progressEvents.Store(0)
	errc := make(chan error, 1)
	go func() {
		_, err := f.s.Eval(context.Background(), "tr.Train(ctx, 1000000)")
		errc <- err
	}()
	deadline := time.Now().Add(60 * time.Second)
	for progressEvents.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	f.s.Interrupt()
	select {
	case err := <-errc:
		var ee *EvalError
		if !errors.As(err, &ee) || ee.Kind != "interrupted" {
			t.Fatalf("err = %v, want interrupted", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("training not interrupted within 30s")
	}
	steps := f.eval(t, "tr.StepNum")
	if steps == "0" {
		t.Errorf("no training step was kept (progress events: %d)", progressEvents.Load())
	}
	time.Sleep(100 * time.Millisecond)
	if got := f.eval(t, "tr.StepNum"); got != steps {
		t.Errorf("training goes on after the interrupt: %s then %s steps", steps, got)
	}
	if _, err := f.s.Eval(context.Background(), "tr.Train(ctx, 1)"); err != nil {
		t.Errorf("training again after the interrupt: %v", err)
	}
}

func TestRichValues(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `import "replhelp"`)
	for code, mime := range map[string]string{
		`display.HTML("<i>x</i>")`: display.MIMETypeHTML,
		`replhelp.NewChart()`:      display.MIMETypePNG,
		`replhelp.Image()`:         display.MIMETypePNG,
	} {
		res, err := f.s.Eval(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		if res.Bundle == nil || res.Bundle.Data[mime] == nil {
			t.Errorf("%s: bundle %v, want %s", code, res.Bundle, mime)
			continue
		}
		if _, ok := res.Bundle.Data[display.MIMETypeText]; !ok {
			t.Errorf("%s: bundle without text/plain", code)
		}
	}
	f.eval(t, "fmt.Println(\"before\")\nDisplay(display.Markdown(\"# hi\").WithID(\"d1\"))\ndisplay.Update(\"d1\", display.Markdown(\"# bye\"))")
	if len(f.displays) != 1 || f.displays[0].Data[display.MIMETypeMarkdown] != "# hi" || f.displays[0].ID != "d1" {
		t.Errorf("displays %v", f.displays)
	}
	if len(f.updates) != 1 || f.updates[0].Data[display.MIMETypeMarkdown] != "# bye" {
		t.Errorf("updates %v", f.updates)
	}
	if got := f.out.String(); got != "before\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestReset(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "x := 1")
	if err := f.s.Reset(); err != nil {
		t.Fatal(err)
	}
	f.evalErr(t, "x", "compile")
	f.eval(t, "fmt.Sprint(1)")
}

func TestStdin(t *testing.T) {
	lines := []string{"7 8"}
	s, err := New(Options{Stdin: func(string, bool) (string, error) {
		l := lines[0]
		lines = lines[1:]
		return l, nil
	}, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Eval(context.Background(), "var a, b int\nfmt.Scan(&a, &b)\na * b")
	if err != nil || res.Text != "56" {
		t.Errorf("got %+v, %v", res, err)
	}
}

func TestComplete(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "x := tensor.New(2, 3)\ntype P struct{ Name string; N int }\np := P{}\nmyVariable := 1")
	for _, c := range []struct {
		code  string
		want  string
		start int
	}{
		{"fmt.Prin", "Println", 4},
		{"tens", "tensor", 0},
		{"tensor.Ne", "New", 7},
		{"x.Sha", "Shape", 2},
		{"x.Clo", "Clone", 2},
		{"p.Na", "Name", 2},
		{"plots.BaseFont.Typ", "Typeface", 15}, // a package variable's field
		{"y := myVar", "myVariable", 5},
		{"fu", "func", 0},
		{"ap", "append", 0},
	} {
		m, start, end := f.s.Complete(c.code, len(c.code))
		found := false
		for _, x := range m {
			found = found || x == c.want
		}
		if !found || start != c.start || end != len(c.code) {
			t.Errorf("Complete(%q) = %v [%d,%d), want %q at %d", c.code, m, start, end, c.want, c.start)
		}
	}
	if m, _, _ := f.s.Complete("__dnas", 6); len(m) != 0 {
		t.Errorf("internal names offered: %v", m)
	}
}

func TestInspect(t *testing.T) {
	f := newFixture(t)
	f.eval(t, "x := tensor.New(2, 3)")
	f.eval(t, "func pair(a, b int, rest ...string) (int, error) { return a + b, nil }\n0")
	for code, want := range map[string]string{
		"pair":           "func pair(a, b int, rest ...string) (int, error)\n\ndeclared in this session",
		"tensor.New":     "func New(shape ...int) *Tensor",
		"x.Clone":        "func (t *Tensor) Clone() *Tensor",
		"x":              "var x *tensor.Tensor",
		"tensor":         "package tensor",
		"strings.Repeat": "func Repeat(s string, count int) string",
		"fmt.Println(":   "func Println(a ...any) (n int, err error)",
	} {
		text, ok := f.s.Inspect(code, len(code))
		if !ok || !strings.Contains(text, want) {
			t.Errorf("Inspect(%q) = %v %q, want it to contain %q", code, ok, text, want)
		}
	}
	if _, ok := f.s.Inspect("nothingHere", 5); ok {
		t.Error("Inspect found an undefined name")
	}
	if text, ok := f.s.Inspect("dnas.LoadTeachr", 15); !ok || text != "dnas.LoadTeachr is not defined (did you mean dnas.LoadTeacher?)" {
		t.Errorf("Inspect of a slip: %v %q", ok, text)
	}
	if _, ok := f.s.Doc("dnas.LoadTeachr"); ok {
		t.Error("Doc found a misspelt name")
	}
}

func TestIsComplete(t *testing.T) {
	f := newFixture(t)
	for code, want := range map[string]string{
		"x := 1":                          "complete",
		"":                                "complete",
		"func f() {":                      "incomplete",
		"for i := 0; i < 3; i++ {\n\tx++": "incomplete",
		"a := 1 +":                        "incomplete",
		"s := `raw":                       "incomplete",
		"/* comment":                      "incomplete",
		"}":                               "invalid",
		"x := )":                          "invalid",
		"fmt.Println(\"a\")\n":            "complete",
	} {
		got, indent := f.s.IsComplete(code)
		if got != want {
			t.Errorf("IsComplete(%q) = %s, want %s", code, got, want)
		}
		if code == "func f() {" && indent != "\t" {
			t.Errorf("indent %q after an open brace", indent)
		}
	}
}

// BenchmarkEvalOnePlusOne measures Eval("1+1"), output capture included.
// Besides wall time it reports the process's CPU time per evaluation
// (cpu-ns/op), which a loaded machine inflates less.
func BenchmarkEvalOnePlusOne(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	start := cpuTime()
	for b.Loop() {
		if _, err := f.s.Eval(ctx, "1+1"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkEvalNoCapture(b *testing.B) {
	s, err := New(Options{NoCapture: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Eval(ctx, "1+1"); err != nil {
			b.Fatal(err)
		}
	}
}

// A package or a type standing alone is not a value: the cell says so
// (the interpreter alone printed an unrelated value). A function value
// prints its type, an unknown import says what the session can import.
func TestNotAValue(t *testing.T) {
	f := newFixture(t)
	for code, want := range map[string]string{
		"tensor":                          "tensor is a package, not a value",
		"tensor.Tensor":                   "tensor.Tensor is a type, not a value",
		"type pair struct{ a int }\npair": "pair is a type, not a value",
		`import "nosuchpkg"`:              `import "nosuchpkg": not in this session`,
	} {
		_, err := f.s.Eval(context.Background(), code)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", code, err, want)
		}
	}
	for _, c := range []struct{ code, want string }{ // in order: the last hides the package
		{"pair{3}", "{3}"},
		{"tensor.New", "func(...int) *tensor.Tensor"},
		{"tensor := 5\ntensor", "5"}, // a variable may hide the package
	} {
		if got := f.eval(t, c.code); got != c.want {
			t.Errorf("%q = %q, want %q", c.code, got, c.want)
		}
	}
}

// A cell that fails to compile runs nothing and declares nothing: the
// interpreter used to leave its variables behind, zero-valued.
func TestFailedCellDeclaresNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.Eval(context.Background(), "a1 := 1\nb1 := notDefinedAnywhere + 2"); err == nil {
		t.Fatal("the cell compiled")
	}
	if _, err := f.s.Eval(context.Background(), "a1"); err == nil || !strings.Contains(err.Error(), "undefined: a1") {
		t.Errorf("a1 after the failed cell: %v, want undefined", err)
	}
	// Names defined before keep their values.
	f.eval(t, "keep := 7")
	if _, err := f.s.Eval(context.Background(), "keep = 8\nc1 := alsoNotDefined"); err == nil {
		t.Fatal("the cell compiled")
	}
	if got := f.eval(t, "keep"); got != "7" {
		t.Errorf("keep = %s after a failed cell, want 7", got)
	}
}

// The interpreter's index panics say what happened in Go's terms.
func TestIndexPanicsSayWhatHappened(t *testing.T) {
	f := newFixture(t)
	e := f.evalErr(t, "xs := []int{1}\nxs[3]", "panic")
	if !strings.Contains(e.Msg, "an index past the end of a slice") {
		t.Errorf("message %q", e.Msg)
	}
}
