package kernel_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dnas/kernel"
	"dnas/kernel/client"
	"dnas/kernel/internal/fake"
)

const wait = 10 * time.Second

// logBuffer collects the kernel's log lines for assertions.
type logBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newLogBuffer() *logBuffer { return &logBuffer{mu: make(chan struct{}, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.buf.String()
}

// start runs a kernel serving interp on free ports and connects a client.
func start(t *testing.T, interp kernel.Interpreter) (*kernel.Kernel, *client.Client, *logBuffer, <-chan error) {
	t.Helper()
	logs := newLogBuffer()
	conn := kernel.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", SignatureScheme: "hmac-sha256", Key: kernel.NewID()}
	k, err := kernel.New(conn, interp, &kernel.Options{Log: log.New(io.MultiWriter(logs), "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(context.Background()) }()
	c, err := client.Dial(k.Connection())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(wait); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.Request("control", "shutdown_request", map[string]any{"restart": false}, wait)
		select {
		case <-done:
		case <-time.After(wait):
			t.Errorf("kernel did not stop after shutdown_request")
		}
		c.Close()
	})
	return k, c, logs, done
}

func types(msgs []*kernel.Message) []string {
	var s []string
	for _, m := range msgs {
		t := m.Header.MsgType
		if t == "status" {
			t += ":" + client.State(m)
		}
		s = append(s, t)
	}
	return s
}

func TestKernelInfoOnShellAndControl(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	for _, ch := range []string{"shell", "control"} {
		r, err := c.Request(ch, "kernel_info_request", map[string]any{}, wait)
		if err != nil {
			t.Fatalf("%s: %v", ch, err)
		}
		ct := client.Content(r)
		if r.Header.MsgType != "kernel_info_reply" || ct["protocol_version"] != "5.3" || ct["status"] != "ok" {
			t.Errorf("%s: got %s %v", ch, r.Header.MsgType, ct)
		}
		if li := ct["language_info"].(map[string]any); li["name"] != "fake" {
			t.Errorf("%s: language_info %v", ch, li)
		}
	}
	if err := c.Heartbeat(wait); err != nil {
		t.Error(err)
	}
}

func TestExecuteOutputOrder(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	code := "print one\neprint two\nprint three\ndisplay text/html <b>x</b>\nshow d1 first\nupdate d1 second\nclear\nvalue 42"
	r, outs, err := c.Execute(code, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ct := client.Content(r); ct["status"] != "ok" || ct["execution_count"] != 1.0 {
		t.Fatalf("reply %v", ct)
	}
	want := []string{"status:busy", "execute_input", "stream", "stream", "stream", "display_data", "display_data",
		"update_display_data", "clear_output", "execute_result", "status:idle"}
	if got := types(outs); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("iopub order\n got %v\nwant %v", got, want)
	}
	texts := []string{"one\n", "two\n", "three\n"}
	names := []string{"stdout", "stderr", "stdout"}
	for i := 0; i < 3; i++ {
		ct := client.Content(outs[2+i])
		if ct["name"] != names[i] || ct["text"] != texts[i] {
			t.Errorf("stream %d: %v", i, ct)
		}
	}
	if id := client.Content(outs[6])["transient"].(map[string]any)["display_id"]; id != "d1" {
		t.Errorf("display id %v", id)
	}
	if id := client.Content(outs[7])["transient"].(map[string]any)["display_id"]; id != "d1" {
		t.Errorf("update display id %v", id)
	}
	res := client.Content(outs[9])
	if res["execution_count"] != 1.0 || res["data"].(map[string]any)["text/plain"] != "42" {
		t.Errorf("execute_result %v", res)
	}
	// The count advances; a silent cell neither counts nor broadcasts.
	r, _, _ = c.Execute("value 1", wait)
	if n := client.Content(r)["execution_count"]; n != 2.0 {
		t.Errorf("second count %v", n)
	}
	r, outs, _ = c.ExecuteWith(map[string]any{"code": "value 7", "silent": true}, wait)
	if n := client.Content(r)["execution_count"]; n != 2.0 {
		t.Errorf("silent count %v", n)
	}
	if got := strings.Join(types(outs), " "); got != "status:busy status:idle" {
		t.Errorf("silent iopub %v", got)
	}
}

func TestUserExpressionsAndPager(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	r, _, err := c.ExecuteWith(map[string]any{"code": "page help text",
		"user_expressions": map[string]any{"a": "value 5", "b": "error nope"}}, wait)
	if err != nil {
		t.Fatal(err)
	}
	ct := client.Content(r)
	ue := ct["user_expressions"].(map[string]any)
	if a := ue["a"].(map[string]any); a["status"] != "ok" || a["data"].(map[string]any)["text/plain"] != "5" {
		t.Errorf("user expression a: %v", a)
	}
	if b := ue["b"].(map[string]any); b["status"] != "error" || b["evalue"] != "nope" {
		t.Errorf("user expression b: %v", b)
	}
	p := ct["payload"].([]any)
	if len(p) != 1 || p[0].(map[string]any)["source"] != "page" {
		t.Errorf("payload %v", p)
	}
}

func TestBadMessagesAreDroppedAndKernelKeepsServing(t *testing.T) {
	_, c, logs, _ := start(t, &fake.Interp{})
	s := c.Signer()
	good := func(msgType string) ([][]byte, string) {
		h := kernel.NewHeader(msgType, c.Session(), "t")
		f, err := s.Encode(nil, h, nil, nil, map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		return f, h.MsgID
	}
	var ids []string
	f, id := good("kernel_info_request")
	f[1] = []byte(strings.Repeat("0", 64)) // wrong signature
	ids = append(ids, id)
	c.SendFrames("shell", f)
	f, id = good("kernel_info_request")
	f[1] = nil // unsigned
	ids = append(ids, id)
	c.SendFrames("control", f)
	f, id = good("kernel_info_request")
	f[2] = append(f[2], 'x') // tampered header
	ids = append(ids, id)
	c.SendFrames("shell", f)
	c.SendFrames("shell", [][]byte{[]byte("no delimiter"), []byte("{}")})
	c.SendFrames("shell", [][]byte{[]byte("<IDS|MSG>"), []byte("sig")})
	bad := [][]byte{[]byte("{not json"), []byte("{}"), []byte("{}"), []byte("{}")}
	c.SendFrames("shell", append([][]byte{[]byte("<IDS|MSG>"), []byte(s.Sign(bad...))}, bad...))
	// A replayed message (same frames twice) is answered once.
	f, id = good("kernel_info_request")
	c.SendFrames("shell", f)
	c.SendFrames("shell", f)

	if _, err := c.Reply(id, wait); err != nil {
		t.Fatalf("a good message after bad ones: %v", err)
	}
	if _, _, err := c.Execute("print still alive", wait); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for _, bid := range ids {
		if _, err := c.Reply(bid, time.Millisecond); err == nil {
			t.Errorf("a badly signed request %s was answered", bid)
		}
		if n := len(c.Outputs(bid)); n != 0 {
			t.Errorf("a badly signed request %s caused %d iopub messages", bid, n)
		}
	}
	if n := len(c.Outputs(id)); n != 2 { // busy + idle, once
		t.Errorf("replayed request: %d iopub messages, want 2", n)
	}
	l := logs.String()
	for _, want := range []string{"signature does not match", "no <IDS|MSG> delimiter", "fewer than 5 frames", "not a JSON object", "replayed"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

func TestStopOnErrorAbortsQueuedCells(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	id1, _ := c.Send("shell", "execute_request", map[string]any{"code": "sleep 200\nerror boom", "stop_on_error": true})
	id2, _ := c.Send("shell", "execute_request", map[string]any{"code": "print 2"})
	id3, _ := c.Send("shell", "execute_request", map[string]any{"code": "print 3"})
	r1, err := c.Reply(id1, wait)
	if err != nil {
		t.Fatal(err)
	}
	ct := client.Content(r1)
	if ct["status"] != "error" || ct["evalue"] != "boom" {
		t.Errorf("failing cell reply %v", ct)
	}
	outs, _ := c.WaitIdle(id1, wait)
	if got := strings.Join(types(outs), " "); got != "status:busy execute_input error status:idle" {
		t.Errorf("failing cell iopub: %s", got)
	}
	for _, id := range []string{id2, id3} {
		r, err := c.Reply(id, wait)
		if err != nil {
			t.Fatal(err)
		}
		if st := client.Content(r)["status"]; st != "aborted" {
			t.Errorf("queued cell status %v, want aborted", st)
		}
		outs, _ := c.WaitIdle(id, wait)
		if got := strings.Join(types(outs), " "); got != "status:busy status:idle" {
			t.Errorf("aborted cell iopub: %s", got)
		}
	}
	// Cells sent afterwards run again; stop_on_error false does not abort.
	r, _, _ := c.Execute("value ok", wait)
	if st := client.Content(r)["status"]; st != "ok" {
		t.Errorf("cell after abort: %v", st)
	}
	idA, _ := c.Send("shell", "execute_request", map[string]any{"code": "sleep 100\nerror soft", "stop_on_error": false})
	idB, _ := c.Send("shell", "execute_request", map[string]any{"code": "value b"})
	c.Reply(idA, wait)
	rB, err := c.Reply(idB, wait)
	if err != nil || client.Content(rB)["status"] != "ok" {
		t.Errorf("stop_on_error=false aborted the next cell: %v %v", err, rB)
	}
}

func TestControlWhileBusyAndInterrupt(t *testing.T) {
	fi := &fake.Interp{}
	_, c, _, _ := start(t, fi)
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "print started\nsleep 30000\nprint never"})
	// Wait until the cell runs.
	if err := waitFor(func() bool { return len(c.Outputs(id)) >= 3 }); err != nil {
		t.Fatal("cell did not start")
	}
	t0 := time.Now()
	r, err := c.Request("control", "kernel_info_request", map[string]any{}, wait)
	if err != nil || r.Header.MsgType != "kernel_info_reply" {
		t.Fatalf("kernel_info on control while busy: %v", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("control answered after %v", d)
	}
	// A shell request waits for the cell; interrupt it from control.
	kid, _ := c.Send("shell", "kernel_info_request", map[string]any{})
	if _, err := c.Request("control", "interrupt_request", map[string]any{}, wait); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Reply(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ct := client.Content(rep); ct["status"] != "error" || ct["ename"] != "interrupted" {
		t.Errorf("interrupted cell reply %v", ct)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("interrupt took %v", d)
	}
	if fi.Interrupts.Load() < 1 {
		t.Errorf("the interpreter's Interrupt was not called")
	}
	if _, err := c.Reply(kid, wait); err != nil {
		t.Errorf("queued shell request after the interrupt: %v", err)
	}
	r, _, _ = c.Execute("value after", wait)
	if st := client.Content(r)["status"]; st != "ok" {
		t.Errorf("cell after interrupt: %v", st)
	}
}

func waitFor(cond func() bool) error {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return client.ErrTimeout
}

func TestPanicInCellKeepsKernel(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	r, outs, err := c.Execute("print before\npanic kaboom", wait)
	if err != nil {
		t.Fatal(err)
	}
	ct := client.Content(r)
	if ct["status"] != "error" || ct["ename"] != "panic" || ct["evalue"] != "kaboom" {
		t.Errorf("reply %v", ct)
	}
	if tb := ct["traceback"].([]any); len(tb) < 2 {
		t.Errorf("traceback %v", tb)
	}
	if got := strings.Join(types(outs), " "); got != "status:busy execute_input stream error status:idle" {
		t.Errorf("iopub %s", got)
	}
	r, _, _ = c.Execute("value alive", wait)
	if client.Content(r)["status"] != "ok" {
		t.Error("kernel did not survive the panic")
	}
}

func TestHundredThousandLinesArriveInOrder(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	const n = 100000
	_, outs, err := c.Execute("lines 100000", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	streams := 0
	for _, m := range outs {
		if m.Header.MsgType == "stream" {
			streams++
			sb.WriteString(client.Content(m)["text"].(string))
		}
	}
	var want strings.Builder
	for i := 0; i < n; i++ {
		want.WriteString("line ")
		want.WriteString(itoa(i))
		want.WriteByte('\n')
	}
	if sb.String() != want.String() {
		t.Fatalf("stdout differs: got %d bytes, want %d", sb.Len(), want.Len())
	}
	if streams > want.Len()/(64<<10)+20 {
		t.Errorf("%d stream messages for %d bytes: output is not batched", streams, want.Len())
	}
	t.Logf("%d lines (%d bytes) in %d stream messages", n, want.Len(), streams)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	p := len(b)
	for ; i > 0; i /= 10 {
		p--
		b[p] = byte('0' + i%10)
	}
	return string(b[p:])
}

func TestHistory(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	for _, code := range []string{"value 1", "value 2", "print x", "value 1"} {
		c.Execute(code, wait)
	}
	hist := func(q map[string]any) []any {
		r, err := c.Request("shell", "history_request", q, wait)
		if err != nil {
			t.Fatal(err)
		}
		return client.Content(r)["history"].([]any)
	}
	h := hist(map[string]any{"hist_access_type": "tail", "n": 2, "output": false, "raw": true})
	if len(h) != 2 || h[0].([]any)[2] != "print x" || h[1].([]any)[1] != 4.0 {
		t.Errorf("tail %v", h)
	}
	h = hist(map[string]any{"hist_access_type": "tail", "n": 1, "output": true, "raw": true})
	if io := h[0].([]any)[2].([]any); io[0] != "value 1" || io[1] != "1" {
		t.Errorf("tail with output %v", h)
	}
	h = hist(map[string]any{"hist_access_type": "range", "session": 0, "start": 2, "stop": 4, "raw": true})
	if len(h) != 2 || h[0].([]any)[1] != 2.0 || h[1].([]any)[1] != 3.0 {
		t.Errorf("range %v", h)
	}
	h = hist(map[string]any{"hist_access_type": "search", "pattern": "value ?", "raw": true})
	if len(h) != 3 {
		t.Errorf("search %v", h)
	}
	h = hist(map[string]any{"hist_access_type": "search", "pattern": "value*", "unique": true, "raw": true})
	if len(h) != 2 || h[1].([]any)[1] != 4.0 {
		t.Errorf("unique search %v", h)
	}
	h = hist(map[string]any{"hist_access_type": "search", "pattern": "*", "n": 1, "raw": true})
	if len(h) != 1 || h[0].([]any)[1] != 4.0 {
		t.Errorf("search n %v", h)
	}
}

func TestCompleteInspectIsCompleteComm(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	// Cursor positions are code points: "é" is one, two bytes.
	r, _ := c.Request("shell", "complete_request", map[string]any{"code": "é pr", "cursor_pos": 4}, wait)
	ct := client.Content(r)
	if m := ct["matches"].([]any); len(m) != 1 || m[0] != "print" || ct["cursor_start"] != 2.0 || ct["cursor_end"] != 4.0 {
		t.Errorf("complete %v", ct)
	}
	r, _ = c.Request("shell", "inspect_request", map[string]any{"code": "sleep", "cursor_pos": 2, "detail_level": 0}, wait)
	if ct := client.Content(r); ct["found"] != true || ct["status"] != "ok" {
		t.Errorf("inspect %v", ct)
	}
	for code, want := range map[string]string{"print a": "complete", "print a\\": "incomplete", "bogus": "invalid"} {
		r, _ = c.Request("shell", "is_complete_request", map[string]any{"code": code}, wait)
		if st := client.Content(r)["status"]; st != want {
			t.Errorf("is_complete(%q) = %v, want %s", code, st, want)
		}
	}
	r, _ = c.Request("shell", "comm_info_request", map[string]any{}, wait)
	if ct := client.Content(r); ct["status"] != "ok" || len(ct["comms"].(map[string]any)) != 0 {
		t.Errorf("comm_info %v", ct)
	}
	id, _ := c.Send("shell", "comm_open", map[string]any{"comm_id": "c1", "target_name": "nope", "data": map[string]any{}})
	outs, err := c.WaitIdle(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types(outs), " "); got != "status:busy comm_close status:idle" || client.Content(outs[1])["comm_id"] != "c1" {
		t.Errorf("comm_open answered with %s", got)
	}
}

func TestInputRequest(t *testing.T) {
	_, c, _, _ := start(t, &fake.Interp{})
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "input your name: ", "allow_stdin": true})
	req, err := c.WaitInputRequest(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if p := client.Content(req)["prompt"]; p != "your name:" || req.Parent.MsgID != id {
		t.Errorf("input_request %v parent %s", p, req.Parent.MsgID)
	}
	h := kernel.NewHeader("input_reply", c.Session(), "t")
	f, _ := c.Signer().Encode(nil, h, &req.Header, nil, map[string]any{"value": "Ada"})
	if err := c.SendFrames("stdin", f); err != nil {
		t.Fatal(err)
	}
	outs, err := c.WaitIdle(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, m := range outs {
		if m.Header.MsgType == "stream" {
			got += client.Content(m)["text"].(string)
		}
	}
	if got != "got Ada\n" {
		t.Errorf("stdout %q", got)
	}
	// Without allow_stdin the cell fails instead of hanging.
	r, _, _ := c.ExecuteWith(map[string]any{"code": "input x", "allow_stdin": false}, wait)
	if st := client.Content(r)["status"]; st != "error" {
		t.Errorf("input without stdin: %v", st)
	}
}

func TestShutdownReplyThenExit(t *testing.T) {
	fi := &fake.Interp{}
	logs := newLogBuffer()
	conn := kernel.ConnectionInfo{IP: "127.0.0.1", Key: "k", SignatureScheme: "hmac-sha256"}
	k, err := kernel.New(conn, fi, &kernel.Options{Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(context.Background()) }()
	c, err := client.Dial(k.Connection())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitReady(wait); err != nil {
		t.Fatal(err)
	}
	// Shutdown while a cell runs: the reply comes and Run returns promptly.
	c.Send("shell", "execute_request", map[string]any{"code": "sleep 60000"})
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	r, err := c.Request("control", "shutdown_request", map[string]any{"restart": true}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ct := client.Content(r); ct["status"] != "ok" || ct["restart"] != true {
		t.Errorf("shutdown_reply %v", ct)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after shutdown_request")
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if fi.Shutdowns.Load() != 1 {
		t.Errorf("interpreter Shutdown called %d times", fi.Shutdowns.Load())
	}
	// The ports are free again.
	k2, err := kernel.New(k.Connection(), fi, &kernel.Options{Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatalf("rebinding the ports after shutdown: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k2.Run(ctx)
}

func TestIPCTransport(t *testing.T) {
	conn := kernel.ConnectionInfo{Transport: "ipc", IP: filepath.Join(t.TempDir(), "kernel"), Key: "k", SignatureScheme: "hmac-sha256"}
	k, err := kernel.New(conn, &fake.Interp{}, &kernel.Options{Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(context.Background()) }()
	ci := k.Connection()
	if ci.ShellPort == 0 || ci.ShellPort == ci.HBPort {
		t.Fatalf("ipc channels share a socket file: %+v", ci)
	}
	c, err := client.Dial(ci)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitReady(wait); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.Execute("value ipc", wait)
	if err != nil || client.Content(r)["status"] != "ok" {
		t.Fatalf("execute over ipc: %v %v", err, r)
	}
	if err := c.Heartbeat(wait); err != nil {
		t.Error(err)
	}
	c.Request("control", "shutdown_request", map[string]any{}, wait)
	if err := <-done; err != nil {
		t.Error(err)
	}
}
