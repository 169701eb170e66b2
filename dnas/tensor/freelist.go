package tensor

import "sync"

// FreeList is a stack of reusable *T shared by goroutines: Get takes the
// item put back last, or makes a new one when none is left, and Put returns
// an item for later calls. The zero value is ready to use and makes items
// with new(T); set New before the first Get to build them otherwise (e.g. to
// bind a method value once). A FreeList must not be copied after first use.
//
// It replaces sync.Pool where steady-state code promises not to allocate
// (the allocation tests count this). A Pool keeps one item per P (processor)
// out of reach of the others, so a Get that runs on another P than the last
// Put finds nothing and allocates, at random, depending on the scheduler;
// and a Pool drops its items at every garbage collection. A FreeList hands
// any free item to any goroutine and keeps it for ever, so once as many
// items exist as are ever in use at once, Get and Put never allocate (Put
// appends, and the list's backing array only grows while that maximum is
// first reached). The price is one mutex shared by all callers: use it for
// items borrowed once per call of a sizeable operation, not per element.
type FreeList[T any] struct {
	// New makes an item when the list is empty; nil means new(T).
	New func() *T

	mu   sync.Mutex
	free []*T
}

// Get removes and returns the item put back last, or a new one when the
// list is empty.
func (l *FreeList[T]) Get() *T {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		x := l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	if l.New != nil {
		return l.New()
	}
	return new(T)
}

// Put returns x to the list for a later Get. The caller must not use x
// afterwards, and should first clear any references x holds to memory it
// does not own, so that the list does not keep that memory alive.
func (l *FreeList[T]) Put(x *T) {
	l.mu.Lock()
	l.free = append(l.free, x)
	l.mu.Unlock()
}
