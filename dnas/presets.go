package dnas

import (
	"fmt"
	"sort"
	"strings"

	"dnas/dnas/diffusion"
	"dnas/dnas/unet"
)

// TeacherPreset is a named teacher recipe: the UNet architecture, the noise
// schedule and the training hyper-parameters that produce a committed
// checkpoint. It is saved inside every teacher checkpoint, so a checkpoint
// says how it was made.
type TeacherPreset struct {
	Name  string              `json:"name"`
	UNet  unet.Config         `json:"unet"`
	Noise diffusion.NoiseKind `json:"noise"` // noise schedule kind (linear by default)
	T     int                 `json:"t"`     // diffusion steps (1000)

	BatchSize   int     `json:"batch_size"`
	LR          float32 `json:"lr"`           // Adam learning rate after warm-up
	WarmupSteps int     `json:"warmup_steps"` // linear LR warm-up from 0
	// LRDecay is what the learning rate does after warm-up: "" or "constant"
	// keeps LR; "cosine" decays it to MinLR along a half cosine that ends at
	// Steps (and stays at MinLR if training goes on past Steps).
	LRDecay  string  `json:"lr_decay,omitempty"`
	MinLR    float32 `json:"min_lr,omitempty"`
	GradClip float64 `json:"grad_clip"` // global gradient-norm clip (0 = off)
	EMADecay float32 `json:"ema_decay"` // decay of the EMA weights used for sampling
	Steps    int     `json:"steps"`     // training steps of the committed checkpoint

	// RestartStep, when > 0, starts a second learning-rate cycle there (a
	// warm restart, how a trained run is taken further on a fresh schedule:
	// TeacherTrainer.WarmRestart, dnas teacher --restart-from): from that
	// step the rate warms up again over WarmupSteps to RestartLR and then
	// follows LRDecay, a cosine reaching MinLR at Steps. The first cycle's
	// cosine then ends at FirstSteps, or at RestartStep when FirstSteps is 0.
	RestartStep int     `json:"restart_step,omitempty"`
	RestartLR   float32 `json:"restart_lr,omitempty"`
	FirstSteps  int     `json:"first_steps,omitempty"`
	// RestartMinLR, when > 0, is the floor of the latest cycle's cosine in
	// place of MinLR (a final cycle that anneals lower than the first one,
	// TeacherTrainer.WarmRestartFloor, dnas teacher --restart-min-lr).
	RestartMinLR float32 `json:"restart_min_lr,omitempty"`
	// EarlierRestarts records the restarts before RestartStep, oldest
	// first, when a restarted run was restarted again: each cycle ran from
	// its step until the next restart, along a cosine laid to end at its
	// End. They only describe past steps (LearningRate); training follows
	// the latest cycle. The first cycle then ends at FirstSteps, or at the
	// first of these when FirstSteps is 0.
	EarlierRestarts []LRRestart `json:"earlier_restarts,omitempty"`
	// RestartInit, when set, says the restart began from a weights-only
	// file (TeacherTrainerFromWeights): it is that teacher's ID. The
	// weights and the EMA started from its weights, Adam's moments from
	// zero, the data order and noise from the restart's own seed.
	RestartInit string `json:"restart_init,omitempty"`

	// SampleSteps is the default number of DDIM steps for this teacher.
	SampleSteps int `json:"sample_steps"`
}

// LRRestart is one earlier warm restart of a teacher's learning-rate
// schedule (TeacherPreset.EarlierRestarts): from Step the rate warmed up to
// LR, then decayed along the preset's LRDecay towards its floor at End: MinLR
// when > 0, else the preset's MinLR.
type LRRestart struct {
	Step  int     `json:"step"`
	LR    float32 `json:"lr"`
	End   int     `json:"end"`
	MinLR float32 `json:"min_lr,omitempty"`
}

// floor is the cosine floor of a cycle whose own floor is own (0 = the
// preset's MinLR).
func (p TeacherPreset) floor(own float32) float32 {
	if own > 0 {
		return own
	}
	return p.MinLR
}

