//go:build unix

package repl

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// fdOwner is held by the session whose cell has file descriptors 1 and 2
// redirected: they belong to the whole process, so only one cell at a time
// captures them (a second session's cell runs uncaptured).
var fdOwner sync.Mutex

// syncMarker is written into a capture pipe to learn when everything written
// before it has been forwarded. It is shorter than PIPE_BUF, so no other
// write can split it.
var syncMarker = []byte("\x00\x1bdnas-repl-sync\x1b\x00")

// capture redirects file descriptors 1 and 2 to pipes while a cell runs and
// forwards what arrives to the session's writers, so that output of compiled
// code (a library's fmt.Println, the Go runtime, a C library) reaches the
// REPL or the notebook like interpreted code's output.
type capture struct {
	dest [3]io.Writer // by fd; 1 and 2 used

	mu      sync.Mutex
	ready   bool
	active  bool
	saved   [3]int // copies of the original fds 1 and 2
	pr, pw  [3]*os.File
	waitMu  [3]sync.Mutex
	waiters [3][]chan struct{}
	readers sync.WaitGroup
}

func newCapture(stdout, stderr io.Writer) *capture {
	return &capture{dest: [3]io.Writer{nil, stdout, stderr}}
}

// setup creates the pipes and the forwarding goroutines, once.
func (c *capture) setup() error {
	for fd := 1; fd <= 2; fd++ {
		saved, err := unix.Dup(fd)
		if err != nil {
			return err
		}
		unix.CloseOnExec(saved)
		c.saved[fd] = saved
		// A destination that is the process's own fd 1 or 2 must be
		// written through the saved copy, or it would feed the pipe.
		if f, ok := c.dest[fd].(*os.File); ok && (f.Fd() == 1 || f.Fd() == 2) {
			c.dest[fd] = os.NewFile(uintptr(c.saved[f.Fd()]), f.Name())
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		c.pr[fd], c.pw[fd] = pr, pw
	}
	for fd := 1; fd <= 2; fd++ {
		c.readers.Add(1)
		go c.forward(fd)
	}
	c.ready = true
	return nil
}

// begin redirects fds 1 and 2 to the pipes, if no other cell holds them.
func (c *capture) begin() {
	if !fdOwner.TryLock() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		if err := c.setup(); err != nil {
			fdOwner.Unlock()
			return
		}
	}
	if unix.Dup2(int(c.pw[1].Fd()), 1) != nil || unix.Dup2(int(c.pw[2].Fd()), 2) != nil {
		unix.Dup2(c.saved[1], 1)
		unix.Dup2(c.saved[2], 2)
		fdOwner.Unlock()
		return
	}
	c.active = true
}

// end restores fds 1 and 2 and waits until everything captured has been
// forwarded.
func (c *capture) end() {
	c.mu.Lock()
	if !c.active {
		c.mu.Unlock()
		return
	}
	unix.Dup2(c.saved[1], 1)
	unix.Dup2(c.saved[2], 2)
	c.active = false
	c.mu.Unlock()
	c.flush()
	fdOwner.Unlock()
}

// write sends p through the pipe of fd while capturing, so that it keeps its
// order with compiled code's output; it reports false when not capturing.
func (c *capture) write(fd int, p []byte) bool {
	c.mu.Lock()
	active := c.active
	c.mu.Unlock()
	if !active {
		return false
	}
	c.pw[fd].Write(p)
	return true
}

// sync waits until what was written to fds 1 and 2 so far is forwarded.
func (c *capture) sync() {
	c.mu.Lock()
	active := c.active
	c.mu.Unlock()
	if active {
		c.flush()
	}
}

// flush sends a marker down both pipes and waits until both forwarders
// have reached it.
func (c *capture) flush() {
	var chs [3]chan struct{}
	for fd := 1; fd <= 2; fd++ {
		ch := make(chan struct{})
		c.waitMu[fd].Lock()
		c.waiters[fd] = append(c.waiters[fd], ch)
		_, err := c.pw[fd].Write(syncMarker)
		c.waitMu[fd].Unlock()
		if err == nil {
			chs[fd] = ch
		}
	}
	timeout := time.NewTimer(2 * time.Second)
	defer timeout.Stop()
	for fd := 1; fd <= 2; fd++ {
		if chs[fd] == nil {
			continue
		}
		select {
		case <-chs[fd]:
		case <-timeout.C:
			return
		}
	}
}

// forward copies the pipe of fd to its destination, answering sync markers.
func (c *capture) forward(fd int) {
	defer c.readers.Done()
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := c.pr[fd].Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.Index(pending, syncMarker)
			if i < 0 {
				break
			}
			if i > 0 {
				c.dest[fd].Write(pending[:i])
			}
			pending = pending[i+len(syncMarker):]
			c.waitMu[fd].Lock()
			if len(c.waiters[fd]) > 0 {
				close(c.waiters[fd][0])
				c.waiters[fd] = c.waiters[fd][1:]
			}
			c.waitMu[fd].Unlock()
		}
		// Keep back a tail that may be the start of a marker.
		keep := 0
		for k := min(len(pending), len(syncMarker)-1); k > 0; k-- {
			if bytes.HasPrefix(syncMarker, pending[len(pending)-k:]) {
				keep = k
				break
			}
		}
		if len(pending) > keep {
			c.dest[fd].Write(pending[:len(pending)-keep])
			pending = append(pending[:0], pending[len(pending)-keep:]...)
		}
		if err != nil {
			return
		}
	}
}

func (c *capture) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		return nil
	}
	for fd := 1; fd <= 2; fd++ {
		c.pw[fd].Close()
	}
	c.readers.Wait()
	for fd := 1; fd <= 2; fd++ {
		c.pr[fd].Close()
		unix.Close(c.saved[fd])
	}
	c.ready = false
	return nil
}
