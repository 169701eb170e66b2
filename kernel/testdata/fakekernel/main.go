// Command fakekernel serves the toy interpreter of kernel/internal/fake as a
// Jupyter kernel, to check the wire protocol against real front ends
// (jupyter_client) without the Go session:
//
//	go run ./kernel/testdata/fakekernel CONNECTION_FILE
package main

import (
	"context"
	"fmt"
	"os"

	"dnas/kernel"
	"dnas/kernel/internal/fake"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fakekernel CONNECTION_FILE")
		os.Exit(2)
	}
	ci, err := kernel.ReadConnectionFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k, err := kernel.New(ci, &fake.Interp{}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := k.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
