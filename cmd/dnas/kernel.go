package main

// `dnas kernel`: the Jupyter kernel. The wire protocol lives in package
// kernel; this file plugs the REPL session (package repl) into it, installs
// the notebook progress display, writes the kernelspec and runs the
// side-by-side benchmark against ipykernel.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"dnas/display"
	"dnas/dnas/progress"
	"dnas/kernel"
	"dnas/kernel/bench"
	"dnas/kernel/progressview"
	"dnas/repl"
)

func init() {
	register("kernel", "Jupyter kernel: kernel CONNECTION_FILE | kernel install [--user|--prefix P] | kernel bench", runKernel)
}

const kernelUsage = `usage:
  dnas kernel CONNECTION_FILE              serve a notebook (Jupyter starts this)
  dnas kernel install [--user | --prefix P] install the "Go (dnas)" kernelspec
  dnas kernel bench [-n N] [--python P]    dnas and ipykernel side by side

The input history (history_request) is kept in memory; set DNAS_KERNEL_HISTORY
to a file to keep it across kernel runs (one session per run).`

func runKernel(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, kernelUsage)
		return errors.New("missing CONNECTION_FILE or subcommand")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stderr, kernelUsage)
		return flag.ErrHelp
	case "install":
		return kernelInstall(args[1:])
	case "bench":
		return kernelBench(args[1:])
	}
	if len(args) > 1 {
		return fmt.Errorf("unexpected arguments after the connection file: %q", args[1:])
	}
	return serveKernel(args[0])
}

