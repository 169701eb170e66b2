// Command alternatives measures the Go deep-learning libraries dnas was not
// built on, on the workload that dominates DiffNAS: a 3x3 convolution's
// forward and backward at the reference UNet's first-level shape (batch 64,
// 32 -> 32 channels, 28x28). It is its own module so that the project's
// go.mod does not carry these libraries.
//
//	cd bench/alternatives && go run . [-reps 3]
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"dnas/dnas/blas"
	"dnas/dnas/nn"
	dtensor "dnas/dnas/tensor"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const (
	batch, cin, cout, hw, k = 64, 32, 32, 28, 3
)

// macs of one forward pass of the convolution over the whole batch.
const macs = batch * cout * hw * hw * cin * k * k

func randn(n int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// gorgonia: symbolic graph, reverse-mode gradient of sum(conv(x, w)) w.r.t. x and w.
func gorgonia(reps int) (time.Duration, error) {
	g := G.NewGraph()
	xv := tensor.New(tensor.WithShape(batch, cin, hw, hw), tensor.WithBacking(randn(batch*cin*hw*hw)))
	wv := tensor.New(tensor.WithShape(cout, cin, k, k), tensor.WithBacking(randn(cout*cin*k*k)))
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, cin, hw, hw), G.WithName("x"), G.WithValue(xv))
	w := G.NewTensor(g, tensor.Float32, 4, G.WithShape(cout, cin, k, k), G.WithName("w"), G.WithValue(wv))
	y, err := G.Conv2d(x, w, tensor.Shape{k, k}, []int{1, 1}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return 0, err
	}
	s, err := G.Sum(y)
	if err != nil {
		return 0, err
	}
	if _, err := G.Grad(s, x, w); err != nil {
		return 0, err
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(x, w))
	defer vm.Close()
	run := func() error { defer vm.Reset(); return vm.RunAll() }
	if err := run(); err != nil { // warm-up
		return 0, err
	}
	t0 := time.Now()
	for range reps {
		if err := run(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0) / time.Duration(reps), nil
}

// gomlx with its pure-Go backend: the same gradient.
func gomlx(reps int) (d time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	be, err := backends.NewWithConfig("go")
	if err != nil {
		return 0, err
	}
	exec, err := graph.NewExec(be, func(x, w *graph.Node) (*graph.Node, *graph.Node) {
		y := graph.Convolve(x, w).ChannelsAxis(0).StridePerAxis(1, 1).PadSame().Done()
		s := graph.ReduceAllSum(y)
		gr := graph.Gradient(s, x, w)
		return gr[0], gr[1]
	})
	if err != nil {
		return 0, err
	}
	x := tensors.FromFlatDataAndDimensions(randn(batch*cin*hw*hw), batch, cin, hw, hw)
	w := tensors.FromFlatDataAndDimensions(randn(cout*cin*k*k), cin, cout, k, k)
	if _, err := exec.Exec(x, w); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for range reps {
		if _, err := exec.Exec(x, w); err != nil {
			return 0, err
		}
	}
	return time.Since(t0) / time.Duration(reps), nil
}

// dnasConv: the project's own Conv2d on the same shapes, for the ratio.
func dnasConv(reps int) (time.Duration, error) {
	c, err := nn.NewConv2d("conv", cin, cout, k, 1, 1, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		return 0, err
	}
	x := dtensor.FromData(randn(batch*cin*hw*hw), batch, cin, hw, hw)
	dy := dtensor.New(batch, cout, hw, hw)
	dy.Fill(1)
	run := func() { c.Forward(x); c.Backward(dy) }
	run()
	t0 := time.Now()
	for range reps {
		run()
	}
	return time.Since(t0) / time.Duration(reps), nil
}

func main() {
	reps := flag.Int("reps", 3, "timed repetitions")
	flag.Parse()
	flops := 3 * 2 * float64(macs) // forward + input grad + weight grad
	report := func(name string, d time.Duration, err error) {
		if err != nil {
			fmt.Printf("%-28s failed: %v\n", name, err)
			return
		}
		fmt.Printf("%-28s %8.1f ms  %6.1f GFLOP/s (conv 3x3 fwd+bwd, batch %d, %d->%d ch, %dx%d)\n",
			name, float64(d.Microseconds())/1e3, flops/d.Seconds()/1e9, batch, cin, cout, hw, hw)
	}
	d, err := dnasConv(*reps)
	report("dnas ("+blas.Name()+")", d, err)
	d, err = gorgonia(*reps)
	report("gorgonia v0.9.18", d, err)
	d, err = gomlx(*reps)
	report("gomlx v0.26 (simplego)", d, err)
	os.Exit(0)
}
