package dnas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"dnas/dnas/checkpoint"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

// Stage 1 of DiffNAS: block-wise supernet training with distillation.
//
// For a block b, one step is:
//
//	x0 ~ MNIST, t ~ U{0..T-1} in antithetic pairs (t, T-1-t), eps ~ N(0, I)
//	x_t = sqrt(aBar_t) x0 + sqrt(1 - aBar_t) eps
//	teacher (frozen) runs on x_t, t: inputs In_b (+ skips) and output Out_b of b
//	path ~ uniform: one kernel size per searchable conv of b (and, with
//	      SupernetOptions.WidthChoices, one width per ResBlock of b)
//	loss = MSE(student_b(In_b, skips, temb_student(t)), Out_b)
//	Adam (lr 2e-4) on the path's weights and the student's time MLP, after
//	clipping their gradient norm to 1.0.
//
// With SupernetOptions.Sandwich (width supernets only) a step trains three
// paths on the same batch, the uniformly drawn one, the widest and the
// narrowest, and sums their gradients before the one Adam step.
//
// On a narrow path the weights are the full-width ones (a slice of them
// runs); the gradient is zero outside the slice, and Adam updates the whole
// tensor, so the unused channels drift only by Adam's momentum, as they do
// when a sliced weight is trained in PyTorch. Kernel choices off the path
// have no gradient and are not touched at all (each has its own Adam).
//
// TrainStep does one step of one block, TrainBlock N steps of one block,
// TrainAll N steps of every block (block after block, or all blocks on each
// teacher pass with Opts.Parallel).

// teacherIO runs the frozen teacher on the batch and captures every block's
// inputs and outputs. The capture reuses the tensors of the last call (a
// training step's, or the search's), which nothing reads once that step or
// search is done: on base a fresh capture would allocate ~100 MB a step.
func (s *Supernet) teacherIO(x *tensor.Tensor, t []float32) ([]unet.BlockIO, error) {
	s.Teacher.Net.SetTraining(false)
	io, err := s.Teacher.Net.ForwardCaptureInto(s.capture, x, t)
	if err == nil {
		s.capture = io
	}
	return io, err
}

// trainBlockOn does one optimiser step of block i on captured teacher
// features io, with the path drawn from rng, and returns the loss of that
// path. With Opts.Sandwich it also trains the widest and the narrowest path
// on the same batch (kernels drawn uniformly for each) and sums the three
// paths' gradients before the one optimiser step.
func (s *Supernet) trainBlockOn(i int, io []unet.BlockIO, t []float32, pathSeed uint64) (float64, error) {
	b := s.Net.Blocks()[i]
	rng := s.stepRNG(i, int(pathSeed))
	// Dropout masks depend on the block and the step only, so a resumed
	// stage 1 draws what an uninterrupted one would have.
	s.Net.SetDropoutSeed(s.Opts.Seed ^ (uint64(i)<<40|pathSeed+1)*0x9e3779b97f4a7c15)
	s.Net.SetTraining(true)
	temb := s.Net.Time.Forward(t)
	in := unet.BlockInput{X: io[i].In.X, Skips: io[i].In.Skips, Temb: temb}
	paths := 1
	if s.Opts.Sandwich {
		paths = 3
		nn.ZeroGrads(b.AllParams())
	}
	s.inUse = s.inUse[:0]
	var loss float64
	for k := range paths {
		s.samplePath(b, rng) // the uniform path first: the stream of a plain step
		if k > 0 {
			w := slices.Max(s.Opts.WidthChoices)
			if k == 2 {
				w = slices.Min(s.Opts.WidthChoices)
			}
			ws := make([]float64, len(b.ResBlocks()))
			for j := range ws {
				ws[j] = w
			}
			if err := b.SetWidths(ws); err != nil {
				return 0, err
			}
		}
		out, err := s.Net.RunBlock(i, in)
		if err != nil {
			return 0, err
		}
		s.dOut = tensor.Ensure(s.dOut, out.Out.Shape...)
		l := float64(nn.MSELoss(out.Out, io[i].Out.Out, s.dOut))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return l, fmt.Errorf("stage 1: block %s diverged at step %d (loss %v): lower SupernetOptions.LR", b.Name, s.Steps[i], l)
		}
		if k == 0 {
			loss = l
		}
		if k == 0 && paths == 1 {
			s.inUse = append(append(s.inUse, b.Params()...), s.Net.Time.Params()...)
			nn.ZeroGrads(s.inUse)
		} else {
			for _, p := range b.Params() {
				if !slices.Contains(s.inUse, p) {
					s.inUse = append(s.inUse, p)
				}
			}
			if k == 0 {
				s.inUse = append(s.inUse, s.Net.Time.Params()...)
				nn.ZeroGrads(s.Net.Time.Params())
			}
		}
		g, err := s.Net.BackwardBlock(i, s.dOut)
		if err != nil {
			return 0, err
		}
		s.Net.Time.Backward(g.Temb)
	}
	if norm := nn.ClipGradNorm(s.inUse, s.Opts.GradClip); math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, fmt.Errorf("stage 1: block %s: gradient norm %v at step %d: lower SupernetOptions.LR", b.Name, norm, s.Steps[i])
	}
	for _, p := range s.inUse {
		s.adam(p).Update()
	}
	s.Steps[i]++
	s.Losses[i] = append(s.Losses[i], loss)
	return loss, nil
}

