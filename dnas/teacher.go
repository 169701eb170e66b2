package dnas

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"

	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
	"dnas/models"
)

// Teacher is a trained noise-prediction UNet with its noise schedule: the
// frozen model DiffNAS distils from. It implements diffusion.Denoiser, so
// it can be sampled (Sample, SampleGrid) and evaluated (Evaluate).
type Teacher struct {
	Preset   TeacherPreset
	Net      *unet.UNet
	Schedule *diffusion.NoiseSchedule
	Step     int    // training steps behind these weights
	Source   string // where the weights came from (a path, "models/small.safetensors", or "training")
	// Role is what the model is when it is not a teacher: "retrained
	// subnet" for the EMA weights of a stage-3 retraining (LoadModel).
	Role string
}

// PredictNoise runs the network in evaluation mode (no dropout) on noisy
// images x [N,1,28,28] at timesteps t. The result is a buffer the network
// reuses on its next call.
func (t *Teacher) PredictNoise(x *tensor.Tensor, ts []float32) *tensor.Tensor {
	t.Net.SetTraining(false)
	return t.Net.Forward(x, ts)
}

// ID identifies the teacher by a hash of its architecture and weights, so a
// search result can be checked against the teacher it was made for.
func (t *Teacher) ID() string {
	h := sha256.New()
	cfg, _ := json.Marshal(t.Preset.UNet)
	h.Write(cfg)
	for _, p := range t.Net.Params() {
		h.Write([]byte(p.Name))
		for _, v := range p.Data {
			b := math.Float32bits(v)
			h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
		}
	}
	return t.Preset.Name + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// String describes the teacher in one line.
func (t *Teacher) String() string {
	role := t.Role
	if role == "" {
		role = "teacher"
	}
	return fmt.Sprintf("%s %s (%s): %s params, %s MACs/sample, step %d, from %s",
		role, t.Preset.Name, t.Preset.UNet, FormatCount(t.Net.NumParams()), FormatCount(t.Net.MACs()), t.Step, t.Source)
}

// Save writes the teacher's weights (only: no optimiser state) and its
// preset to a safetensors file, atomically. This is the format of the
// committed models; LoadTeacher reads it back.
func (t *Teacher) Save(path string) error {
	var f checkpoint.File
	f.AddParams("model.", t.Net.Params())
	if err := f.SetMetaJSON("preset", t.Preset); err != nil {
		return err
	}
	f.SetMeta("format", teacherFormat)
	f.SetMeta("kind", "weights")
	f.SetMeta("step", strconv.Itoa(t.Step))
	return f.Save(path)
}

const teacherFormat = "dnas-teacher/1"

// LoadTeacher reads a teacher from a checkpoint written by Teacher.Save or
// by a TeacherTrainer (whose EMA weights it takes). A checkpoint whose
// tensors do not fit the architecture recorded in it is an error naming the
// tensor.
func LoadTeacher(path string) (*Teacher, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	t, err := teacherFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("dnas.LoadTeacher %s: %w", path, err)
	}
	t.Source = path
	return t, nil
}

// LoadTeacherLiveWeights reads the live (not averaged) weights of a
// training checkpoint written by a TeacherTrainer. Early in training the EMA
// weights still mostly hold the random initialisation (decay 0.999 keeps 90%
// of it after 100 steps); the live weights show what training has learnt.
func LoadTeacherLiveWeights(path string) (*Teacher, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["kind"] != "training" {
		return nil, fmt.Errorf("dnas.LoadTeacherLiveWeights: %s is not a training checkpoint (it holds only one set of weights: use LoadTeacher)", path)
	}
	f.Metadata["kind"] = "live"
	t, err := teacherFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("dnas.LoadTeacherLiveWeights %s: %w", path, err)
	}
	t.Source = path + " (live weights)"
	return t, nil
}

