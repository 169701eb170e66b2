package unet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

// baseConfig is the default MNIST teacher of METHOD.md, the network of
// shared/bench/torch_unet.py.
func baseConfig() Config {
	return Config{InChannels: 1, Resolution: 28, Ch: 32, Mult: []int{1, 2, 2}, NumResBlocks: 2, AttnRes: []int{7}, Dropout: 0.1}
}

// tinyConfig is the test preset, at 8x8 to keep gradient checks fast.
func tinyConfig() Config {
	return Config{InChannels: 1, Resolution: 8, Ch: 8, Mult: []int{1, 2}, NumResBlocks: 1, AttnRes: []int{4}}
}

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestReferenceCounts(t *testing.T) {
	// torch_unet.py prints "params 1.623M MACs/sample 277.2M" for this network.
	u, err := New(baseConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if p := u.NumParams(); math.Round(float64(p)/1e3) != 1623 {
		t.Errorf("params = %d, want 1.623M as torch_unet.py", p)
	}
	if m := u.MACs(); math.Round(float64(m)/1e5) != 2772 {
		t.Errorf("MACs = %d, want 277.2M as torch_unet.py", m)
	}
	t.Logf("params %d, MACs %d, searchable MACs %d", u.NumParams(), u.MACs(), u.SearchableMACs())
	if n := len(u.SearchableConvs()); n != 34 {
		t.Errorf("%d searchable convs, want 34 (METHOD.md)", n)
	}
	var names []string
	var sumMACs, sumParams int64
	for _, b := range u.Blocks() {
		names = append(names, b.Name)
		sumMACs += b.MACs()
		sumParams += b.NumParams()
	}
	if got := strings.Join(names, " "); got != "enc0 enc1 enc2 mid dec2 dec1 dec0 head" {
		t.Errorf("blocks %q", got)
	}
	if sumMACs+u.Time.MACs() != u.MACs() || sumParams+nn.CountParams(u.Time.Params()) != u.NumParams() {
		t.Errorf("blocks and time MLP do not add up to the model")
	}
}

func TestSupernetPaths(t *testing.T) {
	cfg := baseConfig()
	cfg.KernelChoices = []int{1, 3, 5}
	u, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := New(baseConfig(), 1)
	// Default path: all 3x3, the teacher's architecture.
	if u.MACs() != plain.MACs() || u.NumParams() != plain.NumParams() {
		t.Errorf("supernet all-3 path: MACs %d params %d, want the plain network's %d, %d", u.MACs(), u.NumParams(), plain.MACs(), plain.NumParams())
	}
	if all, active := nn.CountParams(u.AllParams()), u.NumParams(); all <= active {
		t.Errorf("AllParams %d should exceed the active path's %d", all, active)
	}
	for i, want := range []int{81, 81, 81, 81, 729, 729, 729, 1} {
		if n := u.Blocks()[i].NumCandidates(); n != want {
			t.Errorf("block %s: %d candidates, want %d", u.Blocks()[i].Name, n, want)
		}
	}
	// All 1x1: each searchable conv costs 9x less than 3x3.
	ks := make([]int, len(u.SearchableConvs()))
	for i := range ks {
		ks[i] = 1
	}
	if err := u.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	s3 := plain.SearchableMACs()
	if got := u.SearchableMACs(); got*9 != s3 {
		t.Errorf("all-1x1 searchable MACs %d, want %d / 9", got, s3)
	}
	if got, want := u.MACs(), plain.MACs()-s3+s3/9; got != want {
		t.Errorf("all-1x1 MACs %d, want %d", got, want)
	}
	// One conv to 5x5: MACs grow by 16/9 of that conv's 3x3 cost.
	ks[0] = 5
	if err := u.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	c := u.SearchableConvs()[0]
	if c.Kernel() != 5 || c.Conv().K != 5 || c.Conv() != c.Convs[2] {
		t.Errorf("SetKernels did not activate the 5x5 choice of %s", c.Name)
	}
	in := []int{1, 32, 28, 28}
	if got, want := u.SearchableMACs(), s3/9-c.Convs[0].MACs(in)+c.Convs[2].MACs(in); got != want {
		t.Errorf("one 5x5 conv: searchable MACs %d, want %d", got, want)
	}
	// The subnet of this path is a plain network with the same counts.
	sub, err := New(u.SubnetConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if sub.MACs() != u.MACs() || sub.NumParams() != u.NumParams() {
		t.Errorf("subnet: MACs %d params %d, want the supernet path's %d, %d", sub.MACs(), sub.NumParams(), u.MACs(), u.NumParams())
	}
	// A kernel outside the choices is refused and changes nothing.
	before := u.Kernels()
	ks[3] = 7
	if err := u.SetKernels(ks); err == nil || !strings.Contains(err.Error(), "kernels[3] = 7") {
		t.Errorf("SetKernels with a 7: %v", err)
	}
	if !slicesEqual(u.Kernels(), before) {
		t.Errorf("a failed SetKernels changed the kernels")
	}
	if err := u.SetKernels(ks[:5]); err == nil {
		t.Errorf("SetKernels with 5 kernels should fail")
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Kernels = make([]int, 34); c.Kernels[0] = 2 }, "kernels[0] = 2"},
		{func(c *Config) { c.Kernels = []int{3, 3} }, "34 searchable convs"},
		{func(c *Config) { c.KernelChoices = []int{1, 4} }, "kernel_choices[1] = 4"},
		{func(c *Config) { c.Ch = 0 }, "ch 0"},
		{func(c *Config) { c.Mult = nil }, "mult is empty"},
		{func(c *Config) { c.Resolution = 30 }, "odd"},
		{func(c *Config) { c.Ch = 12 }, "do not divide"},
		{func(c *Config) { c.Dropout = 1 }, "dropout"},
	} {
		cfg := baseConfig()
		tc.mod(&cfg)
		if cfg.Kernels != nil && cfg.Kernels[1] == 0 {
			for i := 1; i < len(cfg.Kernels); i++ {
				cfg.Kernels[i] = 3
			}
		}
		_, err := New(cfg, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error containing %q, got %v", tc.want, err)
		}
	}
}

