package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Options tune a Kernel; the zero value is ready to use.
type Options struct {
	// Log receives one line per dropped message, unknown request or
	// recovered panic; nil logs to stderr (which Jupyter shows in the
	// server's log).
	Log *log.Logger
	// StreamFlushInterval is the longest stream text waits before it is
	// published (default 50 ms).
	StreamFlushInterval time.Duration
	// StreamFlushBytes publishes buffered stream text as soon as this much
	// is pending (default 64 KiB).
	StreamFlushBytes int
	// HistoryFile, if set, keeps the input history across kernel runs in
	// this file (JSON lines); each run is a new history session.
	HistoryFile string
}

// Kernel serves one Interpreter over the five Jupyter sockets. Create it with
// New, then call Run.
type Kernel struct {
	conn    ConnectionInfo
	interp  Interpreter
	opts    Options
	log     *log.Logger
	signer  *Signer
	session string // this kernel's session id, in every header it sends

	shell, control, stdin, iopub, hb zmq4.Socket
	sendMu                           map[zmq4.Socket]*sync.Mutex

	pub     *publisher
	out     *kernelOutput
	history *history

	ctx    context.Context // cancelled on shutdown
	cancel context.CancelFunc

	// Shell-goroutine state.
	execCount   int
	abortBefore time.Time // execute requests received before this are aborted

	mu  sync.Mutex // guards cur
	cur *cell      // the running execute request, nil when idle

	inputMu      sync.Mutex // one input_request at a time
	inputReplies chan *Message

	shutdownOnce sync.Once
	done         chan struct{} // closed when a shutdown was requested
	restart      bool
}

// cell is the execute request being run.
type cell struct {
	msg        *Message
	ctx        context.Context
	cancel     context.CancelFunc
	allowStdin bool
}

// New binds the sockets described by conn and returns a kernel that will serve
// interp once Run is called. A port of 0 in conn is replaced by the port the
// system picked (see Connection).
func New(conn ConnectionInfo, interp Interpreter, opts *Options) (*Kernel, error) {
	if err := conn.Validate(); err != nil {
		return nil, err
	}
	k := &Kernel{
		conn:         conn,
		interp:       interp,
		signer:       NewSigner(conn.Key),
		session:      NewID(),
		inputReplies: make(chan *Message, 16),
		done:         make(chan struct{}),
	}
	if opts != nil {
		k.opts = *opts
	}
	if k.opts.StreamFlushInterval <= 0 {
		k.opts.StreamFlushInterval = 50 * time.Millisecond
	}
	if k.opts.StreamFlushBytes <= 0 {
		k.opts.StreamFlushBytes = 64 << 10
	}
	k.log = k.opts.Log
	if k.log == nil {
		k.log = log.New(os.Stderr, "kernel: ", log.LstdFlags)
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	zlog := log.New(k.log.Writer(), k.log.Prefix()+"zmq4: ", k.log.Flags())
	opt := []zmq4.Option{zmq4.WithLogger(zlog)}
	k.shell = zmq4.NewRouter(k.ctx, opt...)
	k.control = zmq4.NewRouter(k.ctx, opt...)
	k.stdin = zmq4.NewRouter(k.ctx, opt...)
	k.iopub = zmq4.NewPub(k.ctx, opt...)
	k.hb = zmq4.NewRep(k.ctx, opt...)
	k.sendMu = map[zmq4.Socket]*sync.Mutex{}
	for _, b := range []struct {
		name string
		sock zmq4.Socket
		port *int
	}{
		{"shell", k.shell, &k.conn.ShellPort},
		{"control", k.control, &k.conn.ControlPort},
		{"stdin", k.stdin, &k.conn.StdinPort},
		{"iopub", k.iopub, &k.conn.IOPubPort},
		{"hb", k.hb, &k.conn.HBPort},
	} {
		k.sendMu[b.sock] = new(sync.Mutex)
		if *b.port == 0 && k.conn.Transport == "ipc" {
			*b.port = k.conn.freeIPCPort()
		}
		ep := k.conn.endpoint(*b.port)
		if err := b.sock.Listen(ep); err != nil {
			k.closeSockets()
			return nil, fmt.Errorf("binding the %s socket to %s: %w (is another kernel using the port?)", b.name, ep, err)
		}
		if *b.port == 0 && k.conn.Transport == "tcp" {
			if a, ok := b.sock.Addr().(*net.TCPAddr); ok {
				*b.port = a.Port
			}
		}
	}
	hist, err := newHistory(k.opts.HistoryFile)
	if err != nil {
		k.log.Printf("history file: %v (keeping history in memory only)", err)
		hist, _ = newHistory("")
	}
	k.history = hist
	k.pub = newPublisher(k)
	k.out = &kernelOutput{k: k}
	return k, nil
}

// Connection returns the connection information with the ports actually bound.
func (k *Kernel) Connection() ConnectionInfo { return k.conn }

// Output returns the kernel's Output: the same value Execute receives. Text
// written to it outside a cell is shown under the most recent cell.
func (k *Kernel) Output() Output { return k.out }

// Run serves requests until a front end asks for shutdown or ctx is
// cancelled, then closes the sockets. It returns nil after a shutdown request.
func (k *Kernel) Run(ctx context.Context) error {
	shellQueue := make(chan *Message, 4096)
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); k.heartbeat() }()
	go func() { defer wg.Done(); k.readLoop("stdin", k.stdin, k.deliverInputReply) }()
	go func() { defer wg.Done(); k.readLoop("control", k.control, k.handleControl) }()
	go func() {
		defer wg.Done()
		k.readLoop("shell", k.shell, func(m *Message) {
			select {
			case shellQueue <- m:
			case <-k.ctx.Done():
			}
		})
	}()
	shellDone := make(chan struct{})
	go func() {
		defer close(shellDone)
		for {
			select {
			case m := <-shellQueue:
				k.handleShell(m)
			case <-k.done:
				return
			}
		}
	}()
	// Tell front ends the kernel is up (ipykernel publishes "starting").
	k.pub.publish("status", nil, map[string]any{"execution_state": "starting"})

	var err error
	select {
	case <-k.done:
	case <-ctx.Done():
		err = ctx.Err()
		k.requestShutdown(false)
	}
	// Give a running cell a moment to notice the interrupt, then leave:
	// shutdown must be prompt even if the cell ignores its context.
	select {
	case <-shellDone:
	case <-time.After(500 * time.Millisecond):
	}
	k.pub.flush()
	time.Sleep(10 * time.Millisecond) // let the PUB queue drain the last status
	k.cancel()
	k.closeSockets()
	wg.Wait()
	k.history.close()
	return err
}

