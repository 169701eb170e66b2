package nn

import (
	"runtime"
	"sync"

	"dnas/dnas/tensor"
)

// The layers of this package split elementwise and normalisation work over
// tensor.Workers goroutines, like tensor.ParallelFor, but through a pool of
// long-lived workers so that a training step in steady state allocates
// nothing: a layer builds its range functions once (method values stored in
// the layer) and hands them to parallelRange, which sends plain structs over a
// channel. Calls may come from several goroutines at once (e.g. blocks trained
// in parallel); they must not nest (a range function must not call
// parallelRange itself).

// minParallelWork is the number of element-operations below which splitting
// the work costs more than it saves (a hand-off to a worker costs a few µs).
const minParallelWork = 1 << 14

type rangeJob struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var (
	workerOnce sync.Once
	workerJobs chan rangeJob
	waitGroups = sync.Pool{New: func() any { return new(sync.WaitGroup) }}
)

func startWorkers() {
	n := max(runtime.NumCPU(), tensor.Workers, 2)
	workerJobs = make(chan rangeJob, 4*n)
	for range n - 1 {
		go func() {
			for j := range workerJobs {
				j.fn(j.lo, j.hi)
				j.wg.Done()
			}
		}()
	}
}

// parallelRange calls fn(lo, hi) over [0, n) cut into at most tensor.Workers
// contiguous ranges; grain is the cost of one index counted in elements. Small
// jobs run on the calling goroutine. fn should be a function value built once
// (a method value kept in the layer), not a fresh closure, or the call allocates.
func parallelRange(n, grain int, fn func(lo, hi int)) {
	w := tensor.Workers
	if m := n * max(grain, 1) / minParallelWork; m < w {
		w = m
	}
	w = min(w, n)
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	workerOnce.Do(startWorkers)
	wg := waitGroups.Get().(*sync.WaitGroup)
	step := (n + w - 1) / w
	for lo := step; lo < n; lo += step {
		wg.Add(1)
		workerJobs <- rangeJob{fn: fn, lo: lo, hi: min(lo+step, n), wg: wg}
	}
	fn(0, step)
	wg.Wait()
	waitGroups.Put(wg)
}