func TestShapeErrors(t *testing.T) {
	u, err := New(tinyConfig(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Predict(tensor.New(2, 3, 8, 8), []float32{1, 2})
	var se *nn.ShapeError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "[2 3 8 8]") || !strings.Contains(err.Error(), "[N, 1, 8, 8]") {
		t.Errorf("3-channel image: %v", err)
	}
	if _, err = u.Predict(tensor.New(2, 1, 8, 8), []float32{1}); !errors.As(err, &se) {
		t.Errorf("one timestep for two samples: %v", err)
	}
	temb := u.Time.Forward([]float32{1, 2})
	// enc1 starts with the downsample, so it takes enc0's full-resolution output.
	if _, err = u.RunBlock(1, BlockInput{X: tensor.New(2, 8, 8, 8), Temb: temb}); err != nil {
		t.Errorf("enc1 fed enc0's output shape: %v", err)
	}
	_, err = u.RunBlock(1, BlockInput{X: tensor.New(2, 8, 4, 4), Temb: temb})
	if !errors.As(err, &se) || se.Layer != "enc1" || !strings.Contains(err.Error(), "[2 8 4 4]") || !strings.Contains(err.Error(), "[N, 8, 8, 8]") {
		t.Errorf("enc1 fed a half-resolution feature: %v", err)
	}
	dec := u.Block("dec0")
	_, err = u.RunBlock(slicesIndex(u.Blocks(), dec), BlockInput{X: tensor.New(2, 16, 4, 4), Temb: temb})
	if !errors.As(err, &se) || se.Layer != "dec0" || !strings.Contains(err.Error(), "Skips") {
		t.Errorf("dec0 without skips: %v", err)
	}
	_, err = u.RunBlock(0, BlockInput{X: tensor.New(2, 1, 8, 8)})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "Temb") {
		t.Errorf("enc0 without temb: %v", err)
	}
}

func slicesIndex(bs []*Block, b *Block) int {
	for i, x := range bs {
		if x == b {
			return i
		}
	}
	return -1
}