// teacherPresets are the three presets of the project (see the api notes):
// tiny for tests (seconds), small for interactive work (minutes), base the
// default MNIST teacher of METHOD.md.
var teacherPresets = map[string]TeacherPreset{
	"tiny": {
		Name: "tiny",
		UNet: unet.Config{InChannels: 1, Resolution: 28, Ch: 8, Mult: []int{1, 2}, NumResBlocks: 1,
			AttnRes: []int{14}, Dropout: 0},
		Noise: diffusion.LinearNoise, T: diffusion.DefaultSteps,
		BatchSize: 16, LR: 1e-3, WarmupSteps: 0, GradClip: 1, EMADecay: 0.99, Steps: 200, SampleSteps: 20,
	},
	"small": {
		Name: "small",
		UNet: unet.Config{InChannels: 1, Resolution: 28, Ch: 16, Mult: []int{1, 2, 2}, NumResBlocks: 1,
			AttnRes: []int{7}, Dropout: 0.1},
		Noise: diffusion.LinearNoise, T: diffusion.DefaultSteps,
		BatchSize: 64, LR: 1e-3, WarmupSteps: 100, GradClip: 1, EMADecay: 0.995, Steps: 1800, SampleSteps: 50,
	},
	"base": {
		Name: "base",
		UNet: unet.Config{InChannels: 1, Resolution: 28, Ch: 32, Mult: []int{1, 2, 2}, NumResBlocks: 2,
			AttnRes: []int{7}, Dropout: 0.1},
		Noise: diffusion.LinearNoise, T: diffusion.DefaultSteps,
		BatchSize: 64, LR: 1e-3, WarmupSteps: 200, LRDecay: "cosine", MinLR: 5e-5,
		GradClip: 1, EMADecay: 0.999, Steps: 10000, SampleSteps: 50,
	},
}

// TeacherPresetNames lists the preset names, smallest first.
func TeacherPresetNames() []string {
	names := make([]string, 0, len(teacherPresets))
	for n := range teacherPresets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return teacherPresets[names[i]].UNet.Ch*teacherPresets[names[i]].UNet.NumResBlocks <
			teacherPresets[names[j]].UNet.Ch*teacherPresets[names[j]].UNet.NumResBlocks
	})
	return names
}

// LookupTeacherPreset returns the preset called name ("tiny", "small" or
// "base"). The returned value is a copy: change it freely.
func LookupTeacherPreset(name string) (TeacherPreset, error) {
	p, ok := teacherPresets[strings.ToLower(name)]
	if !ok {
		return TeacherPreset{}, fmt.Errorf("dnas: unknown preset %q; choose one of %s", name, strings.Join(TeacherPresetNames(), ", "))
	}
	p.UNet.Mult = append([]int(nil), p.UNet.Mult...)
	p.UNet.AttnRes = append([]int(nil), p.UNet.AttnRes...)
	return p, nil
}

// PresetUNetConfig returns the UNet architecture of the preset called name.
func PresetUNetConfig(name string) (unet.Config, error) {
	p, err := LookupTeacherPreset(name)
	return p.UNet, err
}

// NoiseSchedule returns the preset's diffusion noise schedule.
func (p TeacherPreset) NoiseSchedule() (*diffusion.NoiseSchedule, error) {
	kind, t := p.Noise, p.T
	if kind == "" {
		kind = diffusion.LinearNoise
	}
	if t == 0 {
		t = diffusion.DefaultSteps
	}
	return diffusion.NewNoiseSchedule(kind, t)
}

