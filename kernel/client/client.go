// Package client is a small Jupyter front end over ZeroMQ: it connects to a
// kernel's five sockets, signs requests, and collects replies and IOPub
// messages. The kernel's tests and benchmark use it to drive a kernel the way
// jupyter_client does, over real sockets.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"dnas/kernel"

	"github.com/go-zeromq/zmq4"
)

// Client is one front end connected to one kernel.
type Client struct {
	conn    kernel.ConnectionInfo
	signer  *kernel.Signer
	session string

	ctx    context.Context
	cancel context.CancelFunc
	socks  map[string]zmq4.Socket // "shell", "control", "stdin", "iopub", "hb"
	sendMu sync.Mutex

	mu      sync.Mutex
	changed chan struct{}              // closed and replaced whenever something arrives
	replies map[string]*kernel.Message // by parent msg_id, from shell and control
	iopub   []*kernel.Message          // every IOPub message, in arrival order
	stdin   []*kernel.Message          // input_request messages
	wg      sync.WaitGroup
}

// Dial connects to the kernel described by conn. Connecting succeeds before
// the kernel is up (ZeroMQ retries); use WaitReady to know it answers.
func Dial(conn kernel.ConnectionInfo) (*Client, error) {
	if err := conn.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		conn:    conn,
		signer:  kernel.NewSigner(conn.Key),
		session: kernel.NewID(),
		socks:   map[string]zmq4.Socket{},
		changed: make(chan struct{}),
		replies: map[string]*kernel.Message{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	id := zmq4.WithID(zmq4.SocketIdentity(c.session))
	retry := zmq4.WithDialerRetry(5 * time.Millisecond)
	maxRetries := zmq4.WithDialerMaxRetries(2000)
	c.socks["shell"] = zmq4.NewDealer(c.ctx, id, retry, maxRetries)
	c.socks["control"] = zmq4.NewDealer(c.ctx, id, retry, maxRetries)
	c.socks["stdin"] = zmq4.NewDealer(c.ctx, id, retry, maxRetries)
	c.socks["iopub"] = zmq4.NewSub(c.ctx, retry, maxRetries)
	c.socks["hb"] = zmq4.NewReq(c.ctx, retry, maxRetries)
	eps := conn.Endpoints()
	for _, name := range []string{"iopub", "shell", "control", "stdin", "hb"} {
		if err := c.socks[name].Dial(eps[name]); err != nil {
			c.Close()
			return nil, fmt.Errorf("connecting %s to %s: %w", name, eps[name], err)
		}
	}
	if err := c.socks["iopub"].SetOption(zmq4.OptionSubscribe, ""); err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribing to iopub: %w", err)
	}
	for _, name := range []string{"shell", "control", "stdin", "iopub"} {
		c.wg.Add(1)
		go c.receive(name)
	}
	return c, nil
}

// Close disconnects the client.
func (c *Client) Close() {
	c.cancel()
	for _, s := range c.socks {
		_ = s.Close()
	}
	c.wg.Wait()
}

// Session is the client's session id (also its ZeroMQ identity).
func (c *Client) Session() string { return c.session }

// receive stores every valid message arriving on one socket.
func (c *Client) receive(name string) {
	defer c.wg.Done()
	sock := c.socks[name]
	for {
		zm, err := sock.Recv()
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		m, err := c.signer.Decode(zm.Frames)
		if err != nil {
			continue
		}
		m.Received = time.Now()
		c.mu.Lock()
		switch name {
		case "iopub":
			c.iopub = append(c.iopub, m)
		case "stdin":
			c.stdin = append(c.stdin, m)
		default:
			c.replies[m.Parent.MsgID] = m
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// Send signs and sends a request on channel ("shell", "control" or
// "stdin") and returns its msg_id.
func (c *Client) Send(channel, msgType string, content any) (string, error) {
	h := kernel.NewHeader(msgType, c.session, "client")
	frames, err := c.signer.Encode(nil, h, nil, map[string]any{}, content)
	if err != nil {
		return "", err
	}
	return h.MsgID, c.SendFrames(channel, frames)
}

// SendFrames sends raw frames (starting at the delimiter) on channel; tests
// use it to send malformed or badly signed messages.
func (c *Client) SendFrames(channel string, frames [][]byte) error {
	sock, ok := c.socks[channel]
	if !ok || channel == "iopub" || channel == "hb" {
		return fmt.Errorf("cannot send on channel %q", channel)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return sock.SendMulti(zmq4.NewMsgFrom(frames...))
}

// Signer returns the signer the client uses, to build messages by hand.
func (c *Client) Signer() *kernel.Signer { return c.signer }

// ErrTimeout is returned when the awaited message does not arrive in time.
var ErrTimeout = errors.New("timed out waiting for the kernel")

// wait calls check under the lock until it reports done or timeout passes.
func (c *Client) wait(timeout time.Duration, check func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok := check()
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return ErrTimeout
		}
	}
}

// Reply waits for the reply to request msgID (from shell or control).
func (c *Client) Reply(msgID string, timeout time.Duration) (*kernel.Message, error) {
	var r *kernel.Message
	err := c.wait(timeout, func() bool { r = c.replies[msgID]; return r != nil })
	if err != nil {
		return nil, fmt.Errorf("reply to %s: %w", msgID, err)
	}
	return r, nil
}

// Request sends a request and waits for its reply.
func (c *Client) Request(channel, msgType string, content any, timeout time.Duration) (*kernel.Message, error) {
	id, err := c.Send(channel, msgType, content)
	if err != nil {
		return nil, err
	}
	return c.Reply(id, timeout)
}

// Outputs returns the IOPub messages received so far whose parent is msgID.
func (c *Client) Outputs(msgID string) []*kernel.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*kernel.Message
	for _, m := range c.iopub {
		if m.Parent.MsgID == msgID {
			out = append(out, m)
		}
	}
	return out
}

// AllIOPub returns every IOPub message received so far.
func (c *Client) AllIOPub() []*kernel.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*kernel.Message(nil), c.iopub...)
}

