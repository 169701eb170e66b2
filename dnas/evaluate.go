package dnas

import (
	"context"
	"fmt"
	"sync"
	"time"

	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/eval"
	"dnas/dnas/mnist"
	"dnas/dnas/tensor"
	"dnas/models"
)

// EvalOptions says how to evaluate a diffusion model.
type EvalOptions struct {
	Samples    int              // generated images for FID and confidence (default 2000)
	Sampler    SamplerSpec      // default DDIM 50 steps, eta 0
	Seed       uint64           // sampling seed (default 0)
	HeldOut    int              // MNIST test images for the held-out noise loss (default 1000)
	Classifier *eval.Classifier // nil => the committed LeNet (models/lenet.safetensors)
	GridSize   int              // images in the report's grid (default 64)
}

// Check reports a negative count in the options (0 takes the default);
// the sampler's kind and eta are checked when it is built
// (SamplerSpec.Sampler).
func (o EvalOptions) Check() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Samples", o.Samples}, {"HeldOut", o.HeldOut}, {"GridSize", o.GridSize}, {"Sampler.Steps", o.Sampler.Steps}, {"Sampler.Batch", o.Sampler.Batch}} {
		if f.v < 0 {
			return fmt.Errorf("dnas: EvalOptions.%s is %d: want a positive number, or 0 for the default", f.name, f.v)
		}
	}
	return nil
}

// withDefaults fills in the defaults the fields' comments give.
func (o EvalOptions) withDefaults() EvalOptions {
	if o.Samples <= 0 {
		o.Samples = 2000
	}
	if o.HeldOut <= 0 {
		o.HeldOut = 1000
	}
	if o.GridSize <= 0 {
		o.GridSize = 64
	}
	if o.Sampler.Kind == "" {
		o.Sampler = DDIMSpec(50, 0)
	}
	if o.Sampler.Kind == "ddim" && o.Sampler.Steps <= 0 {
		o.Sampler.Steps = 50
	}
	return o
}

// EvalReport holds the measures of one model. FID is computed on the
// penultimate features of this project's LeNet MNIST classifier against the
// 10,000 MNIST test images: it is NOT the Inception FID of the paper, and
// only compares with FIDs computed the same way.
type EvalReport struct {
	FID               float64 `json:"fid"`                // LeNet-feature FID vs the MNIST test set
	ConfidentFraction float64 `json:"confident_fraction"` // samples labelled with probability >= 0.9
	HeldOutLoss       float64 `json:"held_out_loss"`      // noise-prediction MSE on MNIST test images
	Samples           int     `json:"samples"`
	Sampler           string  `json:"sampler"`
	SampleSeconds     float64 `json:"sample_seconds"` // wall time to generate the samples
	ClassCounts       [10]int `json:"class_counts"`   // samples per predicted digit

	Images *tensor.Tensor `json:"-"` // the generated samples
	Grid   *eval.Grid     `json:"-"` // the first GridSize of them as a picture
	// Verdicts is the classifier's label and probability per sample (nil
	// in a report read from the evaluation cache).
	Verdicts *Verdicts `json:"-"`
}

// String summarises the report in one line.
func (r *EvalReport) String() string {
	return fmt.Sprintf("FID %.2f (LeNet features, %d samples, %s) | confident (p>=0.9) %.1f%% | held-out noise loss %.4f | sampling %.1fs",
		r.FID, r.Samples, r.Sampler, 100*r.ConfidentFraction, r.HeldOutLoss, r.SampleSeconds)
}

// PNG renders the report's sample grid, so a notebook shows the report as
// a picture.
func (r *EvalReport) PNG() ([]byte, error) {
	if r.Grid == nil {
		return nil, fmt.Errorf("dnas: this report has no sample grid")
	}
	return r.Grid.PNG()
}

var (
	classifierOnce sync.Once
	defaultClf     *eval.Classifier
	defaultClfErr  error

	testStatsMu sync.Mutex
	testStats   = map[*eval.Classifier]*eval.Gaussian{}
)

// DefaultClassifier returns the committed LeNet MNIST classifier
// (models/lenet.safetensors), loaded once per process.
func DefaultClassifier() (*eval.Classifier, error) {
	classifierOnce.Do(func() {
		data, err := models.Open("lenet.safetensors")
		if err != nil {
			defaultClfErr = err
			return
		}
		f, err := checkpoint.Decode(data)
		if err != nil {
			defaultClfErr = fmt.Errorf("dnas: models/lenet.safetensors: %w", err)
			return
		}
		defaultClf, defaultClfErr = eval.ClassifierFromCheckpoint(f)
	})
	return defaultClf, defaultClfErr
}

