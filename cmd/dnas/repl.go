package main

import (
	"flag"

	"dnas/repl/term"
)

func init() {
	register("repl", "interactive Go session with the dnas library (interpreted by yaegi)", runRepl)
}

// runRepl is `dnas repl`: line editing, history and completion on a
// terminal; plain evaluation of piped input otherwise.
func runRepl(args []string) error {
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
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
