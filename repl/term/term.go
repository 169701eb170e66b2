// Package term is the terminal front end of the dnas REPL (`dnas repl`) and
// the script runner (`dnas exec`): line editing, history, completion and
// Ctrl-C handling on a terminal (github.com/chzyer/readline), plain
// line-by-line evaluation when the input is piped, and the presentation of
// results (pictures are written to files, or drawn inline in terminals that
// speak the kitty or iTerm2 image protocols).
//
// The evaluation itself is package repl's Session; this package only talks
// to it.
package term

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/chzyer/readline"

	"dnas/display"
	"dnas/dnas/progress"
	"dnas/repl"
)

// Options configure a terminal session.
type Options struct {
	// HistoryFile keeps the input history across runs ("" disables it).
	HistoryFile string
	// OutDir receives the pictures and HTML pages that results produce.
	OutDir string
	// Stdin, Stdout and Stderr default to the process's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Interactive forces (true) or forbids (false) line editing; nil decides
	// from whether stdin and stdout are terminals.
	Interactive *bool
}

// DefaultHistoryFile is ~/.dnas_history, or "" without a home directory.
func DefaultHistoryFile() string {
	if env := os.Getenv("DNAS_HISTORY"); env != "" {
		return env
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".dnas_history")
}

// DefaultOutDir is where pictures go unless told otherwise.
func DefaultOutDir() string { return filepath.Join(os.TempDir(), "dnas-repl") }

// Front is a running terminal front end: a session and where it writes.
type Front struct {
	opts    Options
	session *repl.Session
	out     io.Writer
	errw    io.Writer
	nOut    int
	inline  string // "kitty", "iterm" or ""

	interactive bool // Ctrl-C interrupts inputs

	mu     sync.Mutex
	stdinF func(prompt string, password bool) (string, error)
}

const helpText = `Go, interpreted (yaegi), with the dnas library compiled in.
Packages imported already: dnas and its subpackages (tensor, nn, unet, ...),
plots, display, fmt, math, os, strings, time, context. ctx is the running
input's context: pass it to long calls (tr.Train(ctx, 500)); Ctrl-C cancels it.

  :help        this text
  :doc NAME    declaration and doc comment of NAME (dnas.NewTeacherTrainer, x.Train);
               :doc dnas maps the method's stages to the calls that run them
  :load FILE   evaluate a Go file in this session
  :reset       forget everything defined so far
  :quit        leave (Ctrl-D does too)

An input goes on over several lines while it is incomplete (an open brace).
Tab completes names, package members, fields and methods.
An input ending in an expression prints its value; a call with several
results prints them all: (<nil>, open x: no such file or directory).
Pictures and charts are written to files (their description and path are
printed) and drawn inline in terminals that can (kitty, iTerm2).`

// New starts the session behind a front end.
func New(opts Options) (*Front, error) {
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.OutDir == "" {
		opts.OutDir = DefaultOutDir()
	}
	f := &Front{opts: opts, out: opts.Stdout, errw: opts.Stderr, inline: imageProtocol()}
	// Scripts (dnas exec) read their input lines from stdin.
	lines := bufio.NewReader(opts.Stdin)
	f.stdinF = func(string, bool) (string, error) {
		l, err := lines.ReadString('\n')
		if l != "" {
			return strings.TrimRight(l, "\r\n"), nil
		}
		return "", err
	}
	// The progress bar decides now, while stderr is still the terminal
	// (during an input it is a pipe to the session), whether to draw.
	progress.SetDefault(progress.NewBar(os.Stderr))
	s, err := repl.New(repl.Options{
		Stdout:  opts.Stdout,
		Stderr:  opts.Stderr,
		Display: func(d display.Data) { f.show(d) },
		Stdin: func(prompt string, password bool) (string, error) {
			f.mu.Lock()
			in := f.stdinF
			f.mu.Unlock()
			if in == nil {
				return "", io.EOF
			}
			return in(prompt, password)
		},
	})
	if err != nil {
		return nil, err
	}
	f.session = s
	return f, nil
}

