// Package blas routes the engine's matrix products to a BLAS: OpenBLAS loaded
// at run time (no cgo: the library is opened with purego) when the system has
// it, gonum's pure-Go BLAS otherwise.
//
// Conventions: matrices are row-major float32. An m x n matrix A with row
// stride lda stores A[i][j] at a[i*lda+j]; lda >= n.
//
// Choosing the backend. The environment variable DNAS_BLAS is read once, when
// the package is initialised:
//
//	unset, "" or "auto"  OpenBLAS if libopenblas.so.0 (or .so, .dylib) can be
//	                     opened, gonum otherwise (silently: gonum is a fine
//	                     fallback, only slower).
//	"openblas"           OpenBLAS; if it cannot be opened, a warning naming
//	                     every path tried goes to stderr, gonum is used, and
//	                     Err reports the failure.
//	"gonum"              gonum's pure-Go BLAS.
//	"/path/to/lib.so"    that library (any shared object exporting the
//	                     Fortran sgemm_, e.g. another OpenBLAS build); if it
//	                     cannot be opened, as for "openblas".
//
// Threads. The engine runs independent products in parallel goroutines (a
// convolution splits its batch over tensor.Workers goroutines), which uses
// the cores better than OpenBLAS's own threads on the engine's medium-sized
// products. So when OpenBLAS is loaded its thread count is set to 1, unless
// the user set OPENBLAS_NUM_THREADS; SetThreads changes it at run time.
//
// A library cannot refuse to initialise, so an explicit request that fails
// falls back to gonum with a warning rather than killing the process (the
// REPL and the Jupyter kernel import this package). Programs that must not
// run on the fallback call Use with the same spec, which returns the error,
// or check Err; `dnas bench --blas openblas` does so.
package blas

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// backend is one BLAS implementation.
type backend interface {
	sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	name() string
	threads() int
	setThreads(n int)
}

var (
	mu      sync.Mutex // guards changes of cur (Use); Sgemm reads cur without locking
	cur     backend    = gonumBackend{}
	initErr error
)

func init() {
	spec := os.Getenv("DNAS_BLAS")
	initErr = Use(spec)
	if initErr != nil {
		fmt.Fprintf(os.Stderr, "dnas/blas: warning: DNAS_BLAS=%q: %v; using gonum's pure-Go BLAS instead\n", spec, initErr)
	}
}

// Use selects the backend at run time, with the same spec strings as the
// DNAS_BLAS variable ("", "auto", "openblas", "gonum" or a path to a shared
// library). It returns an error, and leaves gonum in use, when an explicitly
// requested library cannot be opened; "" and "auto" never fail. Call it
// before starting work, not while other goroutines multiply.
func Use(spec string) error {
	mu.Lock()
	defer mu.Unlock()
	switch s := strings.TrimSpace(spec); strings.ToLower(s) {
	case "", "auto":
		if ob, err := openOpenBLAS(nil); err == nil {
			useOpenBLAS(ob)
		} else {
			cur = gonumBackend{}
		}
		return nil
	case "gonum", "go":
		cur = gonumBackend{}
		return nil
	case "openblas":
		ob, err := openOpenBLAS(nil)
		if err != nil {
			cur = gonumBackend{}
			return err
		}
		useOpenBLAS(ob)
		return nil
	default:
		ob, err := openOpenBLAS([]string{s})
		if err != nil {
			cur = gonumBackend{}
			return err
		}
		useOpenBLAS(ob)
		return nil
	}
}

// useOpenBLAS makes ob current, single-threaded unless OPENBLAS_NUM_THREADS
// says otherwise (see the package doc).
func useOpenBLAS(ob backend) {
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		ob.setThreads(1)
	}
	cur = ob
}

// Err reports why the backend requested through DNAS_BLAS could not be
// loaded at start-up (nil when it was, or when nothing was requested).
func Err() error { return initErr }

// Name says which BLAS is in use, e.g.
// "openblas (/usr/lib/x86_64-linux-gnu/libopenblas.so.0, 2 threads)" or "gonum".
func Name() string { return cur.name() }

// Threads is the number of threads the BLAS uses for one product (OpenBLAS's
// own pool; for gonum, the goroutines it may split a large product over).
func Threads() int { return cur.threads() }

// SetThreads sets the number of threads OpenBLAS uses for one product
// (openblas_set_num_threads). Callers that already run several products in
// parallel goroutines set it to 1. It has no effect on gonum.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	cur.setThreads(n)
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major
// matrices: op(A) is m x k, op(B) is k x n, C is m x n. transA says A is
// stored k x m (so op(A) = A^T), transB says B is stored n x k. lda, ldb and
// ldc are the row strides of A, B and C as stored. With beta = 0, C need not
// be initialised. Sgemm panics with a message naming the argument when a
// size or stride does not fit its slice; it is safe for concurrent use.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	cur.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// scaleC sets C = beta*C (the whole product when k = 0 or alpha = 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// checkGemm validates the sizes and strides of an Sgemm call against the
// slices: a native library would otherwise read or write out of bounds.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas.Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMat("A", rowsA, colsA, a, lda)
	checkMat("B", rowsB, colsB, b, ldb)
	checkMat("C", m, n, c, ldc)
}

func checkMat(which string, rows, cols int, s []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas.Sgemm: ld%s=%d is smaller than the %d columns of %s", strings.ToLower(which), ld, cols, which))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("blas.Sgemm: %s is %d x %d with stride %d and needs %d values, but its slice has %d", which, rows, cols, ld, need, len(s)))
	}
}
