// Package repl is the interactive Go session behind `dnas repl`, `dnas exec`
// and the Jupyter kernel: a yaegi interpreter (github.com/traefik/yaegi) that
// can call the compiled dnas library, keeps its state from one input to the
// next, and survives whatever an input does.
//
// A Session evaluates cells. A cell may mix imports, declarations and
// statements; its last expression, if any, is the cell's value:
//
//	s, _ := repl.New(repl.Options{})
//	res, err := s.Eval(ctx, `x := 20
//	func double(v int) int { return 2 * v }
//	double(x) + 2`)
//	// res.Text == "42"
//
// The session also answers the questions an editor asks (Complete, Inspect,
// IsComplete); the terminal front end (package dnas/repl/term) and the
// Jupyter kernel (package dnas/kernel) use the same implementation.
//
// What a cell can do and still leave the session usable: panic (in its own
// code, in a goroutine it started, or inside compiled library code), call
// os.Exit or log.Fatal, loop forever (Interrupt stops it), write to the
// process's file descriptors 1 and 2 from compiled code (captured and passed
// to Options.Stdout/Stderr like fmt output).
package repl

import (
	"context"
	"fmt"
	"go/ast"
	"io"
	"os"
	"path"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"dnas/display"
	"dnas/repl/symbols"
)

// Options configure a Session. The zero value is usable: output goes to the
// process's stdout and stderr, input comes from its stdin, and rich output is
// printed as text.
type Options struct {
	// Stdout and Stderr receive everything a cell prints: fmt output of
	// interpreted code and, while a cell runs, whatever compiled code writes
	// to file descriptors 1 and 2. Nil means os.Stdout / os.Stderr.
	Stdout, Stderr io.Writer

	// Display receives rich output: display.Display calls and, for the
	// caller's convenience, nothing else (cell values come back in
	// Result.Bundle). Nil prints the bundle's text/plain form on Stdout.
	Display func(display.Data)

	// DisplayUpdate receives display.Update calls (a new version of the
	// display with the bundle's ID). Nil sends them to Display.
	DisplayUpdate func(display.Data)

	// Stdin is called when interpreted code reads standard input (fmt.Scan,
	// os.Stdin is not redirected): it returns one line without its newline.
	// Nil reads the process's stdin.
	Stdin func(prompt string, password bool) (string, error)

	// NoCapture disables the redirection of file descriptors 1 and 2 while a
	// cell runs (output of compiled code then goes wherever the process's
	// stdout and stderr go).
	NoCapture bool

	// Symbols are extra symbol tables for the interpreter, in yaegi's format
	// ("importpath/name" -> exported name -> value), for packages besides
	// the standard library and the project's (tests use it to add compiled
	// helpers). They are not pre-imported.
	Symbols map[string]map[string]reflect.Value

	// InterruptWait bounds how long Eval waits, after Interrupt, for compiled
	// code to notice the cancelled context and return (default 10s). After
	// that Eval returns anyway and the compiled call goes on in the
	// background.
	InterruptWait time.Duration
}

// Result is the outcome of a cell that ran to the end.
type Result struct {
	// HasValue reports whether the cell ended with an expression that has a
	// value (a call of a function without results has none).
	HasValue bool
	// Value is that value. For a call with several results whose function
	// the session can type it is a Values holding all of them, except that
	// a nil last error is left out (a lone other result then stands alone).
	Value reflect.Value
	// Text is the value printed the way fmt's %v prints it (long texts are
	// cut), "" without a value.
	Text string
	// Bundle is non-nil when the value renders richly: a display.Data, an
	// image.Image, a chart (anything with PNG() ([]byte, error)), or a value
	// with SVG, HTML or Markdown methods. It includes Text as text/plain.
	Bundle *display.Data
}

// EvalError is the error of a cell that did not run to the end.
type EvalError struct {
	// Kind is "compile" (the code is not valid Go, or uses what the
	// interpreter lacks), "panic", "exit" (os.Exit or log.Fatal was called)
	// or "interrupted".
	Kind string
	// Msg describes the problem: the compiler message, the panic value, ...
	Msg string
	// Trace lists where it happened, innermost first: compiled frames as
	// "function (file:line)", then interpreted frames as "line N: function"
	// (N counts lines of the cell that declared the function).
	Trace []string
	// Value is the recovered panic value (Kind "panic"), or the exit code
	// (Kind "exit").
	Value any
}

func (e *EvalError) Error() string {
	switch e.Kind {
	case "panic":
		return "panic: " + e.Msg
	case "compile", "":
		return e.Msg
	default:
		return e.Kind + ": " + e.Msg
	}
}

