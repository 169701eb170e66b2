package tensor

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestFreeListReusesItems(t *testing.T) {
	var l FreeList[int]
	a, b := l.Get(), l.Get()
	if a == b {
		t.Fatal("two Gets on an empty list returned the same item")
	}
	l.Put(a)
	l.Put(b)
	if got := l.Get(); got != b {
		t.Errorf("Get after Put(a), Put(b) returned %p, want the last put %p", got, b)
	}
	if got := l.Get(); got != a {
		t.Errorf("second Get returned %p, want %p", got, a)
	}
}

func TestFreeListNew(t *testing.T) {
	made := 0
	l := FreeList[[]float32]{New: func() *[]float32 {
		made++
		s := make([]float32, 3)
		return &s
	}}
	x := l.Get()
	if made != 1 || len(*x) != 3 {
		t.Fatalf("Get on an empty list: New called %d times, item of length %d; want 1 and 3", made, len(*x))
	}
	l.Put(x)
	if l.Get() != x || made != 1 {
		t.Errorf("Get after Put made a new item instead of reusing the free one (New called %d times)", made)
	}
}

// TestFreeListDoesNotAllocate checks the reason FreeList exists: once the
// list holds as many items as are in use at once, Get never makes a new one,
// whichever goroutine (and P) asks (a sync.Pool may, at random), and Get and
// Put do not allocate.
func TestFreeListDoesNotAllocate(t *testing.T) {
	const goroutines = 4
	var made atomic.Int64
	l := FreeList[sync.WaitGroup]{New: func() *sync.WaitGroup {
		made.Add(1)
		return new(sync.WaitGroup)
	}}
	items := make([]*sync.WaitGroup, goroutines)
	for i := range items {
		items[i] = l.Get()
	}
	for _, x := range items {
		l.Put(x)
	}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				l.Put(l.Get())
			}
		}()
	}
	wg.Wait()
	if n := made.Load(); n != goroutines {
		t.Errorf("%d goroutines each holding at most one item made %d items, want %d (the ones made before)", goroutines, n, goroutines)
	}
	if n := testing.AllocsPerRun(100, func() { l.Put(l.Get()) }); n != 0 {
		t.Errorf("Get+Put allocates %.1f times per call in steady state, want 0", n)
	}
}