// MNISTTestStats returns the Gaussian fit of classifier c's features on the
// 10,000 MNIST test images (computed once per classifier and cached): the
// reference side of every FID.
func MNISTTestStats(ctx context.Context, c *eval.Classifier) (*eval.Gaussian, error) {
	testStatsMu.Lock()
	defer testStatsMu.Unlock()
	if g, ok := testStats[c]; ok {
		return g, nil
	}
	test, err := mnist.LoadTest()
	if err != nil {
		return nil, err
	}
	x, _ := test.First(test.N)
	feats, _, err := c.Embed(ctx, x)
	if err != nil {
		return nil, err
	}
	g, err := eval.FitGaussian(feats)
	if err != nil {
		return nil, err
	}
	testStats[c] = g
	return g, nil
}

// ImageScores measures generated images x [N,1,28,28] with classifier c
// (nil => DefaultClassifier): FID against the MNIST test set, the confident
// fraction and the per-digit counts.
func ImageScores(ctx context.Context, x *tensor.Tensor, c *eval.Classifier) (fid, confident float64, counts [10]int, err error) {
	fid, v, err := ScoreImages(ctx, x, c)
	if err != nil {
		return 0, 0, counts, err
	}
	return fid, v.ConfidentFraction(), v.Counts(), nil
}

// ScoreImages is ImageScores keeping the classifier's verdict per image
// (Verdicts: per-digit table, least confident images), so a caller that
// wants both classifies the images once.
func ScoreImages(ctx context.Context, x *tensor.Tensor, c *eval.Classifier) (float64, *Verdicts, error) {
	if c == nil {
		var err error
		if c, err = DefaultClassifier(); err != nil {
			return 0, nil, err
		}
	}
	ref, err := MNISTTestStats(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	feats, probs, err := c.Embed(ctx, x)
	if err != nil {
		return 0, nil, err
	}
	g, err := eval.FitGaussian(feats)
	if err != nil {
		return 0, nil, err
	}
	fid, err := eval.FrechetDistance(g, ref)
	if err != nil {
		return 0, nil, err
	}
	return fid, verdictsOf(x, probs), nil
}

// EvaluateModel samples from any noise-prediction model d (trained with
// schedule s) and measures it: FID and confident fraction of
// opts.Samples images, and the held-out noise-prediction loss on
// opts.HeldOut MNIST test images (a fixed draw of timesteps and noise, the
// same for every model).
func EvaluateModel(ctx context.Context, d diffusion.Denoiser, s *diffusion.NoiseSchedule, opts EvalOptions) (rep *EvalReport, err error) {
	defer catchDiffusionPanic(&err)
	if err := opts.Check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	sm, err := opts.Sampler.Sampler(s)
	if err != nil {
		return nil, err
	}
	rep = &EvalReport{Samples: opts.Samples, Sampler: sm.Name()}
	start := time.Now()
	x, err := SampleImages(ctx, d, s, opts.Samples, opts.Seed, opts.Sampler)
	if err != nil {
		return nil, err
	}
	rep.SampleSeconds = time.Since(start).Seconds()
	rep.Images = x
	if rep.FID, rep.Verdicts, err = ScoreImages(ctx, x, opts.Classifier); err != nil {
		return nil, err
	}
	rep.ConfidentFraction, rep.ClassCounts = rep.Verdicts.ConfidentFraction(), rep.Verdicts.Counts()
	test, err := mnist.LoadTest()
	if err != nil {
		return nil, err
	}
	x0, _ := test.First(opts.HeldOut)
	if rep.HeldOutLoss, err = diffusion.HeldOutLoss(ctx, d, s, x0, 1234, 250); err != nil {
		return nil, err
	}
	g := min(opts.GridSize, x.Shape[0])
	if rep.Grid, err = SampleGrid(tensor.FromData(x.Data[:g*784], g, 1, 28, 28), 0); err != nil {
		return nil, err
	}
	return rep, nil
}

// Evaluate measures the teacher (see EvaluateModel).
func (t *Teacher) Evaluate(ctx context.Context, opts EvalOptions) (*EvalReport, error) {
	return EvaluateModel(ctx, t, t.Schedule, opts)
}
