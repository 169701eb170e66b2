// Command dnas is the one binary of the project: the benchmark, the teacher,
// the DiffNAS pipeline, the REPL and the Jupyter kernel are its subcommands.
// Each subcommand lives in its own file and registers itself in init.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of dnas.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands = map[string]*command{}

// register adds a subcommand; called from the init of the file that owns it.
func register(name, summary string, run func(args []string) error) {
	if _, dup := commands[name]; dup {
		panic("dnas: subcommand registered twice: " + name)
	}
	commands[name] = &command{name: name, summary: summary, run: run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "dnas: DiffNAS (distillation-based block-wise NAS for diffusion models) in Go")
	fmt.Fprintln(os.Stderr, "\nusage: dnas <command> [flags]   (dnas <command> --help for its flags)")
	fmt.Fprintln(os.Stderr, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "dnas: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "dnas %s: %v\n", cmd.name, err)
		os.Exit(1)
	}
}

// interruptContext is cancelled by Ctrl-C (SIGINT) or SIGTERM (a job
// scheduler, a session ending, kill), so a long command stops within one
// step and keeps what it trained instead of dying between checkpoints.
func interruptContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
