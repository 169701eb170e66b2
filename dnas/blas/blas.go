// Package blas routes the engine's matrix products to a BLAS: OpenBLAS
// loaded at run time when the system has it, gonum's pure-Go BLAS otherwise.
// (Provisional: gonum only until the run-time loader lands.)
package blas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var impl gonum.Implementation

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major
// matrices: op(A) is m x k, op(B) is k x n, C is m x n; transA/transB
// transpose A/B; lda, ldb, ldc are row strides.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Name says which BLAS is in use.
func Name() string { return "gonum" }
