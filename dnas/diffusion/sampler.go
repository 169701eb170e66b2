package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"dnas/dnas/progress"
	"dnas/dnas/tensor"
)

// Sampler turns pure noise into images by running a Denoiser backwards
// through the diffusion process. DDPM and DDIM implement it.
type Sampler interface {
	// Timesteps lists the timesteps visited, from the noisiest down.
	Timesteps() []int
	// Step moves x from timestep Timesteps()[i] to the next one (or to a
	// clean image after the last), given the network's noise estimate eps.
	// rngs[j] is item j's generator for any fresh noise.
	Step(i int, x, eps *tensor.Tensor, rngs []*rand.Rand)
	// Name describes the sampler, e.g. "DDIM 50 steps, eta 0".
	Name() string
}

// DDPM is the ancestral sampler of Ho et al.: all T steps, each drawing
// x_{t-1} ~ N(mu(x_t, eps), sigma_t^2) with the posterior variance
// sigma_t^2 = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t).
type DDPM struct {
	Schedule *NoiseSchedule
	// ClipX0 clips the implied clean image to [-1, 1] at every step (the
	// usual choice for images; set by NewDDPM).
	ClipX0 bool
}

// String is Name with the schedule: "DDPM 1000 steps over linear noise
// schedule, T=1000".
func (d *DDPM) String() string { return d.Name() + " over " + d.Schedule.String() }

// NewDDPM returns the ancestral sampler over s with x0 clipping.
func NewDDPM(s *NoiseSchedule) *DDPM { return &DDPM{Schedule: s, ClipX0: true} }

// Name says "DDPM 1000 steps".
func (d *DDPM) Name() string { return fmt.Sprintf("DDPM %d steps", d.Schedule.T) }

// Timesteps is T-1, T-2, ..., 0.
func (d *DDPM) Timesteps() []int {
	ts := make([]int, d.Schedule.T)
	for i := range ts {
		ts[i] = d.Schedule.T - 1 - i
	}
	return ts
}

// Step computes x_{t-1} from x_t in place:
//
//	x0^ = (x_t - sqrt(1-aBar_t) eps) / sqrt(aBar_t)            (clipped)
//	mu  = sqrt(aBar_{t-1}) beta_t/(1-aBar_t) x0^ + sqrt(alpha_t)(1-aBar_{t-1})/(1-aBar_t) x_t
//	x_{t-1} = mu + sigma_t z   (no noise at t = 0)
func (d *DDPM) Step(i int, x, eps *tensor.Tensor, rngs []*rand.Rand) {
	s := d.Schedule
	t := s.T - 1 - i
	ab, abPrev := s.AlphaBar[t], s.alphaBarPrev(t)
	c0 := math.Sqrt(abPrev) * s.Betas[t] / (1 - ab)
	ct := math.Sqrt(s.Alphas[t]) * (1 - abPrev) / (1 - ab)
	sigma := 0.0
	if t > 0 {
		sigma = math.Sqrt(s.Betas[t] * (1 - abPrev) / (1 - ab))
	}
	sa, sb := math.Sqrt(ab), math.Sqrt(1-ab)
	per := x.Numel() / x.Shape[0]
	for j := 0; j < x.Shape[0]; j++ {
		xs, es := x.Data[j*per:(j+1)*per], eps.Data[j*per:(j+1)*per]
		for k := range xs {
			xt := float64(xs[k])
			x0 := (xt - sb*float64(es[k])) / sa
			if d.ClipX0 {
				x0 = min(max(x0, -1), 1)
			}
			v := c0*x0 + ct*xt
			if sigma > 0 {
				v += sigma * rngs[j].NormFloat64()
			}
			xs[k] = float32(v)
		}
	}
}

// DDIM is the sampler of Song et al. ("Denoising Diffusion Implicit
// Models"): it visits Steps timesteps evenly spaced over 0..T-1 (T-1 and 0
// included) and at each one
//
//	x0^    = (x_t - sqrt(1-aBar_t) eps) / sqrt(aBar_t)
//	sigma  = Eta * sqrt((1-aBar_prev)/(1-aBar_t)) * sqrt(1 - aBar_t/aBar_prev)
//	x_prev = sqrt(aBar_prev) x0^ + sqrt(1-aBar_prev-sigma^2) eps + sigma z
//
// Eta = 0 is deterministic given the starting noise; Eta = 1 with Steps = T
// is DDPM.
type DDIM struct {
	Schedule *NoiseSchedule
	Steps    int
	Eta      float64
	ClipX0   bool // clip x0^ to [-1,1] (eps is then recomputed from the clipped x0^)

	ts []int
}

// String is Name with the schedule.
func (d *DDIM) String() string { return d.Name() + " over " + d.Schedule.String() }

// NewDDIM returns a DDIM sampler over s with the given number of steps
// (clamped to 1..T) and eta, with x0 clipping.
func NewDDIM(s *NoiseSchedule, steps int, eta float64) *DDIM {
	return &DDIM{Schedule: s, Steps: steps, Eta: eta, ClipX0: true}
}