// TestBlocksComposeToForward runs every block alone on the inputs
// ForwardCapture recorded and checks it reproduces the recorded outputs,
// and that the captured chain ends in Forward's prediction.
func TestBlocksComposeToForward(t *testing.T) {
	cfg := tinyConfig()
	cfg.KernelChoices = []int{1, 3, 5}
	u, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ks := make([]int, len(u.SearchableConvs()))
	for i := range ks {
		ks[i] = []int{1, 3, 5}[rng.IntN(3)]
	}
	if err := u.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 3, 1, 8, 8)
	ts := []float32{0, 500, 999}
	want := u.Forward(x, ts).Clone()
	ios, err := u.ForwardCapture(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ios) != len(u.Blocks()) {
		t.Fatalf("%d captures for %d blocks", len(ios), len(u.Blocks()))
	}
	assertClose(t, "capture vs Forward", ios[len(ios)-1].Out.Out, want, 1e-5)
	for i, io := range ios {
		out, err := u.RunBlock(i, io.In)
		if err != nil {
			t.Fatalf("block %s: %v", io.Block, err)
		}
		assertClose(t, io.Block, out.Out, io.Out.Out, 1e-5)
		if i > 0 && ios[i-1].Out.Out != io.In.X {
			t.Errorf("block %s: its captured input is not the previous block's captured output", io.Block)
		}
	}
	if n := len(ios[0].Out.Skips); n != 2 {
		t.Errorf("enc0 produced %d skips, want 2 (stem, ResBlock)", n)
	}
}

func assertClose(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	for i := range got.Data {
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > tol*(1+math.Abs(float64(want.Data[i]))) {
			t.Fatalf("%s: [%d] = %g, want %g", what, i, got.Data[i], want.Data[i])
		}
	}
}