// teacherFromFile builds a teacher from a decoded checkpoint: the EMA
// weights of a training checkpoint, the model weights of a weights file
// (or of a training checkpoint whose kind was set to "live").
func teacherFromFile(f *checkpoint.File) (*Teacher, error) {
	if f.Metadata["format"] != teacherFormat {
		return nil, fmt.Errorf("not a dnas teacher checkpoint (format %q, want %q)", f.Metadata["format"], teacherFormat)
	}
	var p TeacherPreset
	if err := f.MetaJSON("preset", &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	net, err := unet.New(p.UNet, 0)
	if err != nil {
		return nil, err
	}
	prefix := "model."
	if f.Metadata["kind"] == "training" {
		prefix = "ema."
	}
	if err := f.LoadParams(prefix, net.Params()); err != nil {
		return nil, err
	}
	if extra := f.Unused(prefix, net.Params()); len(extra) > 0 {
		return nil, fmt.Errorf("checkpoint tensor %q is not part of the %s architecture: the checkpoint and its recorded config disagree", extra[0], p.Name)
	}
	sched, err := p.NoiseSchedule()
	if err != nil {
		return nil, err
	}
	step, _ := strconv.Atoi(f.Metadata["step"])
	return &Teacher{Preset: p, Net: net, Schedule: sched, Step: step}, nil
}

// TeacherTrainer trains a teacher UNet by noise prediction on MNIST, one
// optimiser step at a time:
//
//	x0 ~ MNIST batch, t ~ U{0..T-1}, eps ~ N(0,I)
//	loss = |eps_theta(sqrt(aBar_t) x0 + sqrt(1-aBar_t) eps, t) - eps|^2
//
// with Adam (linear warm-up), global gradient-norm clipping and an EMA of
// the weights (the EMA weights are the teacher). All randomness comes from
// one seeded PCG plus the batcher's seeded shuffles, and a checkpoint holds
// their state, so Resume continues exactly: the next step's loss is the one
// an uninterrupted run would have computed.
type TeacherTrainer struct {
	Preset   TeacherPreset
	Seed     uint64
	Net      *unet.UNet
	Schedule *diffusion.NoiseSchedule
	Opt      *nn.Adam
	EMA      *nn.EMA
	Data     *mnist.Batcher
	StepNum  int     // optimiser steps done
	LastLoss float64 // loss of the last step

	// CheckpointPath, when set, is where Train writes a training checkpoint
	// at every multiple of CheckpointEvery steps (0 => 500), when it stops
	// and when it finishes.
	CheckpointPath  string
	CheckpointEvery int
	// SnapshotDir, when set with SnapshotEvery > 0, is where Train saves the
	// EMA teacher every SnapshotEvery steps (counted from step 0), as
	// step-NNNNNNN.safetensors: the files a quality curve is measured on
	// (MeasureSnapshots).
	SnapshotDir   string
	SnapshotEvery int
	// Reporter receives progress events (nil => progress.Default()).
	Reporter progress.Reporter

	pcg    *rand.PCG
	rng    *rand.Rand
	params []*nn.Param
	batch  diffusion.NoisyBatch
	dpred  *tensor.Tensor
}

// NewTeacherTrainer starts training the preset from random weights; seed
// fixes the initial weights, the data order, the timesteps, the noise and
// the dropout masks.
func NewTeacherTrainer(p TeacherPreset, seed uint64) (*TeacherTrainer, error) {
	if p.RestartInit != "" {
		return nil, fmt.Errorf("dnas: preset %q continues teacher %s from its weights, so random weights cannot start it: use TeacherTrainerFromWeights on that teacher's file, then WarmRestart", p.Name, p.RestartInit)
	}
	return newTeacherTrainer(p, seed)
}

// newTeacherTrainer is NewTeacherTrainer for a preset whose weights are
// about to be loaded (a resume, or a continuation of a weights file).
func newTeacherTrainer(p TeacherPreset, seed uint64) (*TeacherTrainer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	train, err := mnist.LoadTrain()
	if err != nil {
		return nil, err
	}
	net, err := unet.New(p.UNet, seed)
	if err != nil {
		return nil, err
	}
	sched, err := p.NoiseSchedule()
	if err != nil {
		return nil, err
	}
	tr := &TeacherTrainer{Preset: p, Seed: seed, Net: net, Schedule: sched,
		Data: mnist.NewBatcher(train, p.BatchSize, seed)}
	tr.params = net.Params()
	tr.Opt = nn.NewAdam(tr.params, p.LR)
	tr.EMA = nn.NewEMA(tr.params, p.EMADecay)
	tr.pcg = rand.NewPCG(seed, 0x7465616368)
	tr.rng = rand.New(tr.pcg)
	return tr, nil
}

// NewTeacherTrainerByName is NewTeacherTrainer on the preset called name.
func NewTeacherTrainerByName(preset string, seed uint64) (*TeacherTrainer, error) {
	p, err := LookupTeacherPreset(preset)
	if err != nil {
		return nil, err
	}
	return NewTeacherTrainer(p, seed)
}

// lr is the learning rate at step s (1-based): linear warm-up, then the
// preset's decay (constant, or a half cosine down to MinLR at Steps).
func (tr *TeacherTrainer) lr(s int) float32 {
	return tr.Preset.LearningRate(s)
}

// LearningRate is the preset's learning rate at optimiser step s (1-based):
// a linear warm-up over WarmupSteps to LR, then constant or a half cosine
// down to MinLR at Steps; after a warm restart (RestartStep > 0) the steps
// past RestartStep run the same shape again from RestartLR (down to
// RestartMinLR when set), and the steps of each earlier restart
// (EarlierRestarts) the shape of that cycle.
func (p TeacherPreset) LearningRate(s int) float32 {
	start, peak, end, floor := 0, p.LR, p.Steps, p.MinLR
	if p.RestartStep > 0 {
		if s > p.RestartStep {
			start, peak, floor = p.RestartStep, p.RestartLR, p.floor(p.RestartMinLR)
		} else {
			end = p.firstCycleEnd()
			for _, r := range p.EarlierRestarts {
				if s > r.Step {
					start, peak, end, floor = r.Step, r.LR, r.End, p.floor(r.MinLR)
				}
			}
		}
	}
	w := p.WarmupSteps
	if w > 0 && s-start < w {
		return peak * float32(s-start) / float32(w)
	}
	if p.LRDecay != "cosine" || end <= start+w {
		return peak
	}
	frac := math.Min(1, float64(s-start-w)/float64(end-start-w))
	return floor + (peak-floor)*float32(0.5*(1+math.Cos(math.Pi*frac)))
}

// firstCycleEnd is where the first cycle's decay ends in a restarted
// schedule.
func (p TeacherPreset) firstCycleEnd() int {
	if p.FirstSteps > 0 {
		return p.FirstSteps
	}
	if len(p.EarlierRestarts) > 0 {
		return p.EarlierRestarts[0].Step
	}
	return p.RestartStep
}

// WarmRestart lays a new learning-rate cycle over the steps from the
// trainer's current step to steps (the new total): a warm-up to lr, then
// the preset's decay (for base, a cosine down to MinLR at steps). Weights,
// EMA, Adam moments, data order and RNG carry on, so it is the same run
// taken further on a fresh schedule; the checkpoint records the restart,
// so a resume follows it, and LearningRate still describes the steps
// before it. A restarted run can be restarted again: the cycle it was on
// is then kept in EarlierRestarts.
func (tr *TeacherTrainer) WarmRestart(lr float32, steps int) error {
	return tr.WarmRestartFloor(lr, 0, steps)
}

// WarmRestartFloor is WarmRestart with the new cycle's cosine ending at
// floor instead of the preset's MinLR (0 = MinLR): a last cycle that
// anneals lower than the first, e.g. from 1e-4 to 1e-5.
func (tr *TeacherTrainer) WarmRestartFloor(lr, floor float32, steps int) error {
	if steps <= tr.StepNum {
		return fmt.Errorf("dnas: a warm restart at step %d needs a longer total than %d steps", tr.StepNum, steps)
	}
	if tr.StepNum == 0 {
		return fmt.Errorf("dnas: a warm restart needs a trained run (this one is at step 0): start a fresh run instead")
	}
	p := tr.Preset
	switch {
	case p.RestartStep == tr.StepNum:
		// Restarted here and not trained since: lay that restart anew.
	case p.RestartStep > 0:
		// The cycle it was on becomes an earlier one (a fresh slice: the
		// old preset value keeps its own).
		p.EarlierRestarts = append(slices.Clip(p.EarlierRestarts), LRRestart{Step: p.RestartStep, LR: p.RestartLR, End: p.Steps, MinLR: p.RestartMinLR})
	default:
		p.FirstSteps = 0 // the first cycle ended where it was planned to
		if p.Steps != tr.StepNum {
			p.FirstSteps = p.Steps // it was cut short (or ran on at its floor)
		}
	}
	p.RestartStep, p.RestartLR, p.RestartMinLR, p.Steps = tr.StepNum, lr, floor, steps
	if err := p.Validate(); err != nil {
		return fmt.Errorf("dnas: warm restart: %w", err)
	}
	tr.Preset = p
	return nil
}

// Step runs one optimiser step on the next batch and returns its loss. A NaN
// or infinite loss or gradient is an error naming the step; the weights,
// the EMA and the optimiser are then left as they were before the step.
func (tr *TeacherTrainer) Step() (loss float64, err error) {
	defer nn.Catch(&err)
	s := tr.StepNum + 1
	x0, _ := tr.Data.Next()
	b := tr.Schedule.Noisy(x0, tr.rng, false, &tr.batch)
	tr.Net.SetDropoutSeed(tr.Seed ^ uint64(s)*0x9e3779b97f4a7c15)
	tr.Net.SetTraining(true)
	nn.ZeroGrads(tr.params)
	pred := tr.Net.Forward(b.Xt, b.TF)
	if tr.dpred == nil {
		tr.dpred = &tensor.Tensor{}
	}
	loss = diffusion.NoiseLoss(pred, b.Noise, tr.dpred)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, &DivergedError{Step: s, What: "loss", Value: loss}
	}
	tr.Net.Backward(tr.dpred)
	clip := tr.Preset.GradClip
	if clip <= 0 {
		clip = math.Inf(1)
	}
	if norm := nn.ClipGradNorm(tr.params, clip); math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, &DivergedError{Step: s, What: "gradient norm", Value: norm}
	}
	tr.Opt.LR = tr.lr(s)
	tr.Opt.Update()
	tr.EMA.Update()
	tr.StepNum = s
	tr.LastLoss = loss
	return loss, nil
}