// Session is one interpreter with its state. Eval, Reset and the editor
// queries are safe to call from several goroutines; cells run one at a time.
// Interrupt may be called at any time.
type Session struct {
	opts Options

	mu      sync.Mutex // one Eval/Reset at a time
	in      *interp.Interpreter
	imports map[string]string // import path -> name, in the interpreter now
	// funcs holds the signatures of the functions cells declared (the
	// interpreter lists variables, not functions), for the code-reading
	// type finder (typeWalker).
	funcs map[string]*ast.FuncType

	cell    cellState
	capture *capture
	run     *runner

	stdinBuf []byte
}

// runtimePath is the import path of the package through which interpreted
// code reaches the session (the cell context, goroutine panic reports).
const runtimePath = "dnasrepl/rt"

// New starts a session: the interpreter, the standard library, the project's
// packages (imported under their names, so `dnas.X`, `tensor.New`,
// `display.HTML` work at once) and the predeclared `ctx` and `Display`.
func New(opts Options) (*Session, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.InterruptWait == 0 {
		opts.InterruptWait = 10 * time.Second
	}
	s := &Session{opts: opts}
	s.cell.init()
	if !opts.NoCapture {
		s.capture = newCapture(opts.Stdout, opts.Stderr)
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Preimported lists the packages every session imports before the first
// cell, by import path; the project's packages found in the symbol tables
// are added to them.
var Preimported = []string{"context", "fmt", "math", "os", "strings", "time"}

func (s *Session) start() error {
	in := interp.New(interp.Options{
		Stdin:        stdinReader{s},
		Stdout:       streamWriter{s, 1},
		Stderr:       streamWriter{s, 2},
		Unrestricted: true,
	})
	if err := in.Use(stdlib.Symbols); err != nil {
		return fmt.Errorf("repl: loading the standard library symbols: %v", err)
	}
	if err := in.Use(symbols.Symbols); err != nil {
		return fmt.Errorf("repl: loading the project's symbols: %v", err)
	}
	// yaegi reads an import path whose last two elements are equal
	// ("dnas/dnas") as the short form of a standard package ("fmt/fmt"
	// is "fmt"), so `import "dnas/dnas"` looks for the path "dnas": register
	// the package under that path too.
	alias := interp.Exports{}
	for key, syms := range symbols.Symbols {
		ipath := key[:strings.LastIndexByte(key, '/')]
		if base := lastElem(ipath); path.Dir(ipath) == base {
			alias[base+"/"+base] = syms
		}
	}
	if err := in.Use(alias); err != nil {
		return fmt.Errorf("repl: loading the project's symbols: %v", err)
	}
	if s.opts.Symbols != nil {
		if err := in.Use(s.opts.Symbols); err != nil {
			return fmt.Errorf("repl: loading Options.Symbols: %v", err)
		}
	}
	if err := in.Use(s.runtimeSymbols()); err != nil {
		return fmt.Errorf("repl: loading the session symbols: %v", err)
	}
	s.in = in
	s.imports = map[string]string{}
	s.funcs = map[string]*ast.FuncType{}

	paths := append([]string(nil), Preimported...)
	paths = append(paths, projectPackages()...)
	var b strings.Builder
	b.WriteString("import (\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString(")\n")
	imported := paths
	if _, err := in.Eval(b.String()); err != nil {
		// One package cannot be imported (two packages with the same name,
		// say): import the others one by one and say which failed.
		imported = nil
		for _, p := range paths {
			if _, err := in.Eval(fmt.Sprintf("import %q", p)); err != nil {
				fmt.Fprintf(s.opts.Stderr, "repl: package %s is not pre-imported: %v\n", p, err)
				continue
			}
			imported = append(imported, p)
		}
	}
	for _, p := range imported {
		s.imports[p] = packageName(p)
	}
	for _, src := range []string{
		fmt.Sprintf("import __dnasrt %q", runtimePath),
		`import __dnascontext "context"`,
		"var ctx __dnascontext.Context = __dnasrt.Ctx",
		"func __dnasGoRecover() { if r := recover(); r != nil { __dnasrt.GoPanic(r) } }",
	} {
		if _, err := in.Eval(src); err != nil {
			return fmt.Errorf("repl: preparing the session: %v\n%s", err, src)
		}
	}
	if _, ok := s.imports["dnas/display"]; ok {
		if _, err := in.Eval("func Display(items ...any) error { return display.Display(items...) }"); err != nil {
			return fmt.Errorf("repl: preparing the session: %v", err)
		}
	}
	return nil
}

// projectPackages returns the import paths of the project's packages present
// in the symbol tables, sorted.
func projectPackages() []string {
	var paths []string
	for key := range symbols.Symbols {
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			continue
		}
		paths = append(paths, key[:i])
	}
	sortStrings(paths)
	return paths
}

// packageName returns the name a package is imported under by default.
func packageName(path string) string {
	if vals, ok := stdlib.Symbols[path+"/"+lastElem(path)]; ok && vals != nil {
		return lastElem(path)
	}
	// The tables key a package as "path/name", which is how a versioned
	// path ("math/rand/v2") gets its real name ("rand") rather than "v2".
	for _, table := range []map[string]map[string]reflect.Value{stdlib.Symbols, symbols.Symbols} {
		for key := range table {
			if strings.HasPrefix(key, path+"/") && !strings.Contains(key[len(path)+1:], "/") {
				return key[len(path)+1:]
			}
		}
	}
	return lastElem(path)
}

func lastElem(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Reset forgets every declaration, variable and import of the session and
// starts a fresh interpreter, as if the session had just been created.
func (s *Session) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start()
}

// Close releases the pipes used to capture compiled code's output. The
// session must not be used afterwards.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil {
		close(s.run.jobs)
		s.run = nil
	}
	if s.capture != nil {
		return s.capture.close()
	}
	return nil
}