// lossOf is L = Σ y·r, whose gradient with respect to y is r.
func lossOf(y, r *tensor.Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

// TestGradCheck compares the whole tiny UNet's backward (on a random path
// of a supernet) with central differences on a few coordinates of every
// kind of weight, without and with dropout (reseeded before every forward,
// so the mask is the same), and BackwardBlock's input gradients likewise.
func TestGradCheck(t *testing.T) {
	cfg := tinyConfig()
	cfg.KernelChoices = []int{1, 3, 5}
	cfg.Dropout = 0.2
	u, err := New(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	ks := make([]int, len(u.SearchableConvs()))
	for i := range ks {
		ks[i] = []int{1, 3, 5}[i%3]
	}
	if err := u.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 2, 1, 8, 8)
	ts := []float32{10, 700}
	r := randTensor(rng, 2, 1, 8, 8)
	params := u.Params()
	for _, training := range []bool{false, true} {
		u.SetTraining(training)
		forward := func() *tensor.Tensor {
			u.SetDropoutSeed(42)
			return u.Forward(x, ts)
		}
		nn.ZeroGrads(params)
		forward()
		u.Backward(r)
		loss := func() float64 { return lossOf(forward(), r) }
		checked := 0
		for _, p := range params {
			// Every weight tensor of the time MLP, stem, first searchable
			// conv, attention, upsample and head, and a sample of the rest.
			name := p.Name
			if !(strings.HasPrefix(name, "temb.") || strings.HasPrefix(name, "stem") || strings.HasPrefix(name, "down.0.c1") ||
				strings.HasPrefix(name, "down.1.") || strings.Contains(name, ".1.w") || strings.HasPrefix(name, "out.") ||
				strings.HasSuffix(name, "sc.w") || strings.HasSuffix(name, ".t.w") || strings.HasPrefix(name, "mid.") || rng.IntN(4) == 0) {
				continue
			}
			for range 2 {
				i := rng.IntN(len(p.Data))
				checkCoord(t, fmt.Sprintf("%s (training %v)", p.Name, training), p.Data, i, float64(p.Grad[i]), loss)
				checked++
			}
		}
		if checked < 40 {
			t.Errorf("only %d coordinates checked", checked)
		}
	}
	u.SetTraining(false)
	// Block-wise: the decoder block dec0 fed captured inputs.
	ios, err := u.ForwardCapture(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	bi := slicesIndex(u.Blocks(), u.Block("dec0"))
	io := ios[bi]
	rb := randTensor(rng, io.Out.Out.Shape...)
	if _, err := u.RunBlock(bi, io.In); err != nil {
		t.Fatal(err)
	}
	grad, err := u.BackwardBlock(bi, rb)
	if err != nil {
		t.Fatal(err)
	}
	gx, gs, gt := grad.X.Clone(), grad.Skips[0].Clone(), grad.Temb.Clone()
	blockLoss := func() float64 {
		out, err := u.RunBlock(bi, io.In)
		if err != nil {
			t.Fatal(err)
		}
		return lossOf(out.Out, rb)
	}
	for range 4 {
		i := rng.IntN(len(gx.Data))
		checkCoord(t, "dec0 X", io.In.X.Data, i, float64(gx.Data[i]), blockLoss)
		i = rng.IntN(len(gs.Data))
		checkCoord(t, "dec0 Skips[0]", io.In.Skips[0].Data, i, float64(gs.Data[i]), blockLoss)
		i = rng.IntN(len(gt.Data))
		checkCoord(t, "dec0 Temb", io.In.Temb.Data, i, float64(gt.Data[i]), blockLoss)
	}
}

// checkCoord compares an analytic derivative with the central difference of
// loss in data[i].
func checkCoord(t *testing.T, name string, data []float32, i int, analytic float64, loss func() float64) {
	t.Helper()
	const h = 1e-2
	orig := data[i]
	data[i] = orig + h
	lp := loss()
	data[i] = orig - h
	lm := loss()
	data[i] = orig
	num := (lp - lm) / (2 * h)
	if math.Abs(num-analytic) > 3e-2*max(math.Abs(num), math.Abs(analytic))+3e-3 {
		t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", name, i, analytic, num)
	}
}

func TestTrainingStepDoesNotAllocate(t *testing.T) {
	cfg := tinyConfig()
	cfg.Dropout = 0.1
	u, err := New(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	u.SetTraining(true)
	rng := rand.New(rand.NewPCG(1, 1))
	x, noise := randTensor(rng, 4, 1, 8, 8), randTensor(rng, 4, 1, 8, 8)
	ts := []float32{1, 2, 3, 4}
	params := u.Params()
	opt := nn.NewAdam(params, 1e-3)
	dpred := tensor.New(x.Shape...)
	step := func() {
		nn.ZeroGrads(params)
		nn.MSELoss(u.Forward(x, ts), noise, dpred)
		u.Backward(dpred)
		opt.Update()
	}
	step()
	// sync.Pool buffers are dropped at every GC; a GC during the count would
	// show as a refill, not a steady-state allocation, so keep GC off here.
	runtime.GC()
	step()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("a training step allocates %v times", n)
	}
}

func TestDropout(t *testing.T) {
	cfg := tinyConfig()
	cfg.Dropout = 0.5
	u, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	x := randTensor(rng, 2, 1, 8, 8)
	ts := []float32{3, 4}
	eval := u.Forward(x, ts).Clone()
	u.SetTraining(true)
	u.SetDropoutSeed(7)
	a := u.Forward(x, ts).Clone()
	u.SetDropoutSeed(7)
	b := u.Forward(x, ts).Clone()
	assertClose(t, "same dropout seed", b, a, 0)
	diff := 0
	for i := range a.Data {
		if a.Data[i] != eval.Data[i] {
			diff++
		}
	}
	if diff < len(a.Data)/2 {
		t.Errorf("training-mode output equals the eval output at %d of %d values: dropout is not applied", len(a.Data)-diff, len(a.Data))
	}
	// The mask drops about p of the elements and scales the rest by 1/(1-p).
	d := dropout{p: 0.5, training: true, rng: rand.New(rand.NewPCG(1, 2))}
	ones := tensor.New(1 << 16)
	ones.Fill(1)
	d.forward(ones)
	zeros := 0
	for _, v := range ones.Data {
		switch v {
		case 0:
			zeros++
		case 2:
		default:
			t.Fatalf("dropout kept a value as %g, want 0 or 2", v)
		}
	}
	if f := float64(zeros) / float64(len(ones.Data)); math.Abs(f-0.5) > 0.01 {
		t.Errorf("dropout p=0.5 dropped %.3f of the values", f)
	}
	// The mask depends on the seed and the index only, not on how the work
	// is split between workers (odd range boundaries included).
	old := tensor.Workers
	defer func() { tensor.Workers = old }()
	var masks [2]*tensor.Tensor
	for k, workers := range []int{1, 3} {
		tensor.Workers = workers
		d := dropout{p: 0.3, training: true, rng: rand.New(rand.NewPCG(5, 5))}
		m := tensor.New(3*(1<<14) + 1)
		m.Fill(1)
		d.forward(m)
		masks[k] = m
	}
	assertClose(t, "dropout mask with 1 and 3 workers", masks[1], masks[0], 0)
}

// InitByName gives the layers two architectures share the same starting
// weights (New does not, once a conv changes size), keeps New's
// distribution and leaves the norms alone.
func TestInitByNameSharesLayersAcrossArchitectures(t *testing.T) {
	a, b := baseConfig(), baseConfig()
	b.Kernels = make([]int, a.NumSearchableConvs())
	for i := range b.Kernels {
		b.Kernels[i] = 3
	}
	b.Kernels[0], b.Kernels[len(b.Kernels)-1] = 1, 5 // enc0's first conv, dec0's last
	ua, _ := New(a, 7)
	ub, _ := New(b, 7)
	differs := func() (shared, diff int) {
		pb := map[string][]float32{}
		for _, p := range ub.AllParams() {
			pb[p.Name] = p.Data
		}
		for _, p := range ua.AllParams() {
			q, ok := pb[p.Name]
			if !ok || len(q) != len(p.Data) {
				continue
			}
			shared++
			if !slices.Equal(q, p.Data) {
				diff++
			}
		}
		return shared, diff
	}
	if _, diff := differs(); diff == 0 {
		t.Fatal("New already gives shared layers the same weights: InitByName would not be needed")
	}
	if err := ua.InitByName(3); err != nil {
		t.Fatal(err)
	}
	if err := ub.InitByName(3); err != nil {
		t.Fatal(err)
	}
	shared, diff := differs()
	if diff != 0 || shared < len(ua.AllParams())-4 {
		t.Fatalf("after InitByName %d of %d shared parameters differ (of %d in all)", diff, shared, len(ua.AllParams()))
	}
	for _, p := range ua.AllParams() {
		switch {
		case strings.HasSuffix(p.Name, ".gamma"):
			if p.Data[0] != 1 {
				t.Fatalf("%s = %v: the norm's scale was drawn again", p.Name, p.Data[0])
			}
		case strings.HasSuffix(p.Name, ".w"):
			fanIn := len(p.Data) / p.Shape[0]
			bound := float32(1 / math.Sqrt(float64(fanIn)))
			var maxAbs float32
			for _, v := range p.Data {
				maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
			}
			if maxAbs > bound || maxAbs < bound/2 {
				t.Fatalf("%s: max |w| %v, want U(±%v)", p.Name, maxAbs, bound)
			}
		}
	}
	// Another seed, other weights.
	uc, _ := New(a, 7)
	if err := uc.InitByName(4); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(uc.AllParams()[0].Data, ua.AllParams()[0].Data) {
		t.Fatal("InitByName ignores its seed")
	}
}

// ForwardCaptureInto fills the earlier capture's tensors with what a fresh
// ForwardCapture returns, allocating none of them again.
func TestForwardCaptureIntoReusesTensors(t *testing.T) {
	u, err := New(tinyConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 5))
	x1, x2 := randTensor(rng, 3, 1, 8, 8), randTensor(rng, 3, 1, 8, 8)
	ts1, ts2 := []float32{0, 500, 999}, []float32{10, 20, 30}
	first, err := u.ForwardCaptureInto(nil, x1, ts1)
	if err != nil {
		t.Fatal(err)
	}
	type ptrs struct{ in, out, temb *float32 }
	var was []ptrs
	for _, io := range first {
		p := ptrs{in: &io.In.X.Data[0], out: &io.Out.Out.Data[0]}
		if io.In.Temb != nil {
			p.temb = &io.In.Temb.Data[0]
		}
		was = append(was, p)
	}
	again, err := u.ForwardCaptureInto(first, x2, ts2)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := u.ForwardCapture(x2, ts2)
	if err != nil {
		t.Fatal(err)
	}
	for i, io := range again {
		if &io.In.X.Data[0] != was[i].in || &io.Out.Out.Data[0] != was[i].out || (was[i].temb != nil && &io.In.Temb.Data[0] != was[i].temb) {
			t.Errorf("block %s: a capture tensor was allocated again", io.Block)
		}
		assertClose(t, io.Block+" out", io.Out.Out, fresh[i].Out.Out, 0)
		assertClose(t, io.Block+" in", io.In.X, fresh[i].In.X, 0)
		for j := range fresh[i].In.Skips {
			assertClose(t, io.Block+" skip", io.In.Skips[j], fresh[i].In.Skips[j], 0)
		}
		if i > 0 && again[i-1].Out.Out != io.In.X {
			t.Errorf("block %s: its captured input is not the previous block's captured output", io.Block)
		}
	}
}

func BenchmarkDropout(b *testing.B) {
	x := tensor.New(64, 64, 14, 14)
	for i := range x.Data {
		x.Data[i] = float32(i%13) - 6
	}
	d := dropout{p: 0.1, training: true, rng: rand.New(rand.NewPCG(1, 2))}
	for b.Loop() {
		d.forward(x)
	}
	b.ReportMetric(float64(len(x.Data))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
}
