package dnas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/unet"
)

var (
	tinyOnce    sync.Once
	tinyTeacher *Teacher
	tinyData    *mnist.Dataset
	tinyErr     error
)

// testTeacher returns a tiny-preset teacher (random weights: the pipeline's
// mechanics do not need a trained one) and a 512-image slice of MNIST.
func testTeacher(t *testing.T) (*Teacher, *mnist.Dataset) {
	t.Helper()
	tinyOnce.Do(func() {
		p, err := LookupTeacherPreset("tiny")
		if err != nil {
			tinyErr = err
			return
		}
		net, err := unet.New(p.UNet, 7)
		if err != nil {
			tinyErr = err
			return
		}
		sched, err := p.NoiseSchedule()
		if err != nil {
			tinyErr = err
			return
		}
		tinyTeacher = &Teacher{Preset: p, Net: net, Schedule: sched, Source: "test"}
		full, err := mnist.LoadTrain()
		if err != nil {
			tinyErr = err
			return
		}
		n := 512
		tinyData = &mnist.Dataset{Split: full.Split, N: n, Images: full.Images[:n*mnist.Pixels], Labels: full.Labels[:n]}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyTeacher, tinyData
}

func tinySupernet(t *testing.T, parallel bool) *Supernet {
	teacher, data := testTeacher(t)
	s, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 3, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSupernetStage1ReducesBlockLoss(t *testing.T) {
	s := tinySupernet(t, false)
	if got := s.BlockNames(); !slices.Equal(got, []string{"enc0", "enc1", "mid", "dec1", "dec0"}) {
		t.Fatalf("block names %v", got)
	}
	if _, err := s.TrainStep("dec7"); err == nil || !strings.Contains(err.Error(), "unknown block") {
		t.Fatalf("unknown block: %v", err)
	}
	// A higher learning rate so that 40 steps show learning.
	s.Opts.LR = 3e-3
	if err := s.TrainBlock(context.Background(), "enc1", 40); err != nil {
		t.Fatal(err)
	}
	i, _ := s.blockIndex("enc1")
	l := s.Losses[i]
	first, last := mean(l[:8]), mean(l[len(l)-8:])
	if !(last < first) {
		t.Errorf("enc1 distillation loss did not fall: first %.4g, last %.4g", first, last)
	}
	if s.Steps[i] != 40 {
		t.Errorf("steps %d", s.Steps[i])
	}
	// The teacher is frozen.
	if id := s.Teacher.ID(); id != tinyTeacher.ID() {
		t.Error("the teacher changed")
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func TestSearchBeforeTrainingIsAnError(t *testing.T) {
	s := tinySupernet(t, false)
	_, err := s.Search(context.Background(), SearchOptions{EvalBatch: 4})
	if err == nil || !strings.Contains(err.Error(), "before supernet training") {
		t.Fatalf("want a 'search before supernet training' error, got %v", err)
	}
	_, err = s.Search(context.Background(), SearchOptions{EvalBatch: 4, LossScale: -1})
	if err == nil || !strings.Contains(err.Error(), "loss_scale") {
		t.Fatalf("want a loss_scale error, got %v", err)
	}
}

func TestCancelKeepsTrainedStepsAndResumes(t *testing.T) {
	s := tinySupernet(t, false)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel after the first block finished a few steps.
	n := 0
	steps := 3
	err := s.TrainAll(ctxAfter(ctx, cancel, &n, 4), steps, dir)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	done := 0
	for _, st := range s.Steps {
		done += st
	}
	if done == 0 || done >= steps*len(s.BlockNames()) {
		t.Fatalf("after cancel %d steps were trained", done)
	}
	// A fresh supernet loads the checkpoints and continues.
	s2 := tinySupernet(t, false)
	restored, err := s2.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) == 0 {
		t.Fatal("nothing restored")
	}
	for i := range s.Steps {
		if s2.Steps[i] != s.Steps[i] {
			t.Fatalf("block %d: restored %d steps, had %d", i, s2.Steps[i], s.Steps[i])
		}
	}
	if err := s2.TrainAll(context.Background(), steps, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range s2.BlockNames() {
		if s2.BlockSteps()[name] != steps {
			t.Errorf("block %s has %d steps after resume, want %d", name, s2.BlockSteps()[name], steps)
		}
	}
	// Resuming gives what an uninterrupted run gives: the same batches and
	// paths (so the same losses) and the same weights, up to the engine's
	// float reduction order (it is not bit-deterministic across runs).
	s3 := tinySupernet(t, false)
	if err := s3.TrainAll(context.Background(), steps, ""); err != nil {
		t.Fatal(err)
	}
	for i := range s3.Losses {
		for k := range s3.Losses[i] {
			a, b := s2.Losses[i][k], s3.Losses[i][k]
			if math.Abs(a-b) > 1e-3*math.Abs(b) {
				t.Fatalf("block %d step %d: resumed loss %g, uninterrupted %g", i, k, a, b)
			}
		}
	}
	assertClose(t, s2.Net.AllParams(), s3.Net.AllParams(), 1e-3)
}

// assertClose fails when two parameter lists differ by more than tol
// anywhere.
func assertClose(t *testing.T, a, b []*nn.Param, tol float64) {
	t.Helper()
	for k := range a {
		for j := range a[k].Data {
			if math.Abs(float64(a[k].Data[j]-b[k].Data[j])) > tol {
				t.Fatalf("weights differ at %s[%d]: %g vs %g", a[k].Name, j, a[k].Data[j], b[k].Data[j])
			}
		}
	}
}

// ctxAfter returns a context cancelled once Err has been polled more than
// limit times (one poll per training step).
func ctxAfter(ctx context.Context, cancel context.CancelFunc, n *int, limit int) context.Context {
	return &countingCtx{Context: ctx, cancel: cancel, n: n, limit: limit}
}

type countingCtx struct {
	context.Context
	cancel context.CancelFunc
	n      *int
	limit  int
}

func (c *countingCtx) Err() error {
	*c.n++
	if *c.n > c.limit {
		c.cancel()
	}
	return c.Context.Err()
}

func TestSearchBuildRetrain(t *testing.T) {
	s := tinySupernet(t, true)
	if err := s.TrainAll(context.Background(), 2, ""); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), SearchOptions{EvalBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	per, _ := s.NumCandidates()
	for _, b := range res.Blocks {
		if len(b.Candidates) != per[b.Block] {
			t.Errorf("block %s: %d candidates evaluated, want %d", b.Block, len(b.Candidates), per[b.Block])
		}
		if !allEqual(b.BaselineCandidate().Kernels, 3) {
			t.Errorf("block %s baseline %v", b.Block, b.BaselineCandidate().Kernels)
		}
	}
	if res.TeacherMACs() != tinyTeacher.Net.MACs() || res.TeacherParams() != tinyTeacher.Net.NumParams() {
		t.Errorf("teacher MACs/params %d/%d, the teacher has %d/%d", res.TeacherMACs(), res.TeacherParams(), tinyTeacher.Net.MACs(), tinyTeacher.Net.NumParams())
	}
	// Force a non-trivial architecture and check the built model uses it.
	forced := res.Clone()
	for i := range forced.Blocks {
		forced.Blocks[i].Choice = (i * 7) % len(forced.Blocks[i].Candidates)
	}
	net, err := BuildSubnet(tinyTeacher, forced, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.MACs() != forced.MACs() || net.NumParams() != forced.Params() {
		t.Errorf("built %d MACs / %d params, search says %d / %d", net.MACs(), net.NumParams(), forced.MACs(), forced.Params())
	}
	for _, b := range forced.Blocks {
		if got := net.Block(b.Block).Kernels(); !slices.Equal(got, b.Chosen().Kernels) {
			t.Errorf("block %s built with %v, chose %v", b.Block, got, b.Chosen().Kernels)
		}
	}
	other := forced.Clone()
	other.Teacher = "someone-else"
	if _, err := BuildSubnet(tinyTeacher, other, 1); err == nil || !strings.Contains(err.Error(), "teacher") {
		t.Errorf("a result of another teacher must be refused, got %v", err)
	}
	_, data := testTeacher(t)
	rt, err := NewRetrainer("forced", tinyTeacher, forced, data, RetrainOptions{Steps: 6, BatchSize: 4, LogEvery: 2, Schedule: LinearRamp(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	rt2 := trainSaveReload(t, rt, 3)
	if err := rt.Train(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if err := rt2.Train(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if !rt.Done() || !rt2.Done() || rt2.Step != 6 {
		t.Fatalf("steps %d %d", rt.Step, rt2.Step)
	}
	assertClose(t, rt.Net.Params(), rt2.Net.Params(), 2e-3)
	lg := rt2.Log
	if !slices.Equal(lg.Steps, []int{0, 2, 4, 5}) || len(lg.Distill[0]) != len(tinyTeacher.Net.Blocks()) {
		t.Fatalf("log %+v", lg)
	}
	for k := range lg.Steps {
		if math.IsNaN(lg.Noise[k]) || lg.Distill[k][len(lg.Distill[k])-1] <= 0 {
			t.Errorf("logged step %d: noise %v, head distill %v", lg.Steps[k], lg.Noise[k], lg.Distill[k])
		}
	}
	if lg.Beta[0] != 0 || lg.Beta[2] != 1 {
		t.Errorf("beta log %v for a linear ramp over 3 of 6 steps", lg.Beta)
	}
}

func TestWidthChoicesAreChecked(t *testing.T) {
	teacher, data := testTeacher(t)
	for _, tc := range []struct {
		ws   []float64
		want string
	}{
		{[]float64{0, 1}, "width multiplier 0: each must be in (0, 1]"},
		{[]float64{-0.5, 1}, "width multiplier -0.5"},
		{[]float64{0.5, 1.25}, "width multiplier 1.25"},
		{[]float64{0.5, 1, 0.5}, "list 0.5 twice"},
		{[]float64{0.5, 0.75}, "must include 1"},
	} {
		_, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, WidthChoices: tc.ws})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("widths %v: want an error containing %q, got %v", tc.ws, tc.want, err)
		}
	}
	// {1} alone is no width search: the same supernet as without it.
	s, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 3, WidthChoices: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	if per, _ := s.NumCandidates(); per["mid"] != 81 || s.Net.Config.WidthChoices != nil {
		t.Errorf("widths {1}: mid has %d candidates, config width choices %v", per["mid"], s.Net.Config.WidthChoices)
	}
}

// TestWidthSupernetTrainSearchBuild runs the width extension end to end on
// the tiny preset: stage 1 samples widths, the search enumerates kernels x
// widths, and the subnet built from a narrow choice has the sliced conv
// shapes and exactly the MACs and parameters the search reported.
func TestWidthSupernetTrainSearchBuild(t *testing.T) {
	teacher, data := testTeacher(t)
	widths := []float64{0.5, 0.75, 1}
	s, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 3, Parallel: true, WidthChoices: widths})
	if err != nil {
		t.Fatal(err)
	}
	// Tiny: one ResBlock per encoder level (9 kernel pairs x 3 widths), two
	// in the middle and per decoder level (81 x 9).
	per, total := s.NumCandidates()
	want := map[string]int{"enc0": 27, "enc1": 27, "mid": 729, "dec1": 729, "dec0": 729}
	for name, n := range want {
		if per[name] != n {
			t.Errorf("block %s: %d candidates, want %d", name, per[name], n)
		}
	}
	if total != 27*27*729*729*729 || !strings.Contains(s.String(), "widths [0.5 0.75 1]") {
		t.Errorf("search space %g; %s", total, s)
	}
	// The starting path is the teacher's: full width, same counts.
	if s.Net.MACs() != teacher.Net.MACs() || s.Net.NumParams() != teacher.Net.NumParams() {
		t.Errorf("teacher path of the width supernet: %d MACs %d params, teacher %d %d", s.Net.MACs(), s.Net.NumParams(), teacher.Net.MACs(), teacher.Net.NumParams())
	}
	// Stage 1 draws every width.
	seen := map[float64]bool{}
	mid := s.Net.Block("mid")
	for k := range 30 {
		s.samplePath(mid, s.stepRNG(0, k))
		for _, w := range mid.Widths() {
			seen[w] = true
		}
	}
	if len(seen) != 3 {
		t.Errorf("30 sampled paths used widths %v, want all of %v", seen, widths)
	}
	if err := s.TrainAll(context.Background(), 3, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range s.BlockNames() {
		i, _ := s.blockIndex(name)
		if s.Steps[i] != 3 || len(s.Losses[i]) != 3 || math.IsNaN(s.Losses[i][2]) {
			t.Errorf("block %s: %d steps, losses %v", name, s.Steps[i], s.Losses[i])
		}
	}

	res, err := s.Search(context.Background(), SearchOptions{EvalBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasWidths() || res.NumCandidates() != 27+27+3*729 {
		t.Fatalf("search evaluated %d candidates (widths %v), want %d", res.NumCandidates(), res.HasWidths(), 27+27+3*729)
	}
	for _, b := range res.Blocks {
		nres := len(s.Net.Block(b.Block).ResBlocks())
		if len(b.Candidates) != per[b.Block] {
			t.Errorf("block %s: %d candidates, want %d", b.Block, len(b.Candidates), per[b.Block])
		}
		seen := map[string]bool{}
		for _, c := range b.Candidates {
			if len(c.Widths) != nres {
				t.Fatalf("block %s: candidate %v records %d widths for %d ResBlocks", b.Block, c.Kernels, len(c.Widths), nres)
			}
			key := fmt.Sprint(c.Kernels, c.Widths)
			if seen[key] {
				t.Fatalf("block %s: candidate %s twice", b.Block, key)
			}
			seen[key] = true
		}
		if base := b.BaselineCandidate(); !base.IsTeacher() {
			t.Errorf("block %s baseline %v %v", b.Block, base.Kernels, base.Widths)
		}
	}
	if res.TeacherMACs() != teacher.Net.MACs() || res.TeacherParams() != teacher.Net.NumParams() {
		t.Errorf("teacher MACs/params %d/%d, the teacher has %d/%d", res.TeacherMACs(), res.TeacherParams(), teacher.Net.MACs(), teacher.Net.NumParams())
	}
	// The supernet is back on the teacher path after the search.
	for _, w := range s.Net.Widths() {
		if w != 1 {
			t.Fatalf("supernet left at widths %v after the search", s.Net.Widths())
		}
	}

	// Force the narrowest candidate with 3x3 kernels in every block (the
	// narrow convs must then cost less than the teacher's).
	forced := res.Clone()
	for i := range forced.Blocks {
		b := &forced.Blocks[i]
		for j, c := range b.Candidates {
			if allEqual(c.Kernels, 3) && !slices.ContainsFunc(c.Widths, func(w float64) bool { return w != 0.5 }) {
				b.Choice = j
			}
		}
	}
	if forced.MACs() >= forced.TeacherMACs() || forced.Params() >= forced.TeacherParams() {
		t.Errorf("half width: %d MACs %d params, not below the teacher's %d %d", forced.MACs(), forced.Params(), forced.TeacherMACs(), forced.TeacherParams())
	}
	cfg := forced.SubnetConfig(teacher.Preset.UNet)
	net, err := unet.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.MACs() != forced.MACs() || net.NumParams() != forced.Params() {
		t.Errorf("built %d MACs / %d params, search says %d / %d", net.MACs(), net.NumParams(), forced.MACs(), forced.Params())
	}
	if all := nn.CountParams(net.AllParams()); all != net.NumParams() {
		t.Errorf("the built subnet holds %d weights but counts %d: it is not a plain network", all, net.NumParams())
	}
	for _, r := range net.ResBlocks() {
		// Tiny: groups of 1 channel at 8 channels, of 2 at 16: half is 4 or 8.
		n := r.Cout / 2
		if r.Width() != 0.5 || r.Conv1.Full().Cout != n || r.Conv2.Full().Cin != n || r.Conv1.Full().K != 3 ||
			r.TProj.Out != n || r.Norm2.C != n || r.Norm2.Groups != n/r.GroupSize {
			t.Errorf("ResBlock %s: width %v, conv1 %d->%d, conv2 %d->%d, tproj ->%d, norm2 %d in %d groups; want inner width %d",
				r.Name, r.Width(), r.Conv1.Full().Cin, r.Conv1.Full().Cout, r.Conv2.Full().Cin, r.Conv2.Full().Cout, r.TProj.Out, r.Norm2.C, r.Norm2.Groups, n)
		}
	}
	// BuildSubnet (stage 3's model) builds the same narrow network.
	built, err := BuildSubnet(teacher, forced, 1)
	if err != nil {
		t.Fatal(err)
	}
	if built.MACs() != forced.MACs() || built.NumParams() != forced.Params() || !slices.Equal(built.Widths(), net.Widths()) {
		t.Errorf("BuildSubnet: %d MACs %d params widths %v; search %d %d, widths %v", built.MACs(), built.NumParams(), built.Widths(),
			forced.MACs(), forced.Params(), net.Widths())
	}
	// And a mixed choice per block: kernels and widths from the table.
	mixed := res.Clone()
	for i := range mixed.Blocks {
		mixed.Blocks[i].Choice = (i*37 + 5) % len(mixed.Blocks[i].Candidates)
	}
	net, err = unet.New(mixed.SubnetConfig(teacher.Preset.UNet), 2)
	if err != nil {
		t.Fatal(err)
	}
	if net.MACs() != mixed.MACs() || net.NumParams() != mixed.Params() {
		t.Errorf("mixed: built %d MACs / %d params, search says %d / %d", net.MACs(), net.NumParams(), mixed.MACs(), mixed.Params())
	}
	for _, b := range mixed.Blocks {
		nb := net.Block(b.Block)
		if !slices.Equal(nb.Kernels(), b.Chosen().Kernels) || !slices.Equal(nb.Widths(), b.Chosen().Widths) {
			t.Errorf("block %s built with %v %v, chose %v %v", b.Block, nb.Kernels(), nb.Widths(), b.Chosen().Kernels, b.Chosen().Widths)
		}
	}

	// Checkpoints record the width choices: a supernet without width
	// search refuses them, one with the same choices restores them.
	dir := t.TempDir()
	if err := s.Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := tinySupernet(t, true).Load(dir); err == nil || !strings.Contains(err.Error(), "width choices [0.5,0.75,1]") {
		t.Errorf("loading width-search checkpoints without widths: %v", err)
	}
	s2, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 9, Parallel: true, WidthChoices: widths})
	if err != nil {
		t.Fatal(err)
	}
	if restored, err := s2.Load(dir); err != nil || len(restored) != 5 {
		t.Fatalf("restored %v: %v", restored, err)
	}
	for _, name := range s.BlockNames() {
		assertClose(t, s2.Net.Block(name).AllParams(), s.Net.Block(name).AllParams(), 0)
	}
}

// TestSandwichRule checks the sandwich option of a width supernet: the
// recorded loss is the uniformly drawn path's (the same as a plain step's),
// the widest path is trained on every step (the last inner channel of every
// ResBlock moves), the setting is kept in checkpoints and refused on a
// mismatch, and it needs width choices.
func TestSandwichRule(t *testing.T) {
	teacher, data := testTeacher(t)
	if _, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Sandwich: true}); err == nil || !strings.Contains(err.Error(), "needs WidthChoices") {
		t.Fatalf("sandwich without widths: err %v", err)
	}
	opts := SupernetOptions{BatchSize: 4, Seed: 3, WidthChoices: []float64{0.5, 1}}
	plain, err := NewSupernet(teacher, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Sandwich = true
	sand, err := NewSupernet(teacher, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	lastRow := func(s *Supernet) [][]float32 {
		var rows [][]float32
		for _, r := range s.Net.Block("mid").ResBlocks() {
			w := r.TProj.W
			n := w.Shape[1]
			rows = append(rows, slices.Clone(w.Data[len(w.Data)-n:]))
		}
		return rows
	}
	for step := range 4 {
		before := lastRow(sand)
		lp, err := plain.TrainStep("mid")
		if err != nil {
			t.Fatal(err)
		}
		ls, err := sand.TrainStep("mid")
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 && lp != ls {
			t.Fatalf("first step: sandwich loss %v, plain loss %v: the recorded loss must be the uniform path's", ls, lp)
		}
		for i, row := range lastRow(sand) {
			if slices.Equal(row, before[i]) {
				t.Fatalf("step %d: ResBlock %d's last inner channel did not move: the widest path was not trained", step, i)
			}
		}
	}
	dir := t.TempDir()
	if err := sand.Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Load(dir); err == nil || !strings.Contains(err.Error(), "sandwich rule on") {
		t.Fatalf("loading a sandwich checkpoint into a plain supernet: err %v", err)
	}
	again, err := NewSupernet(teacher, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := again.Load(dir); err != nil || !slices.Contains(names, "mid") {
		t.Fatalf("reload with the same setting: %v %v", names, err)
	}
}
