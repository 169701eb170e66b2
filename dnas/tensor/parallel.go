package tensor

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines elementwise and normalisation work is
// split over. It defaults to the number of CPUs.
var Workers = runtime.NumCPU()

// minChunk is the smallest piece of elementwise work worth a goroutine.
const minChunk = 1 << 14

// ParallelFor calls fn(lo, hi) over [0, n) split into at most Workers
// contiguous ranges. Work smaller than a few thousand elements (grain counts
// the cost of one index in elements) runs on the calling goroutine.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	w := Workers
	if max := n * grain / minChunk; max < w {
		w = max
	}
	if w <= 1 || n <= 1 {
		fn(0, n)
		return
	}
	if w > n {
		w = n
	}
	var wg sync.WaitGroup
	step := (n + w - 1) / w
	for lo := step; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(step, n))
	wg.Wait()
}
