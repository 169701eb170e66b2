package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"log"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"dnas/display"
	"dnas/repl/symbols"
)

// cellState is what the session knows about the running cell: its
// cancellation channel (behind the predeclared ctx), panics of goroutines it
// started, and the interpreter's panic trace lines.
type cellState struct {
	mu          sync.Mutex
	running     bool
	done        chan struct{} // closed by Interrupt; never closed when idle
	interrupted bool
	interruptCh chan struct{} // signals Eval that Interrupt was called
	goPanics    []any
	trace       []string
}

func (c *cellState) init() {
	c.done = make(chan struct{})
	c.interruptCh = make(chan struct{}, 1)
}

func (c *cellState) begin() {
	c.mu.Lock()
	c.running = true
	c.done = make(chan struct{})
	c.interrupted = false
	c.goPanics = nil
	c.trace = nil
	select {
	case <-c.interruptCh:
	default:
	}
	c.mu.Unlock()
}

func (c *cellState) end() (goPanics []any, interrupted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = false
	// After an interrupt ctx stays cancelled until the next cell, so that
	// goroutines the cell started see it too.
	if !c.interrupted {
		c.done = make(chan struct{})
	}
	return c.goPanics, c.interrupted
}

func (c *cellState) addGoPanic(v any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return false
	}
	c.goPanics = append(c.goPanics, v)
	return true
}

// panicLine matches the lines yaegi prints on stderr for each interpreted
// frame a panic goes through: "3:2: panic: main.f(...)".
var panicLine = regexp.MustCompile(`^(?:[^\s:]*:)?(\d+):\d+: panic: (.*?)(?:\(\.\.\.\))?\n?$`)

// takeTraceLine keeps a yaegi panic trace line for the EvalError instead of
// printing it.
func (c *cellState) takeTraceLine(p []byte) bool {
	m := panicLine.FindSubmatch(p)
	if m == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	line, _ := strconv.Atoi(string(m[1]))
	fn := strings.TrimPrefix(string(m[2]), "main.")
	if fn == "main" || fn == "" {
		fn = "cell"
	}
	c.trace = append(c.trace, fmt.Sprintf("line %d: %s", line, fn))
	return true
}

// cellContext is the predeclared ctx: its Done channel is the running cell's.
type cellContext struct{ c *cellState }

