package dnas

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"dnas/dnas/unet"
)

// TestMain keeps the package's tests off the user's evaluation cache: a
// pipeline test that found a teacher evaluation cached by an earlier run
// would skip the code it means to test.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dnas-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("DNAS_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestEvaluateCached(t *testing.T) {
	teacher, _ := testTeacher(t)
	dir := t.TempDir()
	t.Setenv("DNAS_CACHE_DIR", dir)
	ctx := context.Background()
	opts := EvalOptions{Samples: 8, HeldOut: 16, Sampler: DDIMSpec(3, 0), GridSize: 4}

	first, cached, err := teacher.EvaluateCached(ctx, opts)
	if err != nil || cached {
		t.Fatalf("first evaluation: cached %v, err %v", cached, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "evals", teacher.ID()+"-*"))
	if len(files) != 2 {
		t.Fatalf("want the report and its grid in the cache, found %v", files)
	}
	// Another batch does not change the images: the same entry.
	opts.Sampler.Batch = 3
	second, cached, err := teacher.EvaluateCached(ctx, opts)
	if err != nil || !cached {
		t.Fatalf("second evaluation: cached %v, err %v", cached, err)
	}
	if second.FID != first.FID || second.ConfidentFraction != first.ConfidentFraction ||
		second.HeldOutLoss != first.HeldOutLoss || second.ClassCounts != first.ClassCounts || second.Sampler != first.Sampler {
		t.Fatalf("cached report differs: %v vs %v", second, first)
	}
	if second.Grid == nil || !second.Grid.Img.Bounds().Eq(first.Grid.Img.Bounds()) {
		t.Fatal("the cached report lost its grid")
	}
	for i := range first.Grid.Img.Pix {
		if first.Grid.Img.Pix[i] != second.Grid.Img.Pix[i] {
			t.Fatal("the cached grid differs from the measured one")
		}
	}

	// Any option that changes the figures is another entry.
	for _, o := range []EvalOptions{
		{Samples: 9, HeldOut: 16, Sampler: DDIMSpec(3, 0), GridSize: 4},
		{Samples: 8, HeldOut: 16, Sampler: DDIMSpec(4, 0), GridSize: 4},
		{Samples: 8, HeldOut: 16, Sampler: DDIMSpec(3, 0.5), GridSize: 4},
		{Samples: 8, HeldOut: 16, Sampler: DDIMSpec(3, 0), GridSize: 4, Seed: 1},
		{Samples: 8, HeldOut: 17, Sampler: DDIMSpec(3, 0), GridSize: 4},
	} {
		if _, cached, err := teacher.EvaluateCached(ctx, o); err != nil || cached {
			t.Fatalf("options %+v: cached %v, err %v (want a fresh evaluation)", o, cached, err)
		}
	}
	// So are other weights.
	other := *teacher
	var err2 error
	if other.Net, err2 = unet.New(teacher.Preset.UNet, 8); err2 != nil {
		t.Fatal(err2)
	}
	if _, cached, err := other.EvaluateCached(ctx, opts); err != nil || cached {
		t.Fatalf("changed weights: cached %v, err %v", cached, err)
	}

	// DNAS_CACHE_DIR=off measures and stores nothing.
	t.Setenv("DNAS_CACHE_DIR", "off")
	if _, cached, err := teacher.EvaluateCached(ctx, opts); err != nil || cached {
		t.Fatalf("cache off: cached %v, err %v", cached, err)
	}
	if EvalCacheDir() != "" {
		t.Fatalf("EvalCacheDir with the cache off = %q", EvalCacheDir())
	}
}
