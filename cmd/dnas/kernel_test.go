package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dnas/kernel"
	"dnas/kernel/client"
)

// startDnasKernel serves the Go session on free ports, in process, and
// connects a client to it.
func startDnasKernel(t *testing.T) (*client.Client, <-chan error) {
	t.Helper()
	ci := kernel.ConnectionInfo{IP: "127.0.0.1", Key: kernel.NewID(), SignatureScheme: "hmac-sha256"}
	k, err := newDnasKernel(ci, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(context.Background()) }()
	c, err := client.Dial(k.Connection())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Request("control", "shutdown_request", map[string]any{"restart": false}, 10*time.Second)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the kernel did not stop after shutdown_request")
		}
		c.Close()
	})
	return c, done
}

// run executes code and fails the test unless the cell's status is want.
func run(t *testing.T, c *client.Client, code, want string) (map[string]any, []*kernel.Message) {
	t.Helper()
	r, outs, err := c.Execute(code, 60*time.Second)
	if err != nil {
		t.Fatalf("%q: %v", code, err)
	}
	ct := client.Content(r)
	if ct["status"] != want {
		t.Fatalf("%q: status %v, want %s: %v", code, ct["status"], want, ct)
	}
	return ct, outs
}

// result returns the text/plain of the cell's execute_result.
func result(outs []*kernel.Message) string {
	for _, m := range outs {
		if m.Header.MsgType == "execute_result" {
			s, _ := client.Content(m)["data"].(map[string]any)["text/plain"].(string)
			return s
		}
	}
	return ""
}

func stdout(outs []*kernel.Message) string {
	var s strings.Builder
	for _, m := range outs {
		if m.Header.MsgType == "stream" && client.Content(m)["name"] == "stdout" {
			s.WriteString(client.Content(m)["text"].(string))
		}
	}
	return s.String()
}

func TestKernelRunsGoCells(t *testing.T) {
	c, _ := startDnasKernel(t)
	_, outs := run(t, c, "x := 20\nfunc double(v int) int { return 2 * v }\ndouble(x) + 2", "ok")
	if got := result(outs); got != "42" {
		t.Errorf("value %q, want 42", got)
	}
	_, outs = run(t, c, `fmt.Println("hello")`, "ok")
	if got := stdout(outs); got != "hello\n" {
		t.Errorf("stdout %q", got)
	}
	// A cell's error, then the session goes on with its state.
	ct, _ := run(t, c, "undefinedName + 1", "error")
	if tb := ct["traceback"].([]any); len(tb) == 0 {
		t.Errorf("error without traceback: %v", ct)
	}
	_, outs = run(t, c, "x", "ok")
	if got := result(outs); got != "20" {
		t.Errorf("x after an error = %q", got)
	}
	// Help requests page the documentation.
	ct, _ = run(t, c, "fmt.Println?", "ok")
	if p := ct["payload"].([]any); len(p) != 1 {
		t.Errorf("help payload %v", p)
	}
}