func (x *cellContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (x *cellContext) Done() <-chan struct{} {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.done
}

func (x *cellContext) Err() error {
	select {
	case <-x.Done():
		return context.Canceled
	default:
		return nil
	}
}

func (x *cellContext) Value(key any) any { return nil }

func (x *cellContext) String() string { return "repl cell context" }

// Interrupt cancels the running cell: the predeclared ctx is cancelled (dnas
// calls that were given ctx return within one step), and interpreted code
// stops at once. It does nothing when no cell runs.
func (s *Session) Interrupt() {
	c := &s.cell
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running || c.interrupted {
		return
	}
	c.interrupted = true
	close(c.done)
	select {
	case c.interruptCh <- struct{}{}:
	default:
	}
}

// Eval evaluates one cell. ctx cancels the cell like Interrupt does. The
// error, when not nil, is an *EvalError.
func (s *Session) Eval(ctx context.Context, code string) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	units, err := splitCell(code)
	if err != nil {
		return Result{}, &EvalError{Kind: "compile", Msg: scanMessage(err)}
	}
	display.SetSink(s.emitDisplay)
	s.cell.begin()
	defer func() {
		// A panic of the session's own code (a cell's are errors) must
		// not leave fds 1 and 2 in the capture's pipes (its trace would
		// vanish there, and Close would wait for the capture forever) nor
		// the cell marked running.
		if r := recover(); r != nil {
			if s.capture != nil {
				s.capture.end()
			}
			s.cell.end()
			panic(r)
		}
	}()
	if s.capture != nil {
		s.capture.begin()
	}
	stop := context.AfterFunc(ctx, s.Interrupt)
	var res Result
	for i, u := range units {
		s.cell.mu.Lock()
		stopped := s.cell.interrupted
		s.cell.mu.Unlock()
		if stopped {
			break // interrupted between two parts of the cell
		}
		var v reflect.Value
		if i == len(units)-1 && u.kind == unitStmt && u.isExpr && !u.isCall && nameOnly.MatchString(u.src) {
			if err = s.notAValue(u.src); err != nil {
				break
			}
		}
		if i == len(units)-1 && u.kind == unitStmt && u.isExpr && u.isCall {
			v, err = s.evalLastCall(u)
		} else {
			v, err = s.evalUnit(u)
		}
		if err != nil {
			break
		}
		if i == len(units)-1 && u.isExpr && !(u.isCall && (voidCall(v) || isNoValue(v))) {
			res = s.result(v)
		}
	}
	stop()
	if s.capture != nil {
		s.capture.end()
	}
	goPanics, interrupted := s.cell.end()
	if err == nil && len(goPanics) > 0 {
		err = &EvalError{Kind: "panic", Msg: fmt.Sprintf("in a goroutine: %v", goPanics[0]), Value: goPanics[0]}
	}
	if interrupted {
		var ee *EvalError
		if err == nil || !errors.As(err, &ee) || ee.Kind != "interrupted" {
			err = &EvalError{Kind: "interrupted", Msg: "the input was stopped; the session's state is kept"}
		}
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// nameOnly matches a unit that is a name or pkg.Name alone, the only
// expressions notAValue looks at.
var nameOnly = regexp.MustCompile(`^\s*[\pL_][\pL\pN_]*(\.[\pL_][\pL\pN_]*)?\s*$`)

// evalLastCall evaluates the unit that ends the cell with a call, showing
// every result of a call with several (spreadResults), not only the first.
// If the session read the call's type wrong and the wrapped form does not
// compile, the call runs as written: nothing has run at that point.
func (s *Session) evalLastCall(u unit) (reflect.Value, error) {
	r, ok := s.spreadResults(u.src)
	if !ok {
		return s.evalUnit(u)
	}
	w := u
	if !w.rewrote {
		w.original, w.rewrote = w.src, true
	}
	w.src = r
	v, err := s.evalUnit(w)
	var ee *EvalError
	if err != nil && errors.As(err, &ee) && ee.Kind == "compile" {
		return s.evalUnit(u)
	}
	return v, err
}

// evalUnit compiles and runs one unit.
func (s *Session) evalUnit(u unit) (reflect.Value, error) {
	switch u.kind {
	case unitImport:
		return reflect.Value{}, s.evalImports(u)
	case unitDecl:
		for _, name := range u.typeNames {
			forgetSymbol(s.in, name) // redefining a type replaces it
		}
	}
	prog, err := s.compile(u.src, u.line)
	if err != nil && u.rewrote {
		if _, err2 := s.compile(u.original, u.line); err2 != nil {
			err = err2 // the user's own text fails too: report that
		}
	}
	if err != nil {
		// Perhaps a range over an integer variable (Go 1.22).
		if r, ok := rewriteAllRanges(u.src, u.kind == unitStmt); ok {
			if p, err2 := s.compile(r, u.line); err2 == nil {
				prog, err = p, nil
			}
		}
	}
	if err != nil && u.kind == unitStmt && indexDefineHint(u.src) != "" {
		// A variable defined from an index expression yaegi cannot type.
		if r, ok := s.typeIndexDefines(u.src); ok {
			if p, err2 := s.compile(r, u.line); err2 == nil {
				prog, err = p, nil
			}
		}
	}
	if err != nil {
		// After compile's resync, so the session's variables can be listed.
		var e *EvalError
		if errors.As(err, &e) && e.Kind == "compile" {
			h := s.didYouMean(e.Msg)
			if h == "" && u.kind == unitStmt {
				h = s.memberHint(e.Msg, u.src)
			}
			if h == "" && u.kind == unitStmt && strings.HasSuffix(e.Msg, "definition loop") {
				h = s.definitionLoopHint(u.src)
			}
			if h != "" {
				e.Msg += "\n" + h
			}
		}
		return reflect.Value{}, err
	}
	v, err := s.execute(prog, u.line)
	if err == nil && u.kind == unitDecl {
		s.recordFuncs(u.src)
	}
	return v, err
}

// recordFuncs notes the signatures of the functions a declaration unit
// declared (not methods).
func (s *Session) recordFuncs(src string) {
	f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+src, 0)
	if err != nil {
		return
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Type.TypeParams == nil {
			s.funcs[fd.Name.Name] = fd.Type
		}
	}
}

// evalImports imports the packages not imported yet (importing a package
// again under the same name does nothing).
func (s *Session) evalImports(u unit) error {
	var b strings.Builder
	var added []importSpec
	for _, spec := range u.imports {
		name := spec.name
		if name == "" {
			name = packageName(spec.path)
		}
		if name == "_" || name == "." {
			continue
		}
		if old, ok := s.imports[spec.path]; ok && old == name {
			continue
		}
		fmt.Fprintf(&b, "import %s %q\n", name, spec.path)
		added = append(added, importSpec{name, spec.path})
	}
	if len(added) == 0 {
		return nil
	}
	if _, err := s.compile(b.String(), u.line); err != nil {
		var ee *EvalError
		if errors.As(err, &ee) && strings.Contains(ee.Msg, "unable to find source related to") {
			var paths []string
			for _, a := range added {
				if _, known := stdlib.Symbols[a.path+"/"+packageName(a.path)]; !known {
					if _, known := symbols.Symbols[a.path+"/"+packageName(a.path)]; !known {
						paths = append(paths, strconv.Quote(a.path))
					}
				}
			}
			ee.Msg = fmt.Sprintf("import %s: not in this session, which has the standard library and the dnas packages compiled in and cannot load others", strings.Join(paths, ", "))
		}
		return err
	}
	for _, a := range added {
		s.imports[a.path] = a.name
	}
	return nil
}

// declares reports whether src may declare a top-level name.
func declares(src string) bool {
	return strings.Contains(src, ":=") || strings.Contains(src, "var") || strings.Contains(src, "const") ||
		strings.Contains(src, "type") || strings.Contains(src, "func")
}

// compile compiles src, turning interpreter crashes into compile errors.
func (s *Session) compile(src string, line int) (prog *interp.Program, err error) {
	// A failed compile can leave the names it declared behind, zero-valued
	// (x := 1 followed by an error: x is then 0). Nothing ran: they are
	// forgotten, so they are undefined as before. (Only code that can
	// declare a name pays for listing the scope.)
	var before map[string]int
	if declares(src) {
		before = scopeNames(s.in)
	}
	defer func() {
		if err != nil {
			if before != nil {
				for name := range scopeNames(s.in) {
					if _, had := before[name]; !had {
						forgetSymbol(s.in, name)
					}
				}
			}
			s.resync()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			prog = nil
			hint := "it lacks some Go 1.22+ features, such as range over functions or generic type aliases; " +
				"for a range over an integer variable write `for i := 0; i < n; i++`"
			if h := indexDefineHint(src); h != "" {
				hint = h
			}
			err = &EvalError{Kind: "compile", Msg: lineMessage(fmt.Sprintf(
				"%v\n(the interpreter, yaegi v0.16.1, failed on this code; %s)", r, hint))}
		}
	}()
	// yaegi logs its internal errors through the standard logger before
	// panicking; keep that out of the user's stderr.
	var logged bytes.Buffer
	prev, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&logged)
	defer func() {
		log.SetOutput(prev)
		log.SetFlags(prevFlags)
		if err == nil && logged.Len() > 0 {
			prev.Write(logged.Bytes())
		}
	}()
	// Leading newlines make the interpreter's line numbers the cell's.
	prog, err = s.in.Compile(strings.Repeat("\n", line) + src)
	if err != nil {
		msg := lineMessage(err.Error())
		if h := indexDefineHint(src); h != "" && strings.Contains(msg, "definition loop") {
			msg += "\n(" + h + ")"
		}
		return nil, &EvalError{Kind: "compile", Msg: msg}
	}
	return prog, nil
}

