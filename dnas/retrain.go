package dnas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"dnas/dnas/checkpoint"
	"dnas/dnas/diffusion"
	"dnas/dnas/mnist"
	"dnas/dnas/nn"
	"dnas/dnas/progress"
	"dnas/dnas/tensor"
	"dnas/dnas/unet"
)

// Stage 3 of DiffNAS: the searched subnet is built as a standalone UNet and
// trained from scratch with the dynamic joint loss
//
//	L = (1 - beta(s)) * L_distill + beta(s) * L_noise
//	L_distill = sum over blocks b (every block, the head included) of
//	            MSE(student_b(teacher's inputs of b), teacher's output of b)
//	L_noise   = MSE(student(x_t, t), eps), the end-to-end DDPM loss
//
// where beta(s) follows a JointLossSchedule (default: linear ramp over the
// first half of training). The student's time embedding is its own in both
// terms.

// BuildSubnet builds the standalone UNet of the architecture r chose for
// teacher: the teacher's config with the chosen kernel size in every
// searchable conv (and the chosen inner width of every ResBlock when the
// search covered widths), weights initialised from seed. It checks that the built
// model really uses the chosen kernels and that its MACs and parameter count
// equal what the search reported, and refuses a result searched for another
// teacher.
//
// The weights are drawn layer by layer (unet.InitByName: a stream per layer,
// seeded by seed and the layer's name), never from unet.New's single stream,
// which is the one a teacher is trained from. Two things follow. A retrain
// of the teacher architecture can never start from the teacher's own initial
// weights, whatever the seeds: a trained UNet stays close to its initial
// draw (the base teacher's middle attention weights have cosine 0.79 and
// 0.84 with theirs), so such a "retrain from scratch" would start half-way
// to the teacher and win any comparison it is part of. And two architectures
// built with the same seed start every layer they share (same name and
// shape) from the same weights, so a subnet and the teacher architecture
// differ by architecture only, not also by their random draws.
func BuildSubnet(teacher *Teacher, r *SearchResult, seed uint64) (*unet.UNet, error) {
	if teacher == nil {
		return nil, errors.New("dnas.BuildSubnet: no teacher")
	}
	if r == nil {
		return nil, errors.New("dnas.BuildSubnet: no search result: run Supernet.Search first")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := r.CheckTeacher(teacher.ID()); err != nil {
		return nil, err
	}
	// The chosen kernels and, for a width search, the chosen inner widths.
	cfg := r.SubnetConfig(teacher.Preset.UNet)
	net, err := unet.New(cfg, seed)
	if err != nil {
		return nil, fmt.Errorf("dnas.BuildSubnet: %w", err)
	}
	if err := net.InitByName(seed); err != nil {
		return nil, fmt.Errorf("dnas.BuildSubnet: %w", err)
	}
	for _, b := range r.Blocks {
		nb := net.Block(b.Block)
		if nb == nil {
			return nil, fmt.Errorf("dnas.BuildSubnet: the search has a block %q the UNet does not have", b.Block)
		}
		if got, want := nb.Kernels(), b.Chosen().Kernels; !slices.Equal(got, want) {
			return nil, fmt.Errorf("dnas.BuildSubnet: block %s was built with kernels %v, the search chose %v", b.Block, got, want)
		}
	}
	if net.MACs() != r.MACs() || net.NumParams() != r.Params() {
		return nil, fmt.Errorf("dnas.BuildSubnet: the built subnet has %d MACs and %d parameters, the search reported %d and %d",
			net.MACs(), net.NumParams(), r.MACs(), r.Params())
	}
	return net, nil
}

// TeacherArchitecture returns a copy of r whose choice in every block is the
// baseline: the teacher's own architecture, for the same-budget retrain the
// searched subnet is compared with.
func TeacherArchitecture(r *SearchResult) *SearchResult {
	c := r.Clone()
	c.Method = "teacher-arch"
	c.Notes = "the teacher's architecture (every block at its baseline)"
	for i := range c.Blocks {
		c.Blocks[i].Choice = c.Blocks[i].Baseline
		c.Blocks[i].NoneQualified = false
	}
	return c
}

// RetrainOptions configures stage 3. Zero fields take defaults.
type RetrainOptions struct {
	Steps       int     `json:"steps"`        // optimiser steps (default 1000)
	BatchSize   int     `json:"batch_size"`   // images per step (default: the teacher preset's)
	LR          float32 `json:"lr"`           // Adam learning rate (default: the teacher preset's)
	WarmupSteps int     `json:"warmup_steps"` // linear LR warm-up (0: min(preset's, Steps/10); < 0: none)
	GradClip    float64 `json:"grad_clip"`    // global gradient-norm clip (default 1.0)
	// LRDecay is "" (constant LR after the warm-up) or "cosine": a half
	// cosine from LR down to MinLR at the last step. A short budget ends
	// while the loss is still falling fast; decaying the LR lets the last
	// steps settle instead of stopping mid-jump.
	LRDecay string  `json:"lr_decay,omitempty"`
	MinLR   float32 `json:"min_lr,omitempty"` // final LR of the cosine decay (default LR/20)
	// EMADecay is the decay of the EMA of the weights used for sampling.
	// Default: 1 - 10/Steps, clamped to [0.9, 0.999], i.e. the EMA averages
	// over roughly the last tenth of training (0.99 for 1,000 steps, 0.999
	// for 10,000). A fixed 0.995 is too slow for short budgets: its horizon
	// (200 steps) is half of a 400-step retraining, so the EMA lags far
	// behind weights that are still improving quickly. Whatever the decay,
	// the EMA warms up: at step s it uses min(EMADecay, (1+s)/(10+s)), so
	// the random initial weights are forgotten within the first steps
	// instead of lingering as decay^Steps of the average.
	EMADecay float32           `json:"ema_decay"`
	Schedule JointLossSchedule `json:"schedule"`  // beta(step) (default linear ramp over the first half)
	Seed     uint64            `json:"seed"`      // weights, batches, timesteps, noise (default 1)
	LogEvery int               `json:"log_every"` // log every block loss and the noise loss this often (default 10)
	// Inherit starts from the teacher's weights wherever a weight of the
	// subnet has the same name and shape (same kernel size); off by default.
	Inherit bool `json:"inherit"`
}

// LearningRate is the Adam learning rate at step s (0-based) of options
// with their defaults filled in (Retrainer.Opts): a linear warm-up over
// WarmupSteps, then constant, or a half cosine down to MinLR when LRDecay is
// "cosine".
func (o RetrainOptions) LearningRate(s int) float32 {
	if o.WarmupSteps > 0 && s < o.WarmupSteps {
		return o.LR * float32(s+1) / float32(o.WarmupSteps)
	}
	if o.LRDecay != "cosine" || o.Steps <= 1 {
		return o.LR
	}
	w := max(o.WarmupSteps, 0)
	frac := math.Min(1, float64(s-w)/float64(max(1, o.Steps-1-w)))
	return o.MinLR + (o.LR-o.MinLR)*float32(0.5*(1+math.Cos(math.Pi*frac)))
}

// EMADecayAt is the EMA decay used after step s (0-based):
// min(EMADecay, (1+s)/(10+s)). The warm-up term is small at first (0.1
// at step 0, 0.5 at step 8, 0.9 at step 80), so the average soon stops
// remembering the random initial weights, then EMADecay takes over.
func (o RetrainOptions) EMADecayAt(s int) float32 {
	return min(o.EMADecay, float32(1+s)/float32(10+s))
}

func (o RetrainOptions) withDefaults(p TeacherPreset) RetrainOptions {
	if o.Steps <= 0 {
		o.Steps = 1000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = p.BatchSize
	}
	if o.LR == 0 {
		o.LR = p.LR
	}
	if o.WarmupSteps == 0 {
		o.WarmupSteps = min(p.WarmupSteps, o.Steps/10)
	}
	if o.GradClip == 0 {
		o.GradClip = 1
	}
	if o.EMADecay == 0 {
		o.EMADecay = float32(min(0.999, max(0.9, 1-10/float64(o.Steps))))
	}
	if o.LRDecay == "cosine" && o.MinLR == 0 {
		o.MinLR = o.LR / 20
	}
	if o.Schedule.Kind == "" {
		o.Schedule = DefaultJointLossSchedule()
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 10
	}
	return o
}

// RetrainLog records the training dynamics of the dynamic joint loss, every
// LogEvery steps: beta, the end-to-end noise loss, the distillation loss of
// every block (the head included) and the joint loss. All of them are
// measured at every logged step, whatever beta is (a term with weight 0 is
// computed without its backward pass).
type RetrainLog struct {
	Blocks  []string    `json:"blocks"`  // block names, the columns of Distill
	Steps   []int       `json:"steps"`   // logged steps (0-based)
	Beta    []float64   `json:"beta"`    // beta at each logged step
	Noise   []float64   `json:"noise"`   // L_noise
	Distill [][]float64 `json:"distill"` // per logged step, per block MSE
	Joint   []float64   `json:"joint"`   // (1-beta) sum(Distill) + beta Noise
}

// Retrainer trains one subnet in stage 3, step by step. Build it with
// NewRetrainer (a fresh start) or LoadRetrainer (resume a checkpoint).
type Retrainer struct {
	Name    string // label in tables, e.g. "searched subnet"
	Teacher *Teacher
	Result  *SearchResult // the architecture being trained
	Net     *unet.UNet
	Opts    RetrainOptions
	Step    int        // steps done
	Log     RetrainLog // training dynamics
	Adam    *nn.Adam
	EMA     *nn.EMA

	data  *mnist.Dataset
	nb    *diffusion.NoisyBatch
	x0    *tensor.Tensor
	idx   []int
	d     *tensor.Tensor
	dTemb *tensor.Tensor
	// capture: the teacher's block features of the last step, reused.
	capture []unet.BlockIO
}

// NewRetrainer prepares stage 3 for the architecture r (from a search on
// teacher's supernet, or TeacherArchitecture(r)) with weights initialised
// from opts.Seed. data is the MNIST training set (nil loads it).
func NewRetrainer(name string, teacher *Teacher, r *SearchResult, data *mnist.Dataset, opts RetrainOptions) (*Retrainer, error) {
	if teacher == nil {
		return nil, errors.New("dnas.NewRetrainer: no teacher")
	}
	o := opts.withDefaults(teacher.Preset)
	if err := o.Schedule.Validate(); err != nil {
		return nil, err
	}
	if o.LRDecay != "" && o.LRDecay != "cosine" {
		return nil, fmt.Errorf("dnas.NewRetrainer: LRDecay %q: want \"\" (constant) or \"cosine\"", o.LRDecay)
	}
	if o.EMADecay < 0 || o.EMADecay >= 1 {
		return nil, fmt.Errorf("dnas.NewRetrainer: EMADecay %v must be in [0, 1) (0 picks 1 - 10/Steps)", o.EMADecay)
	}
	net, err := BuildSubnet(teacher, r, o.Seed)
	if err != nil {
		return nil, err
	}
	if o.Inherit {
		byName := map[string]*nn.Param{}
		for _, p := range teacher.Net.Params() {
			byName[p.Name] = p
		}
		for _, p := range net.Params() {
			if q, ok := byName[p.Name]; ok && slices.Equal(p.Shape, q.Shape) {
				copy(p.Data, q.Data)
			}
		}
	}
	if data == nil {
		if data, err = mnist.LoadTrain(); err != nil {
			return nil, err
		}
	}
	rt := &Retrainer{Name: name, Teacher: teacher, Result: r, Net: net, Opts: o, data: data}
	rt.Adam = nn.NewAdam(net.Params(), o.LR)
	rt.EMA = nn.NewEMA(net.Params(), o.EMADecay)
	for _, b := range net.Blocks() {
		rt.Log.Blocks = append(rt.Log.Blocks, b.Name)
	}
	return rt, nil
}

// RetrainStep is what one stage-3 step measured. Noise and Distill are
// filled on logged steps and whenever their weight is not zero.
type RetrainStep struct {
	Step    int
	Beta    float64
	Loss    float64   // the joint loss that was optimised
	Noise   float64   // L_noise (NaN if not computed)
	Distill []float64 // per-block distillation losses (nil if not computed)
}

// TrainStep does one optimiser step of the dynamic joint loss.
func (r *Retrainer) TrainStep() (st RetrainStep, err error) {
	defer nn.Catch(&err)
	o := r.Opts
	total := o.Steps
	rng := rand.New(rand.NewPCG(o.Seed, 0x3e7a1+uint64(r.Step)))
	r.idx = r.idx[:0]
	for range o.BatchSize {
		r.idx = append(r.idx, rng.IntN(r.data.N))
	}
	r.x0, _ = r.data.Batch(r.idx, r.x0)
	nb := r.Teacher.Schedule.Noisy(r.x0, rng, true, r.nb)
	r.nb = nb
	beta := o.Schedule.Beta(r.Step, total)
	logNow := r.Step%o.LogEvery == 0 || r.Step == total-1
	st = RetrainStep{Step: r.Step, Beta: beta, Noise: math.NaN()}
	params := r.Net.Params()
	nn.ZeroGrads(params)
	// Dropout masks are a function of the seed and the step, like the
	// batch: a resumed retraining replays exactly what an uninterrupted one
	// would have drawn.
	r.Net.SetDropoutSeed(o.Seed ^ uint64(r.Step+1)*0x9e3779b97f4a7c15)
	r.Net.SetTraining(true)
	var distill float64
	if beta < 1 || logNow {
		r.Teacher.Net.SetTraining(false)
		io, err := r.Teacher.Net.ForwardCaptureInto(r.capture, nb.Xt, nb.TF)
		if err != nil {
			return st, err
		}
		r.capture = io
		temb := r.Net.Time.Forward(nb.TF)
		r.dTemb = tensor.Ensure(r.dTemb, temb.Shape...)
		r.dTemb.Zero()
		st.Distill = make([]float64, len(io))
		for i, b := range r.Net.Blocks() {
			in := unet.BlockInput{X: io[i].In.X, Skips: io[i].In.Skips}
			if b.Kind != unet.Head {
				in.Temb = temb
			}
			out, err := r.Net.RunBlock(i, in)
			if err != nil {
				return st, err
			}
			var d *tensor.Tensor
			if beta < 1 {
				r.d = tensor.Ensure(r.d, out.Out.Shape...)
				d = r.d
			}
			l := float64(nn.MSELoss(out.Out, io[i].Out.Out, d))
			st.Distill[i] = l
			distill += l
			if beta < 1 {
				scale(d, float32(1-beta))
				g, err := r.Net.BackwardBlock(i, d)
				if err != nil {
					return st, err
				}
				if g.Temb != nil {
					for j, v := range g.Temb.Data {
						r.dTemb.Data[j] += v
					}
				}
			}
		}
		if beta < 1 {
			r.Net.Time.Backward(r.dTemb)
		}
	}
	if beta > 0 || logNow {
		pred := r.Net.Forward(nb.Xt, nb.TF)
		var d *tensor.Tensor
		if beta > 0 {
			r.d = tensor.Ensure(r.d, pred.Shape...)
			d = r.d
		}
		st.Noise = diffusion.NoiseLoss(pred, nb.Noise, d)
		if beta > 0 {
			scale(d, float32(beta))
			r.Net.Backward(d)
		}
	}
	switch {
	case beta == 0:
		st.Loss = distill
	case beta == 1:
		st.Loss = st.Noise
	default:
		st.Loss = (1-beta)*distill + beta*st.Noise
	}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("stage 3 (%s): loss %v at step %d: training diverged; lower RetrainOptions.LR", r.Name, st.Loss, r.Step)
	}
	if norm := nn.ClipGradNorm(params, o.GradClip); math.IsNaN(norm) || math.IsInf(norm, 0) {
		return st, fmt.Errorf("stage 3 (%s): gradient norm %v at step %d: training diverged; lower RetrainOptions.LR", r.Name, norm, r.Step)
	}
	r.Adam.LR = o.LearningRate(r.Step)
	r.Adam.Update()
	r.EMA.Decay = o.EMADecayAt(r.Step)
	r.EMA.Update()
	if logNow {
		r.Log.Steps = append(r.Log.Steps, r.Step)
		r.Log.Beta = append(r.Log.Beta, beta)
		r.Log.Noise = append(r.Log.Noise, st.Noise)
		r.Log.Distill = append(r.Log.Distill, st.Distill)
		r.Log.Joint = append(r.Log.Joint, (1-beta)*distill+beta*st.Noise)
	}
	r.Step++
	return st, nil
}