// TrainStep does one stage-1 step of the named block and returns its
// distillation loss (MSE to the teacher's block output).
func (s *Supernet) TrainStep(block string) (loss float64, err error) {
	defer nn.Catch(&err)
	i, err := s.blockIndex(block)
	if err != nil {
		return 0, err
	}
	rng := s.stepRNG(i, s.Steps[i])
	nb := s.batch(rng)
	io, err := s.teacherIO(nb.Xt, nb.TF)
	if err != nil {
		return 0, err
	}
	return s.trainBlockOn(i, io, nb.TF, uint64(s.Steps[i])|1<<39)
}

// TrainBlock does steps stage-1 steps of the named block, reporting progress
// to progress.Default(). A cancelled ctx stops it within one step; what was
// trained is kept (save it with Save) and ctx's error is returned.
func (s *Supernet) TrainBlock(ctx context.Context, block string, steps int) error {
	if err := checkSteps("Supernet.TrainBlock", steps); err != nil {
		return err
	}
	i, err := s.blockIndex(block)
	if err != nil {
		return err
	}
	first := s.Steps[i]
	tr := progress.NewTracker("stage 1: supernet block "+block, first+steps, nil)
	tr.Start = first
	var loss float64
	for k := 0; k < steps; k++ {
		if err := ctx.Err(); err != nil {
			tr.Done(s.Steps[i], loss)
			return err
		}
		var err error
		if loss, err = s.TrainStep(block); err != nil {
			return err
		}
		tr.Step(s.Steps[i], s.Opts.BatchSize, loss)
	}
	tr.Done(s.Steps[i], loss)
	return nil
}