// DivergedError reports a training step whose loss or gradient was not a
// finite number. Training stops there, with the weights of the step before.
type DivergedError struct {
	Step  int
	What  string // "loss" or "gradient norm"
	Value float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged at step %d: the %s is %v; the weights of step %d are kept (lower the learning rate or resume from the last checkpoint)", e.Step, e.What, e.Value, e.Step-1)
}

// Train runs steps optimiser steps, reporting progress (loss and images per
// second) and writing checkpoints to CheckpointPath if it is set. Cancelling
// ctx stops it before the next step: the weights trained so far are kept
// (and checkpointed) and the context's error is returned, wrapped.
func (tr *TeacherTrainer) Train(ctx context.Context, steps int) error {
	if err := checkSteps("TeacherTrainer.Train", steps); err != nil {
		return err
	}
	every := tr.CheckpointEvery
	if every <= 0 {
		every = 500
	}
	first := tr.StepNum
	task := fmt.Sprintf("teacher %s", tr.Preset.Name)
	track := progress.NewTracker(task, first+steps, tr.Reporter)
	track.Start = first
	save := func() error {
		if tr.CheckpointPath == "" {
			return nil
		}
		return tr.SaveCheckpoint(tr.CheckpointPath)
	}
	for i := 1; i <= steps; i++ {
		if err := ctx.Err(); err != nil {
			track.Done(tr.StepNum, tr.LastLoss)
			if serr := save(); serr != nil {
				return errors.Join(fmt.Errorf("teacher training stopped at step %d: %w", tr.StepNum, err), serr)
			}
			return fmt.Errorf("teacher training stopped at step %d (weights kept): %w", tr.StepNum, err)
		}
		loss, err := tr.Step()
		if err != nil {
			track.Done(tr.StepNum, tr.LastLoss)
			return err
		}
		track.LR = float64(tr.Opt.LR)
		track.Step(tr.StepNum, tr.Preset.BatchSize, loss)
		if err := tr.snapshot(); err != nil {
			return err
		}
		if tr.StepNum%every == 0 && i < steps {
			if err := save(); err != nil {
				return err
			}
		}
	}
	track.Done(tr.StepNum, tr.LastLoss)
	return save()
}

