package main

import (
	"dnas/repl/term"
)

func init() {
	register("repl", "interactive Go session with the dnas library (interpreted by yaegi)", runRepl)
}

// runRepl is `dnas repl`: line editing, history and completion on a
// terminal; plain evaluation of piped input otherwise.
func runRepl(args []string) error {
	fs := newFlagSet("repl", `
Starts an interactive Go session with the dnas library (dnas, plots, display
and the standard library are imported; the code is interpreted by yaegi, the
heavy work runs compiled). On a terminal it has line editing, history,
completion (Tab) and help on the symbol under the cursor; pictures and pages
that results produce are written to --out. Ctrl-C stops a running cell and
keeps the session's state (a training keeps what it trained); :help lists the
commands. Piped input is evaluated line by line.`,
		"dnas repl",
		"echo 'dnas.LookupTeacherPreset(\"small\")' | dnas repl")
	history := fs.String("history", term.DefaultHistoryFile(), "file keeping the input history (\"\" disables it; env DNAS_HISTORY)")
	out := fs.String("out", term.DefaultOutDir(), "directory for pictures and pages that results produce")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := term.New(term.Options{HistoryFile: *history, OutDir: *out})
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Run()
}