// WaitIdle waits for the idle status of request msgID and returns all the
// IOPub messages of that request, busy and idle included.
func (c *Client) WaitIdle(msgID string, timeout time.Duration) ([]*kernel.Message, error) {
	err := c.wait(timeout, func() bool {
		for i := len(c.iopub) - 1; i >= 0; i-- {
			m := c.iopub[i]
			if m.Parent.MsgID == msgID && m.Header.MsgType == "status" && State(m) == "idle" {
				return true
			}
		}
		return false
	})
	if err != nil {
		return c.Outputs(msgID), fmt.Errorf("idle of %s: %w", msgID, err)
	}
	return c.Outputs(msgID), nil
}

// Execute runs code and waits for its reply and its idle status. It returns
// the reply and the IOPub messages of the request.
func (c *Client) Execute(code string, timeout time.Duration) (*kernel.Message, []*kernel.Message, error) {
	return c.ExecuteWith(map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}, timeout)
}

// ExecuteWith is Execute with the full execute_request content.
func (c *Client) ExecuteWith(content map[string]any, timeout time.Duration) (*kernel.Message, []*kernel.Message, error) {
	id, err := c.Send("shell", "execute_request", content)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.Reply(id, timeout)
	if err != nil {
		return nil, c.Outputs(id), err
	}
	outs, err := c.WaitIdle(id, timeout)
	return r, outs, err
}

// InputRequests returns the input_request messages received so far.
func (c *Client) InputRequests() []*kernel.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*kernel.Message(nil), c.stdin...)
}

// WaitInputRequest waits until n input_request messages have arrived.
func (c *Client) WaitInputRequest(n int, timeout time.Duration) (*kernel.Message, error) {
	var m *kernel.Message
	err := c.wait(timeout, func() bool {
		if len(c.stdin) >= n {
			m = c.stdin[n-1]
			return true
		}
		return false
	})
	return m, err
}

// WaitReady sends kernel_info_request until the kernel answers it on shell
// and its status messages arrive on IOPub (so IOPub is subscribed), as
// jupyter_client does before declaring a kernel ready.
func (c *Client) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		id, err := c.Send("shell", "kernel_info_request", map[string]any{})
		if err != nil {
			return err
		}
		if _, err := c.Reply(id, time.Until(deadline)); err != nil {
			return err
		}
		if _, err := c.WaitIdle(id, 100*time.Millisecond); err == nil {
			return nil
		}
	}
	return fmt.Errorf("kernel not ready after %v: %w", timeout, ErrTimeout)
}

// Heartbeat sends one ping and waits for its echo.
func (c *Client) Heartbeat(timeout time.Duration) error {
	hb := c.socks["hb"]
	done := make(chan error, 1)
	go func() {
		if err := hb.Send(zmq4.NewMsgString("ping")); err != nil {
			done <- err
			return
		}
		m, err := hb.Recv()
		if err == nil && string(m.Bytes()) != "ping" {
			err = fmt.Errorf("heartbeat echoed %q, want \"ping\"", m.Bytes())
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("heartbeat: %w", ErrTimeout)
	}
}

// Content decodes a message's content into a map.
func Content(m *kernel.Message) map[string]any {
	var v map[string]any
	_ = json.Unmarshal(m.Content, &v)
	return v
}

// State returns the execution_state of a status message.
func State(m *kernel.Message) string {
	s, _ := Content(m)["execution_state"].(string)
	return s
}
