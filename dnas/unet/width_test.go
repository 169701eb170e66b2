package unet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"dnas/dnas/nn"
	"dnas/dnas/tensor"
)

func TestInnerChannels(t *testing.T) {
	for _, tc := range []struct {
		c, groups   int
		w           float64
		ch, groups2 int
	}{
		{32, 8, 0.5, 16, 4},  // base level 0: 8 groups of 4
		{32, 8, 0.75, 24, 6}, //
		{64, 8, 0.75, 48, 6}, // base levels 1, 2: groups of 8
		{16, 8, 0.75, 12, 6}, // small: groups of 2
		{8, 8, 0.5, 4, 4},    // tiny: groups of 1
		{8, 8, 0.1, 1, 1},    // never below one group
		{16, 8, 1, 16, 8},    // full width
		{12, 4, 0.6, 6, 2},   // round(2.4) = 2 groups of 3
		{12, 4, 0.625, 9, 3}, // round(2.5) = 3: half away from zero
	} {
		ch, g := InnerChannels(tc.c, tc.groups, tc.w)
		if ch != tc.ch || g != tc.groups2 {
			t.Errorf("InnerChannels(%d, %d, %v) = %d channels in %d groups, want %d in %d", tc.c, tc.groups, tc.w, ch, g, tc.ch, tc.groups2)
		}
	}
}

func TestWidthConfigErrors(t *testing.T) {
	nres := tinyConfig().NumResBlocksTotal() // 2 + 2 + 4 = 8
	full := func() []float64 {
		ws := make([]float64, nres)
		for i := range ws {
			ws[i] = 1
		}
		return ws
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Widths = []float64{1, 1} }, "widths has 2 multipliers, but this network has 8 ResBlocks"},
		{func(c *Config) { c.Widths = full(); c.Widths[3] = 0 }, "widths[3] = 0: a width multiplier must be in (0, 1]"},
		{func(c *Config) { c.Widths = full(); c.Widths[1] = 1.5 }, "widths[1] = 1.5"},
		{func(c *Config) { c.Widths = full(); c.Widths[0] = math.NaN() }, "widths[0] = NaN"},
		{func(c *Config) { c.WidthChoices = []float64{0.5, 1}; c.Widths = full(); c.Widths[2] = 0.75 }, "widths[2] = 0.75 is not one of width_choices [0.5 1]"},
		{func(c *Config) { c.WidthChoices = []float64{0.5, 1, 0.5} }, "width_choices lists 0.5 twice"},
		{func(c *Config) { c.WidthChoices = []float64{} }, "width_choices is empty"},
		{func(c *Config) { c.WidthChoices = []float64{-0.5, 1} }, "width_choices[0] = -0.5"},
		{func(c *Config) { c.WidthChoices = []float64{0.5, 0.75} }, "widths is nil (every ResBlock starts at full width, 1), which is not one of width_choices [0.5 0.75]"},
	} {
		cfg := tinyConfig()
		tc.mod(&cfg)
		_, err := New(cfg, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error containing %q, got %v", tc.want, err)
		}
	}
	// Widths of 1 everywhere is the plain network, with its weights.
	cfg := tinyConfig()
	cfg.Widths = full()
	a, err := New(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(tinyConfig(), 4)
	pa, pb := a.AllParams(), b.AllParams()
	if len(pa) != len(pb) {
		t.Fatalf("%d vs %d weight tensors", len(pa), len(pb))
	}
	for i := range pa {
		if pa[i].Name != pb[i].Name || pa[i].Data[0] != pb[i].Data[0] {
			t.Fatalf("widths all 1 changed weight %s", pa[i].Name)
		}
	}
}

