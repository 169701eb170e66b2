package eval

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"dnas/dnas/tensor"
)

func gaussianSamples(n, d int, mean, std float64, seed uint64) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 0))
	t := tensor.New(n, d)
	for i := range t.Data {
		t.Data[i] = float32(mean + std*r.NormFloat64())
	}
	return t
}

func TestFrechetDistanceClosedForm(t *testing.T) {
	// Two 1-D Gaussians: d^2 = (m1-m2)^2 + (s1-s2)^2.
	a := &Gaussian{Mean: []float64{1}, Cov: symOf(1, []float64{4})}
	b := &Gaussian{Mean: []float64{3}, Cov: symOf(1, []float64{9})}
	got, err := FrechetDistance(a, b)
	if err != nil || math.Abs(got-(4+1)) > 1e-9 {
		t.Fatalf("1-D FID %g (%v), want 5", got, err)
	}
	// Commuting 2-D covariances diag(1,4) vs diag(4,1): tr = 5+5-2*(2+2) = 2.
	a = &Gaussian{Mean: []float64{0, 0}, Cov: symOf(2, []float64{1, 0, 0, 4})}
	b = &Gaussian{Mean: []float64{0, 0}, Cov: symOf(2, []float64{4, 0, 0, 1})}
	if got, _ := FrechetDistance(a, b); math.Abs(got-2) > 1e-9 {
		t.Fatalf("2-D FID %g, want 2", got)
	}
}

func TestFIDSanity(t *testing.T) {
	x := gaussianSamples(3000, 16, 0, 1, 1)
	y := gaussianSamples(3000, 16, 0, 1, 2)
	same, err := FID(x, x)
	if err != nil || same > 1e-6 {
		t.Fatalf("FID of a set with itself %g (%v), want ~0", same, err)
	}
	near, _ := FID(x, y)
	if near > 0.5 {
		t.Fatalf("FID of two draws of one Gaussian %g, want small", near)
	}
	far, _ := FID(x, gaussianSamples(3000, 16, 2, 1, 3))
	if math.Abs(far-64) > 3 {
		t.Fatalf("FID with mean shifted by 2 in 16 dims %g, want ~64", far)
	}
}

func TestGridPNG(t *testing.T) {
	x := tensor.New(5, 1, 4, 4)
	x.Data[0] = 1
	x.Data[1] = -1
	g, err := NewGrid(x, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 3*(8+2)+2 || r.Dy() != 2*(8+2)+2 {
		t.Fatalf("grid size %v", r)
	}
	if got := g.Img.GrayAt(2, 2).Y; got != 255 {
		t.Fatalf("pixel value 1 should be white, got %d", got)
	}
	if got := g.Img.GrayAt(4, 2).Y; got != 0 {
		t.Fatalf("pixel value -1 should be black, got %d", got)
	}
	if got, want := g.String(), "image grid: 5 images of 4x4, 2 rows of 3, 32x22 px"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got, want := (&Grid{Img: g.Img}).String(), "image grid, 32x22 px"; got != want {
		t.Fatalf("String() of a grid from an image = %q, want %q", got, want)
	}
}

func symOf(n int, v []float64) *mat.SymDense { return mat.NewSymDense(n, v) }