// snapshot saves the EMA teacher to SnapshotDir if this step is due.
func (tr *TeacherTrainer) snapshot() error {
	if tr.SnapshotDir == "" || tr.SnapshotEvery <= 0 || tr.StepNum%tr.SnapshotEvery != 0 {
		return nil
	}
	t, err := tr.Teacher()
	if err != nil {
		return err
	}
	return t.Save(SnapshotPath(tr.SnapshotDir, tr.StepNum))
}

// SnapshotPath is the file a snapshot of step step is saved to in dir.
func SnapshotPath(dir string, step int) string {
	return filepath.Join(dir, fmt.Sprintf("step-%07d.safetensors", step))
}

// Teacher returns the teacher made of the EMA weights (a copy: training can
// go on without changing it).
func (tr *TeacherTrainer) Teacher() (*Teacher, error) {
	net, err := unet.New(tr.Preset.UNet, tr.Seed)
	if err != nil {
		return nil, err
	}
	tr.EMA.CopyTo(net.Params())
	return &Teacher{Preset: tr.Preset, Net: net, Schedule: tr.Schedule, Step: tr.StepNum, Source: "training"}, nil
}

// SaveCheckpoint writes everything needed to resume to a safetensors file,
// atomically: the weights ("model."), the EMA weights ("ema."), Adam's
// moments ("adam.m.", "adam.v."), and in the metadata the preset, the seed,
// the step, Adam's step, the RNG state and the batcher's position.
func (tr *TeacherTrainer) SaveCheckpoint(path string) error {
	var f checkpoint.File
	f.AddParams("model.", tr.params)
	for i, p := range tr.params {
		f.Add("ema."+p.Name, p.Shape, tr.EMA.Shadow[i])
		f.Add("adam.m."+p.Name, p.Shape, tr.Opt.M[i])
		f.Add("adam.v."+p.Name, p.Shape, tr.Opt.V[i])
	}
	if err := f.SetMetaJSON("preset", tr.Preset); err != nil {
		return err
	}
	rs, err := tr.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dnas: saving the RNG state: %w", err)
	}
	f.SetMeta("format", teacherFormat)
	f.SetMeta("kind", "training")
	f.SetMeta("seed", strconv.FormatUint(tr.Seed, 10))
	f.SetMeta("step", strconv.Itoa(tr.StepNum))
	f.SetMeta("adam_step", strconv.Itoa(tr.Opt.Step))
	f.SetMeta("rng", base64.StdEncoding.EncodeToString(rs))
	f.SetMeta("data_epoch", strconv.Itoa(tr.Data.Epoch))
	f.SetMeta("data_pos", strconv.Itoa(tr.Data.Pos))
	f.SetMeta("loss", strconv.FormatFloat(tr.LastLoss, 'g', -1, 64))
	if tr.SnapshotDir != "" && tr.SnapshotEvery > 0 {
		f.SetMeta("snapshot_every", strconv.Itoa(tr.SnapshotEvery))
	}
	return f.Save(path)
}