// Session returns the session behind the front end.
func (f *Front) Session() *repl.Session { return f.session }

// Close releases the session.
func (f *Front) Close() error { return f.session.Close() }

// isTerminal reports whether r or w is a terminal.
func isTerminal(x any) bool {
	file, ok := x.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// imageProtocol detects a terminal that draws pictures inline.
func imageProtocol() string {
	switch {
	case os.Getenv("KITTY_WINDOW_ID") != "" || os.Getenv("TERM") == "xterm-kitty":
		return "kitty"
	case os.Getenv("TERM_PROGRAM") == "iTerm.app" || os.Getenv("LC_TERMINAL") == "iTerm2" ||
		os.Getenv("TERM_PROGRAM") == "WezTerm":
		return "iterm"
	}
	return ""
}

// Run reads inputs until the end of input (Ctrl-D) or :quit.
func (f *Front) Run() error {
	interactive := isTerminal(f.opts.Stdin) && isTerminal(f.opts.Stdout)
	if f.opts.Interactive != nil {
		interactive = *f.opts.Interactive
	}
	if interactive {
		f.interactive = true
		return f.runInteractive()
	}
	return f.runPlain()
}

// runPlain evaluates piped input: lines are gathered until they form a
// complete input, which is then evaluated; no prompts are printed.
func (f *Front) runPlain() error {
	sc := bufio.NewScanner(f.opts.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	f.mu.Lock()
	f.stdinF = func(string, bool) (string, error) {
		if sc.Scan() {
			return sc.Text(), nil
		}
		return "", io.EOF
	}
	f.mu.Unlock()
	var buf []string
	for sc.Scan() {
		line := sc.Text()
		if len(buf) == 0 && strings.HasPrefix(strings.TrimSpace(line), ":") {
			if quit := f.command(strings.TrimSpace(line)); quit {
				return nil
			}
			continue
		}
		buf = append(buf, line)
		code := strings.Join(buf, "\n")
		if status, _ := f.session.IsComplete(code); status == "incomplete" {
			continue
		}
		buf = buf[:0]
		f.eval(code)
	}
	if len(buf) > 0 {
		f.eval(strings.Join(buf, "\n"))
	}
	return sc.Err()
}

// completer adapts Session.Complete to readline.
type completer struct{ f *Front }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	code := string(line[:pos])
	matches, start, end := c.f.session.Complete(code, len(code))
	partial := []rune(code[start:end])
	var out [][]rune
	for _, m := range matches {
		r := []rune(m)
		if len(r) >= len(partial) {
			out = append(out, r[len(partial):])
		}
	}
	return out, len(partial)
}

const (
	prompt     = "dnas> "
	contPrompt = "  ... "
)

func (f *Front) runInteractive() error {
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          prompt,
		HistoryFile:     f.opts.HistoryFile,
		HistoryLimit:    10000,
		AutoComplete:    completer{f},
		InterruptPrompt: "^C",
		EOFPrompt:       "",
		Stdout:          f.opts.Stdout,
		Stderr:          f.opts.Stderr,
	})
	if err != nil {
		return fmt.Errorf("starting the line editor: %v", err)
	}
	defer rl.Close()
	f.mu.Lock()
	f.stdinF = func(p string, password bool) (string, error) {
		if password {
			b, err := rl.ReadPassword(p)
			return string(b), err
		}
		old := rl.Config.Prompt
		rl.SetPrompt(p)
		defer rl.SetPrompt(old)
		return rl.Readline()
	}
	f.mu.Unlock()
	fmt.Fprintln(f.out, "dnas REPL: Go with the dnas library. :help for help, Ctrl-D to leave.")
	var buf []string
	for {
		if len(buf) == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(contPrompt)
		}
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			buf = buf[:0] // Ctrl-C at the prompt clears the input
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				fmt.Fprintln(f.out)
				return nil
			}
			buf = buf[:0]
			continue
		}
		if err != nil {
			return err
		}
		if len(buf) == 0 && strings.HasPrefix(strings.TrimSpace(line), ":") {
			if f.command(strings.TrimSpace(line)) {
				return nil
			}
			continue
		}
		if len(buf) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		buf = append(buf, line)
		code := strings.Join(buf, "\n")
		if status, indent := f.session.IsComplete(code); status == "incomplete" {
			if indent != "" {
				// Spaces: a tab typed into readline would ask for completion.
				rl.WriteStdin([]byte(strings.ReplaceAll(indent, "\t", "    ")))
			}
			continue
		}
		buf = buf[:0]
		f.eval(code)
	}
}