// exitSignal is the panic value of os.Exit and log.Fatal in a cell.
type exitSignal struct {
	code int
	by   string // "os.Exit" or "log.Fatal"
}

// runtimeSymbols returns the symbols of the session's own package (imported
// as __dnasrt) and the replacements of os.Exit and log.Fatal*.
func (s *Session) runtimeSymbols() interp.Exports {
	exit := func(code int) { panic(exitSignal{code, "os.Exit"}) }
	fatal := func(msg string) {
		s.writeStream(2, []byte(strings.TrimSuffix(msg, "\n")+"\n"))
		panic(exitSignal{1, "log.Fatal"})
	}
	return interp.Exports{
		runtimePath + "/rt": {
			"Ctx":          reflect.ValueOf((context.Context)(&cellContext{&s.cell})),
			"GoPanic":      reflect.ValueOf(s.goPanic),
			"Values":       reflect.ValueOf(func(v ...any) Values { return v }),
			"ErrorResults": reflect.ValueOf(errorResults),
		},
		"os/os": {"Exit": reflect.ValueOf(exit)},
		"log/log": {
			"Fatal":   reflect.ValueOf(func(v ...any) { fatal(fmt.Sprint(v...)) }),
			"Fatalf":  reflect.ValueOf(func(f string, v ...any) { fatal(fmt.Sprintf(f, v...)) }),
			"Fatalln": reflect.ValueOf(func(v ...any) { fatal(fmt.Sprintln(v...)) }),
		},
	}
}

// goPanic receives a panic recovered in a goroutine started by interpreted
// code (the session rewrites `go` statements to recover).
func (s *Session) goPanic(v any) {
	if !s.cell.addGoPanic(v) {
		s.writeStream(2, []byte(fmt.Sprintf("panic in a goroutine started by an earlier cell: %v\n", v)))
	}
}

// streamWriter is the interpreter's stdout (1) or stderr (2).
type streamWriter struct {
	s  *Session
	fd int
}

func (w streamWriter) Write(p []byte) (int, error) {
	if w.fd == 2 && w.s.cell.takeTraceLine(p) {
		return len(p), nil
	}
	w.s.writeStream(w.fd, p)
	return len(p), nil
}

// writeStream writes to the session's stdout or stderr, through the capture
// pipe while a cell runs so that the order with compiled code's output holds.
func (s *Session) writeStream(fd int, p []byte) {
	if s.capture != nil && s.capture.write(fd, p) {
		return
	}
	if fd == 1 {
		s.opts.Stdout.Write(p)
	} else {
		s.opts.Stderr.Write(p)
	}
}

// stdinReader is the interpreter's stdin: one Options.Stdin call per line.
type stdinReader struct{ s *Session }

func (r stdinReader) Read(p []byte) (int, error) {
	s := r.s
	if len(s.stdinBuf) == 0 {
		if s.opts.Stdin == nil {
			return os.Stdin.Read(p)
		}
		line, err := s.opts.Stdin("", false)
		if err != nil {
			return 0, err
		}
		s.stdinBuf = append(s.stdinBuf, line...)
		s.stdinBuf = append(s.stdinBuf, '\n')
	}
	n := copy(p, s.stdinBuf)
	s.stdinBuf = s.stdinBuf[n:]
	return n, nil
}

// emitDisplay is the display sink while this session runs a cell.
func (s *Session) emitDisplay(d display.Data, update bool) {
	if s.capture != nil {
		s.capture.sync() // text printed before the display comes first
	}
	switch {
	case update && s.opts.DisplayUpdate != nil:
		s.opts.DisplayUpdate(d)
	case s.opts.Display != nil:
		s.opts.Display(d)
	default:
		s.writeStream(1, []byte(bundleText(d)+"\n"))
	}
}

func bundleText(d display.Data) string {
	if t, ok := d.Data[display.MIMETypeText].(string); ok {
		return t
	}
	return d.String()
}