// ResumeTeacherTrainer rebuilds a trainer from a checkpoint written by
// SaveCheckpoint; its next Step is the step an uninterrupted run would have
// taken. CheckpointPath is set to path, and a run that kept snapshots goes
// on keeping them, every SnapshotEvery steps as before, in the folder
// "snapshots" beside path (change SnapshotDir or SnapshotEvery to move or
// stop them).
func ResumeTeacherTrainer(path string) (*TeacherTrainer, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["format"] != teacherFormat || f.Metadata["kind"] != "training" {
		return nil, fmt.Errorf("dnas: %s is not a teacher training checkpoint (format %q, kind %q); weights-only files load with LoadTeacher", path, f.Metadata["format"], f.Metadata["kind"])
	}
	var p TeacherPreset
	if err := f.MetaJSON("preset", &p); err != nil {
		return nil, err
	}
	seed, err := strconv.ParseUint(f.Metadata["seed"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("dnas: %s: bad seed metadata: %w", path, err)
	}
	tr, err := newTeacherTrainer(p, seed)
	if err != nil {
		return nil, err
	}
	if err := tr.loadState(f); err != nil {
		return nil, fmt.Errorf("dnas: resuming from %s: %w", path, err)
	}
	tr.CheckpointPath = path
	if n, err := strconv.Atoi(f.Metadata["snapshot_every"]); err == nil && n > 0 {
		tr.SnapshotDir, tr.SnapshotEvery = filepath.Join(filepath.Dir(path), "snapshots"), n
	}
	return tr, nil
}

// TeacherFileKind says what a teacher file holds: "training" (a resumable
// checkpoint of TeacherTrainer.SaveCheckpoint) or "weights" (Teacher.Save).
func TeacherFileKind(path string) (string, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return "", err
	}
	if f.Metadata["format"] != teacherFormat {
		return "", fmt.Errorf("dnas: %s is not a dnas teacher file (format %q, want %q)", path, f.Metadata["format"], teacherFormat)
	}
	if k := f.Metadata["kind"]; k == "training" {
		return k, nil
	}
	return "weights", nil
}