func scale(t *tensor.Tensor, a float32) {
	if a == 1 {
		return
	}
	for i := range t.Data {
		t.Data[i] *= a
	}
}

// Train runs steps more steps (never past Opts.Steps, the length the beta
// schedule is laid over), reporting progress to progress.Default(). A
// cancelled ctx stops it within one step and returns ctx's error; the steps
// done are kept (save them with Save).
func (r *Retrainer) Train(ctx context.Context, steps int) error {
	if err := checkSteps("Retrainer.Train", steps); err != nil {
		return err
	}
	tr := r.newTracker()
	loss, err := r.trainWith(ctx, steps, tr)
	if err == nil || ctx.Err() != nil {
		tr.Done(r.Step, loss)
	}
	return err
}

// newTracker starts the progress bar of the steps from r.Step to the end.
func (r *Retrainer) newTracker() *progress.Tracker {
	tr := progress.NewTracker(fmt.Sprintf("stage 3: retrain %s (beta %s)", r.Name, r.Opts.Schedule), r.Opts.Steps, nil)
	tr.Start = r.Step
	return tr
}

// trainWith runs steps more steps (never past Opts.Steps), reporting each to
// tr, and returns the last step's loss; a cancelled ctx stops it within one
// step. The caller ends tr: one bar can span several calls.
func (r *Retrainer) trainWith(ctx context.Context, steps int, tr *progress.Tracker) (loss float64, err error) {
	steps = min(steps, r.Opts.Steps-r.Step)
	for k := 0; k < steps; k++ {
		if err := ctx.Err(); err != nil {
			return loss, err
		}
		st, err := r.TrainStep()
		if err != nil {
			return loss, err
		}
		loss = st.Loss
		tr.LR = float64(r.Adam.LR)
		tr.Step(r.Step, r.Opts.BatchSize, loss)
	}
	return loss, nil
}