// resync runs an empty program, which makes the interpreter's memory frame
// hold every global again: a failed compile can declare a global without
// making room for it, and Globals (completion, inspection) then panics.
func (s *Session) resync() {
	defer func() { recover() }()
	if p, err := s.in.Compile("0"); err == nil {
		s.in.Execute(p)
	}
}

// globals returns the session's variables, or none if the interpreter
// cannot list them.
func (s *Session) globals() (g map[string]reflect.Value) {
	defer func() {
		if recover() != nil {
			g = map[string]reflect.Value{}
		}
	}()
	return s.in.Globals()
}

// indexDefineHint explains yaegi v0.16.1's failure on a top-level variable
// defined from an index expression (b := r.Blocks[i], c := s[0]): it
// reports "constant definition loop" or crashes while compiling. It returns
// "" when src has no such definition.
func indexDefineHint(src string) string {
	body, ok := parseStmtUnit(src)
	if !ok {
		return ""
	}
	for _, st := range body {
		if id, _, ok := indexDefine(st); ok {
			return fmt.Sprintf("it cannot infer the type of a top-level variable defined from an index expression, "+
				"like %s here: declare it, then assign it (var %s T, then %s = ...), or use the expression where it is needed", id.Name, id.Name, id.Name)
		}
	}
	return ""
}