// TeacherTrainerFromWeights continues a weights-only teacher file
// (Teacher.Save, e.g. a committed models/*.safetensors), which holds no
// optimiser state, usually to take it further with WarmRestart: the live
// weights and the EMA both start from the file's weights, Adam's moments
// from zero (its bias correction starts afresh too), and the data order,
// timesteps, noise and dropout from seed. The trainer stands at the file's
// step, and its preset records the source teacher's ID (RestartInit). A
// training checkpoint is refused: ResumeTeacherTrainer continues it
// exactly, optimiser and all.
func TeacherTrainerFromWeights(path string, seed uint64) (*TeacherTrainer, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["kind"] == "training" {
		return nil, fmt.Errorf("dnas: %s is a training checkpoint: continue it with ResumeTeacherTrainer (then WarmRestart), which keeps its optimiser state", path)
	}
	t, err := teacherFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("dnas: continuing %s: %w", path, err)
	}
	if t.Step <= 0 {
		return nil, fmt.Errorf("dnas: %s records no training step: a warm restart needs a trained teacher", path)
	}
	p := t.Preset
	if p.RestartStep > 0 {
		// The file's schedule held a restart of its own: the next one
		// replaces it, its first cycle taken to end where the file stopped.
		p.RestartStep, p.RestartLR, p.RestartMinLR, p.FirstSteps, p.Steps, p.EarlierRestarts = 0, 0, 0, 0, t.Step, nil
	}
	p.RestartInit = t.ID()
	tr, err := newTeacherTrainer(p, seed)
	if err != nil {
		return nil, err
	}
	src := t.Net.Params()
	for i, q := range tr.params {
		copy(q.Data, src[i].Data)
		copy(tr.EMA.Shadow[i], src[i].Data)
	}
	tr.StepNum = t.Step
	return tr, nil
}

// loadState restores weights, EMA, optimiser, counters and RNG from f.
func (tr *TeacherTrainer) loadState(f *checkpoint.File) error {
	if err := f.LoadParams("model.", tr.params); err != nil {
		return err
	}
	for i, p := range tr.params {
		for _, part := range []struct {
			prefix string
			dst    []float32
		}{{"ema.", tr.EMA.Shadow[i]}, {"adam.m.", tr.Opt.M[i]}, {"adam.v.", tr.Opt.V[i]}} {
			t, ok := f.Get(part.prefix + p.Name)
			if !ok || len(t.Data) != len(part.dst) {
				return fmt.Errorf("checkpoint tensor %q is missing or has shape %v, want %v", part.prefix+p.Name, t.Shape, p.Shape)
			}
			copy(part.dst, t.Data)
		}
	}
	ints := map[string]*int{"step": &tr.StepNum, "adam_step": &tr.Opt.Step, "data_epoch": &tr.Data.Epoch, "data_pos": &tr.Data.Pos}
	for k, dst := range ints {
		v, err := strconv.Atoi(f.Metadata[k])
		if err != nil {
			return fmt.Errorf("metadata %q: %w", k, err)
		}
		*dst = v
	}
	rs, err := base64.StdEncoding.DecodeString(f.Metadata["rng"])
	if err != nil {
		return fmt.Errorf("metadata \"rng\": %w", err)
	}
	if err := tr.pcg.UnmarshalBinary(rs); err != nil {
		return fmt.Errorf("metadata \"rng\": %w", err)
	}
	tr.LastLoss, _ = strconv.ParseFloat(f.Metadata["loss"], 64)
	return nil
}

// LoadTeacherPreset loads the committed teacher of a preset ("small" or
// "base") from models/<name>.safetensors (embedded in the binary; the
// directory $DNAS_MODELS overrides it).
func LoadTeacherPreset(name string) (*Teacher, error) {
	p, err := LookupTeacherPreset(name)
	if err != nil {
		return nil, err
	}
	file := p.Name + ".safetensors"
	data, err := models.Open(file)
	if err != nil {
		return nil, err
	}
	f, err := checkpoint.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("dnas: models/%s: %w", file, err)
	}
	t, err := teacherFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("dnas: models/%s: %w", file, err)
	}
	t.Source = "models/" + file
	return t, nil
}