// Done reports whether all Opts.Steps steps have been trained.
func (r *Retrainer) Done() bool { return r.Step >= r.Opts.Steps }

// EMANet returns a copy of the subnet holding the EMA weights (the weights
// to sample and evaluate with).
func (r *Retrainer) EMANet() (*unet.UNet, error) {
	net, err := unet.New(r.Net.Config, r.Opts.Seed)
	if err != nil {
		return nil, err
	}
	r.EMA.CopyTo(net.Params())
	return net, nil
}

// Evaluate measures the EMA weights of the subnet (FID on LeNet features,
// held-out noise loss, sampling time; see EvaluateModel).
func (r *Retrainer) Evaluate(ctx context.Context, opts EvalOptions) (*EvalReport, error) {
	net, err := r.EMANet()
	if err != nil {
		return nil, err
	}
	return EvaluateModel(ctx, NetDenoiser(net), r.Teacher.Schedule, opts)
}

// Dynamics returns the logged per-block distillation losses, noise loss
// and beta as chart data (see plots.DistillDynamics).
func (r *Retrainer) Dynamics() RetrainLog { return r.Log }

const retrainFormat = "dnas-retrain/1"

// Save checkpoints the retraining: weights, Adam moments, EMA weights, step,
// options, the architecture and the log, so LoadRetrainer can resume it.
func (r *Retrainer) Save(path string) error {
	var f checkpoint.File
	ps := r.Net.Params()
	f.AddParams("model.", ps)
	for k, p := range ps {
		f.Add("adam.m."+p.Name, p.Shape, r.Adam.M[k])
		f.Add("adam.v."+p.Name, p.Shape, r.Adam.V[k])
		f.Add("ema."+p.Name, p.Shape, r.EMA.Shadow[k])
	}
	f.SetMeta("format", retrainFormat)
	f.SetMeta("name", r.Name)
	f.SetMeta("step", strconv.Itoa(r.Step))
	f.SetMeta("adam_step", strconv.Itoa(r.Adam.Step))
	f.SetMeta("teacher", r.Teacher.ID())
	for k, v := range map[string]any{"options": r.Opts, "result": r.Result, "log": r.Log, "teacher_preset": r.Teacher.Preset} {
		if err := f.SetMetaJSON(k, v); err != nil {
			return err
		}
	}
	return f.Save(path)
}

