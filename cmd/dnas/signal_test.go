package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dnas/dnas"
)

// TestSIGTERMKeepsTrainedTeacher runs the real binary, `dnas teacher`, and
// sends it SIGTERM (what a job scheduler or the end of a session sends)
// mid-training, long before its first periodic checkpoint: it must stop
// within a step and leave a checkpoint that resumes at the step it reached.
func TestSIGTERMKeepsTrainedTeacher(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "dnas")
	if out, err := exec.Command("go", "build", "-o", bin, "dnas/cmd/dnas").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "teacher")
	cmd := exec.Command(bin, "teacher", "--preset", "tiny", "--steps", "1000000", "--checkpoint-every", "1000000",
		"--eval-samples", "0", "--out", out)
	cmd.Env = append(os.Environ(), "DNAS_PROGRESS=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The first progress line means training is under way.
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.HasPrefix(lines.Text(), "teacher tiny [") {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		seen = append(seen, lines.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("an interrupted run should exit non-zero; stderr:\n%s", strings.Join(seen, "\n"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dnas teacher did not stop within 30 s of SIGTERM")
	}
	tr, err := dnas.ResumeTeacherTrainer(filepath.Join(out, "train.safetensors"))
	if err != nil {
		t.Fatalf("no checkpoint after SIGTERM: %v\nstderr:\n%s", err, strings.Join(seen, "\n"))
	}
	if tr.StepNum < 1 {
		t.Fatalf("checkpoint at step %d", tr.StepNum)
	}
	if msg := strings.Join(seen, "\n"); !strings.Contains(msg, "weights kept") {
		t.Errorf("stderr does not say the weights were kept:\n%s", msg)
	}
}
