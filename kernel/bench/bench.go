// Package bench measures a Jupyter kernel from the outside, the way a front
// end sees it: how long after the process starts it answers kernel_info (and
// its IOPub status arrives), the round trip of a small execute request
// (request sent to idle status received), and how a cell printing many lines
// streams. Any kernel can be measured, so dnas and ipykernel run side by
// side in one report (`dnas kernel bench`).
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"dnas/kernel"
	"dnas/kernel/client"
)

// Kernel says how to start the kernel to measure and what to run in it.
type Kernel struct {
	Name string
	// Argv starts the kernel; "{connection_file}" is replaced by the path of
	// the connection file written for it.
	Argv []string
	// Expr is the cell whose round trip is timed, e.g. "1+1".
	Expr string
	// Lines is a cell printing the numbers 0..LinesN-1, one per line; empty
	// skips the streaming measurement.
	Lines  string
	LinesN int
}

// Result is what Measure found.
type Result struct {
	Name  string
	Ready time.Duration // process start to first kernel_info_reply with IOPub working
	// FirstCell is process start to the idle status of the first Expr cell:
	// when the kernel has really done work (a kernel may answer
	// kernel_info before its interpreter is loaded).
	FirstCell time.Duration
	RTT       []time.Duration // each timed round trip, sorted
	Lines     time.Duration   // the Lines cell, request to idle
	Chunks    int             // stream messages the Lines cell produced
	LinesOK   bool            // the streamed text was complete and in order
}

// Median returns the median round trip.
func (r Result) Median() time.Duration { return quantile(r.RTT, 0.5) }

// P90 returns the 90th percentile round trip.
func (r Result) P90() time.Duration { return quantile(r.RTT, 0.9) }

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(q*float64(len(d)-1)+0.5)]
}

// Measure starts k, measures it with n timed round trips, and shuts it down.
func Measure(k Kernel, n int) (Result, error) {
	res := Result{Name: k.Name}
	dir, err := os.MkdirTemp("", "kernel-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ci, err := freeConnection()
	if err != nil {
		return res, err
	}
	connFile := filepath.Join(dir, "connection.json")
	b, _ := json.Marshal(ci)
	if err := os.WriteFile(connFile, b, 0o600); err != nil {
		return res, err
	}
	argv := make([]string, len(k.Argv))
	for i, a := range k.Argv {
		argv[i] = strings.ReplaceAll(a, "{connection_file}", connFile)
	}
	var logs bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting %s: %w", k.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	c, err := client.Dial(ci)
	if err != nil {
		cmd.Process.Kill()
		return res, err
	}
	defer c.Close()
	if err := c.WaitReady(60 * time.Second); err != nil {
		cmd.Process.Kill()
		return res, fmt.Errorf("%s: %w\n%s", k.Name, err, logs.String())
	}
	res.Ready = time.Since(t0)
	defer c.Request("control", "shutdown_request", map[string]any{"restart": false}, 5*time.Second)

	for i := 0; i < n+5; i++ {
		t := time.Now()
		r, _, err := c.Execute(k.Expr, 30*time.Second)
		d := time.Since(t)
		if err != nil {
			return res, fmt.Errorf("%s: executing %q: %w", k.Name, k.Expr, err)
		}
		if st := client.Content(r)["status"]; st != "ok" {
			return res, fmt.Errorf("%s: %q failed: %v", k.Name, k.Expr, client.Content(r))
		}
		if i == 0 {
			res.FirstCell = time.Since(t0)
		}
		if i >= 5 { // the first few warm the interpreter up
			res.RTT = append(res.RTT, d)
		}
	}
	sort.Slice(res.RTT, func(i, j int) bool { return res.RTT[i] < res.RTT[j] })

	if k.Lines != "" {
		t := time.Now()
		_, outs, err := c.Execute(k.Lines, 300*time.Second)
		res.Lines = time.Since(t)
		if err != nil {
			return res, fmt.Errorf("%s: printing lines: %w", k.Name, err)
		}
		var got strings.Builder
		for _, m := range outs {
			if m.Header.MsgType == "stream" {
				res.Chunks++
				got.WriteString(client.Content(m)["text"].(string))
			}
		}
		var want strings.Builder
		for i := 0; i < k.LinesN; i++ {
			fmt.Fprintf(&want, "%d\n", i)
		}
		res.LinesOK = got.String() == want.String()
	}
	return res, nil
}

// freeConnection returns connection info on five free local ports.
func freeConnection() (kernel.ConnectionInfo, error) {
	var ports [5]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return kernel.ConnectionInfo{}, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return kernel.ConnectionInfo{
		Transport: "tcp", IP: "127.0.0.1", SignatureScheme: "hmac-sha256", Key: kernel.NewID(),
		ShellPort: ports[0], ControlPort: ports[1], StdinPort: ports[2], IOPubPort: ports[3], HBPort: ports[4],
	}, nil
}

// Report formats results side by side.
func Report(rs []Result) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%-12s %10s %11s %12s %12s %14s %8s %6s\n", "kernel", "ready", "first cell", "rtt median", "rtt p90", "lines cell", "chunks", "ok")
	for _, r := range rs {
		fmt.Fprintf(&s, "%-12s %10s %11s %12s %12s %14s %8d %6v\n", r.Name,
			r.Ready.Round(time.Millisecond), r.FirstCell.Round(time.Millisecond),
			r.Median().Round(10*time.Microsecond), r.P90().Round(10*time.Microsecond),
			r.Lines.Round(time.Millisecond), r.Chunks, r.LinesOK)
	}
	return s.String()
}
