package dnas

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"dnas/dnas/checkpoint"
	"dnas/plots"
)

// CurvePoint is the sample quality of one training snapshot.
type CurvePoint struct {
	Step              int     `json:"step"`   // training steps behind the weights
	Source            string  `json:"source"` // the checkpoint file
	FID               float64 `json:"fid"`
	ConfidentFraction float64 `json:"confident_fraction"`
	HeldOutLoss       float64 `json:"held_out_loss"`
	SampleSeconds     float64 `json:"sample_seconds"`
}

// QualityCurve is sample quality over a training run: one CurvePoint per
// snapshot, in step order, all measured the same way (Samples images with
// Sampler from seed Seed). It answers "does FID fall as training goes on".
type QualityCurve struct {
	Samples int          `json:"samples"`
	Spec    SamplerSpec  `json:"sampler_spec"`
	Sampler string       `json:"sampler"` // its description, e.g. "DDIM 50 steps, eta 0"
	Seed    uint64       `json:"seed"`
	Live    bool         `json:"live"` // live weights of training checkpoints instead of the EMA
	Points  []CurvePoint `json:"points"`
}

// CurveOptions says how MeasureSnapshots measures each snapshot.
type CurveOptions struct {
	Eval EvalOptions
	// Live measures the live weights of training checkpoints
	// (train.safetensors) instead of their EMA.
	Live bool
	// Previous is an earlier curve of the same run: its points whose file is
	// measured again with the same settings are reused instead of
	// re-sampled, so a curve can be extended as snapshots appear.
	Previous *QualityCurve
	// Point, if not nil, is called with each point as soon as it is known.
	Point func(p CurvePoint, reused bool)
}

// MeasureSnapshots evaluates every teacher checkpoint in paths (the EMA
// snapshots `dnas teacher --snapshot-every N` keeps, or any teacher files)
// and returns the curve sorted by training step. A cancelled ctx stops it
// between snapshots (or inside the sampler) with ctx's error; the curve of
// the points measured until then (and of the remaining ones Previous
// already had) is returned with it and with any other error, so saving it
// loses nothing that was measured.
func MeasureSnapshots(ctx context.Context, paths []string, opts CurveOptions) (*QualityCurve, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no snapshots to measure: pass checkpoint files, e.g. out/teacher-base/snapshots/*.safetensors")
	}
	if err := opts.Eval.Check(); err != nil {
		return nil, err
	}
	eo := opts.Eval.withDefaults()
	c := &QualityCurve{Samples: eo.Samples, Spec: eo.Sampler, Seed: eo.Seed, Live: opts.Live}
	reuse := map[string]CurvePoint{}
	sameImages := func(a, b SamplerSpec) bool { a.Batch, b.Batch = 0, 0; return a == b } // the batch does not change the images
	if p := opts.Previous; p != nil && p.Samples == c.Samples && sameImages(p.Spec, c.Spec) && p.Seed == c.Seed && p.Live == c.Live {
		c.Sampler = p.Sampler
		for _, pt := range p.Points {
			reuse[pt.Source] = pt
		}
	}
	seen := map[int]string{}
	next := 0 // paths[next:] are not in c.Points yet
	partial := func(err error) (*QualityCurve, error) {
		if err != nil {
			// Stopped early: the remaining snapshots measured by an earlier
			// run are still known, so they stay in the curve.
			for _, path := range paths[next:] {
				if pt, ok := reuse[path]; ok && seen[pt.Step] == "" {
					seen[pt.Step] = path
					c.Points = append(c.Points, pt)
				}
			}
		}
		slices.SortFunc(c.Points, func(a, b CurvePoint) int { return a.Step - b.Step })
		return c, err
	}
	for i, path := range paths {
		next = i
		if err := ctx.Err(); err != nil {
			return partial(err)
		}
		pt, ok := reuse[path]
		if !ok {
			var t *Teacher
			var err error
			if opts.Live {
				t, err = LoadTeacherLiveWeights(path)
			} else {
				t, err = LoadTeacher(path)
			}
			if err != nil {
				if f, lerr := checkpoint.Load(path); lerr == nil && f.Metadata["format"] == retrainFormat {
					err = fmt.Errorf("%s is a retrained subnet, not a teacher's training snapshot: a quality curve follows one teacher's training; measure it alone (dnas fid --model %s, or LoadModel and Evaluate)", path, path)
				}
				return partial(err)
			}
			rep, err := t.Evaluate(ctx, eo)
			if err != nil {
				return partial(fmt.Errorf("%s: %w", path, err))
			}
			c.Sampler = rep.Sampler
			pt = CurvePoint{Step: t.Step, Source: path, FID: rep.FID, ConfidentFraction: rep.ConfidentFraction,
				HeldOutLoss: rep.HeldOutLoss, SampleSeconds: rep.SampleSeconds}
		}
		if other, dup := seen[pt.Step]; dup {
			return partial(fmt.Errorf("%s and %s are both at step %d: a curve needs one snapshot per step (are they from two runs?)", other, path, pt.Step))
		}
		seen[pt.Step] = path
		if opts.Point != nil {
			opts.Point(pt, ok)
		}
		c.Points = append(c.Points, pt)
		next = i + 1
	}
	return partial(nil)
}

// Falling reports whether FID decreases from each point to the next.
func (c *QualityCurve) Falling() bool {
	for i := 1; i < len(c.Points); i++ {
		if c.Points[i].FID >= c.Points[i-1].FID {
			return false
		}
	}
	return true
}

// Table renders the curve as a Markdown table.
func (c *QualityCurve) Table() string {
	t := plots.NewTable(fmt.Sprintf("Sample quality during training (%d samples, %s, seed %d)", c.Samples, c.Sampler, c.Seed),
		"step", "FID (LeNet)", "confident (p>=0.9)", "held-out noise loss")
	for _, p := range c.Points {
		_ = t.AddRow(p.Step, fmt.Sprintf("%.1f", p.FID), fmt.Sprintf("%.1f%%", 100*p.ConfidentFraction), fmt.Sprintf("%.4f", p.HeldOutLoss))
	}
	return t.Markdown()
}

// String is the curve's Markdown table.
func (c *QualityCurve) String() string { return c.Table() }

// Chart draws FID and the confident fraction against the training step,
// with the 90% target of a base teacher as a dashed line.
func (c *QualityCurve) Chart() (*plots.Chart, error) {
	q := plots.QualityCurve{Title: "Teacher sample quality during training", Target: 0.9,
		Note: fmt.Sprintf("%d samples, %s; FID on LeNet features, not Inception", c.Samples, c.Sampler)}
	for _, p := range c.Points {
		q.Steps = append(q.Steps, float64(p.Step))
		q.FID = append(q.FID, p.FID)
		q.Confident = append(q.Confident, p.ConfidentFraction)
	}
	return plots.QualityCurveChart(q)
}

// PNG renders Chart, so a notebook cell ending with a curve shows it.
func (c *QualityCurve) PNG() ([]byte, error) {
	ch, err := c.Chart()
	if err != nil {
		return nil, err
	}
	return ch.PNG()
}

// Save writes the curve as JSON, atomically.
func (c *QualityCurve) Save(path string) error {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return fmt.Errorf("save quality curve: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save quality curve: %w", err)
	}
	return checkpoint.WriteFileAtomic(path, append(b, '\n'))
}

// LoadQualityCurve reads a curve written by Save.
func LoadQualityCurve(path string) (*QualityCurve, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c QualityCurve
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: not a quality curve: %w", path, err)
	}
	return &c, nil
}