// Name says e.g. "DDIM 50 steps, eta 0".
func (d *DDIM) Name() string { return fmt.Sprintf("DDIM %d steps, eta %g", len(d.Timesteps()), d.Eta) }

// Timesteps returns the visited timesteps, evenly spaced from T-1 down to 0.
func (d *DDIM) Timesteps() []int {
	n := min(max(d.Steps, 1), d.Schedule.T)
	if len(d.ts) == n {
		return d.ts
	}
	T := d.Schedule.T
	d.ts = make([]int, n)
	for i := range d.ts {
		if n == 1 {
			d.ts[i] = T - 1
			continue
		}
		d.ts[i] = int(math.Round(float64(T-1) * float64(n-1-i) / float64(n-1)))
	}
	return d.ts
}

// Step moves x from Timesteps()[i] to the next visited timestep in place.
func (d *DDIM) Step(i int, x, eps *tensor.Tensor, rngs []*rand.Rand) {
	ts := d.Timesteps()
	s := d.Schedule
	t := ts[i]
	ab := s.AlphaBar[t]
	abPrev := 1.0
	if i+1 < len(ts) {
		abPrev = s.AlphaBar[ts[i+1]]
	}
	sigma := d.Eta * math.Sqrt((1-abPrev)/(1-ab)) * math.Sqrt(1-ab/abPrev)
	dirCoef := math.Sqrt(max(1-abPrev-sigma*sigma, 0))
	sa, sb := math.Sqrt(ab), math.Sqrt(1-ab)
	sap := math.Sqrt(abPrev)
	per := x.Numel() / x.Shape[0]
	for j := 0; j < x.Shape[0]; j++ {
		xs, es := x.Data[j*per:(j+1)*per], eps.Data[j*per:(j+1)*per]
		for k := range xs {
			xt, e := float64(xs[k]), float64(es[k])
			x0 := (xt - sb*e) / sa
			if d.ClipX0 && (x0 < -1 || x0 > 1) {
				x0 = min(max(x0, -1), 1)
				e = (xt - sa*x0) / sb
			}
			v := sap*x0 + dirCoef*e
			if sigma > 0 {
				v += sigma * rngs[j].NormFloat64()
			}
			xs[k] = float32(v)
		}
	}
}

// SampleOptions says how many images to generate and how.
type SampleOptions struct {
	N         int    // number of images
	Channels  int    // image channels (0 => 1)
	Size      int    // image height = width (0 => 28)
	Seed      uint64 // image i's noise comes from a PCG seeded (Seed, i)
	BatchSize int    // images per network call (0 => 250)
	Reporter  progress.Reporter
	Task      string // progress label (default: the sampler's name)
}

// Sample generates opts.N images with d and sampler s and returns them as one
// [N,C,H,W] tensor in (roughly) [-1, 1]. Image i depends only on Seed and i,
// not on the batch size, so a run is reproducible and can be split. ctx is
// checked before every network call: on cancellation Sample returns the
// context's error (wrapped) and no images.
func Sample(ctx context.Context, d Denoiser, s Sampler, opts SampleOptions) (*tensor.Tensor, error) {
	if opts.N < 1 {
		return nil, fmt.Errorf("diffusion.Sample: asked for %d images; want at least 1", opts.N)
	}
	c, size, bs := opts.Channels, opts.Size, opts.BatchSize
	if c == 0 {
		c = 1
	}
	if size == 0 {
		size = 28
	}
	if bs <= 0 {
		bs = 250
	}
	bs = min(bs, opts.N)
	per := c * size * size
	out := tensor.New(opts.N, c, size, size)
	ts := s.Timesteps()
	batches := (opts.N + bs - 1) / bs
	task := opts.Task
	if task == "" {
		task = s.Name()
	}
	tr := progress.NewTracker(task, batches*len(ts), opts.Reporter)
	step := 0
	tf := make([]float32, 0, bs)
	for b0 := 0; b0 < opts.N; b0 += bs {
		n := min(bs, opts.N-b0)
		x := tensor.FromData(out.Data[b0*per:(b0+n)*per], n, c, size, size)
		rngs := make([]*rand.Rand, n)
		for j := range rngs {
			rngs[j] = rand.New(rand.NewPCG(opts.Seed, uint64(b0+j)))
			FillNormal(x.Data[j*per:(j+1)*per], rngs[j])
		}
		tf = tf[:n]
		for i, t := range ts {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("diffusion.Sample: stopped after %d of %d images: %w", b0, opts.N, err)
			}
			for j := range tf {
				tf[j] = float32(t)
			}
			eps := d.PredictNoise(x, tf)
			if !tensor.SameShape(eps.Shape, x.Shape) {
				return nil, fmt.Errorf("diffusion.Sample: the denoiser returned shape %v for input %v", eps.Shape, x.Shape)
			}
			s.Step(i, x, eps, rngs)
			step++
			// The speed counts finished images, not denoising passes.
			done := 0
			if i == len(ts)-1 {
				done = n
			}
			tr.Step(step, done, 0)
		}
	}
	tr.Done(step, 0)
	return out, nil
}
