package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dnas/dnas/blas"
	"dnas/dnas/nn"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

func init() {
	register("bench", "time a training step and a forward pass of the reference UNet (compare: bench/compare.sh)", runBench)
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
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: dnas bench [--batch 64] [--steps 10] [--json] [--blas openblas|gonum|/path/lib.so]")
		fmt.Fprintln(fs.Output(), "\nTimes a training step (forward, MSE loss, backward, Adam) and an eval forward of the reference")
		fmt.Fprintln(fs.Output(), "UNet (shared/bench/torch_unet.py) and reports ms, GFLOP/s (2·MACs·batch per forward, 3x for a")
		fmt.Fprintln(fs.Output(), "training step), peak RSS and allocations per step. bench/compare.sh runs it beside PyTorch.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch <= 0 || *steps <= 0 {
		return fmt.Errorf("--batch %d --steps %d: both must be positive", *batch, *steps)
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
