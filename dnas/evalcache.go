package dnas

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"dnas/dnas/checkpoint"
	"dnas/dnas/eval"
)

// evalCacheVersion is part of every cache key. Bump it whenever sampling,
// the FID, the confident fraction or the held-out loss change, so that no
// cached figure outlives the code that measured it.
const evalCacheVersion = 1

// EvalCacheDir is where teacher evaluations are cached (see
// Teacher.EvaluateCached): $DNAS_CACHE_DIR/evals if that variable is set,
// else dnas/evals under the user's cache directory (~/.cache on Linux).
// DNAS_CACHE_DIR=off turns the cache off; it returns "" then.
func EvalCacheDir() string {
	dir := os.Getenv("DNAS_CACHE_DIR")
	switch {
	case dir == "off":
		return ""
	case dir == "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "dnas")
	}
	return filepath.Join(dir, "evals")
}

// evalCacheKey names the evaluation of t with opts: a hash of everything
// the figures depend on (the teacher's architecture and weights, its noise
// schedule, the options with their defaults filled in, the code version),
// but not the sampling batch, which does not change the images. ok is false
// for a custom classifier, which is not cached.
func evalCacheKey(t *Teacher, opts EvalOptions) (key string, ok bool) {
	if opts.Classifier != nil {
		if def, err := DefaultClassifier(); err != nil || opts.Classifier != def {
			return "", false
		}
	}
	opts = opts.withDefaults()
	opts.Sampler.Batch = 0
	if opts.Sampler.Kind == "ddpm" {
		opts.Sampler.Steps, opts.Sampler.Eta = 0, 0
	}
	id := t.ID() // a hash of every weight: compute it once
	b, err := json.Marshal(struct {
		Version  int
		Teacher  string
		Noise    string
		T        int
		Samples  int
		Sampler  SamplerSpec
		Seed     uint64
		HeldOut  int
		GridSize int
	}{evalCacheVersion, id, string(t.Preset.Noise), t.Preset.T, opts.Samples, opts.Sampler, opts.Seed, opts.HeldOut, opts.GridSize})
	if err != nil {
		return "", false
	}
	h := sha256.Sum256(b)
	return id + "-" + hex.EncodeToString(h[:8]), true
}

// EvaluateCached is Evaluate with a cache: the first evaluation of these
// weights with these options is stored in EvalCacheDir (the report as JSON,
// its grid as PNG) and later ones read it back instead of sampling again
// (cached reports it); 2,000 samples of the base teacher take minutes. The
// report read back has no Images, only the Grid. A custom
// opts.Classifier, or DNAS_CACHE_DIR=off, always evaluates; a cache that
// cannot be written is not an error (the evaluation is returned).
func (t *Teacher) EvaluateCached(ctx context.Context, opts EvalOptions) (rep *EvalReport, cached bool, err error) {
	if err := opts.Check(); err != nil {
		return nil, false, err
	}
	dir := EvalCacheDir()
	key, ok := evalCacheKey(t, opts)
	if dir == "" || !ok {
		rep, err = t.Evaluate(ctx, opts)
		return rep, false, err
	}
	if rep, err := readCachedEval(dir, key); err == nil {
		return rep, true, nil
	}
	if rep, err = t.Evaluate(ctx, opts); err != nil {
		return nil, false, err
	}
	_ = writeCachedEval(dir, key, rep)
	return rep, false, nil
}

// CacheEvaluation stores rep, an evaluation of t with opts made elsewhere
// (dnas teacher, dnas fid), so that a later EvaluateCached with the same
// options reads it instead of sampling again.
func (t *Teacher) CacheEvaluation(opts EvalOptions, rep *EvalReport) error {
	dir := EvalCacheDir()
	key, ok := evalCacheKey(t, opts)
	if dir == "" || !ok {
		return nil
	}
	return writeCachedEval(dir, key, rep)
}

func readCachedEval(dir, key string) (*EvalReport, error) {
	b, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return nil, err
	}
	var rep EvalReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	if p, err := os.ReadFile(filepath.Join(dir, key+".png")); err == nil {
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			return nil, err
		}
		g, ok := img.(*image.Gray)
		if !ok {
			return nil, fmt.Errorf("dnas: cached grid %s is not a grey image", key)
		}
		rep.Grid = &eval.Grid{Img: g}
	}
	return &rep, nil
}

func writeCachedEval(dir, key string, rep *EvalReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if rep.Grid != nil {
		p, err := rep.Grid.PNG()
		if err != nil {
			return err
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(dir, key+".png"), p); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	// The JSON last: a reader that finds it finds the grid too.
	return checkpoint.WriteFileAtomic(filepath.Join(dir, key+".json"), append(b, '\n'))
}

// cacheNote is how the pipeline's log names a cached evaluation.
func cacheNote(dir string) string {
	home, err := os.UserHomeDir()
	if err == nil && strings.HasPrefix(dir, home) {
		dir = "~" + dir[len(home):]
	}
	return "from the evaluation cache " + dir + " (DNAS_CACHE_DIR=off measures again)"
}
