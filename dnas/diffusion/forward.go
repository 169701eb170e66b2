package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"dnas/dnas/tensor"
)

// Denoiser is a noise-prediction network: given noisy images x [N,C,H,W] and
// their timesteps t (len N, as float32 timestep indices 0..T-1) it returns
// its estimate of the noise eps that was added, with x's shape. The returned
// tensor may be a buffer the network reuses on the next call.
type Denoiser interface {
	PredictNoise(x *tensor.Tensor, t []float32) *tensor.Tensor
}

// DenoiserFunc adapts a function to the Denoiser interface.
type DenoiserFunc func(x *tensor.Tensor, t []float32) *tensor.Tensor

// PredictNoise calls f(x, t).
func (f DenoiserFunc) PredictNoise(x *tensor.Tensor, t []float32) *tensor.Tensor { return f(x, t) }

// AddNoise writes the forward-process sample
//
//	x_t = sqrt(alphaBar_t) * x0 + sqrt(1 - alphaBar_t) * noise
//
// into out (resized to x0's shape; nil allocates) for every item i of the
// batch at its own timestep t[i], and returns out.
func (s *NoiseSchedule) AddNoise(x0, noise *tensor.Tensor, t []int, out *tensor.Tensor) *tensor.Tensor {
	n := x0.Shape[0]
	if len(t) != n || !tensor.SameShape(x0.Shape, noise.Shape) {
		panic(fmt.Sprintf("diffusion.AddNoise: x0 %v, noise %v and %d timesteps do not match", x0.Shape, noise.Shape, len(t)))
	}
	out = tensor.Ensure(out, x0.Shape...)
	per := x0.Numel() / n
	for i, ti := range t {
		if ti < 0 || ti >= s.T {
			panic(fmt.Sprintf("diffusion.AddNoise: timestep %d outside 0..%d", ti, s.T-1))
		}
		a := float32(math.Sqrt(s.AlphaBar[ti]))
		b := float32(math.Sqrt(1 - s.AlphaBar[ti]))
		xs, ns, os := x0.Data[i*per:(i+1)*per], noise.Data[i*per:(i+1)*per], out.Data[i*per:(i+1)*per]
		for j := range os {
			os[j] = a*xs[j] + b*ns[j]
		}
	}
	return out
}

// NoisyBatch is one training example batch of the forward process: the
// clean images X0, the noise drawn, the timesteps and the noisy images Xt.
type NoisyBatch struct {
	X0, Noise, Xt *tensor.Tensor
	T             []int     // timestep of each item
	TF            []float32 // the same timesteps as float32, the network's input
}

// Noisy draws, for every image of x0, a timestep uniform on 0..T-1 and
// Gaussian noise from rng, and fills b (nil allocates; its buffers are
// reused) with the forward-process sample. With antithetic, items come in
// pairs (t, T-1-t), which lowers the variance of a loss estimate. b.X0 is x0
// itself (not copied).
func (s *NoiseSchedule) Noisy(x0 *tensor.Tensor, rng *rand.Rand, antithetic bool, b *NoisyBatch) *NoisyBatch {
	if b == nil {
		b = &NoisyBatch{}
	}
	n := x0.Shape[0]
	b.X0 = x0
	b.T = resize(b.T, n)
	b.TF = resize(b.TF, n)
	for i := range b.T {
		if antithetic && i%2 == 1 {
			b.T[i] = s.T - 1 - b.T[i-1]
		} else {
			b.T[i] = rng.IntN(s.T)
		}
		b.TF[i] = float32(b.T[i])
	}
	b.Noise = tensor.Ensure(b.Noise, x0.Shape...)
	FillNormal(b.Noise.Data, rng)
	b.Xt = s.AddNoise(x0, b.Noise, b.T, b.Xt)
	return b
}

func resize[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// FillNormal fills v with independent standard normal values from rng.
func FillNormal(v []float32, rng *rand.Rand) {
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
}

// NoiseLoss is the DDPM training objective, the mean squared error between
// the predicted and the true noise over all elements. If dpred is non-nil it
// receives dLoss/dpred (2*(pred-noise)/numel), resized to pred's shape.
func NoiseLoss(pred, noise *tensor.Tensor, dpred *tensor.Tensor) float64 {
	if !tensor.SameShape(pred.Shape, noise.Shape) {
		panic(fmt.Sprintf("diffusion.NoiseLoss: prediction %v and noise %v differ in shape", pred.Shape, noise.Shape))
	}
	var sum float64
	scale := 2 / float32(len(pred.Data))
	if dpred != nil {
		*dpred = *tensor.Ensure(dpred, pred.Shape...)
	}
	for i, p := range pred.Data {
		d := p - noise.Data[i]
		sum += float64(d) * float64(d)
		if dpred != nil {
			dpred.Data[i] = scale * d
		}
	}
	return sum / float64(len(pred.Data))
}

// HeldOutLoss is the noise-prediction loss of d on the clean images x0
// [N,C,H,W], each noised at a timestep and with noise drawn from a PCG seeded
// with seed (antithetic timestep pairs), evaluated in batches of batchSize
// (0 => 250). With the same x0 and seed it is the same draw for every model,
// so losses of different models compare directly.
func HeldOutLoss(ctx context.Context, d Denoiser, s *NoiseSchedule, x0 *tensor.Tensor, seed uint64, batchSize int) (float64, error) {
	if batchSize <= 0 {
		batchSize = 250
	}
	losses, err := BatchLosses(ctx, d, s, x0, seed, batchSize)
	if err != nil {
		return 0, err
	}
	n := x0.Shape[0]
	var sum float64
	for i, l := range losses {
		sum += l * float64(min(batchSize, n-i*batchSize))
	}
	return sum / float64(n), nil
}

// BatchLosses is HeldOutLoss batch by batch: the mean noise-prediction loss
// of each batch of batchSize images of x0 (the last one may be smaller). Two
// image sets of the same size and seed get the same timesteps and noise
// batch for batch, so their batch losses pair up (LossGap uses this).
func BatchLosses(ctx context.Context, d Denoiser, s *NoiseSchedule, x0 *tensor.Tensor, seed uint64, batchSize int) ([]float64, error) {
	if batchSize <= 0 {
		batchSize = 250
	}
	n := x0.Shape[0]
	per := x0.Numel() / n
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365))
	var b NoisyBatch
	var losses []float64
	for lo := 0; lo < n; lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("diffusion: noise loss on held-out images: %w", err)
		}
		hi := min(lo+batchSize, n)
		shape := append([]int{hi - lo}, x0.Shape[1:]...)
		xb := tensor.FromData(x0.Data[lo*per:hi*per], shape...)
		s.Noisy(xb, rng, true, &b)
		pred := d.PredictNoise(b.Xt, b.TF)
		losses = append(losses, NoiseLoss(pred, b.Noise, nil))
	}
	return losses, nil
}
