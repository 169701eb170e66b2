package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dnas/dnas"
	"dnas/dnas/blas"
	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

func init() {
	register("bench", "time a training step and a forward of the reference UNet, or --sample N images (compare: bench/compare.sh)", runBench)
}

// benchResult is what `dnas bench --json` prints; bench/torch_unet.py prints
// the same keys for PyTorch, and bench/compare.sh divides one by the other.
type benchResult struct {
	Impl          string  `json:"impl"`
	BLAS          string  `json:"blas"`
	BLASConfig    string  `json:"blas_config,omitempty"`
	Threads       int     `json:"threads"` // BLAS threads per product
	Workers       int     `json:"workers"` // goroutines a layer splits its batch over
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"`
	Params        int64   `json:"params"`
	MACsPerSample int64   `json:"macs_per_sample"`
	TrainStepMs   float64 `json:"train_step_ms"`
	ForwardMs     float64 `json:"forward_ms"`
	TrainCPUMs    float64 `json:"train_cpu_ms"`   // CPU time (user+system, all threads) per training step
	ForwardCPUMs  float64 `json:"forward_cpu_ms"` // CPU time per forward
	TrainGFLOPs   float64 `json:"train_gflops"`
	ForwardGFLOPs float64 `json:"forward_gflops"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	Loss          float64 `json:"loss"`
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	batch := fs.Int("batch", 64, "batch size")
	steps := fs.Int("steps", 10, "timed steps (after 2 warm-up steps)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	blasSpec := fs.String("blas", "", `BLAS to use: "openblas", "gonum" or a library path (default: $DNAS_BLAS, else OpenBLAS if found); an explicit choice that cannot load is an error`)
	threads := fs.Int("threads", 0, "OpenBLAS threads per product (0: keep the default, 1; the layers parallelise over the batch)")
	workers := fs.Int("workers", 0, "goroutines each layer splits its work over (0: the number of CPUs)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (go tool pprof)")
	cfgJSON := fs.String("config", "", `UNet config as JSON (default: the MNIST teacher of METHOD.md, ch 32, mult [1,2,2], 2 ResBlocks, attention at 7)`)
	sampleN := fs.Int("sample", 0, "instead: time sampling this many images with DDIM (eta 0) from the base teacher")
	sampleSteps := fs.Int("sample-steps", 50, "--sample: DDIM steps")
	sampleBatch := fs.Int("sample-batch", sampleBatchDefault, "--sample: images per network call (dnas sample and the library use 100)")
	model := fs.String("model", "", "--sample: teacher checkpoint (default: the committed models/base.safetensors)")
	seed := fs.Uint64("seed", 0, "--sample: sampling seed (image i's noise depends only on it and i)")
	dump := fs.String("sample-dump", "", "--sample: also write each image's starting noise and result to this safetensors file (bench/torch_sample.py --check reads it)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: dnas bench [--batch 64] [--steps 10] [--json] [--blas openblas|gonum|/path/lib.so]")
		fmt.Fprintln(fs.Output(), "       dnas bench --sample N [--sample-steps 50] [--sample-batch 100] [--model FILE] [--json]")
		fmt.Fprintln(fs.Output(), "\nTimes a training step (forward, MSE loss, backward, Adam) and an eval forward of the reference")
		fmt.Fprintln(fs.Output(), "UNet (shared/bench/torch_unet.py) and reports ms, GFLOP/s (2·MACs·batch per forward, 3x for a")
		fmt.Fprintln(fs.Output(), "training step), peak RSS and allocations per step. With --sample N it instead times the library's")
		fmt.Fprintln(fs.Output(), "DDIM sampler drawing N images from the base teacher (the weights do not change the time).")
		fmt.Fprintln(fs.Output(), "bench/compare.sh runs either beside PyTorch (bench/torch_unet.py, bench/torch_sample.py).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkCounts(fs, map[string]int{"batch": 1, "steps": 1}); err != nil {
		return err
	}
	if *batch <= 0 || *steps <= 0 {
		return fmt.Errorf("--batch %d --steps %d: both must be positive", *batch, *steps)
	}
	if *sampleN < 0 || *sampleSteps <= 0 || *sampleBatch <= 0 {
		return fmt.Errorf("--sample %d --sample-steps %d --sample-batch %d: the count must be >= 0, steps and batch positive", *sampleN, *sampleSteps, *sampleBatch)
	}
	spec := *blasSpec
	if spec == "" {
		spec = os.Getenv("DNAS_BLAS")
	}
	if spec != "" {
		if err := blas.Use(spec); err != nil {
			return fmt.Errorf("--blas %q: %w", spec, err)
		}
	}
	if *threads > 0 {
		blas.SetThreads(*threads)
	}
	if *workers > 0 {
		tensor.Workers = *workers
	}
	cfg := unet.Config{InChannels: 1, Resolution: 28, Ch: 32, Mult: []int{1, 2, 2}, NumResBlocks: 2, AttnRes: []int{7}, Dropout: 0.1}
	if *cfgJSON != "" {
		cfg = unet.Config{}
		if err := json.Unmarshal([]byte(*cfgJSON), &cfg); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *sampleN > 0 {
		if *cfgJSON != "" {
			return fmt.Errorf("--config sets the UNet of the training-step benchmark; --sample samples a teacher, whose architecture comes from its checkpoint (--model)")
		}
		return runSampleBench(sampleBenchOptions{N: *sampleN, Steps: *sampleSteps, Batch: *sampleBatch,
			Model: *model, Seed: *seed, Dump: *dump}, *asJSON)
	}
	res, err := benchUNet(cfg, *batch, *steps)
	if err != nil {
		return err
	}
	if *asJSON {
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
		return nil
	}
	fmt.Printf("dnas (Go %s), BLAS %s, %d workers\n", runtime.Version(), res.BLAS, res.Workers)
	if res.BLASConfig != "" {
		fmt.Printf("  %s\n", res.BLASConfig)
	}
	fmt.Printf("params %.3fM MACs/sample %.1fM\n", float64(res.Params)/1e6, float64(res.MACsPerSample)/1e6)
	fmt.Printf("batch %d train_step_ms %.1f (%.1f GFLOP/s) forward_ms %.1f (%.1f GFLOP/s) peak_rss_mb %.0f allocs/step %.1f\n",
		res.Batch, res.TrainStepMs, res.TrainGFLOPs, res.ForwardMs, res.ForwardGFLOPs, res.PeakRSSMB, res.AllocsPerStep)
	fmt.Printf("CPU time (all threads): train step %.1f ms, forward %.1f ms\n", res.TrainCPUMs, res.ForwardCPUMs)
	return nil
}

// benchUNet builds the network of cfg and times it on random data.
func benchUNet(cfg unet.Config, batch, steps int) (*benchResult, error) {
	net, err := unet.New(cfg, 0)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(0, 1))
	x := tensor.New(batch, cfg.InChannels, cfg.Resolution, cfg.Resolution)
	noise := tensor.New(x.Shape...)
	for i := range x.Data {
		x.Data[i], noise.Data[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	t := make([]float32, batch)
	for i := range t {
		t[i] = float32(rng.IntN(1000))
	}
	params := net.Params()
	opt := nn.NewAdam(params, 2e-4)
	dpred := tensor.New(x.Shape...)
	var loss float32
	step := func() (err error) {
		defer nn.Catch(&err)
		nn.ZeroGrads(params)
		pred := net.Forward(x, t)
		loss = nn.MSELoss(pred, noise, dpred)
		net.Backward(dpred)
		opt.Update()
		return nil
	}

	net.SetTraining(true)
	for range 2 {
		if err := step(); err != nil {
			return nil, err
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	start, cpu := time.Now(), cpuSeconds()
	for range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	train := time.Since(start).Seconds() / float64(steps)
	trainCPU := (cpuSeconds() - cpu) / float64(steps)
	runtime.ReadMemStats(&ms)
	allocs := float64(ms.Mallocs-mallocs) / float64(steps)

	net.SetTraining(false)
	if _, err := net.Predict(x, t); err != nil {
		return nil, err
	}
	start, cpu = time.Now(), cpuSeconds()
	for range steps {
		net.Forward(x, t)
	}
	fwd := time.Since(start).Seconds() / float64(steps)
	fwdCPU := (cpuSeconds() - cpu) / float64(steps)

	macs := net.MACs()
	flop := 2 * float64(macs) * float64(batch)
	return &benchResult{
		Impl: "dnas-go", BLAS: blas.Name(), BLASConfig: blas.Config(), Threads: blas.Threads(), Workers: tensor.Workers,
		Batch: batch, Steps: steps, Params: net.NumParams(), MACsPerSample: macs,
		TrainStepMs: train * 1e3, ForwardMs: fwd * 1e3, TrainCPUMs: trainCPU * 1e3, ForwardCPUMs: fwdCPU * 1e3,
		TrainGFLOPs: 3 * flop / train / 1e9, ForwardGFLOPs: flop / fwd / 1e9,
		PeakRSSMB: peakRSSMB(), AllocsPerStep: allocs, Loss: float64(loss),
	}, nil
}

// cpuSeconds is the process's user+system CPU time over all threads. On a
// machine shared with other work it measures the cost of a step better than
// the wall clock, which also counts the time other processes held the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// peakRSSMB is the process's peak resident set size (getrusage ru_maxrss,
// reported in KiB on Linux), in MiB; it falls back to VmHWM of
// /proc/self/status, and 0 when neither is available.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil && ru.Maxrss > 0 {
		return float64(ru.Maxrss) / 1024
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// sampleBatchDefault is the batch dnas.SampleImages (and so `dnas sample`,
// the evaluation and the FID code) hands the sampler: the batch a user of
// the library gets, and the one the PyTorch side is given for a fair match.
const sampleBatchDefault = 100

// sampleBenchOptions says what `dnas bench --sample` times.
type sampleBenchOptions struct {
	N, Steps, Batch int
	Model           string // teacher checkpoint; "" => the committed base teacher
	Seed            uint64
	Dump            string // safetensors file for the starting noise and the images; "" => none
}

// sampleResult is what `dnas bench --sample N --json` prints;
// bench/torch_sample.py prints the same keys for PyTorch.
type sampleResult struct {
	Impl          string  `json:"impl"`
	BLAS          string  `json:"blas"`
	Threads       int     `json:"threads"` // BLAS threads per product
	Workers       int     `json:"workers"` // goroutines a layer splits its batch over
	Model         string  `json:"model"`
	Sampler       string  `json:"sampler"`
	Images        int     `json:"images"`
	Steps         int     `json:"steps"`
	Batch         int     `json:"batch"`
	Forwards      int     `json:"forwards"` // network calls: batches x steps
	Params        int64   `json:"params"`
	MACsPerSample int64   `json:"macs_per_sample"`
	Seconds       float64 `json:"seconds"` // wall time of the whole sampling, teacher loading excluded
	ImagesPerS    float64 `json:"images_per_s"`
	MsPerForward  float64 `json:"ms_per_forward"`
	CPUSeconds    float64 `json:"cpu_seconds"` // user+system time of all threads
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	Mean          float64 `json:"mean"` // of all pixels: a cheap check that both sides made images
	Std           float64 `json:"std"`
}

// runSampleBench loads the teacher, times diffusion.Sample (the sampler
// every dnas command uses) on it, and prints the result.
func runSampleBench(o sampleBenchOptions, asJSON bool) error {
	var (
		t   *dnas.Teacher
		err error
	)
	if o.Model != "" {
		t, err = dnas.LoadTeacher(o.Model)
	} else {
		t, err = dnas.LoadTeacherPreset("base")
	}
	if err != nil {
		return err
	}
	res, images, err := benchSample(t, o)
	if err != nil {
		return err
	}
	if o.Dump != "" {
		if err := writeSampleDump(o, t, images); err != nil {
			return err
		}
	}
	if asJSON {
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
		return nil
	}
	fmt.Printf("dnas (Go %s), BLAS %s, %d workers\n", runtime.Version(), res.BLAS, res.Workers)
	fmt.Printf("%s: %s\n", res.Model, res.Sampler)
	fmt.Printf("%d images, batch %d (%d forwards): %.2f s, %.2f images/s, %.1f ms/forward, CPU %.2f s, peak_rss_mb %.0f\n",
		res.Images, res.Batch, res.Forwards, res.Seconds, res.ImagesPerS, res.MsPerForward, res.CPUSeconds, res.PeakRSSMB)
	if o.Dump != "" {
		fmt.Printf("noise and images -> %s\n", o.Dump)
	}
	return nil
}

// benchSample warms the network up with one untimed forward of a full
// batch (buffers are allocated on first use; PyTorch's side warms up too),
// then times sampling o.N images and returns the figures and the images.
func benchSample(t *dnas.Teacher, o sampleBenchOptions) (*sampleResult, *tensor.Tensor, error) {
	cfg := t.Preset.UNet
	o.Batch = min(o.Batch, o.N) // as diffusion.Sample does: the batch reported is the one run
	sampler := diffusion.NewDDIM(t.Schedule, o.Steps, 0)
	warm := tensor.New(o.Batch, cfg.InChannels, cfg.Resolution, cfg.Resolution)
	t.Net.SetTraining(false)
	if _, err := t.Net.Predict(warm, make([]float32, warm.Shape[0])); err != nil {
		return nil, nil, err
	}
	ctx, stop := interruptContext()
	defer stop()
	perBatch := len(sampler.Timesteps())
	batchDone := progress.ReporterFunc(func(ev progress.Event) { // on stderr: stdout holds only the result
		if done := ev.Step / perBatch * o.Batch; ev.Step%perBatch == 0 && !ev.Done && done < o.N {
			fmt.Fprintf(os.Stderr, "dnas: %d/%d images, %.1f s\n", done, o.N, ev.Elapsed.Seconds())
		}
	})
	start, cpu := time.Now(), cpuSeconds()
	images, err := diffusion.Sample(ctx, t, sampler, diffusion.SampleOptions{N: o.N, Channels: cfg.InChannels,
		Size: cfg.Resolution, Seed: o.Seed, BatchSize: o.Batch, Reporter: batchDone})
	seconds, cpuSec := time.Since(start).Seconds(), cpuSeconds()-cpu
	if err != nil {
		return nil, nil, err
	}
	forwards := (o.N + o.Batch - 1) / o.Batch * perBatch
	var sum, sq float64
	for _, v := range images.Data {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(images.Data))
	mean := sum / n
	return &sampleResult{
		Impl: "dnas-go", BLAS: blas.Name(), Threads: blas.Threads(), Workers: tensor.Workers,
		Model: fmt.Sprintf("%s (step %d)", t.Source, t.Step), Sampler: sampler.Name(),
		Images: o.N, Steps: o.Steps, Batch: o.Batch, Forwards: forwards,
		Params: t.Net.NumParams(), MACsPerSample: t.Net.MACs(),
		Seconds: seconds, ImagesPerS: float64(o.N) / seconds, MsPerForward: seconds / float64(forwards) * 1e3,
		CPUSeconds: cpuSec, PeakRSSMB: peakRSSMB(),
		Mean: mean, Std: math.Sqrt(max(sq/n-mean*mean, 0) * n / max(n-1, 1)),
	}, images, nil
}

// writeSampleDump saves the starting noise of every image (regenerated the
// way diffusion.Sample draws it: a PCG seeded (seed, i) per image) and the
// sampled images, for bench/torch_sample.py --check to sample from the same
// noise and compare.
func writeSampleDump(o sampleBenchOptions, t *dnas.Teacher, images *tensor.Tensor) error {
	per := images.Numel() / images.Shape[0]
	noise := make([]float32, images.Numel())
	for i := range images.Shape[0] {
		diffusion.FillNormal(noise[i*per:(i+1)*per], rand.New(rand.NewPCG(o.Seed, uint64(i))))
	}
	var f checkpoint.File
	f.Add("noise", images.Shape, noise)
	f.Add("images", images.Shape, images.Data)
	f.SetMeta("steps", strconv.Itoa(o.Steps))
	f.SetMeta("seed", strconv.FormatUint(o.Seed, 10))
	f.SetMeta("model", t.Source)
	if err := f.Save(o.Dump); err != nil {
		return fmt.Errorf("--sample-dump: %w", err)
	}
	return nil
}
