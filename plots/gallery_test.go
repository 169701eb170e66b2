package plots

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// fakeBlock builds a synthetic candidate table shaped like a real block:
// nconv convs choosing kernels 1, 3 or 5; MACs grow with k^2 and the loss
// falls with it, plus noise.
func fakeBlock(name string, nconv int, seed uint64) BlockSearch {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := 1
	for range nconv {
		n *= 3
	}
	s := BlockSearch{Block: name, Baseline: -1, Chosen: -1, LossScale: 1}
	for i := range n {
		ks := make([]int, nconv)
		v := i
		var macs int64 = 200_000
		loss := 0.004
		for j := range ks {
			ks[j] = []int{1, 3, 5}[v%3]
			v /= 3
			macs += int64(ks[j]*ks[j]) * 115_000
			loss += 0.01 / float64(ks[j]*ks[j]) * (1 + 0.5*float64(j%2))
		}
		loss *= math.Exp(rng.NormFloat64() * 0.4)
		s.Candidates = append(s.Candidates, Candidate{Kernels: ks, Loss: loss, MACs: macs, Params: macs / 100})
		all3 := true
		for _, k := range ks {
			all3 = all3 && k == 3
		}
		if all3 {
			s.Baseline = i
		}
	}
	thr := s.Candidates[s.Baseline].Loss * s.LossScale
	for i, c := range s.Candidates {
		if c.Loss <= thr && (s.Chosen < 0 || c.MACs < s.Candidates[s.Chosen].MACs) {
			s.Chosen = i
		}
	}
	return s
}