// errorPos matches the position at the start of an interpreter error.
var errorPos = regexp.MustCompile(`^(?:[^\s:]*\.go:)?(\d+):(\d+): `)

// lineMessage rewrites "3:5: msg" as "line 3: msg" (columns are dropped:
// yaegi's are shifted by its wrapping of the code).
func lineMessage(msg string) string {
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		if m := errorPos.FindStringSubmatchIndex(l); m != nil {
			l = "line " + l[m[2]:m[3]] + ": " + l[m[1]:]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func scanMessage(err error) string {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return fmt.Sprintf("line %d: %s", list[0].Pos.Line, list[0].Msg)
	}
	return err.Error()
}

// execute runs a compiled unit, stopping the interpreter on Interrupt.
func (s *Session) execute(prog *interp.Program, line int) (reflect.Value, error) {
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	done := make(chan runOutcome, 1)
	s.runner().jobs <- runJob{s.in, prog, runCtx, done}
	var out runOutcome
	select {
	case out = <-done:
	case <-s.cell.interruptCh:
		// Stop interpreted code now; compiled code sees ctx cancelled.
		started := time.Now()
		stopRun()
		<-done // ExecuteWithContext returns at once
		s.waitOrphan(s.run.gid, started)
		return reflect.Value{}, &EvalError{Kind: "interrupted", Msg: "the input was stopped; the session's state is kept"}
	}
	if out.err != nil {
		return reflect.Value{}, s.runError(out.err, line)
	}
	return out.v, nil
}

type runOutcome struct {
	v   reflect.Value
	err error
}

type runJob struct {
	in   *interp.Interpreter
	prog *interp.Program
	ctx  context.Context
	done chan runOutcome
}

// runner is the goroutine that calls ExecuteWithContext for the session's
// cells. Its goroutine id identifies the goroutine yaegi leaves running when
// a cell is stopped (see waitOrphan).
type runner struct {
	jobs chan runJob
	gid  int
}

func (s *Session) runner() *runner {
	if s.run == nil {
		r := &runner{jobs: make(chan runJob)}
		ready := make(chan struct{})
		go func() {
			r.gid = goroutineID()
			close(ready)
			for j := range r.jobs {
				v, err := j.in.ExecuteWithContext(j.ctx, j.prog)
				j.done <- runOutcome{v, err}
			}
		}()
		<-ready
		s.run = r
	}
	return s.run
}

// waitOrphan waits until the goroutine yaegi left running the stopped cell
// (it goes on while compiled code, such as a training step, finishes) has
// ended, so that the next cell does not race with it.
func (s *Session) waitOrphan(gid int, started time.Time) {
	deadline := started.Add(s.opts.InterruptWait)
	mark := fmt.Sprintf("interp.(*Interpreter).ExecuteWithContext in goroutine %d\n", gid)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		if !strings.Contains(string(buf[:n]), mark) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.writeStream(2, []byte("repl: the interrupted cell's compiled code is still running in the background (it does not watch ctx)\n"))
}

func goroutineID() int {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := strings.Fields(string(b[:n]))
	if len(f) > 1 {
		id, _ := strconv.Atoi(f[1])
		return id
	}
	return 0
}

// runError turns an interpreter run error into an *EvalError.
func (s *Session) runError(err error, line int) error {
	var p interp.Panic
	if !errors.As(err, &p) {
		return &EvalError{Kind: "panic", Msg: lineMessage(err.Error())}
	}
	s.cell.mu.Lock()
	trace := append([]string(nil), s.cell.trace...)
	s.cell.mu.Unlock()
	if rv, ok := p.Value.(reflect.Value); ok && rv.IsValid() && rv.CanInterface() {
		p.Value = rv.Interface() // interpreted panics carry a reflect.Value
	}
	if ex, ok := p.Value.(exitSignal); ok {
		return &EvalError{Kind: "exit", Msg: fmt.Sprintf("%s called (exit status %d); the session goes on", ex.by, ex.code), Value: ex.code, Trace: trace}
	}
	// Compiled frames are where the panic started: they come first.
	trace = append(compiledFrames(p.Stack), trace...)
	msg := fmt.Sprint(p.Value)
	if plain, ok := reflectPanics[msg]; ok {
		msg += " (" + plain + ")"
	}
	return &EvalError{Kind: "panic", Msg: msg, Value: p.Value, Trace: trace}
}

// reflectPanics says in Go's terms what the interpreter's own panics mean:
// it runs interpreted code through package reflect, whose messages name
// reflect's functions rather than the mistake.
var reflectPanics = map[string]string{
	"reflect: slice index out of range":  "an index past the end of a slice",
	"reflect: array index out of range":  "an index past the end of an array",
	"reflect: string index out of range": "an index past the end of a string",
}

// compiledFrames picks, from a Go stack dump, the frames of compiled code
// that is neither the interpreter, reflect, the runtime nor this package.
func compiledFrames(stack []byte) []string {
	lines := strings.Split(string(stack), "\n")
	var out []string
	for i := 0; i+1 < len(lines) && len(out) < 8; i++ {
		fn := lines[i]
		if strings.HasPrefix(fn, "\t") || fn == "" || strings.HasPrefix(fn, "goroutine ") {
			continue
		}
		file := strings.TrimSpace(lines[i+1])
		if j := strings.LastIndex(file, " +0x"); j >= 0 {
			file = file[:j]
		}
		switch {
		case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "runtime/debug."), strings.HasPrefix(fn, "panic("),
			strings.HasPrefix(fn, "reflect."), strings.HasPrefix(fn, "github.com/traefik/yaegi"),
			strings.HasPrefix(fn, "dnas/repl.(*"), strings.HasPrefix(fn, "created by"):
			continue
		}
		if k := strings.LastIndexByte(fn, '('); k > 0 {
			fn = fn[:k]
		}
		out = append(out, fmt.Sprintf("%s (%s)", fn, file))
	}
	return out
}