// evalInterruptible evaluates code; Ctrl-C (SIGINT) interrupts it.
func (f *Front) evalInterruptible(code string) bool {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-sig:
				f.session.Interrupt()
			case <-stop:
				return
			}
		}
	}()
	ok := f.evalNow(code)
	close(stop)
	signal.Stop(sig)
	return ok
}

// eval evaluates one input and prints its value or error; it reports
// whether it succeeded. In the interactive REPL, Ctrl-C interrupts it.
func (f *Front) eval(code string) bool {
	if f.interactive {
		return f.evalInterruptible(code)
	}
	return f.evalNow(code)
}

func (f *Front) evalNow(code string) bool {
	res, err := f.session.Eval(context.Background(), code)
	if err != nil {
		f.printError(err)
		return false
	}
	switch {
	case res.Bundle != nil:
		f.show(*res.Bundle)
	case res.HasValue:
		fmt.Fprintln(f.out, res.Text)
	}
	return true
}

// printError prints an evaluation error and its trace on stderr.
func (f *Front) printError(err error) {
	var ee *repl.EvalError
	if !errors.As(err, &ee) {
		fmt.Fprintln(f.errw, "error:", err)
		return
	}
	fmt.Fprintln(f.errw, ee.Error())
	for _, t := range ee.Trace {
		fmt.Fprintln(f.errw, "    at", t)
	}
}

// command runs a :command; it reports whether to quit.
func (f *Front) command(line string) bool {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case ":help", ":h", ":?":
		fmt.Fprintln(f.out, helpText)
	case ":quit", ":q", ":exit":
		return true
	case ":reset":
		if err := f.session.Reset(); err != nil {
			fmt.Fprintln(f.errw, "reset:", err)
		} else {
			fmt.Fprintln(f.out, "session reset")
		}
	case ":load":
		if arg == "" {
			fmt.Fprintln(f.errw, ":load needs a file name, as in :load train.go")
			break
		}
		if err := f.RunFile(arg); err != nil {
			fmt.Fprintln(f.errw, err)
		}
	case ":doc":
		if arg == "" {
			fmt.Fprintln(f.errw, ":doc needs a name, as in :doc dnas.NewTeacherTrainer")
			break
		}
		if text, ok := f.session.Doc(arg); ok {
			fmt.Fprintln(f.out, text)
		} else {
			hint := f.session.Suggest(arg)
			if hint == "" {
				hint = "(is it imported or defined?)"
			}
			fmt.Fprintf(f.errw, "no documentation found for %s %s\n", arg, hint)
		}
	default:
		fmt.Fprintf(f.errw, "unknown command %s; :help lists the commands\n", name)
	}
	return false
}

var packageClause = regexp.MustCompile(`(?m)^package\s+\w+\s*$`)

// RunFile evaluates a Go file in the session: either a script (top-level
// statements, as typed at the prompt) or a program (package main with a
// main function, which is then called). It stops at the first error.
func (f *Front) RunFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	code := string(src)
	isProgram := false
	if loc := packageClause.FindStringIndex(code); loc != nil {
		// Blank out the package clause, keeping line numbers.
		code = code[:loc[0]] + strings.Repeat(" ", loc[1]-loc[0]) + code[loc[1]:]
		isProgram = true
	}
	if !f.eval(code) {
		return fmt.Errorf("%s: evaluation failed", path)
	}
	if isProgram && regexp.MustCompile(`(?m)^func main\(\)`).MatchString(code) {
		if !f.eval("main()") {
			return fmt.Errorf("%s: main failed", path)
		}
	}
	return nil
}

