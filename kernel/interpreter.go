package kernel

import (
	"context"
	"fmt"
	"io"
)

// Interpreter is what a language implements to become a Jupyter kernel. The
// kernel calls Execute, Complete, Inspect and IsComplete from one goroutine
// (the shell channel is served in order), and Interrupt and Shutdown from
// another (the control channel), possibly while Execute runs.
//
// Cursor positions are byte offsets into code; the kernel converts them from
// and to the Unicode code points of the protocol.
type Interpreter interface {
	// KernelInfo describes the language for kernel_info_reply.
	KernelInfo() Info
	// Execute runs one cell. Output printed, displayed or requested while it
	// runs goes through out, which stays valid after Execute returns (late
	// output from goroutines is shown under the most recent cell). ctx is
	// cancelled when the front end interrupts the kernel. The returned error,
	// if any, becomes the cell's error; use *ExecError to choose its name and
	// traceback.
	Execute(ctx context.Context, req ExecuteRequest, out Output) (ExecuteResult, error)
	// Complete proposes completions for the code at cursor.
	Complete(code string, cursor int) Completion
	// Inspect returns documentation for the name at cursor; detail is 0 or 1
	// (1 asks for more, e.g. source).
	Inspect(code string, cursor, detail int) Inspection
	// IsComplete says whether code is ready to run ("complete"), needs more
	// lines ("incomplete", with the indent for the next line), cannot be
	// completed ("invalid") or is not known ("unknown").
	IsComplete(code string) (status, indent string)
	// Interrupt stops the running cell, if any: Execute should return soon
	// with an error. It must not kill the process.
	Interrupt()
	// Shutdown releases the interpreter's resources; restart says whether
	// the front end will start a new kernel right away.
	Shutdown(restart bool)
}

// Info is the language description sent in kernel_info_reply.
type Info struct {
	Implementation        string   // e.g. "dnas"
	ImplementationVersion string   // e.g. "0.1.0"
	Banner                string   // shown by consoles at start
	Language              Language // language_info
	HelpLinks             []HelpLink
}

// Language is language_info of kernel_info_reply.
type Language struct {
	Name              string `json:"name"`           // e.g. "go"
	Version           string `json:"version"`        // e.g. "go1.26.0"
	MIMEType          string `json:"mimetype"`       // e.g. "text/x-go"
	FileExtension     string `json:"file_extension"` // e.g. ".go"
	PygmentsLexer     string `json:"pygments_lexer,omitempty"`
	CodeMirrorMode    string `json:"codemirror_mode,omitempty"`
	NBConvertExporter string `json:"nbconvert_exporter,omitempty"`
}

// HelpLink is an entry of the front end's Help menu.
type HelpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// ExecuteRequest is what the interpreter needs to know about a cell.
type ExecuteRequest struct {
	Code         string
	Silent       bool // no output should be broadcast; not counted
	StoreHistory bool
	AllowStdin   bool // out.Input works only when true
	// Count is the execution count the cell will be shown with (In [Count]).
	Count int
}

// ExecuteResult is what a successful cell produced besides its output.
type ExecuteResult struct {
	// Value is the cell's value shown as Out[Count] (execute_result); nil
	// when the cell has no value.
	Value *Bundle
	// Page, if non-nil, is shown in the front end's pager (an execute_reply
	// payload with source "page"); help requests like "fmt.Println?" use it.
	Page *Bundle
}

// ExecError is an error raised by a cell, as the front end shows it.
type ExecError struct {
	Name      string   // ename, e.g. "compile error", "panic", "interrupted"
	Value     string   // evalue, the one-line message
	Traceback []string // lines shown to the user (ANSI colours allowed)
}

// Error implements error.
func (e *ExecError) Error() string { return e.Name + ": " + e.Value }

// Bundle is a MIME bundle: one value in several representations, keyed by
// MIME type ("text/plain", "text/html", "image/png"...). Values may be
// strings, []byte (binary types such as image/png are base64-encoded by the
// kernel, text types sent as text) or any JSON value (application/json).
type Bundle struct {
	Data     map[string]any
	Metadata map[string]any
	// ID is the display id: a later UpdateDisplay with the same ID replaces
	// this output in place. Empty for a plain display.
	ID string
}

// Completion is the answer to a complete_request.
type Completion struct {
	Matches     []string
	Start, End  int // byte range of code the matches replace
	Metadata    map[string]any
	StatusError error // non-nil makes the reply status "error"
}

// Inspection is the answer to an inspect_request.
type Inspection struct {
	Found bool
	Data  map[string]any // usually {"text/plain": ...}
}

// Output is how a running cell talks to the front end. Writes to Stdout and
// Stderr are buffered and sent in batches; everything else flushes them
// first, so output keeps its order.
type Output interface {
	// Stdout and Stderr are the cell's standard streams.
	Stdout() io.Writer
	Stderr() io.Writer
	// Display shows b as a new output (display_data). If b.ID is set,
	// UpdateDisplay can replace it later.
	Display(b Bundle)
	// UpdateDisplay replaces the output displayed earlier with b.ID
	// (update_display_data), wherever it is in the notebook.
	UpdateDisplay(b Bundle) error
	// ClearOutput clears the cell's output; with wait, only when the next
	// output arrives (no flicker for animations).
	ClearOutput(wait bool)
	// Input asks the front end for one line of input (input_request on the
	// stdin channel) and waits for it; it fails if the front end does not
	// allow input or the cell is interrupted.
	Input(prompt string, password bool) (string, error)
}

// errNoStdin is returned by Output.Input when the request did not allow stdin.
var errNoStdin = fmt.Errorf("input is not available: the front end did not allow stdin for this request")