// isNoValue reports whether v is errorResults' noValue (a call that
// returned only a nil error).
func isNoValue(v reflect.Value) bool {
	if !v.IsValid() || !v.CanInterface() {
		return false
	}
	_, ok := v.Interface().(noValue)
	return ok
}

// voidCall reports whether v is what the interpreter returns for a call of a
// function without results: a pointer to an empty interface holding
// nothing. (A call that really returns such a pointer shows no value
// either: a rare case, and an empty one.)
func voidCall(v reflect.Value) bool {
	return v.IsValid() && v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Interface &&
		(v.IsNil() || v.Elem().IsNil())
}

// maxText bounds Result.Text.
const maxText = 8000

// result describes a cell's value.
func (s *Session) result(v reflect.Value) Result {
	if !v.IsValid() {
		return Result{}
	}
	if v.Kind() == reflect.Pointer && v.Type().Elem().Name() == "node" {
		return Result{} // a declaration, not a value
	}
	r := Result{HasValue: true, Value: v}
	var x any
	if v.CanInterface() {
		x = v.Interface()
	}
	r.Text = formatValue(x)
	if v.Kind() == reflect.Func && !v.IsNil() {
		r.Text = v.Type().String() // not the code address %v prints
	}
	if d, ok, err := display.Render(x); ok {
		b := display.Data{Data: display.MIMEMap{}, Metadata: d.Metadata, ID: d.ID}
		for k, val := range d.Data {
			b.Data[k] = val
		}
		if _, has := b.Data[display.MIMETypeText]; !has {
			b.Data[display.MIMETypeText] = r.Text
		}
		r.Bundle = &b
	} else if err != nil {
		r.Text += fmt.Sprintf(" (rendering it failed: %v)", err)
	}
	return r
}

// formatValue prints v as fmt's %v does, cut to maxText bytes.
func formatValue(x any) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("%T (printing it panicked: %v)", x, r)
		}
	}()
	if d, ok := x.(display.Data); ok {
		return d.String()
	}
	return display.Text(x, maxText)
}
