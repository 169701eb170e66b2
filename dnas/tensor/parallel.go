package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is the number of goroutines elementwise and normalisation work is
// split over. It defaults to the number of CPUs.
var Workers = runtime.NumCPU()

// minChunk is the smallest piece of elementwise work worth a goroutine.
const minChunk = 1 << 14

// The pool behind ParallelFor: long-lived goroutines that take ranges from a
// channel. A call hands out plain structs (no closures, no new goroutines), so
// ParallelFor does not allocate when fn is a function value built once (e.g.
// a method value stored in a layer); a fresh closure literal allocates only
// itself.
type rangeJob struct {
	fn     func(lo, hi int)
	lo, hi int
	g      *rangeGroup
}

// run runs the job's range and marks it done. A panic in the range is
// kept for the caller of ParallelFor, which raises it again: a panic on a
// pool goroutine would end the process (the REPL's or the kernel's) instead
// of failing the call.
func (j rangeJob) run() {
	defer func() {
		if r := recover(); r != nil {
			j.g.panicked.CompareAndSwap(nil, &panicValue{r})
		}
		j.g.wg.Done()
		j.g.left.Add(-1) // after Done: left == 0 means Wait will not block
	}()
	j.fn(j.lo, j.hi)
}

// panicValue carries a recovered panic from a pool goroutine to the caller.
type panicValue struct{ v any }

// rangeGroup counts the ranges of one ParallelFor call still running. The
// caller spins on left before it calls wg.Wait, so Wait rarely blocks: a
// blocking Wait takes a sudog from the runtime's cache, and that cache is
// emptied at every garbage collection, so blocking would allocate a few
// times per GC cycle (the steady-state allocations of a training step).
type rangeGroup struct {
	wg       sync.WaitGroup
	left     atomic.Int32
	panicked atomic.Pointer[panicValue] // the first panic of a range run by the pool
}

// spinWaits bounds the caller's spinning (each turn yields the processor to
// runnable goroutines) before it blocks.
const spinWaits = 1 << 14

var (
	poolMu   sync.Mutex
	poolSize int // goroutines started so far
	poolJobs = make(chan rangeJob, 256)
	// groups are reused so that ParallelFor does not allocate (a
	// FreeList, not a sync.Pool: see FreeList).
	groups FreeList[rangeGroup]
)

// ensureWorkers starts pool goroutines until there are w-1 of them (the
// caller of ParallelFor is the w-th worker).
func ensureWorkers(w int) {
	poolMu.Lock()
	for ; poolSize < w-1; poolSize++ {
		go func() {
			for j := range poolJobs {
				j.run()
			}
		}()
	}
	poolMu.Unlock()
}

// ParallelFor calls fn(lo, hi) over [0, n) split into at most Workers
// contiguous ranges. Work smaller than a few thousand elements (grain counts
// the cost of one index in elements) runs on the calling goroutine.
//
// The ranges run on a pool of persistent goroutines; the caller runs the
// first range itself and, while it waits for the others, runs queued ranges
// of any caller, so calls may nest (fn may call ParallelFor) without
// deadlocking and may come from several goroutines at once.
func ParallelFor(n, grain int, fn func(lo, hi int)) { parallelFor(n, grain, 1, fn) }

// ParallelForAligned is ParallelFor with every range boundary a multiple of
// align (the last range ends at n). Elementwise loops whose SIMD kernel takes
// whole vectors of align elements and leaves the rest to a scalar loop use
// it: each element then takes the same path, and so gets the same rounding,
// whatever the number of workers.
func ParallelForAligned(n, grain, align int, fn func(lo, hi int)) {
	parallelFor(n, grain, max(1, align), fn)
}

func parallelFor(n, grain, align int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	w := Workers
	if limit := n * grain / minChunk; limit < w {
		w = limit
	}
	if w <= 1 || n <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	if w > n {
		w = n
	}
	if poolSize < w-1 {
		ensureWorkers(w)
	}
	step := (n + w - 1) / w
	step = (step + align - 1) / align * align
	if step >= n {
		fn(0, n)
		return
	}
	g := groups.Get()
	for lo := step; lo < n; lo += step {
		g.wg.Add(1)
		g.left.Add(1)
		poolJobs <- rangeJob{fn: fn, lo: lo, hi: min(lo+step, n), g: g}
	}
	fn(0, min(step, n))
	// Help with queued work until none is left, then wait for the ranges
	// that other workers are running.
	for {
		select {
		case j := <-poolJobs:
			j.run()
			continue
		default:
		}
		break
	}
	for i := 0; i < spinWaits && g.left.Load() != 0; i++ {
		runtime.Gosched()
	}
	g.wg.Wait()
	if p := g.panicked.Swap(nil); p != nil {
		groups.Put(g)
		panic(p.v)
	}
	groups.Put(g)
}
