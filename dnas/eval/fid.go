// Package eval measures generated images: the Frechet distance between the
// features of two image sets (FID), a LeNet-style MNIST classifier trained by
// this project that provides those features and a confidence score, and
// sample grids as PNG pictures.
//
// Important: the FID here is computed on the 128-dimensional penultimate
// features of our own MNIST classifier (LeNet), not on Inception-v3 features
// as in the DiffNAS paper and most of the literature. Its numbers are only
// comparable with other numbers computed by this package with the same
// classifier checkpoint.
package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"dnas/dnas/tensor"
)

// Gaussian is the Gaussian fit of a set of feature vectors: their mean and
// their covariance (unbiased, divided by N-1), in float64.
type Gaussian struct {
	N    int
	Mean []float64
	Cov  *mat.SymDense
}

// FitGaussian fits a Gaussian to the rows of features [N, D] (N >= 2).
func FitGaussian(features *tensor.Tensor) (*Gaussian, error) {
	if len(features.Shape) != 2 || features.Shape[0] < 2 {
		return nil, fmt.Errorf("eval.FitGaussian: want features [N, D] with N >= 2, got shape %v", features.Shape)
	}
	n, d := features.Shape[0], features.Shape[1]
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range features.Data[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	centred := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		row := features.Data[i*d : (i+1)*d]
		for j, v := range row {
			centred.Set(i, j, float64(v)-mean[j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	return &Gaussian{N: n, Mean: mean, Cov: cov}, nil
}

// FrechetDistance is the squared Frechet (2-Wasserstein) distance between
// two Gaussians:
//
//	d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr( (S_a S_b)^(1/2) )
//
// The trace of the matrix square root is computed without a non-symmetric
// square root: with R = S_a^(1/2) (from a symmetric eigendecomposition),
// R S_b R is symmetric positive semi-definite and has the same eigenvalues
// as S_a S_b, so tr((S_a S_b)^(1/2)) = sum_i sqrt(lambda_i(R S_b R)).
func FrechetDistance(a, b *Gaussian) (float64, error) {
	if len(a.Mean) != len(b.Mean) {
		return 0, fmt.Errorf("eval.FrechetDistance: feature dimensions differ (%d vs %d)", len(a.Mean), len(b.Mean))
	}
	d := len(a.Mean)
	var dm float64
	for i := range a.Mean {
		x := a.Mean[i] - b.Mean[i]
		dm += x * x
	}
	r, err := symSqrt(a.Cov)
	if err != nil {
		return 0, err
	}
	var rb, rbr mat.Dense
	rb.Mul(r, b.Cov)
	rbr.Mul(&rb, r)
	m := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			m.SetSym(i, j, 0.5*(rbr.At(i, j)+rbr.At(j, i)))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(m, false) {
		return 0, fmt.Errorf("eval.FrechetDistance: eigendecomposition did not converge")
	}
	var trSqrt float64
	for _, l := range eig.Values(nil) {
		trSqrt += math.Sqrt(max(l, 0))
	}
	fid := dm + mat.Trace(a.Cov) + mat.Trace(b.Cov) - 2*trSqrt
	return max(fid, 0), nil
}

// symSqrt returns the principal square root of a symmetric positive
// semi-definite matrix (negative round-off eigenvalues are set to 0).
func symSqrt(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("eval: eigendecomposition of a covariance did not converge")
	}
	vals := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for j, l := range vals {
		sl := math.Sqrt(max(l, 0))
		for i := 0; i < d; i++ {
			scaled.Set(i, j, u.At(i, j)*sl)
		}
	}
	var out mat.Dense
	out.Mul(scaled, u.T())
	return &out, nil
}

// FID is the Frechet distance between the Gaussian fits of two feature sets
// [N, D] and [M, D].
func FID(a, b *tensor.Tensor) (float64, error) {
	ga, err := FitGaussian(a)
	if err != nil {
		return 0, err
	}
	gb, err := FitGaussian(b)
	if err != nil {
		return 0, err
	}
	return FrechetDistance(ga, gb)
}
