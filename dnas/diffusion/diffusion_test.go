package diffusion

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"dnas/dnas/progress"
	"dnas/dnas/tensor"
)

func TestLinearScheduleValues(t *testing.T) {
	s := DefaultNoiseSchedule()
	if s.T != 1000 || math.Abs(s.Betas[0]-1e-4) > 1e-12 || math.Abs(s.Betas[999]-0.02) > 1e-12 {
		t.Fatalf("linear betas: T=%d first %g last %g", s.T, s.Betas[0], s.Betas[999])
	}
	// Reference value: prod(1 - linspace(1e-4, 0.02, 1000)) = 4.036e-5.
	if got := s.AlphaBar[999]; math.Abs(got-4.036e-5) > 0.01e-5 {
		t.Fatalf("alphaBar[999] = %g, want 4.036e-5", got)
	}
}

func TestCosineSchedule(t *testing.T) {
	s, err := NewNoiseSchedule(CosineNoise, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < s.T; i++ {
		if !(s.AlphaBar[i] < s.AlphaBar[i-1]) || s.Betas[i] > 0.999 {
			t.Fatalf("cosine schedule not decreasing or beta too large at %d", i)
		}
	}
	// alphaBar at the midpoint: cos^2((0.5+s)/(1+s) pi/2)/cos^2(s/(1+s) pi/2) ~ 0.4936.
	if got := s.AlphaBar[499]; math.Abs(got-0.4936) > 0.003 {
		t.Fatalf("cosine alphaBar[499] = %g, want ~0.494", got)
	}
	if _, err := NewNoiseSchedule("quadratic", 10); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestForwardNoisingStatistics(t *testing.T) {
	s := DefaultNoiseSchedule()
	rng := rand.New(rand.NewPCG(1, 2))
	x0 := tensor.New(2000, 1, 4, 4)
	x0.Fill(0.5)
	b := s.Noisy(x0, rng, true, nil)
	for i := 0; i < len(b.T); i += 2 {
		if b.T[i]+b.T[i+1] != s.T-1 {
			t.Fatalf("antithetic pair %d,%d", b.T[i], b.T[i+1])
		}
	}
	// Fixed t: mean sqrt(aBar)*0.5, variance 1-aBar.
	tt := make([]int, 2000)
	for i := range tt {
		tt[i] = 300
	}
	xt := s.AddNoise(x0, b.Noise, tt, nil)
	var m, v float64
	for _, x := range xt.Data {
		m += float64(x)
	}
	m /= float64(len(xt.Data))
	for _, x := range xt.Data {
		v += (float64(x) - m) * (float64(x) - m)
	}
	v /= float64(len(xt.Data))
	if wm, wv := 0.5*math.Sqrt(s.AlphaBar[300]), 1-s.AlphaBar[300]; math.Abs(m-wm) > 0.02 || math.Abs(v-wv) > 0.03 {
		t.Fatalf("x_300 mean %g var %g, want %g %g", m, v, wm, wv)
	}
}

func TestNoiseLossGradient(t *testing.T) {
	p := tensor.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	n := tensor.FromData([]float32{0, 2, 5, 4}, 1, 1, 2, 2)
	d := tensor.New(1, 1, 2, 2)
	if l := NoiseLoss(p, n, d); math.Abs(l-5.0/4) > 1e-9 {
		t.Fatalf("loss %g want 1.25", l)
	}
	if d.Data[0] != 0.5 || d.Data[2] != -1 {
		t.Fatalf("grad %v", d.Data)
	}
}

// oracle returns the exact noise predictor for data that is always the
// image c: eps = (x_t - sqrt(aBar_t) c) / sqrt(1 - aBar_t).
func oracle(s *NoiseSchedule, c float32) Denoiser {
	var out *tensor.Tensor
	return DenoiserFunc(func(x *tensor.Tensor, t []float32) *tensor.Tensor {
		out = tensor.Ensure(out, x.Shape...)
		per := x.Numel() / x.Shape[0]
		for i, tf := range t {
			ab := s.AlphaBar[int(tf)]
			for k := i * per; k < (i+1)*per; k++ {
				out.Data[k] = float32((float64(x.Data[k]) - math.Sqrt(ab)*float64(c)) / math.Sqrt(1-ab))
			}
		}
		return out
	})
}

func TestSamplersRecoverTheDataPoint(t *testing.T) {
	for _, kind := range []NoiseKind{LinearNoise, CosineNoise} {
		s, _ := NewNoiseSchedule(kind, 1000)
		d := oracle(s, 0.3)
		for _, sm := range []Sampler{NewDDPM(s), NewDDIM(s, 20, 0), NewDDIM(s, 7, 1)} {
			x, err := Sample(context.Background(), d, sm, SampleOptions{N: 5, Size: 6, Seed: 3, BatchSize: 2, Reporter: progress.Discard})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range x.Data {
				if math.Abs(float64(v)-0.3) > 1e-3 {
					t.Fatalf("%s %s: sample value %g, want 0.3", kind, sm.Name(), v)
				}
			}
		}
	}
}

func TestSampleReproducibleAndIndependentOfBatchSize(t *testing.T) {
	s := DefaultNoiseSchedule()
	// A denoiser that is not exact, so noise matters: predict a scaled input.
	d := DenoiserFunc(func(x *tensor.Tensor, _ []float32) *tensor.Tensor {
		y := x.Clone()
		for i := range y.Data {
			y.Data[i] *= 0.5
		}
		return y
	})
	opts := SampleOptions{N: 6, Size: 4, Seed: 11, BatchSize: 4, Reporter: progress.Discard}
	a, _ := Sample(context.Background(), d, NewDDIM(s, 10, 1), opts)
	opts.BatchSize = 5
	b, _ := Sample(context.Background(), d, NewDDIM(s, 10, 1), opts)
	opts.Seed = 12
	c, _ := Sample(context.Background(), d, NewDDIM(s, 10, 1), opts)
	same := true
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("element %d differs between batch sizes: %g vs %g", i, a.Data[i], b.Data[i])
		}
		same = same && a.Data[i] == c.Data[i]
	}
	if same {
		t.Fatal("different seeds gave identical samples")
	}
}

