package nn

// The PyTorch golden test: a small UNet-like stack built from this package's
// layers must reproduce, on the same weights and inputs, what PyTorch 1.13
// computed (tools/torchgolden/gen.py wrote testdata/golden/): every
// intermediate activation, the prediction, the loss, the gradient of the input
// and of every parameter, and the parameters after two Adam steps.
//
// Error measure, per tensor: max|go - torch| / max(max|torch|, 1e-6), which
// must be <= 1e-4. (Relative to the tensor's largest magnitude, so a few
// near-zero entries cannot blow it up, yet any wrong entry of normal size does.)

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"dnas/dnas/tensor"
)

const goldenTol = 1e-4

// loadGolden reads testdata/golden into a map from tensor name to tensor.
func loadGolden(t *testing.T) map[string]*tensor.Tensor {
	t.Helper()
	dir := filepath.Join("testdata", "golden")
	var index struct {
		Tensors map[string]struct {
			Shape  []int
			Offset int
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 tools/torchgolden/gen.py)", err)
	}
	if err := json.Unmarshal(js, &index); err != nil {
		t.Fatalf("golden.json: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "golden.bin"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tensor.Tensor{}
	for name, e := range index.Tensors {
		n := tensor.Numel(e.Shape)
		if 4*(e.Offset+n) > len(raw) {
			t.Fatalf("golden.bin too short for %s", name)
		}
		x := tensor.New(e.Shape...)
		for i := range x.Data {
			x.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(e.Offset+i):]))
		}
		out[name] = x
	}
	return out
}

// goldenErr is max|got - want| / max(max|want|, 1e-6).
func goldenErr(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	return d / max(m, 1e-6)
}

// goldenStack is the Go twin of gen.py's Stack.
type goldenStack struct {
	temb1, temb2, tlin             *Linear
	stem, c1, c2, sc, down, up, oc *Conv2d
	n1, n2, n3                     *GroupNorm
	actT1, actT, act2, act3        SiLU
	drop                           *Dropout
	badd                           BroadcastAdd
	res                            Add
	attn                           *Attention
	ups                            Upsample2x
	cat                            Concat
	dout                           *tensor.Tensor
}