// TestGallery writes every chart to $PLOTS_GALLERY (skipped when unset) so
// a person can look at them.
func TestGallery(t *testing.T) {
	dir := os.Getenv("PLOTS_GALLERY")
	if dir == "" {
		t.Skip("set PLOTS_GALLERY=/some/dir to write example charts")
	}
	for name, mk := range galleryCharts() {
		c, err := mk()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, ext := range []string{".png", ".svg"} {
			if err := c.Save(filepath.Join(dir, name+ext)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

func galleryCharts() map[string]func() (*Chart, error) {
	return map[string]func() (*Chart, error){
		"tradeoff": func() (*Chart, error) { return BlockTradeoff(fakeBlock("enc1", 4, 1)) },
		"loss_scale": func() (*Chart, error) {
			return LossScaleChart(LossScaleSweep{LossScale: []float64{1, 1.004, 1.05, 1.13, 1.25}, Reduction: []float64{0.023, 0.07, 0.168, 0.301, 0.44},
				Max: 1.35, Levels: []Level{{"headline target", 0.3}, {"global search", 0.44}}, Marks: []float64{1, 1.13}})
		},
		"tradeoff_grid": func() (*Chart, error) {
			var bs []BlockSearch
			for i, name := range []string{"enc0", "enc1", "enc2", "mid", "dec0", "dec1", "dec2"} {
				nc := 4
				if name[:3] == "dec" {
					nc = 6
				}
				bs = append(bs, fakeBlock(name, nc, uint64(i)))
			}
			return TradeoffGrid(0, bs...)
		},
		"models": func() (*Chart, error) {
			return ModelComparison([]ModelPoint{
				{Name: "teacher", MACs: 61_200_000, FID: 3.1, Params: 2_100_000},
				{Name: "searched subnet", MACs: 38_500_000, FID: 3.4, Params: 1_500_000},
				{Name: "teacher arch. retrained", MACs: 61_200_000, FID: 3.5, Params: 2_100_000},
				{Name: "global search subnet", MACs: 41_000_000, FID: 4.2, Params: 1_600_000},
				{Name: "random subnet", MACs: 39_000_000, FID: 5.9, Params: 1_400_000},
			})
		},
		"curves": func() (*Chart, error) {
			return Curves(CurveOptions{Title: "Supernet training", YLabel: "distillation loss (MSE)", Smooth: 0.95},
				fakeLoss("enc0", 3000, 0.2, 1), fakeLoss("enc1", 3000, 0.1, 2), fakeLoss("mid", 3000, 0.05, 3))
		},
		"quality": func() (*Chart, error) {
			return QualityCurveChart(QualityCurve{Steps: []float64{500, 1000, 1500, 2000, 4000, 10000},
				FID: []float64{1162, 371, 158, 90, 40, 21}, Confident: []float64{0.05, 0.34, 0.52, 0.7, 0.86, 0.93},
				Target: 0.9, Note: "500 samples, DDIM 20 steps"})
		},
		"quality_fid_only": func() (*Chart, error) {
			return QualityCurveChart(QualityCurve{Steps: []float64{600, 1200, 1800}, FID: []float64{365, 169, 108}})
		},
		"curves_raw": func() (*Chart, error) {
			return TrainingCurves("Teacher training", "noise loss (MSE)", fakeLoss("train", 500, 0.5, 4), fakeLoss("held-out", 500, 0.6, 5))
		},
		"beta": func() (*Chart, error) {
			half := func(step, total int) float64 { return min(1, float64(step)/(0.5*float64(total))) }
			return BetaSchedules(1000,
				Schedule{"linear ramp (first half)", half},
				Schedule{"cosine ramp", func(s, t int) float64 { return 0.5 - 0.5*math.Cos(math.Pi*min(1, float64(s)/(0.5*float64(t)))) }},
				Schedule{"hard switch @ 50%", func(s, t int) float64 {
					if s >= t/2 {
						return 1
					}
					return 0
				}},
				Schedule{"constant 0.5", func(s, t int) float64 { return 0.5 }},
				Schedule{"noise only", func(s, t int) float64 { return 1 }},
				Schedule{"distill only", func(s, t int) float64 { return 0 }},
			)
		},
		"dynamics": func() (*Chart, error) {
			var blocks []Series
			for i, name := range []string{"enc0", "enc1", "enc2", "mid", "dec0", "dec1", "dec2", "head"} {
				blocks = append(blocks, fakeLoss(name, 2000, 0.05*float64(i+1), uint64(i+10)))
			}
			beta := Series{Name: "beta", X: []float64{}}
			for s := range 2000 {
				beta.X = append(beta.X, float64(s*10))
				beta.Y = append(beta.Y, min(1, float64(s)/1000))
			}
			return DistillDynamics(Dynamics{Blocks: blocks, Noise: fakeLoss("", 2000, 0.3, 99), Beta: beta, Smooth: 0.9})
		},
		"samples": func() (*Chart, error) {
			return SampleChart("DDIM samples, 50 steps (searched subnet)", fakeDigits(36), 28, 28, 6)
		},
		"ablation": func() (*Chart, error) { return AblationChart(fakeAblation()) },
		"ablation_bars": func() (*Chart, error) {
			a := fakeAblation()
			for i := range a.Runs {
				a.Runs[i].Curve = Series{}
			}
			a.Runs[2].FID = math.NaN()
			return AblationChart(a)
		},
	}
}

func fakeLoss(name string, n int, scale float64, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 3))
	s := Series{Name: name}
	for i := range n {
		v := scale * (0.05 + math.Exp(-float64(i)/float64(n)*5)) * math.Exp(rng.NormFloat64()*0.3)
		s.X = append(s.X, float64(i*10))
		s.Y = append(s.Y, v)
	}
	return s
}

func fakeDigits(n int) [][]float32 {
	var out [][]float32
	for k := range n {
		im := make([]float32, 28*28)
		for y := range 28 {
			for x := range 28 {
				dx, dy := float64(x-14), float64(y-14)
				r := math.Sqrt(dx*dx + dy*dy)
				v := math.Exp(-math.Pow(r-6-float64(k%4), 2)/4)*2 - 1
				im[y*28+x] = float32(v)
			}
		}
		out = append(out, im)
	}
	return out
}

func fakeAblation() Ablation {
	a := Ablation{Smooth: 0.9}
	for i, name := range []string{"linear ramp", "cosine ramp", "hard switch @50%", "constant 0.5", "noise only"} {
		a.Runs = append(a.Runs, AblationRun{Schedule: name, FID: 3 + 0.4*float64(i), NoiseLoss: 0.031 + 0.002*float64(i%3), Curve: fakeLoss("", 800, 0.04+0.005*float64(i), uint64(i))})
	}
	return a
}