func TestSampleStopsOnCancel(t *testing.T) {
	s := DefaultNoiseSchedule()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	d := DenoiserFunc(func(x *tensor.Tensor, _ []float32) *tensor.Tensor {
		calls++
		if calls == 3 {
			cancel()
		}
		return x.Clone()
	})
	_, err := Sample(ctx, d, NewDDPM(s), SampleOptions{N: 2, Size: 2, Reporter: progress.Discard})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Fatalf("want context.Canceled after 3 calls, got %v after %d", err, calls)
	}
}

func TestDDIMTimesteps(t *testing.T) {
	s := DefaultNoiseSchedule()
	ts := NewDDIM(s, 50, 0).Timesteps()
	if len(ts) != 50 || ts[0] != 999 || ts[49] != 0 {
		t.Fatalf("DDIM 50 timesteps %v", ts)
	}
	for i := 1; i < len(ts); i++ {
		if ts[i] >= ts[i-1] {
			t.Fatalf("not strictly decreasing: %v", ts)
		}
	}
	if n := len(NewDDIM(s, 5000, 0).Timesteps()); n != 1000 {
		t.Fatalf("steps > T should clamp to T, got %d", n)
	}
}

func TestHeldOutLossOracleIsZero(t *testing.T) {
	s := DefaultNoiseSchedule()
	x0 := tensor.New(10, 1, 3, 3)
	x0.Fill(0.3)
	l, err := HeldOutLoss(context.Background(), oracle(s, 0.3), s, x0, 1, 4)
	if err != nil || l > 1e-6 {
		t.Fatalf("oracle held-out loss %g (%v), want 0", l, err)
	}
	zero := DenoiserFunc(func(x *tensor.Tensor, _ []float32) *tensor.Tensor { return tensor.New(x.Shape...) })
	if l, _ := HeldOutLoss(context.Background(), zero, s, x0, 1, 4); math.Abs(l-1) > 0.3 {
		t.Fatalf("predicting zero noise should cost ~1 (the noise variance), got %g", l)
	}
}

func TestSamplerStrings(t *testing.T) {
	s, err := NewNoiseSchedule(CosineNoise, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := NewDDIM(s, 20, 0.5).String(), "DDIM 20 steps, eta 0.5 over cosine noise schedule, T=100"; got != want {
		t.Errorf("DDIM: %q, want %q", got, want)
	}
	if got, want := NewDDPM(s).String(), "DDPM 100 steps over cosine noise schedule, T=100"; got != want {
		t.Errorf("DDPM: %q, want %q", got, want)
	}
}
