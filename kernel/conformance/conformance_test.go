// Package conformance runs jupyter_kernel_test (the Jupyter project's
// protocol conformance suite, Debian package python3-jupyter-kernel-test
// 0.4.5) against kernels built on package kernel:
//
//   - test_dnas_kernel.py: the dnas kernel (the Go session), with samples
//     for every test of the suite; run.sh runs it for CI;
//   - test_fake_kernel.py: the protocol core alone, serving the toy
//     interpreter of kernel/internal/fake.
//
// Both install a kernelspec into a temporary prefix put on JUPYTER_PATH.
package conformance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// python returns the Python to use, or skips the test when it lacks
// jupyter_kernel_test.
func python(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a kernel binary and starts Python: skipped with -short")
	}
	py := os.Getenv("PY")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import jupyter_kernel_test").Run(); err != nil {
		t.Skipf("%s cannot import jupyter_kernel_test (apt-get install python3-jupyter-kernel-test): %v", py, err)
	}
	return py
}

// build compiles the package pkg into dir and returns the binary's path.
func build(t *testing.T, pkg, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(gobin, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// TestJupyterKernelTest builds dnas and runs run.sh (install + suite).
func TestJupyterKernelTest(t *testing.T) {
	py := python(t)
	bin := build(t, "dnas/cmd/dnas", t.TempDir())
	run := exec.Command("./run.sh", bin)
	run.Env = append(os.Environ(), "PY="+py)
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("jupyter_kernel_test failed on the dnas kernel: %v", err)
	}
}

// TestJupyterKernelTestFakeInterpreter runs the suite on the protocol core
// with the toy interpreter.
func TestJupyterKernelTestFakeInterpreter(t *testing.T) {
	py := python(t)
	tmp := t.TempDir()
	bin := build(t, "dnas/kernel/testdata/fakekernel", tmp)
	spec := map[string]any{
		"argv": []string{bin, "{connection_file}"}, "display_name": "fake", "language": "fake",
		"interrupt_mode": "message",
	}
	dir := filepath.Join(tmp, "share", "jupyter", "kernels", "dnas-fake")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(py, "-m", "unittest", "-v", "test_fake_kernel")
	run.Env = append(os.Environ(), "JUPYTER_PATH="+filepath.Join(tmp, "share", "jupyter"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(tmp, "runtime"))
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("jupyter_kernel_test failed on the protocol core: %v", err)
	}
}