// pointerDump matches what %v prints for a struct of pointers.
var pointerDump = regexp.MustCompile(`0x[0-9a-f]{6,}`)

// describes reports whether the text/plain form of a picture says something
// worth printing beside its file (a chart's or a grid's description), not
// %v's dump of the value's fields or of the MIME bundle.
func describes(t string) bool {
	return t != "" && !strings.HasPrefix(t, "display.Data{") && !pointerDump.MatchString(t) && len(t) < 2000
}

// show presents a rich output: pictures and HTML go to files (and inline
// pictures where the terminal can draw them), text forms are printed.
func (f *Front) show(d display.Data) {
	for _, kind := range []struct{ mime, ext string }{
		{display.MIMETypePNG, ".png"}, {display.MIMETypeJPEG, ".jpg"}, {display.MIMETypeSVG, ".svg"},
	} {
		v, ok := d.Data[kind.mime]
		if !ok {
			continue
		}
		b := bytesOf(v)
		path, err := f.save(kind.ext, b)
		if err != nil {
			fmt.Fprintln(f.errw, "saving the picture:", err)
			return
		}
		if kind.mime == display.MIMETypePNG {
			f.drawInline(b)
		}
		if t, ok := d.Data[display.MIMETypeText].(string); ok && describes(t) {
			fmt.Fprintln(f.out, t)
		}
		fmt.Fprintln(f.out, path)
		return
	}
	if v, ok := d.Data[display.MIMETypeHTML]; ok {
		path, err := f.save(".html", bytesOf(v))
		if err == nil {
			if t, ok := d.Data[display.MIMETypeText].(string); ok && describes(t) {
				fmt.Fprintln(f.out, t)
			}
			fmt.Fprintln(f.out, path)
			return
		}
	}
	for _, m := range []string{display.MIMETypeMarkdown, display.MIMETypeLatex, display.MIMETypeText} {
		if v, ok := d.Data[m]; ok {
			fmt.Fprintln(f.out, string(bytesOf(v)))
			return
		}
	}
	if v, ok := d.Data[display.MIMETypeJSON]; ok {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(f.out, string(b))
		return
	}
	types := make([]string, 0, len(d.Data))
	for t := range d.Data {
		types = append(types, t)
	}
	sort.Strings(types)
	fmt.Fprintf(f.out, "(output of type %s not shown in a terminal)\n", strings.Join(types, ", "))
}

func bytesOf(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

// save writes an output file into OutDir and returns its path.
func (f *Front) save(ext string, b []byte) (string, error) {
	if err := os.MkdirAll(f.opts.OutDir, 0o755); err != nil {
		return "", err
	}
	f.nOut++
	path := filepath.Join(f.opts.OutDir, fmt.Sprintf("out-%d-%d%s", os.Getpid(), f.nOut, ext))
	return path, os.WriteFile(path, b, 0o644)
}

// drawInline draws a PNG in terminals with an image protocol.
func (f *Front) drawInline(png []byte) {
	if !isTerminal(f.opts.Stdout) {
		return
	}
	enc := base64.StdEncoding.EncodeToString(png)
	switch f.inline {
	case "iterm":
		fmt.Fprintf(f.out, "\x1b]1337;File=inline=1;size=%d:%s\a\n", len(png), enc)
	case "kitty":
		for i := 0; i < len(enc); i += 4096 {
			j := min(i+4096, len(enc))
			more := 0
			if j < len(enc) {
				more = 1
			}
			if i == 0 {
				fmt.Fprintf(f.out, "\x1b_Gf=100,a=T,m=%d;%s\x1b\\", more, enc[i:j])
			} else {
				fmt.Fprintf(f.out, "\x1b_Gm=%d;%s\x1b\\", more, enc[i:j])
			}
		}
		fmt.Fprintln(f.out)
	}
}