// TrainAll brings every searchable block to at least stepsPerBlock stage-1
// steps (blocks already there are skipped, so a resumed run continues where
// it stopped). By default blocks are trained one after another; with
// Opts.Parallel every teacher pass trains every block once. If dir is not
// empty, each block is checkpointed there when it finishes (parallel: every
// 100 steps and at the end), and on cancellation. A cancelled ctx stops
// within one step and returns ctx's error; what was trained is kept.
func (s *Supernet) TrainAll(ctx context.Context, stepsPerBlock int, dir string) error {
	if err := checkSteps("Supernet.TrainAll", stepsPerBlock); err != nil {
		return err
	}
	save := func() error {
		if dir == "" {
			return nil
		}
		return s.Save(dir)
	}
	if s.Opts.Parallel {
		err := s.trainParallel(ctx, stepsPerBlock, save)
		if serr := save(); err == nil {
			err = serr
		}
		return err
	}
	for _, name := range s.BlockNames() {
		i, _ := s.blockIndex(name)
		if s.Steps[i] >= stepsPerBlock {
			continue
		}
		err := s.TrainBlock(ctx, name, stepsPerBlock-s.Steps[i])
		if serr := save(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// trainParallel trains every searchable block on each teacher pass until
// each has stepsPerBlock steps.
func (s *Supernet) trainParallel(ctx context.Context, stepsPerBlock int, save func() error) error {
	idx := s.searchable()
	start := stepsPerBlock
	for _, i := range idx {
		start = min(start, s.Steps[i])
	}
	tr := progress.NewTracker(fmt.Sprintf("stage 1: supernet, %d blocks in parallel", len(idx)), stepsPerBlock, nil)
	tr.Start = start
	var loss float64
	for step := start; step < stepsPerBlock; step++ {
		if err := ctx.Err(); err != nil {
			tr.Done(step, loss)
			return err
		}
		rng := s.stepRNG(1<<20, step)
		nb := s.batch(rng)
		io, err := s.teacherIO(nb.Xt, nb.TF)
		if err != nil {
			return err
		}
		loss = 0
		for _, i := range idx {
			if s.Steps[i] > step {
				continue
			}
			l, err := s.trainBlockOn(i, io, nb.TF, uint64(step)|1<<39)
			if err != nil {
				return err
			}
			loss += l
		}
		tr.Step(step+1, s.Opts.BatchSize, loss)
		if (step+1)%100 == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	tr.Done(stepsPerBlock, loss)
	return nil
}

// Per-block checkpoints: dir/<block>.safetensors holds the block's weights
// (every kernel choice), their Adam moments, its step count and its loss
// history; dir/time.safetensors the student's time MLP and its Adam state.

func (s *Supernet) saveParams(path string, params []*nn.Param, meta map[string]string) error {
	var f checkpoint.File
	f.AddParams("w.", params)
	for _, p := range params {
		if a, ok := s.opt[p]; ok {
			f.Add("m."+p.Name, p.Shape, a.M[0])
			f.Add("v."+p.Name, p.Shape, a.V[0])
			f.SetMeta("step."+p.Name, strconv.Itoa(a.Step))
		}
	}
	for k, v := range meta {
		f.SetMeta(k, v)
	}
	f.SetMeta("format", supernetFormat)
	f.SetMeta("teacher", s.Teacher.ID())
	if w := s.widthMeta(); w != "" {
		f.SetMeta("width_choices", w)
	}
	if s.Opts.Sandwich {
		f.SetMeta("sandwich", "true")
	}
	return f.Save(path)
}

func (s *Supernet) loadParams(f *checkpoint.File, params []*nn.Param) error {
	if err := f.LoadParams("w.", params); err != nil {
		return err
	}
	for _, p := range params {
		m, okm := f.Get("m." + p.Name)
		v, okv := f.Get("v." + p.Name)
		if !okm || !okv {
			continue
		}
		a := s.adam(p)
		copy(a.M[0], m.Data)
		copy(a.V[0], v.Data)
		a.Step, _ = strconv.Atoi(f.Metadata["step."+p.Name])
	}
	return nil
}

const supernetFormat = "dnas-supernet-block/1"

// widthMeta is the checkpoint's record of the width choices the supernet was
// trained with ("" without width search, as in checkpoints that predate it).
func (s *Supernet) widthMeta() string {
	if !s.Opts.searchesWidths() {
		return ""
	}
	w, _ := jsonString(s.Opts.WidthChoices)
	return w
}

// SaveBlock writes the named block's checkpoint into dir.
func (s *Supernet) SaveBlock(dir, block string) error {
	i, err := s.blockIndex(block)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hist, _ := jsonString(s.Losses[i])
	return s.saveParams(filepath.Join(dir, block+".safetensors"), s.Net.Blocks()[i].AllParams(),
		map[string]string{"block": block, "steps": strconv.Itoa(s.Steps[i]), "losses": hist})
}

// Save checkpoints every block that has been trained, and the time MLP,
// into dir.
func (s *Supernet) Save(dir string) error {
	for _, name := range s.BlockNames() {
		i, _ := s.blockIndex(name)
		if s.Steps[i] == 0 {
			continue
		}
		if err := s.SaveBlock(dir, name); err != nil {
			return err
		}
	}
	return s.saveParams(filepath.Join(dir, "time.safetensors"), s.Net.Time.Params(), nil)
}

// Load restores the blocks checkpointed in dir (blocks without a file stay
// as they are) and the time MLP. A checkpoint of another teacher's supernet
// is refused. It returns the names of the blocks it restored.
func (s *Supernet) Load(dir string) ([]string, error) {
	var restored []string
	id := s.Teacher.ID()
	open := func(path string) (*checkpoint.File, error) {
		f, err := checkpoint.Load(path)
		if err != nil {
			return nil, err
		}
		if f.Metadata["format"] != supernetFormat {
			return nil, fmt.Errorf("%s is not a supernet checkpoint (format %q)", path, f.Metadata["format"])
		}
		if f.Metadata["teacher"] != id {
			return nil, fmt.Errorf("%s was trained against teacher %s, not this teacher %s: train a new supernet", path, f.Metadata["teacher"], id)
		}
		if got, want := f.Metadata["width_choices"], s.widthMeta(); got != want {
			describe := func(w string) string {
				if w == "" {
					return "no width search"
				}
				return "width choices " + w
			}
			return nil, fmt.Errorf("%s was trained with %s, this supernet has %s: use the same width choices (dnas run --widths) or a new directory", path, describe(got), describe(want))
		}
		if got := f.Metadata["sandwich"] == "true"; got != s.Opts.Sandwich {
			return nil, fmt.Errorf("%s was trained with the sandwich rule %s, this supernet has it %s: use the same setting (dnas run --sandwich) or a new directory", path, onOff(got), onOff(s.Opts.Sandwich))
		}
		return f, nil
	}
	for _, name := range s.BlockNames() {
		path := filepath.Join(dir, name+".safetensors")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		f, err := open(path)
		if err != nil {
			return restored, err
		}
		i, _ := s.blockIndex(name)
		if err := s.loadParams(f, s.Net.Blocks()[i].AllParams()); err != nil {
			return restored, fmt.Errorf("supernet block %s: %w", name, err)
		}
		s.Steps[i], _ = strconv.Atoi(f.Metadata["steps"])
		s.Losses[i] = nil
		_ = jsonParse(f.Metadata["losses"], &s.Losses[i])
		restored = append(restored, name)
	}
	tpath := filepath.Join(dir, "time.safetensors")
	if _, err := os.Stat(tpath); err == nil {
		f, err := open(tpath)
		if err != nil {
			return restored, err
		}
		if err := s.loadParams(f, s.Net.Time.Params()); err != nil {
			return restored, fmt.Errorf("supernet time MLP: %w", err)
		}
	}
	return restored, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// checkSteps refuses a negative step count for a training call (0 does
// nothing).
func checkSteps(call string, steps int) error {
	if steps < 0 {
		return fmt.Errorf("dnas: %s: %d steps: want the number of steps to train now, 0 or more", call, steps)
	}
	return nil
}