// LoadModel reads a trained model to sample and evaluate: a teacher
// (Teacher.Save, or a teacher training checkpoint's EMA weights, as
// LoadTeacher), or the retrained subnet of a stage-3 retraining checkpoint
// (Retrainer.Save, dnas run's OUT/retrain/<model>.safetensors), whose EMA
// weights it loads into the searched architecture, built alone. The result
// is a *Teacher value (a network with its noise schedule) with Role
// "retrained subnet"; dnas sample --model and dnas fid --model read files
// through it.
func LoadModel(path string) (*Teacher, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["format"] != retrainFormat {
		return LoadTeacher(path)
	}
	var res SearchResult
	if err := f.MetaJSON("result", &res); err != nil {
		return nil, fmt.Errorf("dnas.LoadModel %s: %w", path, err)
	}
	var p TeacherPreset
	if err := f.MetaJSON("teacher_preset", &p); err != nil {
		// Written before checkpoints held the teacher's preset: the
		// teacher ID starts with its preset's name.
		id := f.Metadata["teacher"]
		name := id[:max(0, strings.LastIndex(id, "-"))]
		if p, err = LookupTeacherPreset(name); err != nil {
			return nil, fmt.Errorf("dnas.LoadModel %s: the checkpoint does not say its teacher's architecture, and its teacher %q is not a preset's: resume it with LoadRetrainer and that teacher, then use EMANet", path, id)
		}
	}
	if err := res.Validate(); err != nil {
		return nil, fmt.Errorf("dnas.LoadModel %s: %w", path, err)
	}
	p.UNet = res.SubnetConfig(p.UNet)
	net, err := unet.New(p.UNet, 0)
	if err != nil {
		return nil, fmt.Errorf("dnas.LoadModel %s: %w", path, err)
	}
	if err := f.LoadParams("ema.", net.Params()); err != nil {
		return nil, fmt.Errorf("dnas.LoadModel %s: %w", path, err)
	}
	sched, err := p.NoiseSchedule()
	if err != nil {
		return nil, err
	}
	step, _ := strconv.Atoi(f.Metadata["step"])
	return &Teacher{Preset: p, Net: net, Schedule: sched, Step: step, Role: "retrained subnet",
		Source: fmt.Sprintf("%s (%q, EMA weights)", path, f.Metadata["name"])}, nil
}