// widthSupernet is the tiny config as a kernel and width supernet (with
// dropout, so the checks cover its masks on a narrow path).
func widthSupernet(t *testing.T, seed uint64) *UNet {
	t.Helper()
	cfg := tinyConfig()
	cfg.KernelChoices = []int{1, 3, 5}
	cfg.WidthChoices = []float64{0.5, 0.75, 1}
	cfg.Dropout = 0.2
	u, err := New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// setMixedPath puts u on a path with every width and every kernel in use.
func setMixedPath(t *testing.T, u *UNet) {
	t.Helper()
	ks := make([]int, len(u.SearchableConvs()))
	for i := range ks {
		ks[i] = []int{5, 1, 3}[i%3]
	}
	ws := make([]float64, len(u.ResBlocks()))
	for i := range ws {
		ws[i] = []float64{0.5, 0.75, 1, 0.5}[i%4]
	}
	if err := u.SetKernels(ks); err != nil {
		t.Fatal(err)
	}
	if err := u.SetWidths(ws); err != nil {
		t.Fatal(err)
	}
}

// leading reports whether flat index i of a tensor of shape full lies in
// its leading block of shape part (every index below part's size).
func leading(i int, full, part []int) bool {
	for d := len(full) - 1; d >= 0; d-- {
		if i%full[d] >= part[d] {
			return false
		}
		i /= full[d]
	}
	return true
}

// leadingBlock returns the values of data (shape full) in the leading block
// of shape part, in row-major order.
func leadingBlock(data []float32, full, part []int) []float32 {
	var out []float32
	for i, v := range data {
		if leading(i, full, part) {
			out = append(out, v)
		}
	}
	return out
}

func TestWidthSupernetPathIsTheNarrowSubnet(t *testing.T) {
	u := widthSupernet(t, 11)
	for i, want := range []int{27, 27, 729, 729, 729, 1} {
		if n := u.Blocks()[i].NumCandidates(); n != want {
			t.Errorf("block %s: %d candidates, want %d (kernels x widths)", u.Blocks()[i].Name, n, want)
		}
	}
	plain, _ := New(tinyConfig(), 11)
	if u.MACs() != plain.MACs() || u.NumParams() != plain.NumParams() {
		t.Errorf("full-width path: MACs %d params %d, want the plain network's %d, %d", u.MACs(), u.NumParams(), plain.MACs(), plain.NumParams())
	}
	setMixedPath(t, u)
	narrow := u.Widths()
	macs, params := u.MACs(), u.NumParams()
	ones := make([]float64, len(narrow))
	for i := range ones {
		ones[i] = 1
	}
	if err := u.SetWidths(ones); err != nil {
		t.Fatal(err)
	}
	if macs >= u.MACs() || params >= u.NumParams() {
		t.Errorf("narrow path: MACs %d params %d, not below the same kernels' at full width %d, %d", macs, params, u.MACs(), u.NumParams())
	}
	if err := u.SetWidths(narrow); err != nil {
		t.Fatal(err)
	}
	cfg := u.SubnetConfig()
	if cfg.WidthChoices != nil || len(cfg.Widths) != len(u.ResBlocks()) {
		t.Fatalf("subnet config widths %v, choices %v", cfg.Widths, cfg.WidthChoices)
	}
	sub, err := New(cfg, 12)
	if err != nil {
		t.Fatal(err)
	}
	// The subnet is genuinely narrow: its weights are exactly what it counts,
	// and equal what the supernet path counts.
	if all := nn.CountParams(sub.AllParams()); all != sub.NumParams() {
		t.Errorf("subnet holds %d weights but counts %d", all, sub.NumParams())
	}
	if sub.MACs() != u.MACs() || sub.NumParams() != u.NumParams() || sub.SearchableMACs() != u.SearchableMACs() || sub.SearchableParams() != u.SearchableParams() {
		t.Errorf("subnet MACs %d params %d (searchable %d, %d); supernet path %d, %d (%d, %d)", sub.MACs(), sub.NumParams(),
			sub.SearchableMACs(), sub.SearchableParams(), u.MACs(), u.NumParams(), u.SearchableMACs(), u.SearchableParams())
	}
	for i, r := range sub.ResBlocks() {
		sr := u.ResBlocks()[i]
		n := sr.Inner()
		if r.Mid != n || r.Inner() != n || r.Conv1.Full().Cout != n || r.Conv2.Full().Cin != n || r.TProj.Out != n ||
			r.Norm2.C != n || r.Norm2.Groups != n/sr.GroupSize || r.Conv1.Sliced() || r.Conv2.Sliced() {
			t.Errorf("subnet ResBlock %s: mid %d, conv1 -> %d, conv2 %d ->, tproj -> %d, norm2 %d in %d groups; want %d in %d groups",
				r.Name, r.Mid, r.Conv1.Full().Cout, r.Conv2.Full().Cin, r.TProj.Out, r.Norm2.C, r.Norm2.Groups, n, n/sr.GroupSize)
		}
		if r.Width() != sr.Width() || r.Conv1.Kernel() != sr.Conv1.Kernel() || r.Conv2.Kernel() != sr.Conv2.Kernel() {
			t.Errorf("subnet ResBlock %s: width %v kernels %d,%d; path %v %d,%d", r.Name, r.Width(), r.Conv1.Kernel(), r.Conv2.Kernel(),
				sr.Width(), sr.Conv1.Kernel(), sr.Conv2.Kernel())
		}
		if sr.Width() < 1 && (!sr.Conv1.Sliced() || !sr.Conv2.Sliced() || sr.Conv1.Full().Cout != sr.Cout) {
			t.Errorf("supernet ResBlock %s at width %v does not run a slice of full weights", sr.Name, sr.Width())
		}
	}

	// Give the subnet the leading slices of the supernet's weights: both
	// must then compute the same function, forward and backward.
	full := map[string]*nn.Param{}
	for _, p := range u.AllParams() {
		full[p.Name] = p
	}
	for _, p := range sub.AllParams() {
		f := full[p.Name]
		if f == nil {
			t.Fatalf("subnet weight %s has no supernet counterpart", p.Name)
		}
		copy(p.Data, leadingBlock(f.Data, f.Shape, p.Shape))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x, r := randTensor(rng, 3, 1, 8, 8), randTensor(rng, 3, 1, 8, 8)
	ts := []float32{3, 400, 990}
	for _, net := range []*UNet{u, sub} {
		net.SetTraining(true)
		net.SetDropoutSeed(7)
		nn.ZeroGrads(net.AllParams())
	}
	want := sub.Forward(x, ts).Clone()
	sub.Backward(r)
	assertClose(t, "narrow supernet path vs subnet", u.Forward(x, ts), want, 1e-5)
	u.Backward(r)
	for _, p := range sub.AllParams() {
		f := full[p.Name]
		got := leadingBlock(f.Grad, f.Shape, p.Shape)
		for i := range got {
			if d := math.Abs(float64(got[i] - p.Grad[i])); d > 1e-4*(1+math.Abs(float64(p.Grad[i]))) {
				t.Fatalf("%s: supernet gradient [%d] of the slice %g, subnet %g", p.Name, i, got[i], p.Grad[i])
			}
		}
		for i, g := range f.Grad {
			if !leading(i, f.Shape, p.Shape) && g != 0 {
				t.Fatalf("%s: gradient %g at %d, outside the %v slice the path uses", f.Name, g, i, p.Shape)
			}
		}
	}
}

// TestWidthGradCheck checks the backward of a narrow supernet path against
// central differences: coordinates inside the slices of the weights of every
// kind a width cuts (conv1 output rows, conv2 input columns, the time
// projection, Norm2's gamma and beta), and coordinates outside the slices,
// whose derivative must be exactly zero.
func TestWidthGradCheck(t *testing.T) {
	u := widthSupernet(t, 5)
	setMixedPath(t, u)
	u.SetTraining(true)
	rng := rand.New(rand.NewPCG(8, 9))
	x, r := randTensor(rng, 2, 1, 8, 8), randTensor(rng, 2, 1, 8, 8)
	ts := []float32{20, 600}
	forward := func() *tensor.Tensor {
		u.SetDropoutSeed(42)
		return u.Forward(x, ts)
	}
	params := u.Params()
	nn.ZeroGrads(params)
	forward()
	u.Backward(r)
	loss := func() float64 { return lossOf(forward(), r) }
	checked, outside := 0, 0
	for _, rb := range u.ResBlocks() {
		if rb.Width() == 1 {
			continue
		}
		n, k1, k2 := rb.Inner(), rb.Conv1.Kernel(), rb.Conv2.Kernel()
		for _, c := range []struct {
			p    *nn.Param
			part []int
		}{
			{rb.Conv1.Full().W, []int{n, rb.Cin, k1, k1}},
			{rb.Conv1.Full().B, []int{n}},
			{rb.TProj.W, []int{n, rb.TProj.In}},
			{rb.TProj.B, []int{n}},
			{rb.Norm2.Gamma, []int{n}},
			{rb.Norm2.Beta, []int{n}},
			{rb.Conv2.Full().W, []int{rb.Cout, n, k2, k2}},
		} {
			var in, out []int
			for i := range c.p.Data {
				if leading(i, c.p.Shape, c.part) {
					in = append(in, i)
				} else {
					out = append(out, i)
				}
			}
			for range 2 {
				i := in[rng.IntN(len(in))]
				checkCoord(t, fmt.Sprintf("%s (width %v)", c.p.Name, rb.Width()), c.p.Data, i, float64(c.p.Grad[i]), loss)
				checked++
			}
			i := out[rng.IntN(len(out))]
			if c.p.Grad[i] != 0 {
				t.Errorf("%s[%d] outside the width-%v slice has gradient %g", c.p.Name, i, rb.Width(), c.p.Grad[i])
			}
			checkCoord(t, c.p.Name+" outside the slice", c.p.Data, i, 0, loss)
			outside++
		}
	}
	if checked < 40 || outside < 20 {
		t.Errorf("only %d coordinates inside and %d outside slices checked", checked, outside)
	}
}

func TestWidthSetErrorsAndNoAllocation(t *testing.T) {
	u := widthSupernet(t, 1)
	before := u.Widths()
	ws := make([]float64, len(before))
	for i := range ws {
		ws[i] = 0.5
	}
	ws[2] = 0.3
	if err := u.SetWidths(ws); err == nil || !strings.Contains(err.Error(), "widths[2] = 0.3") {
		t.Errorf("SetWidths with 0.3: %v", err)
	}
	for i, w := range u.Widths() {
		if w != before[i] {
			t.Fatal("a failed SetWidths changed the widths")
		}
	}
	if err := u.SetWidths(ws[:3]); err == nil || !strings.Contains(err.Error(), "8 ResBlocks") {
		t.Errorf("SetWidths with 3 widths: %v", err)
	}
	if err := u.Block("mid").SetWidths([]float64{1, 0.8}); err == nil || !strings.Contains(err.Error(), "no width 0.8") {
		t.Errorf("Block.SetWidths with 0.8: %v", err)
	}
	// A narrow path trains without allocating once its slices exist.
	setMixedPath(t, u)
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
	runtime.GC()
	step()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("a narrow-path training step allocates %v times", n)
	}
}

// TestWidthSupernetWithoutFullWidth holds the weights of its widest choice
// (0.75) and slices them to 0.5.
func TestWidthSupernetWithoutFullWidth(t *testing.T) {
	cfg := tinyConfig()
	cfg.WidthChoices = []float64{0.5, 0.75}
	cfg.Widths = make([]float64, cfg.NumResBlocksTotal())
	for i := range cfg.Widths {
		cfg.Widths[i] = 0.75
	}
	u, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if all := nn.CountParams(u.AllParams()); all != u.NumParams() {
		t.Errorf("holds %d weights, its widest path counts %d", all, u.NumParams())
	}
	for _, r := range u.ResBlocks() {
		if want, _ := InnerChannels(r.Cout, r.Cout/r.GroupSize, 0.75); r.Mid != want || r.Conv1.Sliced() {
			t.Errorf("ResBlock %s holds %d inner channels (sliced %v), want %d", r.Name, r.Mid, r.Conv1.Sliced(), want)
		}
	}
	half := make([]float64, len(cfg.Widths))
	for i := range half {
		half[i] = 0.5
	}
	if err := u.SetWidths(half); err != nil {
		t.Fatal(err)
	}
	sub, err := New(u.SubnetConfig(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if sub.MACs() != u.MACs() || sub.NumParams() != u.NumParams() || !u.ResBlocks()[0].Conv2.Sliced() {
		t.Errorf("half-width path: subnet %d MACs %d params, supernet path %d %d", sub.MACs(), sub.NumParams(), u.MACs(), u.NumParams())
	}
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 2, 1, 8, 8)
	if y := u.Forward(x, []float32{1, 2}); len(y.Data) != len(x.Data) {
		t.Errorf("output shape %v", y.Shape)
	}
}