// Interrupt interrupts the running cell, as an interrupt_request does. It is
// what a SIGINT handler should call: the kernel keeps running.
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	c := k.cur
	k.mu.Unlock()
	if c != nil {
		c.cancel()
	}
	k.interp.Interrupt()
}

// requestShutdown stops the interpreter and wakes Run; safe to call twice.
func (k *Kernel) requestShutdown(restart bool) {
	k.shutdownOnce.Do(func() {
		k.restart = restart
		k.Interrupt()
		func() {
			defer func() {
				if r := recover(); r != nil {
					k.log.Printf("interpreter Shutdown panicked: %v", r)
				}
			}()
			k.interp.Shutdown(restart)
		}()
		close(k.done)
	})
}

func (k *Kernel) closeSockets() {
	for _, s := range []zmq4.Socket{k.shell, k.control, k.stdin, k.iopub, k.hb} {
		if s != nil {
			_ = s.Close()
		}
	}
}

// heartbeat echoes every ping on the REP socket.
func (k *Kernel) heartbeat() {
	for {
		m, err := k.hb.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			k.log.Printf("heartbeat: %v", err)
			continue
		}
		if err := k.hb.SendMulti(m); err != nil && k.ctx.Err() == nil {
			k.log.Printf("heartbeat echo: %v", err)
		}
	}
}

// readLoop receives, verifies and decodes messages from sock and passes the
// good ones to handle; bad ones are logged and dropped.
func (k *Kernel) readLoop(name string, sock zmq4.Socket, handle func(*Message)) {
	for {
		zm, err := sock.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			k.log.Printf("%s: receive: %v", name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := k.signer.Decode(zm.Frames)
		if err != nil {
			k.log.Printf("%s: dropped a message: %v", name, err)
			continue
		}
		m.Received = time.Now()
		handle(m)
	}
}

// send signs and sends a message on a ROUTER socket to the identities ids.
func (k *Kernel) send(sock zmq4.Socket, ids [][]byte, msgType string, parent *Header, content any) error {
	frames, err := k.signer.Encode(ids, NewHeader(msgType, k.session, "kernel"), parent, nil, content)
	if err != nil {
		return err
	}
	mu := k.sendMu[sock]
	mu.Lock()
	defer mu.Unlock()
	return sock.SendMulti(zmq4.NewMsgFrom(frames...))
}

// reply answers req on the socket it came in on.
func (k *Kernel) reply(sock zmq4.Socket, req *Message, msgType string, content any) {
	if err := k.send(sock, req.Identities, msgType, &req.Header, content); err != nil && k.ctx.Err() == nil {
		k.log.Printf("sending %s: %v", msgType, err)
	}
}

// deliverInputReply hands an input_reply from the stdin socket to the
// waiting Input call, if any.
func (k *Kernel) deliverInputReply(m *Message) {
	if m.Header.MsgType != "input_reply" {
		k.log.Printf("stdin: ignored a %q message (only input_reply is expected)", m.Header.MsgType)
		return
	}
	select {
	case k.inputReplies <- m:
	default:
		k.log.Printf("stdin: dropped an input_reply nobody waits for")
	}
}

// errInterrupted is returned by Input when the cell is interrupted.
var errInterrupted = errors.New("input interrupted")

// input implements Output.Input for the running cell.
func (k *Kernel) input(prompt string, password bool) (string, error) {
	k.mu.Lock()
	c := k.cur
	k.mu.Unlock()
	if c == nil || !c.allowStdin {
		return "", errNoStdin
	}
	k.inputMu.Lock()
	defer k.inputMu.Unlock()
	for len(k.inputReplies) > 0 { // stale replies from an interrupted request
		<-k.inputReplies
	}
	k.pub.flush() // the prompt comes after what was printed before it
	content := map[string]any{"prompt": prompt, "password": password}
	if err := k.send(k.stdin, c.msg.Identities, "input_request", &c.msg.Header, content); err != nil {
		return "", fmt.Errorf("sending input_request: %w", err)
	}
	select {
	case r := <-k.inputReplies:
		var v struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(r.Content, &v); err != nil {
			return "", fmt.Errorf("input_reply: %w", err)
		}
		return v.Value, nil
	case <-c.ctx.Done():
		return "", errInterrupted
	case <-k.done:
		return "", errInterrupted
	}
}
