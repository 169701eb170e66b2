package tensor

import (
	"sync/atomic"
	"testing"
)

func TestParallelForCoversRangeOnce(t *testing.T) {
	old := Workers
	defer func() { Workers = old }()
	for _, w := range []int{1, 2, 3, 8} {
		Workers = w
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			hits := make([]int32, n)
			ParallelFor(n, minChunk, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("Workers=%d n=%d: index %d visited %d times", w, n, i, h)
				}
			}
		}
	}
}

func TestParallelForAlignedCutsAtMultiples(t *testing.T) {
	old := Workers
	defer func() { Workers = old }()
	for _, w := range []int{1, 2, 3, 5} {
		Workers = w
		for _, n := range []int{0, 5, 8, 100, 1001, 70001} {
			hits := make([]int32, n)
			var bad atomic.Int32
			ParallelForAligned(n, 16, 8, func(lo, hi int) {
				if lo%8 != 0 || (hi%8 != 0 && hi != n) {
					bad.Add(1)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			if bad.Load() != 0 {
				t.Fatalf("Workers=%d n=%d: a range boundary is not a multiple of 8", w, n)
			}
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("Workers=%d n=%d: index %d visited %d times", w, n, i, h)
				}
			}
		}
	}
}

func TestParallelForNests(t *testing.T) {
	old := Workers
	defer func() { Workers = old }()
	Workers = 4
	var total atomic.Int64
	ParallelFor(8, minChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ParallelFor(16, minChunk, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 8*16 {
		t.Fatalf("nested calls covered %d indices, want %d", total.Load(), 8*16)
	}
}

type summer struct {
	data []float32
	part [64]float32
	fn   func(lo, hi int)
}

func (s *summer) run(lo, hi int) {
	var acc float32
	for _, v := range s.data[lo:hi] {
		acc += v
	}
	s.part[lo*len(s.part)/len(s.data)] = acc
}

func TestParallelForDoesNotAllocate(t *testing.T) {
	s := &summer{data: make([]float32, 1<<16)}
	s.fn = s.run
	ParallelFor(len(s.data), 1, s.fn) // start the pool
	if n := testing.AllocsPerRun(100, func() { ParallelFor(len(s.data), 1, s.fn) }); n != 0 {
		t.Errorf("ParallelFor allocates %v times per call with a stored function value", n)
	}
}

// A panic in a range that a pool goroutine runs reaches the caller of
// ParallelFor (where a REPL cell or a library call recovers it) instead of
// ending the process; the pool goes on working.
func TestParallelForRaisesAWorkersPanicInTheCaller(t *testing.T) {
	old := Workers
	Workers = 4
	defer func() { Workers = old }()
	n := 4 * minChunk
	for round := range 3 {
		got := func() (r any) {
			defer func() { r = recover() }()
			ParallelFor(n, 1, func(lo, hi int) {
				if lo > 0 { // not the caller's own first range
					panic("bad range")
				}
			})
			return nil
		}()
		if got != "bad range" {
			t.Fatalf("round %d: recovered %v, want the worker's panic", round, got)
		}
	}
	var sum atomic.Int64
	ParallelFor(n, 1, func(lo, hi int) { sum.Add(int64(hi - lo)) })
	if sum.Load() != int64(n) {
		t.Fatalf("after the panics the pool covered %d of %d", sum.Load(), n)
	}
}