func newGoldenStack(t *testing.T) *goldenStack {
	conv := func(name string, cin, cout, k, stride, pad int) *Conv2d {
		c, err := NewConv2d(name, cin, cout, k, stride, pad, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	gn := func(name string, g, c int) *GroupNorm {
		n, err := NewGroupNorm(name, g, c)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	attn, err := NewAttention("attn", 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &goldenStack{
		temb1: NewLinear("temb1", 8, 16, nil), temb2: NewLinear("temb2", 16, 16, nil), tlin: NewLinear("t", 16, 16, nil),
		stem: conv("stem", 2, 8, 3, 1, 1), c1: conv("c1", 8, 16, 5, 1, 2), c2: conv("c2", 16, 16, 1, 1, 0),
		sc: conv("sc", 8, 16, 1, 1, 0), down: conv("down", 16, 16, 3, 2, 1), up: conv("up", 16, 16, 3, 1, 1),
		oc: conv("out", 32, 2, 3, 1, 1),
		n1: gn("n1", 4, 8), n2: gn("n2", 8, 16), n3: gn("n3", 8, 32),
		drop: NewDropout("drop", 0.3, nil), attn: attn, dout: tensor.New(1),
	}
	s.n1.SiLU = true // gen.py's silu(n1(h0)), through the fused path
	return s
}

// params maps gen.py's state_dict names to the Go parameters.
func (s *goldenStack) params() map[string]*Param {
	m := map[string]*Param{
		"attn.n.weight": s.attn.Norm.Gamma, "attn.n.bias": s.attn.Norm.Beta,
		"attn.qkv.weight": s.attn.QKVW, "attn.qkv.bias": s.attn.QKVB,
		"attn.o.weight": s.attn.ProjW, "attn.o.bias": s.attn.ProjB,
	}
	for name, l := range map[string]*Linear{"temb1": s.temb1, "temb2": s.temb2, "t": s.tlin} {
		m[name+".weight"], m[name+".bias"] = l.W, l.B
	}
	for name, c := range map[string]*Conv2d{"stem": s.stem, "c1": s.c1, "c2": s.c2, "sc": s.sc, "down": s.down, "up": s.up, "out": s.oc} {
		m[name+".weight"], m[name+".bias"] = c.W, c.B
	}
	for name, n := range map[string]*GroupNorm{"n1": s.n1, "n2": s.n2, "n3": s.n3} {
		m[name+".weight"], m[name+".bias"] = n.Gamma, n.Beta
	}
	return m
}

// forward runs gen.py's Stack.forward and the loss; acts receives copies of
// the activations gen.py records.
func (s *goldenStack) forward(x *tensor.Tensor, ts []float32, target *tensor.Tensor, acts map[string]*tensor.Tensor) (pred *tensor.Tensor, loss float32) {
	te := s.temb2.Forward(s.actT1.Forward(s.temb1.Forward(TimestepEmbedding(ts, 8, nil))))
	h0 := s.stem.Forward(x)
	h := s.badd.Forward(s.c1.Forward(s.n1.Forward(h0)), s.tlin.Forward(s.actT.Forward(te))) // n1 has SiLU fused
	h = s.c2.Forward(s.drop.Forward(s.act2.Forward(s.n2.Forward(h))))
	h1 := s.res.Forward(s.sc.Forward(h0), h)
	ha := s.attn.Forward(h1)
	d := s.down.Forward(ha)
	u := s.up.Forward(s.ups.Forward(d))
	pred = s.oc.Forward(s.act3.Forward(s.n3.Forward(s.cat.Forward(u, ha))))
	for name, v := range map[string]*tensor.Tensor{"te": te, "h0": h0, "h1": h1, "attn": ha, "down": d, "up": u} {
		acts[name] = v.Clone()
	}
	return pred, MSELoss(pred, target, s.dout)
}

// backward runs the chain rule back through forward; it returns dL/dx.
func (s *goldenStack) backward() *tensor.Tensor {
	du, dhaSkip := s.cat.Backward(s.n3.Backward(s.act3.Backward(s.oc.Backward(s.dout))))
	dha := s.down.Backward(s.ups.Backward(s.up.Backward(du))).Clone()
	AddInto("golden.skip", dha, dhaSkip)
	dsc, dh := s.res.Backward(s.attn.Backward(dha))
	dc1, dtp := s.badd.Backward(s.n2.Backward(s.act2.Backward(s.drop.Backward(s.c2.Backward(dh)))))
	dte := s.actT.Backward(s.tlin.Backward(dtp))
	s.temb1.Backward(s.actT1.Backward(s.temb2.Backward(dte)))
	dh0 := s.n1.Backward(s.c1.Backward(dc1)).Clone()
	AddInto("golden.h0", dh0, s.sc.Backward(dsc))
	return s.stem.Backward(dh0)
}

// TestGoldenPyTorch runs the comparison with the vector kernels and, on CPUs
// that have them, once more with the direct weight gradient taking the
// stack's small images too (c1, up), once with the Winograd path taking
// them (up), and once with the portable Go loops.
func TestGoldenPyTorch(t *testing.T) {
	g := loadGolden(t)
	t.Run("default", func(t *testing.T) { goldenRun(t, g) })
	if useAVX2 && !useAVX512 {
		t.Run("direct-weight-gradient", func(t *testing.T) {
			defer func(old int) { directGradMinPixels = old }(directGradMinPixels)
			directGradMinPixels = 1
			if s := goldenRun(t, g); !s.c1.gdirect || !s.up.gdirect {
				t.Fatalf("c1 and up did not take the direct weight gradient (%v, %v)", s.c1.gdirect, s.up.gdirect)
			}
		})
	}
	if useAVX2 && !useAVX512 {
		t.Run("winograd", func(t *testing.T) {
			defer func(old int) { winoMinPixels = old }(winoMinPixels)
			winoMinPixels = 1
			if s := goldenRun(t, g); !s.up.wino || !s.up.bwino {
				t.Fatalf("up did not take the Winograd forward and input gradient (%v, %v)", s.up.wino, s.up.bwino)
			}
		})
	}
	if useAVX2 {
		t.Run("portable", func(t *testing.T) {
			useAVX2 = false
			defer func() { useAVX2 = true }()
			goldenRun(t, g)
		})
	}
}

func goldenRun(t *testing.T, g map[string]*tensor.Tensor) *goldenStack {
	s := newGoldenStack(t)
	params := s.params()
	for name, p := range params {
		w, ok := g[name]
		if !ok || len(w.Data) != len(p.Data) {
			t.Fatalf("golden parameter %s missing or of the wrong size for %v", name, p.Shape)
		}
		copy(p.Data, w.Data)
	}
	var all []*Param
	for _, p := range params {
		all = append(all, p)
	}
	ZeroGrads(all)

	check := func(name string, got []float32) {
		t.Helper()
		want, ok := g[name]
		if !ok {
			t.Fatalf("golden tensor %s missing", name)
		}
		if len(got) != len(want.Data) {
			t.Fatalf("%s: %d values, PyTorch has %d", name, len(got), len(want.Data))
		}
		if e := goldenErr(got, want.Data); e > goldenTol || math.IsNaN(e) {
			t.Errorf("%s: relative error %.3g > %g", name, e, goldenTol)
		} else if testing.Verbose() {
			t.Logf("%-22s relative error %.2g", name, e)
		}
	}
	acts := map[string]*tensor.Tensor{}
	// Twice: the second pass reuses every layer's buffers, as a training loop does.
	for pass := range 2 {
		ZeroGrads(all)
		pred, loss := s.forward(g["in.x"], g["in.t"].Data, g["in.target"], acts)
		check("out.pred", pred.Data)
		check("out.loss", []float32{loss})
		if pass == 0 {
			for name, v := range acts {
				check("act."+name, v.Data)
			}
		}
		check("grad.x", s.backward().Data)
	}
	for name, p := range params {
		check("grad."+name, p.Grad)
	}
	// Two Adam steps with the same (PyTorch) gradients, as gen.py takes them.
	for name, p := range params {
		copy(p.Grad, g["grad."+name].Data)
	}
	opt := NewAdam(all, 1e-2)
	opt.WeightDecay = 0.01
	opt.Update()
	opt.Update()
	for name, p := range params {
		check("adam."+name, p.Data)
	}
	return s
}