// serveKernel runs the kernel on the sockets of the connection file until a
// front end shuts it down (or SIGTERM). SIGINT interrupts the running cell.
func serveKernel(connFile string) error {
	ci, err := kernel.ReadConnectionFile(connFile)
	if err != nil {
		return err
	}
	k, err := newDnasKernel(ci, log.New(os.Stderr, "dnas kernel: ", log.LstdFlags))
	if err != nil {
		return err
	}
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	defer signal.Stop(sigint)
	go func() {
		for range sigint {
			k.Interrupt()
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := k.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// newDnasKernel binds the kernel's sockets and starts the Go session behind
// it in the background (the kernel answers kernel_info at once; the first
// cell waits for the session). It installs the notebook progress display as
// progress.Default. $DNAS_KERNEL_HISTORY, if set, names the history file.
func newDnasKernel(ci kernel.ConnectionInfo, logger *log.Logger) (*kernel.Kernel, error) {
	ri := &replInterpreter{ready: make(chan struct{})}
	k, err := kernel.New(ci, ri, &kernel.Options{Log: logger, HistoryFile: os.Getenv("DNAS_KERNEL_HISTORY")})
	if err != nil {
		return nil, err
	}
	ri.start(k.Output())
	progress.SetDefault(progressview.New(k.Output()))
	return k, nil
}

// replInterpreter is the kernel.Interpreter of a repl.Session.
type replInterpreter struct {
	ready chan struct{} // closed once sess/err are set
	sess  *repl.Session
	err   error
}

// start creates the session in the background, wired to the kernel's output.
func (ri *replInterpreter) start(out kernel.Output) {
	go func() {
		defer close(ri.ready)
		ri.sess, ri.err = repl.New(repl.Options{
			Stdout: out.Stdout(),
			Stderr: out.Stderr(),
			Display: func(d display.Data) {
				if v, ok := d.Data[ClearOutputMIME]; ok {
					wait, _ := v.(map[string]any)["wait"].(bool)
					out.ClearOutput(wait)
					return
				}
				out.Display(toBundle(d))
			},
			DisplayUpdate: func(d display.Data) {
				if err := out.UpdateDisplay(toBundle(d)); err != nil {
					out.Display(toBundle(d))
				}
			},
			Stdin: out.Input,
		})
		if ri.err != nil {
			ri.err = fmt.Errorf("starting the Go session: %w", ri.err)
		}
	}()
}

// ClearOutputMIME marks a display bundle that asks the notebook to clear
// the cell's output instead of showing something:
//
//	display.Display(display.Any("application/vnd.jupyter.clear-output", map[string]any{"wait": true}))
//
// clears the output when the next output arrives (wait) or at once.
const ClearOutputMIME = "application/vnd.jupyter.clear-output"

// session waits for the session to be ready.
func (ri *replInterpreter) session(ctx context.Context) (*repl.Session, error) {
	select {
	case <-ri.ready:
		return ri.sess, ri.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readySession returns the session if it is ready, nil otherwise.
func (ri *replInterpreter) readySession() *repl.Session {
	select {
	case <-ri.ready:
		return ri.sess
	default:
		return nil
	}
}

func toBundle(d display.Data) kernel.Bundle {
	return kernel.Bundle{Data: d.Data, Metadata: d.Metadata, ID: d.ID}
}

func (ri *replInterpreter) KernelInfo() kernel.Info {
	return kernel.Info{
		Implementation:        "dnas",
		ImplementationVersion: "0.1.0",
		Banner: "Go (dnas): a Go session (yaegi) with the DiffNAS library compiled in.\n" +
			"Packages dnas, tensor, nn, diffusion, plots and display are imported; `ctx` is the cell's context\n" +
			"(pass it to long calls so Interrupt stops them). Type a name followed by ? for its documentation.",
		Language: kernel.Language{
			Name:              "go",
			Version:           strings.TrimPrefix(runtime.Version(), "go"),
			MIMEType:          "text/x-go",
			FileExtension:     ".go",
			PygmentsLexer:     "go",
			CodeMirrorMode:    "go",
			NBConvertExporter: "script",
		},
		HelpLinks: []kernel.HelpLink{
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
			{Text: "yaegi (the Go interpreter)", URL: "https://github.com/traefik/yaegi"},
		},
	}
}

// helpPattern matches a help request: "?name", "name?" or "name??", where
// name is an identifier or a selector such as dnas.NewTrainer.
var helpPattern = regexp.MustCompile(`^\s*(?:\?\s*([\pL_][\pL\pN_]*(?:\.[\pL_][\pL\pN_]*)*)|([\pL_][\pL\pN_]*(?:\.[\pL_][\pL\pN_]*)*)\s*\?\??)\s*$`)

func (ri *replInterpreter) Execute(ctx context.Context, req kernel.ExecuteRequest, out kernel.Output) (kernel.ExecuteResult, error) {
	s, err := ri.session(ctx)
	if err != nil {
		return kernel.ExecuteResult{}, &kernel.ExecError{Name: "startup", Value: err.Error(), Traceback: []string{red(err.Error())}}
	}
	if m := helpPattern.FindStringSubmatch(req.Code); m != nil {
		name := m[1] + m[2]
		text, found := s.Inspect(name, len(name))
		if !found {
			msg := "no documentation found for " + name
			return kernel.ExecuteResult{}, &kernel.ExecError{Name: "help", Value: msg, Traceback: []string{red(msg)}}
		}
		return kernel.ExecuteResult{Page: &kernel.Bundle{Data: map[string]any{"text/plain": text}}}, nil
	}
	res, err := s.Eval(ctx, req.Code)
	if err != nil {
		return kernel.ExecuteResult{}, toExecError(err)
	}
	if !res.HasValue {
		return kernel.ExecuteResult{}, nil
	}
	if res.Bundle != nil {
		b := toBundle(*res.Bundle)
		b.ID = "" // an execute_result cannot be updated in place
		if _, ok := b.Data["text/plain"]; !ok {
			b.Data["text/plain"] = res.Text
		}
		return kernel.ExecuteResult{Value: &b}, nil
	}
	return kernel.ExecuteResult{Value: &kernel.Bundle{Data: map[string]any{"text/plain": res.Text}}}, nil
}

// toExecError gives a session error the form the notebook shows: a red
// headline followed by the stack, innermost frame first.
func toExecError(err error) *kernel.ExecError {
	var ee *repl.EvalError
	if !errors.As(err, &ee) {
		return &kernel.ExecError{Name: "error", Value: err.Error(), Traceback: []string{red(err.Error())}}
	}
	name := ee.Kind
	if name == "" {
		name = "error"
	}
	tb := []string{red(ee.Error())}
	for _, fr := range ee.Trace {
		tb = append(tb, "    "+fr)
	}
	return &kernel.ExecError{Name: name, Value: ee.Msg, Traceback: tb}
}

// red wraps s in the ANSI colour notebooks show tracebacks in.
func red(s string) string { return "\x1b[0;31m" + s + "\x1b[0m" }

func (ri *replInterpreter) Complete(code string, cursor int) kernel.Completion {
	s, err := ri.session(context.Background())
	if err != nil {
		return kernel.Completion{Start: cursor, End: cursor}
	}
	matches, start, end := s.Complete(code, cursor)
	return kernel.Completion{Matches: matches, Start: start, End: end}
}

func (ri *replInterpreter) Inspect(code string, cursor, detail int) kernel.Inspection {
	s, err := ri.session(context.Background())
	if err != nil {
		return kernel.Inspection{}
	}
	text, found := s.Inspect(code, cursor)
	if !found {
		return kernel.Inspection{}
	}
	return kernel.Inspection{Found: true, Data: map[string]any{"text/plain": text}}
}

func (ri *replInterpreter) IsComplete(code string) (string, string) {
	s, err := ri.session(context.Background())
	if err != nil {
		return "unknown", ""
	}
	return s.IsComplete(code)
}

func (ri *replInterpreter) Interrupt() {
	if s := ri.readySession(); s != nil {
		s.Interrupt()
	}
}

func (ri *replInterpreter) Shutdown(restart bool) {
	if s := ri.readySession(); s != nil {
		s.Close()
	}
}

// kernelInstall writes the kernelspec: kernel.json and the logos.
func kernelInstall(args []string) error {
	fs := flag.NewFlagSet("kernel install", flag.ContinueOnError)
	user := fs.Bool("user", false, "install for the current user, in Jupyter's user data dir (the default)")
	prefix := fs.String("prefix", "", "install under `P`/share/jupyter/kernels/dnas (a virtualenv, or a test dir put on JUPYTER_PATH)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *user && *prefix != "" {
		return errors.New("--user and --prefix exclude each other: choose one")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program's path for kernel.json: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		fmt.Fprintf(os.Stderr, "dnas kernel install: warning: %s is a temporary `go run` binary that will be deleted;\n"+
			"build dnas (make build) and run bin/dnas kernel install instead\n", exe)
	}
	dir, err := kernel.KernelSpecDir("dnas", *prefix)
	if err != nil {
		return err
	}
	spec := kernel.KernelSpec{
		Argv:          []string{exe, "kernel", "{connection_file}"},
		DisplayName:   "Go (dnas)",
		Language:      "go",
		InterruptMode: "message",
	}
	files := map[string][]byte{}
	for _, size := range []int{32, 64} {
		b, err := logoPNG(size)
		if err != nil {
			return err
		}
		files[fmt.Sprintf("logo-%dx%d.png", size, size)] = b
	}
	if err := kernel.InstallKernelSpec(dir, spec, files); err != nil {
		return err
	}
	fmt.Printf("installed the kernelspec \"Go (dnas)\" in %s\n", dir)
	return nil
}

// logoPNG draws the kernel's logo at size x size pixels: a Go-blue rounded
// square holding a ring that emerges from noise, left to right, as a
// diffusion model denoises. Each pixel averages 4x4 samples (anti-aliasing).
func logoPNG(size int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					cr, cg, cb, ca := logoColor(x, y)
					r, g, b, a = r+cr*ca, g+cg*ca, b+cb*ca, a+ca
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(255 * r / a), G: uint8(255 * g / a), B: uint8(255 * b / a), A: uint8(255 * a / (ss * ss)),
			})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding the logo: %w", err)
	}
	return buf.Bytes(), nil
}

// logoColor is the logo at (x, y) in [0,1]^2: colour and coverage.
func logoColor(x, y float64) (r, g, b, a float64) {
	// Rounded square, corner radius 0.2.
	const rad = 0.2
	dx := math.Max(math.Abs(x-0.5)-(0.5-rad), 0)
	dy := math.Max(math.Abs(y-0.5)-(0.5-rad), 0)
	if dx*dx+dy*dy > rad*rad {
		return 0, 0, 0, 0
	}
	r, g, b = 0x00/255.0, 0xad/255.0, 0xd8/255.0 // Go blue
	// A ring of radius 0.27 and width 0.09; its pixels are white where a
	// hash "noise" exceeds a threshold that falls from left to right, so the
	// ring is scattered dots on the left and solid on the right.
	d := math.Abs(math.Hypot(x-0.5, y-0.5) - 0.27)
	noise := hash01(int(x*16), int(y*16))
	clean := math.Min(math.Max((x-0.2)/0.5, 0), 1)
	onRing := d < 0.05
	speck := noise > 0.8+0.3*clean // the noise fades as the image gets clean
	if (onRing && noise < 0.3+clean) || speck {
		r, g, b = 1, 1, 1
	}
	return r, g, b, 1
}

// hash01 is a deterministic pseudo-random number in [0,1) for a grid cell.
func hash01(i, j int) float64 {
	h := uint32(i)*73856093 ^ uint32(j)*19349663
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return float64(h%10007) / 10007
}

// kernelBench measures dnas and ipykernel side by side.
func kernelBench(args []string) error {
	fs := flag.NewFlagSet("kernel bench", flag.ContinueOnError)
	n := fs.Int("n", 200, "timed round trips of `1+1` per kernel")
	python := fs.String("python", "/usr/bin/python3", "Python with ipykernel; empty skips ipykernel")
	lines := fs.Int("lines", 100000, "lines printed by the streaming cell (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, map[string]int{"n": 1}); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	kernels := []bench.Kernel{{
		Name: "dnas", Argv: []string{exe, "kernel", "{connection_file}"}, Expr: "1+1",
		Lines: fmt.Sprintf("for i := 0; i < %d; i++ { fmt.Println(i) }", *lines), LinesN: *lines,
	}}
	if *python != "" {
		kernels = append(kernels, bench.Kernel{
			Name: "ipykernel", Argv: []string{*python, "-m", "ipykernel_launcher", "-f", "{connection_file}"}, Expr: "1+1",
			Lines: fmt.Sprintf("for i in range(%d): print(i)", *lines), LinesN: *lines,
		})
	}
	if *lines == 0 {
		for i := range kernels {
			kernels[i].Lines = ""
		}
	}
	var results []bench.Result
	for _, k := range kernels {
		r, err := bench.Measure(k, *n)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	fmt.Print(bench.Report(results))
	fmt.Printf("targets: dnas ready <= 300ms, rtt median <= 2ms (ipykernel 6.17 measured here: 1.03s, 4.9ms)\n")
	return nil
}
