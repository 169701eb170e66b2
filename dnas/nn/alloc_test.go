package nn

import (
	"runtime"
	"runtime/debug"
	"testing"

	"dnas/dnas/tensor"
)

// TestLayersDoNotAllocate checks the steady-state promise: after a first
// call has sized the buffers, Forward and Backward of every layer of this
// package (and an optimiser step) allocate nothing, also when their work is
// split over workers.
func TestLayersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rng := testRNG()
	x := randTensor(rng, 16, 16, 16, 16)
	x2 := randTensor(rng, 16, 8, 16, 16)
	v := randTensor(rng, 16, 16)
	lin := NewLinear("lin", 16, 32, rng)
	gn, _ := NewGroupNorm("gn", 8, 16)
	act := &SiLU{}
	up := &Upsample2x{}
	cat := &Concat{}
	add := &Add{}
	badd := &BroadcastAdd{}
	drop := NewDropout("drop", 0.1, rng)
	drop.Training = true
	attn, _ := NewAttention("attn", 16, rng)
	temb := tensor.New(16, 32)
	dpred := tensor.New(1)
	ts := make([]float32, 16)
	params := append(append(lin.Params(), gn.Params()...), attn.Params()...)
	opt := NewAdam(params, 1e-3)
	ema := NewEMA(params, 0.999)
	acc := x.Clone()
	step := func() {
		lin.Backward(lin.Forward(v))
		gn.Backward(gn.Forward(x))
		act.Backward(act.Forward(x))
		up.Backward(up.Forward(x))
		cat.Backward(cat.Forward(x, x2))
		add.Backward(add.Forward(x, x))
		badd.Backward(badd.Forward(x, v))
		drop.Backward(drop.Forward(x))
		attn.Backward(attn.Forward(x))
		AddInto("acc", acc, x)
		TimestepEmbedding(ts, 32, temb)
		MSELoss(x, acc, dpred)
		ClipGradNorm(params, 1)
		opt.Update()
		ema.Update()
	}
	step()
	// sync.Pool buffers are dropped at every GC; a GC during the count would
	// show as a refill, not a steady-state allocation, so keep GC off here.
	runtime.GC()
	step()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("a training step of the layers allocates %v times", n)
	}
}
