package main

import (
	"math"
	"path/filepath"
	"testing"

	"dnas/dnas"
	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

// tinyTeacher is an untrained teacher of the tiny preset: sampling it costs
// milliseconds, and the weights do not matter to what the tests check.
func tinyTeacher(t *testing.T) *dnas.Teacher {
	t.Helper()
	p, err := dnas.LookupTeacherPreset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	net, err := unet.New(p.UNet, 1)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := p.NoiseSchedule()
	if err != nil {
		t.Fatal(err)
	}
	return &dnas.Teacher{Preset: p, Net: net, Schedule: sched, Source: "test"}
}

// TestSampleDumpReplays checks what bench/torch_sample.py --check relies on:
// the noise written by --sample-dump is the noise diffusion.Sample started
// each image from, so running the DDIM steps from it gives the dumped
// images again. It also checks the counts the benchmark reports.
func TestSampleDumpReplays(t *testing.T) {
	teacher := tinyTeacher(t)
	o := sampleBenchOptions{N: 3, Steps: 4, Batch: 2, Seed: 7, Dump: filepath.Join(t.TempDir(), "dump.safetensors")}
	res, images, err := benchSample(teacher, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 3 || res.Batch != 2 || res.Forwards != 2*4 || res.Sampler != "DDIM 4 steps, eta 0" {
		t.Errorf("got %d images, batch %d, %d forwards, %q; want 3, 2, 8, DDIM 4 steps", res.Images, res.Batch, res.Forwards, res.Sampler)
	}
	if err := writeSampleDump(o, teacher, images); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Load(o.Dump)
	if err != nil {
		t.Fatal(err)
	}
	noise, ok1 := f.Get("noise")
	dumped, ok2 := f.Get("images")
	if !ok1 || !ok2 || f.Metadata["steps"] != "4" {
		t.Fatalf("dump holds noise %v, images %v, steps %q; want both tensors and steps 4", ok1, ok2, f.Metadata["steps"])
	}

	x := tensor.FromData(append([]float32(nil), noise.Data...), noise.Shape...)
	sampler := diffusion.NewDDIM(teacher.Schedule, o.Steps, 0)
	ts := make([]float32, x.Shape[0])
	for i, step := range sampler.Timesteps() {
		for j := range ts {
			ts[j] = float32(step)
		}
		sampler.Step(i, x, teacher.PredictNoise(x, ts), nil)
	}
	var worst float64
	for i, v := range x.Data {
		worst = max(worst, math.Abs(float64(v-dumped.Data[i])), math.Abs(float64(v-images.Data[i])))
	}
	if worst > 1e-5 {
		t.Errorf("sampling again from the dumped noise differs from the dumped images by %g (want <= 1e-5): the dump's noise is not what diffusion.Sample drew", worst)
	}
}

// TestSampleBenchRejectsBadCounts checks the flag validation of --sample.
func TestSampleBenchRejectsBadCounts(t *testing.T) {
	for _, args := range [][]string{{"--sample", "-1"}, {"--sample", "2", "--sample-steps", "0"}, {"--sample", "2", "--sample-batch", "0"}} {
		if err := runBench(args); err == nil {
			t.Errorf("dnas bench %v: no error", args)
		}
	}
}