func TestKernelSurvivesGoroutinePanic(t *testing.T) {
	c, _ := startDnasKernel(t)
	r, _, err := c.Execute("go func() { panic(\"in a goroutine\") }()\ntime.Sleep(200 * time.Millisecond)", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("goroutine panic cell: %v", client.Content(r))
	_, outs := run(t, c, "1+1", "ok")
	if got := result(outs); got != "2" {
		t.Errorf("1+1 after a goroutine panic = %q", got)
	}
	// And a panic in the cell itself.
	run(t, c, `panic("in the cell")`, "error")
	_, outs = run(t, c, "3*3", "ok")
	if got := result(outs); got != "9" {
		t.Errorf("3*3 after a panic = %q", got)
	}
}

// TestInterruptLoopKeepsState interrupts a cell that loops until its
// context is cancelled, calling compiled code, and checks that the
// session's variables survive with the work done so far.
func TestInterruptLoopKeepsState(t *testing.T) {
	c, _ := startDnasKernel(t)
	run(t, c, "n := 0", "ok")
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "for ctx.Err() == nil {\n\tn++\n\t_ = tensor.New(16, 16)\n\ttime.Sleep(time.Millisecond)\n}"})
	queued, _ := c.Send("shell", "execute_request", map[string]any{"code": "n = -1"})
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if _, err := c.Request("control", "interrupt_request", map[string]any{}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := c.Reply(id, 30*time.Second)
	if err != nil {
		t.Fatalf("the loop did not stop: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("interrupt took %v", d)
	}
	t.Logf("interrupted loop: %v", client.Content(r)["status"])
	// The cell queued behind the interrupted one is aborted (stop_on_error)
	// when the interrupted cell reports an error, as in ipykernel.
	if rq, err := c.Reply(queued, 30*time.Second); err != nil {
		t.Fatal(err)
	} else if st := client.Content(rq)["status"]; client.Content(r)["status"] == "error" && st != "aborted" {
		t.Errorf("queued cell after an interrupt: %v", st)
	}
	_, outs := run(t, c, "n > 10", "ok")
	if got := result(outs); got != "true" {
		t.Errorf("n after the interrupt: n > 10 is %q", got)
	}
}

// TestInterruptTrainingKeepsModel interrupts dnas training from the control
// channel while it runs, and checks that the model trained so far is kept
// and that the live progress display ended with a final frame.
func TestInterruptTrainingKeepsModel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny teacher for a few seconds")
	}
	c, _ := startDnasKernel(t)
	if r, _, _ := c.Execute("dnas.TeacherPresetNames()", 30*time.Second); client.Content(r)["status"] != "ok" {
		t.Skipf("the session cannot reach package dnas (regenerate repl/symbols): %v", client.Content(r)["evalue"])
	}
	run(t, c, `tr, err := dnas.NewTeacherTrainerByName("tiny", 1)
if err != nil { panic(err) }`, "ok")
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "tr.Train(ctx, 1000000)", "stop_on_error": true})
	// Wait for the progress display, so training is under way.
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := 0
		for _, m := range c.Outputs(id) {
			if m.Header.MsgType == "update_display_data" {
				n++
			}
		}
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress updates; iopub: %v", c.Outputs(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t0 := time.Now()
	if _, err := c.Request("control", "interrupt_request", map[string]any{}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reply(id, 30*time.Second); err != nil {
		t.Fatalf("the training cell did not stop: %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("interrupt took %v", d)
	}
	outs, _ := c.WaitIdle(id, 10*time.Second)
	var display string
	var frames []string
	for _, m := range outs {
		ct := client.Content(m)
		switch m.Header.MsgType {
		case "display_data":
			display, _ = ct["transient"].(map[string]any)["display_id"].(string)
		case "update_display_data":
			if ct["transient"].(map[string]any)["display_id"] != display {
				t.Errorf("an update for another display: %v", ct["transient"])
			}
			frames = append(frames, ct["data"].(map[string]any)["text/html"].(string))
		}
	}
	if display == "" || len(frames) == 0 {
		t.Fatalf("no live progress display: %v", outs)
	}
	if last := frames[len(frames)-1]; !strings.Contains(last, "done") || !strings.Contains(last, "teacher tiny") {
		t.Errorf("final frame is not the last step:\n%s", last)
	}
	// The model trained so far is kept, and training resumes from it.
	_, outs = run(t, c, "tr.StepNum", "ok")
	steps := result(outs)
	if steps == "" || steps == "0" {
		t.Fatalf("StepNum after the interrupt = %q, want the steps done", steps)
	}
	_, outs = run(t, c, "before := tr.StepNum\ntr.Train(ctx, 2)\ntr.StepNum - before", "ok")
	if got := result(outs); got != "2" {
		t.Errorf("training resumed for %q steps, want 2", got)
	}
	t.Logf("interrupted after %s steps", steps)
}

// TestSIGINTInterruptsAndNeverKills runs `dnas kernel` the way Jupyter does
// (from a connection file) and sends the process SIGINT while a cell runs:
// the cell stops, the kernel lives on.
func TestSIGINTInterruptsAndNeverKills(t *testing.T) {
	var ports [5]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close() // free for the kernel to bind
	}
	ci := kernel.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", Key: kernel.NewID(), SignatureScheme: "hmac-sha256",
		ShellPort: ports[0], ControlPort: ports[1], StdinPort: ports[2], IOPubPort: ports[3], HBPort: ports[4]}
	b, _ := json.Marshal(ci)
	path := filepath.Join(t.TempDir(), "kernel.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serveKernel(path) }()
	c, err := client.Dial(ci)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "for ctx.Err() == nil { time.Sleep(time.Millisecond) }"})
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reply(id, 10*time.Second); err != nil {
		t.Fatalf("SIGINT did not stop the cell: %v", err)
	}
	_, outs := run(t, c, "1+1", "ok")
	if got := result(outs); got != "2" {
		t.Errorf("1+1 after SIGINT = %q", got)
	}
	if _, err := c.Request("control", "shutdown_request", map[string]any{"restart": false}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveKernel returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kernel did not exit after shutdown_request")
	}
}

