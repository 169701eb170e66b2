package dnas

import (
	"context"
	"fmt"
	"math"

	"dnas/dnas/diffusion"
	"dnas/dnas/mnist"
)

// LossGap compares a model's noise-prediction loss on MNIST test images
// with its loss on as many training images, both noised with the same
// draw of timesteps and noise: a model that overfits has Train well below
// Test; one that is held back by its size (or its training) has the two
// equal, and training it longer on the same data cannot lower them much.
type LossGap struct {
	Images int     // images of each split (the first ones)
	Test   float64 // mean noise loss on the test images (the held-out loss)
	Train  float64 // on the training images
	// StdErr is the standard error of Test - Train, from its spread over
	// the paired batches (of 250 images, or of Images/10 below 2,500).
	StdErr float64
}

// Gap is Test - Train: positive when the model fits its training images
// better than unseen ones.
func (g LossGap) Gap() float64 { return g.Test - g.Train }

// String says e.g. "noise loss on 4000 images: test 0.02019, train 0.02030,
// test - train -0.00011 (-0.5%) +- 0.00008: no overfitting".
func (g LossGap) String() string {
	d := g.Gap()
	verdict := "no overfitting: the two are level within twice the standard error"
	switch {
	case d > 2*g.StdErr:
		verdict = "overfitting: the test loss is above the training loss"
	case d < -2*g.StdErr:
		verdict = "the training images are the harder ones here (no overfitting)"
	}
	return fmt.Sprintf("noise loss on %d images: test %.5f, train %.5f, test - train %+.5f (%+.1f%%) +- %.5f: %s",
		g.Images, g.Test, g.Train, d, 100*d/g.Train, g.StdErr, verdict)
}

// LossGap measures t's noise loss on the first n MNIST test and the first n
// training images (0 => 4000), each split with the held-out loss's draw
// (seed 1234), so the two pair up batch for batch and a gap is the images',
// not the noise's. The batches hold 250 images (as the held-out loss's), or
// n/10 below 2,500 images, so that the standard error rests on ten pairs at
// least. n is 500 to 10,000 (the test set's size). Cancelling ctx stops it
// between batches.
func (t *Teacher) LossGap(ctx context.Context, n int) (LossGap, error) {
	if n == 0 {
		n = 4000
	}
	test, err := mnist.LoadTest()
	if err != nil {
		return LossGap{}, err
	}
	if n < 500 || n > test.N {
		return LossGap{}, fmt.Errorf("dnas: LossGap on %d images: want 500 to %d (the test set has %d images)", n, test.N, test.N)
	}
	train, err := mnist.LoadTrain()
	if err != nil {
		return LossGap{}, err
	}
	xt, _ := test.First(n)
	xr, _ := train.First(n)
	bs := min(250, n/10)
	lt, err := diffusion.BatchLosses(ctx, t, t.Schedule, xt, 1234, bs)
	if err != nil {
		return LossGap{}, err
	}
	lr, err := diffusion.BatchLosses(ctx, t, t.Schedule, xr, 1234, bs)
	if err != nil {
		return LossGap{}, err
	}
	g := LossGap{Images: n}
	var sumD, sumD2, w float64
	for i := range lt {
		k := float64(min(bs, n-i*bs))
		g.Test += lt[i] * k
		g.Train += lr[i] * k
		d := lt[i] - lr[i]
		sumD += d * k
		sumD2 += d * d * k
		w += k
	}
	g.Test /= w
	g.Train /= w
	// The spread of the batch differences (weighted by batch size) over
	// the number of batches.
	m := sumD / w
	variance := max(sumD2/w-m*m, 0) * float64(len(lt)) / float64(len(lt)-1)
	g.StdErr = math.Sqrt(variance / float64(len(lt)))
	return g, nil
}
