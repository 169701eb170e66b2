package main

import (
	"errors"
	"flag"

	"dnas/repl/term"
)

func init() {
	register("exec", "run a Go file (script or package main) through the REPL session", runExec)
}

// runExec is `dnas exec FILE.go...`: each file is evaluated in one session,
// in order; a file with package main and func main has main called. The first
// failing file ends the run with an error.
func runExec(args []string) error {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	out := fs.String("out", term.DefaultOutDir(), "directory for pictures and pages that results produce")
	fs.Usage = func() {
		fs.Output().Write([]byte(`usage: dnas exec [--out DIR] FILE.go...

Evaluates Go files in one dnas session, in order, as if typed into dnas repl
(the same imports and predeclared ctx); a file with package main and func main
has main called. The first failing file ends the run with an error.

example: dnas exec train.go report.go

flags:
`))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no file to run: give the Go file to evaluate, as in dnas exec train.go")
	}
	f, err := term.New(term.Options{OutDir: *out})
	if err != nil {
		return err
	}
	defer f.Close()
	for _, path := range fs.Args() {
		if err := f.RunFile(path); err != nil {
			return err
		}
	}
	return nil
}