// TestProgressDisplayUpdatesInPlace checks that progress reported from a
// cell becomes one notebook display updated in place, ending on a final
// frame.
func TestProgressDisplayUpdatesInPlace(t *testing.T) {
	c, _ := startDnasKernel(t)
	_, outs := run(t, c, `tk := progress.NewTracker("demo task", 5, nil)
for i := 1; i <= 5; i++ {
	tk.Step(i, 10, 1/float64(i))
	time.Sleep(150 * time.Millisecond)
}
tk.Done(5, 0.2)`, "ok")
	var id string
	var shows, updates int
	var last string
	for _, m := range outs {
		ct := client.Content(m)
		switch m.Header.MsgType {
		case "display_data":
			shows++
			id, _ = ct["transient"].(map[string]any)["display_id"].(string)
		case "update_display_data":
			updates++
			if ct["transient"].(map[string]any)["display_id"] != id {
				t.Errorf("update of another display: %v", ct["transient"])
			}
			last = ct["data"].(map[string]any)["text/html"].(string)
		}
	}
	if shows != 1 || updates < 2 || id == "" {
		t.Fatalf("%d displays (id %q) and %d updates, want 1 and several", shows, id, updates)
	}
	for _, want := range []string{"demo task", "step 5/5", "done"} {
		if !strings.Contains(last, want) {
			t.Errorf("final frame lacks %q:\n%s", want, last)
		}
	}
}

// TestStdinReachesTheCell reads a line with fmt.Scanln in a cell: the
// kernel asks the front end with input_request.
func TestStdinReachesTheCell(t *testing.T) {
	c, _ := startDnasKernel(t)
	id, _ := c.Send("shell", "execute_request", map[string]any{"code": "var name string\nfmt.Scanln(&name)\n\"hello \" + name", "allow_stdin": true})
	req, err := c.WaitInputRequest(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := kernel.NewHeader("input_reply", c.Session(), "t")
	f, _ := c.Signer().Encode(nil, h, &req.Header, nil, map[string]any{"value": "Ada"})
	if err := c.SendFrames("stdin", f); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reply(id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	outs, _ := c.WaitIdle(id, 10*time.Second)
	if got := result(outs); got != "hello Ada" {
		t.Errorf("value %q, want %q", got, "hello Ada")
	}
}

// TestKernelInstallLayout checks the kernelspec `dnas kernel install`
// writes, under --prefix and --user, as `jupyter kernelspec install` lays
// it out.
func TestKernelInstallLayout(t *testing.T) {
	prefix := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", t.TempDir())
	user := os.Getenv("JUPYTER_DATA_DIR")
	if err := kernelInstall([]string{"--prefix", prefix}); err != nil {
		t.Fatal(err)
	}
	if err := kernelInstall([]string{"--user"}); err != nil {
		t.Fatal(err)
	}
	if err := kernelInstall([]string{"--user", "--prefix", prefix}); err == nil {
		t.Error("--user with --prefix was accepted")
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	for _, dir := range []string{
		filepath.Join(prefix, "share", "jupyter", "kernels", "dnas"),
		filepath.Join(user, "kernels", "dnas"),
	} {
		b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Argv          []string `json:"argv"`
			DisplayName   string   `json:"display_name"`
			Language      string   `json:"language"`
			InterruptMode string   `json:"interrupt_mode"`
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			t.Fatal(err)
		}
		if len(spec.Argv) != 3 || spec.Argv[0] != exe || spec.Argv[1] != "kernel" || spec.Argv[2] != "{connection_file}" ||
			spec.DisplayName != "Go (dnas)" || spec.Language != "go" || spec.InterruptMode != "message" {
			t.Errorf("%s/kernel.json: %s", dir, b)
		}
		for _, size := range []int{32, 64} {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size)))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
				t.Errorf("logo %d is %v", size, b)
			}
		}
	}
}