// LoadRetrainer resumes a retraining saved by Save, for the same teacher.
// A func beta schedule cannot be saved: pass it again in schedule (the zero
// value keeps the saved schedule).
func LoadRetrainer(path string, teacher *Teacher, data *mnist.Dataset, schedule JointLossSchedule) (*Retrainer, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["format"] != retrainFormat {
		return nil, fmt.Errorf("%s is not a retraining checkpoint (format %q)", path, f.Metadata["format"])
	}
	if f.Metadata["teacher"] != teacher.ID() {
		return nil, fmt.Errorf("%s was retrained against teacher %s, not this teacher %s", path, f.Metadata["teacher"], teacher.ID())
	}
	var o RetrainOptions
	var res SearchResult
	var log RetrainLog
	if err := f.MetaJSON("options", &o); err != nil {
		if schedule.Kind == "" {
			return nil, fmt.Errorf("%s: %w (a func schedule must be passed again)", path, err)
		}
	}
	if schedule.Kind != "" {
		o.Schedule = schedule
	}
	if err := f.MetaJSON("result", &res); err != nil {
		return nil, err
	}
	if err := f.MetaJSON("log", &log); err != nil {
		return nil, err
	}
	r, err := NewRetrainer(f.Metadata["name"], teacher, &res, data, o)
	if err != nil {
		return nil, err
	}
	if err := f.LoadParams("model.", r.Net.Params()); err != nil {
		return nil, err
	}
	for k, p := range r.Net.Params() {
		for _, e := range []struct {
			key string
			dst []float32
		}{{"adam.m.", r.Adam.M[k]}, {"adam.v.", r.Adam.V[k]}, {"ema.", r.EMA.Shadow[k]}} {
			t, ok := f.Get(e.key + p.Name)
			if !ok || len(t.Data) != len(e.dst) {
				return nil, fmt.Errorf("%s: tensor %s%s is missing or has the wrong size", path, e.key, p.Name)
			}
			copy(e.dst, t.Data)
		}
	}
	r.Step, _ = strconv.Atoi(f.Metadata["step"])
	r.Adam.Step, _ = strconv.Atoi(f.Metadata["adam_step"])
	r.Log = log
	return r, nil
}
