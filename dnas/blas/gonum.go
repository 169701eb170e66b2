package blas

import (
	"runtime"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gonumBackend is gonum's pure-Go BLAS: always available, several times
// slower than OpenBLAS on large products.
type gonumBackend struct{}

var gonumImpl gonum.Implementation

func (gonumBackend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := gblas.NoTrans, gblas.NoTrans
	if transA {
		ta = gblas.Trans
	}
	if transB {
		tb = gblas.Trans
	}
	gonumImpl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (gonumBackend) name() string { return "gonum" }

// gonum splits large products over GOMAXPROCS goroutines.
func (gonumBackend) threads() int { return runtime.GOMAXPROCS(0) }

func (gonumBackend) setThreads(int) {}
