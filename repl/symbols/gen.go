//go:build ignore

// gen.go regenerates the symbol tables of this directory:
// `go generate ./repl/...` runs it.
package main

import (
	"fmt"
	"os"

	"dnas/repl/internal/symgen"
)

func main() {
	if err := symgen.Write(".", "symbols"); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
