// Package conformance runs jupyter_kernel_test (the Jupyter project's
// protocol conformance suite, Debian package python3-jupyter-kernel-test)
// against the dnas kernel: test_dnas_kernel.py holds the samples, run.sh
// installs the kernelspec into a temporary prefix and runs the suite.
package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestJupyterKernelTest builds dnas and runs the suite. It is skipped with
// -short, and when /usr/bin/python3 lacks jupyter_kernel_test.
func TestJupyterKernelTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dnas binary and starts Python: skipped with -short")
	}
	py := os.Getenv("PY")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import jupyter_kernel_test").Run(); err != nil {
		t.Skipf("%s cannot import jupyter_kernel_test (apt-get install python3-jupyter-kernel-test): %v", py, err)
	}
	bin := filepath.Join(t.TempDir(), "dnas")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", bin, "dnas/cmd/dnas")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building dnas: %v\n%s", err, out)
	}
	run := exec.Command("./run.sh", bin)
	run.Env = append(os.Environ(), "PY="+py)
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("jupyter_kernel_test failed: %v", err)
	}
}
