package dnas

import (
	"context"
	"fmt"
	"math"
	"strings"

	"dnas/dnas/diffusion"
	"dnas/dnas/eval"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

// SamplerSpec chooses a sampler: Kind "ddim" (default) with Steps steps
// (0 => 50) and Eta (0 = deterministic), or "ddpm" (all T ancestral steps).
// Batch is how many images go through the network at once (0 => 100): a
// memory/speed trade-off that does not change the images (image i depends
// only on the seed and i).
type SamplerSpec struct {
	Kind  string  `json:"kind"`
	Steps int     `json:"steps,omitempty"`
	Eta   float64 `json:"eta,omitempty"`
	Batch int     `json:"batch,omitempty"`
}

// DDIMSpec is the DDIM sampler with the given steps and eta.
func DDIMSpec(steps int, eta float64) SamplerSpec {
	return SamplerSpec{Kind: "ddim", Steps: steps, Eta: eta}
}

// DDPMSpec is the ancestral DDPM sampler (T steps).
func DDPMSpec() SamplerSpec { return SamplerSpec{Kind: "ddpm"} }

// Sampler builds the sampler over schedule s.
func (sp SamplerSpec) Sampler(s *diffusion.NoiseSchedule) (diffusion.Sampler, error) {
	if sp.Steps < 0 {
		return nil, fmt.Errorf("dnas: DDIM steps %d: want at least 1 (0 for the default 50)", sp.Steps)
	}
	switch strings.ToLower(sp.Kind) {
	case "", "ddim":
		steps := sp.Steps
		if steps <= 0 {
			steps = 50
		}
		if !(sp.Eta >= 0) || math.IsInf(sp.Eta, 1) {
			return nil, fmt.Errorf("dnas: DDIM eta %v: want a number >= 0 (0 deterministic, 1 DDPM-like)", sp.Eta)
		}
		return diffusion.NewDDIM(s, steps, sp.Eta), nil
	case "ddpm":
		return diffusion.NewDDPM(s), nil
	}
	return nil, fmt.Errorf("dnas: unknown sampler %q (use \"ddim\" or \"ddpm\")", sp.Kind)
}

// NetDenoiser adapts a UNet to diffusion.Denoiser: it runs the net in
// evaluation mode (dropout off).
func NetDenoiser(net *unet.UNet) diffusion.Denoiser {
	return diffusion.DenoiserFunc(func(x *tensor.Tensor, t []float32) *tensor.Tensor {
		net.SetTraining(false)
		return net.Forward(x, t)
	})
}

// SampleImages generates n images [n,1,28,28] in [-1,1] from any
// noise-prediction model d with the noise schedule s it was trained with.
// Image i depends only on seed and i. Progress goes to progress.Default().
func SampleImages(ctx context.Context, d diffusion.Denoiser, s *diffusion.NoiseSchedule, n int, seed uint64, spec SamplerSpec) (x *tensor.Tensor, err error) {
	defer catchDiffusionPanic(&err)
	sm, err := spec.Sampler(s)
	if err != nil {
		return nil, err
	}
	batch := spec.Batch
	if batch < 0 {
		return nil, fmt.Errorf("dnas: sampling batch %d must be >= 1 (0 for the default 100)", batch)
	}
	if batch == 0 {
		batch = 100
	}
	return diffusion.Sample(ctx, d, sm, diffusion.SampleOptions{N: n, Seed: seed, BatchSize: batch,
		Reporter: progress.Default(), Task: "sampling " + sm.Name()})
}

// Sample generates n images from the teacher with DDIM over the preset's
// default number of steps (eta 0).
func (t *Teacher) Sample(ctx context.Context, n int, seed uint64) (*tensor.Tensor, error) {
	return SampleImages(ctx, t, t.Schedule, n, seed, DDIMSpec(t.Preset.SampleSteps, 0))
}

// SampleWith generates n images from the teacher with the given sampler.
func (t *Teacher) SampleWith(ctx context.Context, n int, seed uint64, spec SamplerSpec) (*tensor.Tensor, error) {
	return SampleImages(ctx, t, t.Schedule, n, seed, spec)
}

// SampleGrid lays out images [N,1,28,28] as a picture, cols per row
// (0 => square), magnified 2x. Its PNG method makes the REPL and notebooks
// show it; Save writes a .png file.
func SampleGrid(x *tensor.Tensor, cols int) (*eval.Grid, error) {
	return eval.NewGrid(x, cols, 2)
}

// catchDiffusionPanic turns a panic carrying an error (e.g. a layer's
// *nn.ShapeError) into *err, so public calls return errors instead of
// crashing a REPL session.
func catchDiffusionPanic(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok {
		*err = e
		return
	}
	*err = fmt.Errorf("dnas: internal error: %v", r)
}
