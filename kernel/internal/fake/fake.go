// Package fake is a toy interpreter for testing the kernel's wire protocol
// without a real language: one command per line (see Interp).
package fake

import (
	"dnas/kernel"

	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Interp is a one-command-per-line toy language for testing the wire
// protocol without a real interpreter:
//
//	print TEXT      stdout line        eprint TEXT   stderr line
//	lines N         N numbered lines   value TEXT    the cell's value
//	sleep MS        wait, honouring interrupts
//	spin MS         busy-wait, ignoring the context
//	error TEXT      fail               panic TEXT    panic
//	display MIME X  display_data       update ID X   update_display_data
//	show ID X       display with id    clear         clear_output
//	input PROMPT    ask and print the answer
//	page TEXT       pager payload
type Interp struct {
	Interrupts atomic.Int32 // calls of Interrupt
	Shutdowns  atomic.Int32 // calls of Shutdown
}

func (f *Interp) KernelInfo() kernel.Info {
	return kernel.Info{
		Implementation: "fake", ImplementationVersion: "1.0", Banner: "fake kernel",
		Language: kernel.Language{Name: "fake", Version: "1", MIMEType: "text/plain", FileExtension: ".fake"},
	}
}

func (f *Interp) Execute(ctx context.Context, req kernel.ExecuteRequest, out kernel.Output) (kernel.ExecuteResult, error) {
	var res kernel.ExecuteResult
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "":
		case "print":
			fmt.Fprintln(out.Stdout(), arg)
		case "eprint":
			fmt.Fprintln(out.Stderr(), arg)
		case "lines":
			n, _ := strconv.Atoi(arg)
			w := out.Stdout()
			for i := 0; i < n; i++ {
				fmt.Fprintf(w, "line %d\n", i)
			}
		case "value":
			res.Value = &kernel.Bundle{Data: map[string]any{"text/plain": arg}}
		case "sleep", "spin":
			ms, _ := strconv.Atoi(arg)
			end := time.Now().Add(time.Duration(ms) * time.Millisecond)
			if cmd == "spin" {
				for time.Now().Before(end) {
				}
				continue
			}
			select {
			case <-time.After(time.Until(end)):
			case <-ctx.Done():
				return res, &kernel.ExecError{Name: "interrupted", Value: "sleep interrupted", Traceback: []string{"interrupted"}}
			}
		case "error":
			return res, fmt.Errorf("%s", arg)
		case "panic":
			panic(arg)
		case "display":
			mime, x, _ := strings.Cut(arg, " ")
			out.Display(kernel.Bundle{Data: map[string]any{mime: x, "text/plain": x}})
		case "show":
			id, x, _ := strings.Cut(arg, " ")
			out.Display(kernel.Bundle{Data: map[string]any{"text/plain": x}, ID: id})
		case "update":
			id, x, _ := strings.Cut(arg, " ")
			if err := out.UpdateDisplay(kernel.Bundle{Data: map[string]any{"text/plain": x}, ID: id}); err != nil {
				return res, err
			}
		case "clear":
			out.ClearOutput(false)
		case "input":
			s, err := out.Input(arg, false)
			if err != nil {
				return res, err
			}
			fmt.Fprintln(out.Stdout(), "got "+s)
		case "page":
			res.Page = &kernel.Bundle{Data: map[string]any{"text/plain": arg}}
		default:
			return res, &kernel.ExecError{Name: "unknown", Value: "unknown command " + cmd, Traceback: []string{"unknown command " + cmd}}
		}
	}
	return res, nil
}

var fakeWords = []string{"print", "eprint", "lines", "value", "sleep", "spin", "error", "panic", "display", "update", "show", "clear", "input", "page"}

func (f *Interp) Complete(code string, cursor int) kernel.Completion {
	start := strings.LastIndexAny(code[:cursor], " \n") + 1
	prefix := code[start:cursor]
	var m []string
	for _, w := range fakeWords {
		if strings.HasPrefix(w, prefix) {
			m = append(m, w)
		}
	}
	return kernel.Completion{Matches: m, Start: start, End: cursor}
}

func (f *Interp) Inspect(code string, cursor, detail int) kernel.Inspection {
	for _, w := range fakeWords {
		if strings.Contains(code, w) {
			return kernel.Inspection{Found: true, Data: map[string]any{"text/plain": w + " is a command"}}
		}
	}
	return kernel.Inspection{}
}

func (f *Interp) IsComplete(code string) (string, string) {
	switch {
	case strings.HasSuffix(code, "\\"):
		return "incomplete", "  "
	case strings.HasPrefix(code, "bogus"):
		return "invalid", ""
	}
	return "complete", ""
}

func (f *Interp) Interrupt()    { f.Interrupts.Add(1) }
func (f *Interp) Shutdown(bool) { f.Shutdowns.Add(1) }
