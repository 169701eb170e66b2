package bench

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMeasureFakeKernel measures the toy kernel of kernel/testdata: the
// harness must start it, time it and shut it down.
func TestMeasureFakeKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a kernel process")
	}
	bin := filepath.Join(t.TempDir(), "fakekernel")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(gobin, "build", "-o", bin, "dnas/kernel/testdata/fakekernel").CombinedOutput(); err != nil {
		t.Fatalf("building the fake kernel: %v\n%s", err, out)
	}
	r, err := Measure(Kernel{Name: "fake", Argv: []string{bin, "{connection_file}"}, Expr: "value 2"}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RTT) != 20 || r.Median() <= 0 || r.P90() < r.Median() {
		t.Errorf("round trips %v", r.RTT)
	}
	if r.Ready <= 0 || r.Ready > 30*time.Second || r.FirstCell < r.Ready {
		t.Errorf("ready %v, first cell %v", r.Ready, r.FirstCell)
	}
	if rep := Report([]Result{r}); !strings.Contains(rep, "fake") {
		t.Errorf("report %q", rep)
	}
	if _, err := Measure(Kernel{Name: "broken", Argv: []string{bin, "{connection_file}"}, Expr: "error x"}, 1); err == nil {
		t.Error("a failing cell was not reported")
	}
}
