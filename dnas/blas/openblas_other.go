//go:build !(linux || darwin || freebsd)

package blas

import (
	"errors"
	"runtime"
)

// openOpenBLAS always fails on systems where purego cannot dlopen.
func openOpenBLAS(paths []string) (backend, error) {
	return nil, errors.New("cannot load OpenBLAS: run-time loading is not supported on " + runtime.GOOS + "; use DNAS_BLAS=gonum")
}

// Config returns "" here: OpenBLAS is never loaded on this system.
func Config() string { return "" }