// Validate checks the architecture and the hyper-parameters.
func (p TeacherPreset) Validate() error {
	if err := p.UNet.Validate(); err != nil {
		return fmt.Errorf("preset %q: %w", p.Name, err)
	}
	switch {
	case p.BatchSize < 1:
		return fmt.Errorf("preset %q: batch size %d must be >= 1", p.Name, p.BatchSize)
	case !(p.LR > 0):
		return fmt.Errorf("preset %q: learning rate %v must be > 0", p.Name, p.LR)
	case p.EMADecay < 0 || p.EMADecay >= 1:
		return fmt.Errorf("preset %q: EMA decay %v must be in [0, 1)", p.Name, p.EMADecay)
	case p.LRDecay != "" && p.LRDecay != "constant" && p.LRDecay != "cosine":
		return fmt.Errorf("preset %q: unknown LR decay %q; use \"constant\" or \"cosine\"", p.Name, p.LRDecay)
	case p.LRDecay == "cosine" && (p.MinLR < 0 || p.MinLR > p.LR || p.Steps <= p.WarmupSteps):
		return fmt.Errorf("preset %q: cosine LR decay needs 0 <= MinLR (%v) <= LR (%v) and Steps (%d) > WarmupSteps (%d)", p.Name, p.MinLR, p.LR, p.Steps, p.WarmupSteps)
	case p.RestartStep < 0:
		return fmt.Errorf("preset %q: restart step %d must be >= 0 (0 = no restart)", p.Name, p.RestartStep)
	case p.RestartStep > 0 && !(p.RestartLR > 0):
		return fmt.Errorf("preset %q: a restart at step %d needs a learning rate > 0, not %v", p.Name, p.RestartStep, p.RestartLR)
	case p.FirstSteps < 0 || (p.FirstSteps > 0 && p.RestartStep == 0):
		return fmt.Errorf("preset %q: first-cycle length %d needs a restart step (and must be >= 0)", p.Name, p.FirstSteps)
	case p.RestartStep > 0 && p.LRDecay == "cosine" && p.firstCycleEnd() <= p.WarmupSteps:
		return fmt.Errorf("preset %q: the first cosine cycle ends at step %d, within its %d warm-up steps", p.Name, p.firstCycleEnd(), p.WarmupSteps)
	case p.RestartMinLR < 0 || (p.RestartMinLR > 0 && (p.RestartStep == 0 || p.LRDecay != "cosine")):
		return fmt.Errorf("preset %q: a restart floor (%v) needs a cosine restart and must be >= 0 (0 = MinLR)", p.Name, p.RestartMinLR)
	case p.RestartStep > 0 && p.LRDecay == "cosine" && (p.floor(p.RestartMinLR) > p.RestartLR || p.Steps <= p.RestartStep+p.WarmupSteps):
		return fmt.Errorf("preset %q: a cosine restart at step %d needs its floor (%v) <= its learning rate (%v) and Steps (%d) > %d (the restart step plus the %d warm-up steps)",
			p.Name, p.RestartStep, p.floor(p.RestartMinLR), p.RestartLR, p.Steps, p.RestartStep+p.WarmupSteps, p.WarmupSteps)
	}
	if err := p.validateEarlierRestarts(); err != nil {
		return err
	}
	if _, err := p.NoiseSchedule(); err != nil {
		return fmt.Errorf("preset %q: %w", p.Name, err)
	}
	return nil
}

// validateEarlierRestarts checks EarlierRestarts: they need a latest
// restart after them, rise step by step, and each needs a rate and (for a
// cosine) a cycle longer than the warm-up.
func (p TeacherPreset) validateEarlierRestarts() error {
	if len(p.EarlierRestarts) > 0 && p.RestartStep == 0 {
		return fmt.Errorf("preset %q: %d earlier restarts need a latest restart step", p.Name, len(p.EarlierRestarts))
	}
	prev := p.WarmupSteps
	for i, r := range p.EarlierRestarts {
		next := p.RestartStep
		if i+1 < len(p.EarlierRestarts) {
			next = p.EarlierRestarts[i+1].Step
		}
		switch {
		case r.Step <= prev || r.Step >= next:
			return fmt.Errorf("preset %q: earlier restart %d at step %d must come after step %d and before step %d (restarts rise step by step, after the first warm-up)", p.Name, i+1, r.Step, prev, next)
		case !(r.LR > 0) || r.MinLR < 0 || (p.LRDecay == "cosine" && r.LR < p.floor(r.MinLR)):
			return fmt.Errorf("preset %q: earlier restart %d at step %d needs a learning rate > 0 and >= its floor (%v), not %v", p.Name, i+1, r.Step, p.floor(r.MinLR), r.LR)
		case p.LRDecay == "cosine" && r.End <= r.Step+p.WarmupSteps:
			return fmt.Errorf("preset %q: earlier restart %d at step %d ends at step %d, within its %d warm-up steps", p.Name, i+1, r.Step, r.End, p.WarmupSteps)
		}
		prev = r.Step
	}
	return nil
}
