//go:build !unix

package repl

import "io"

// capture does nothing where file descriptors cannot be redirected: compiled
// code's output goes straight to the process's stdout and stderr.
type capture struct{}

func newCapture(stdout, stderr io.Writer) *capture { return nil }
func (c *capture) begin()                          {}
func (c *capture) end()                            {}
func (c *capture) write(fd int, p []byte) bool     { return false }
func (c *capture) sync()                           {}
func (c *capture) close() error                    { return nil }
