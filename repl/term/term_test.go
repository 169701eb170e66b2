package term

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// dnasBinary builds the real dnas binary once for the tests of this file.
func dnasBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dnas-term-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "dnas")
		out, err := exec.Command("go", "build", "-o", binPath, "dnas/cmd/dnas").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatalf("building dnas: %v", binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestScriptedSession drives `dnas repl` through a pipe, as a script would.
func TestScriptedSession(t *testing.T) {
	bin := dnasBinary(t)
	out := t.TempDir()
	script := strings.Join([]string{
		`x := 2`,
		`func sq(v int) int {`,
		`	return v * v`,
		`}`,
		`sq(x) + 1`,
		`:doc tensor.New`,
		`fmt.Println("hello")`,
		`panic("oops")`,
		`for i := range 2 { fmt.Println("i", i) }`,
		`os.Exit(4)`,
		`:reset`,
		`x`,
		`"still here"`,
		`:load ` + writeFile(t, "lib.go", "func loaded() string { return \"from file\" }"),
		`loaded()`,
		`display.PNG([]byte("png bytes"))`,
		`grid, err := dnas.SampleGrid(tensor.New(2, 1, 4, 4), 2)`,
		`grid`,
	}, "\n")
	cmd := exec.Command(bin, "repl", "--history", "", "--out", out)
	cmd.Stdin = strings.NewReader(script + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dnas repl: %v\nstderr: %s", err, stderr.String())
	}
	want := []string{"5", "func New(shape ...int) *Tensor", "hello", "i 0", "i 1", "session reset", "still here", "from file", out,
		"image grid: 2 images of 4x4, 1 row of 2, 22x12 px", out}
	assertInOrder(t, stdout.String(), want)
	assertInOrder(t, stderr.String(), []string{"panic: oops", "exit: os.Exit called (exit status 4)", "undefined: x"})
	files, _ := filepath.Glob(filepath.Join(out, "*.png"))
	sort.Strings(files)
	if len(files) != 2 {
		t.Errorf("PNG files written: %v", files)
	} else if b, _ := os.ReadFile(files[0]); string(b) != "png bytes" {
		t.Errorf("PNG file holds %q", b)
	}
}

// TestExec runs a script and a package main program with `dnas exec`.
func TestExec(t *testing.T) {
	bin := dnasBinary(t)
	script := writeFile(t, "script.go", "total := 0\nfor i := range 5 { total += i }\nfmt.Println(\"total\", total)\n")
	program := writeFile(t, "prog.go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"main ran\")\n}\n")
	out, err := exec.Command(bin, "exec", script, program).CombinedOutput()
	if err != nil {
		t.Fatalf("dnas exec: %v\n%s", err, out)
	}
	assertInOrder(t, string(out), []string{"total 10", "main ran"})
	bad := writeFile(t, "bad.go", "x := 1\npanic(\"bad script\")\n")
	out, err = exec.Command(bin, "exec", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "panic: bad script") {
		t.Errorf("a failing script: err %v, output %q; want a failure naming the panic", err, out)
	}
}

// TestTerminal runs `dnas repl` in a real terminal (tmux): multi-line input,
// tab completion, Ctrl-C during a cell and at the prompt, history, Ctrl-D.
func TestTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	bin := dnasBinary(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	sock := "dnas-term-test-" + filepath.Base(dir)
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "env", "TERM=xterm", bin, "repl", "--history", hist, "--out", dir)
	defer exec.Command("tmux", "-L", sock, "kill-server").Run()
	screen := func() string { return tmux("capture-pane", "-t", "t", "-p") }
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(screen(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q; screen:\n%s", what, screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", "t"}, k...)...) }
	waitFor("dnas>")
	keys("func triple(x int) int {", "Enter")
	waitFor("  ...")
	keys("return 3 * x", "Enter", "}", "Enter")
	keys("triple(14)", "Enter")
	waitFor("42")
	keys("tensor.Ne", "Tab")
	waitFor("tensor.New")
	keys("(3).Shape", "Enter")
	waitFor("[3]")
	keys("for { }", "Enter")
	time.Sleep(300 * time.Millisecond)
	keys("C-c")
	waitFor("interrupted: the input was stopped")
	keys("half typed", "C-c")
	keys(`"after" + "wards"`, "Enter")
	waitFor("afterwards")
	keys("C-d")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := exec.Command("tmux", "-L", sock, "has-session", "-t", "t").Run(); err != nil {
			break // the REPL ended, and the session with it
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-D did not end the REPL; screen:\n%s", screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(hist)
	if err != nil || !strings.Contains(string(b), "triple(14)") {
		t.Errorf("history file %q (%v) misses the inputs", b, err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertInOrder checks that every want string appears in got, in order.
func assertInOrder(t *testing.T, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("missing %q (in order) in:\n%s", w, got)
			return
		}
		rest = rest[i+len(w):]
	}
}
