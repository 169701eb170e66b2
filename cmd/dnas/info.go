package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"dnas/dnas"
)

func init() {
	register("info", "say what a checkpoint or run directory holds: teacher, schedule, step, stages done, how to resume (dnas info FILE|DIR...)", runInfo)
}

// runInfo is `dnas info FILE...`: dnas.DescribeFile for each file. Every
// file is described; a file that cannot be read is reported and makes the
// command fail at the end.
func runInfo(args []string) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	fs.Usage = func() {
		fs.Output().Write([]byte(`usage: dnas info FILE|DIR...

Says what each checkpoint file holds without loading it into a run: a
teacher's architecture, size, ID, learning-rate schedule (with every warm
restart) and training step, and for a training checkpoint where the run
stands and how to resume it; a stage-1 supernet block's or a stage-3
retraining's teacher and progress. For a 'dnas run' directory: its options,
the stages done (with their times), the retraining in progress and its step,
the stages left, and the commands that resume it. For a 'dnas teacher'
output directory: its checkpoints, EMA snapshots and quality curve, and the
command that measures the snapshots the curve lacks.

example: dnas info models/base.safetensors out/teacher-base out/run
`))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no file given: name the checkpoints to describe, as in dnas info models/base.safetensors")
	}
	failed := 0
	for i, path := range fs.Args() {
		if i > 0 {
			fmt.Println()
		}
		text, err := dnas.DescribeFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dnas info: %v\n", err)
			failed++
			continue
		}
		fmt.Print(text)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be described", failed, fs.NArg())
	}
	return nil
}
