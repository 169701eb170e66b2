// Package diffusion holds the DDPM machinery that does not depend on the
// network: the noise schedule, the forward (noising) process, the
// noise-prediction loss and the two samplers (DDPM ancestral and DDIM).
//
// Notation (Ho et al. 2020, "Denoising Diffusion Probabilistic Models"):
// timesteps t = 0..T-1; beta_t is the variance of the noise added at step t;
// alpha_t = 1 - beta_t; alphaBar_t = alpha_0 * ... * alpha_t. The forward
// process jumps straight from a clean image x0 to step t:
//
//	x_t = sqrt(alphaBar_t) * x0 + sqrt(1 - alphaBar_t) * eps,   eps ~ N(0, I)
//
// and the network eps_theta(x_t, t) is trained to predict eps (mean squared
// error). Everything here is float64 in the schedule and float32 in tensors.
//
// The schedule's betas are the diffusion process's noise variances; they have
// nothing to do with the loss weight beta of DiffNAS's joint loss
// (dnas.JointLossSchedule). That is why this type is NoiseSchedule.
package diffusion

import (
	"fmt"
	"math"
)

// NoiseKind names the shape of a noise schedule.
type NoiseKind string

// The two noise schedules.
const (
	// LinearNoise: beta_t rises linearly from 1e-4 to 0.02 (DDPM, T=1000).
	LinearNoise NoiseKind = "linear"
	// CosineNoise: alphaBar_t = f(t)/f(0), f(t) = cos^2(((t/T)+s)/(1+s) * pi/2),
	// s = 0.008, betas clipped to 0.999 (Nichol & Dhariwal 2021).
	CosineNoise NoiseKind = "cosine"
)

// DefaultSteps is the number of diffusion steps T of METHOD.md.
const DefaultSteps = 1000

// NoiseSchedule is the variance schedule of the forward diffusion process,
// with the derived quantities the samplers and the loss need, indexed by the
// timestep t in 0..T-1.
type NoiseSchedule struct {
	Kind NoiseKind `json:"kind"`
	T    int       `json:"t"`

	Betas    []float64 `json:"-"` // beta_t: noise variance added at step t
	Alphas   []float64 `json:"-"` // alpha_t = 1 - beta_t
	AlphaBar []float64 `json:"-"` // alphaBar_t = prod_{s<=t} alpha_s
}

// NewNoiseSchedule builds a schedule of the given kind over T steps.
func NewNoiseSchedule(kind NoiseKind, T int) (*NoiseSchedule, error) {
	if T < 2 {
		return nil, fmt.Errorf("diffusion: a noise schedule needs T >= 2 steps, got %d", T)
	}
	betas := make([]float64, T)
	switch kind {
	case LinearNoise:
		const lo, hi = 1e-4, 0.02
		for t := range betas {
			betas[t] = lo + (hi-lo)*float64(t)/float64(T-1)
		}
	case CosineNoise:
		const s = 0.008
		f := func(t float64) float64 {
			c := math.Cos((t/float64(T) + s) / (1 + s) * math.Pi / 2)
			return c * c
		}
		for t := range betas {
			betas[t] = min(1-f(float64(t+1))/f(float64(t)), 0.999)
		}
	default:
		return nil, fmt.Errorf("diffusion: unknown noise schedule %q (use %q or %q)", kind, LinearNoise, CosineNoise)
	}
	s := &NoiseSchedule{Kind: kind, T: T, Betas: betas, Alphas: make([]float64, T), AlphaBar: make([]float64, T)}
	prod := 1.0
	for t, b := range betas {
		s.Alphas[t] = 1 - b
		prod *= 1 - b
		s.AlphaBar[t] = prod
	}
	return s, nil
}

// DefaultNoiseSchedule is the linear schedule over T=1000 steps of METHOD.md.
func DefaultNoiseSchedule() *NoiseSchedule {
	s, err := NewNoiseSchedule(LinearNoise, DefaultSteps)
	if err != nil {
		panic(err)
	}
	return s
}

// String describes the schedule, e.g. "linear noise schedule, T=1000".
func (s *NoiseSchedule) String() string {
	return fmt.Sprintf("%s noise schedule, T=%d", s.Kind, s.T)
}

// alphaBarPrev is alphaBar_{t-1}, with alphaBar_{-1} = 1 (a clean image).
func (s *NoiseSchedule) alphaBarPrev(t int) float64 {
	if t <= 0 {
		return 1
	}
	return s.AlphaBar[t-1]
}

// SNR returns the signal-to-noise ratio alphaBar_t / (1 - alphaBar_t).
func (s *NoiseSchedule) SNR(t int) float64 { return s.AlphaBar[t] / (1 - s.AlphaBar[t]) }
