package dnas

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// JointLossSchedule is the weight beta(step) of the dynamic joint loss used in
// stage 3 (retraining) of DiffNAS:
//
//	L = (1 - beta(step)) * L_distill + beta(step) * L_noise
//
// beta starts near 0 (learn from the teacher's block outputs) and rises to 1
// (plain noise-prediction training). Do not confuse it with the noise
// schedule's betas of the diffusion process: this one weighs two losses.
//
// A schedule is a small value: a Kind and one or two numbers, so it can be
// saved in results.json and compared side by side in an ablation. Build one
// with LinearRamp, CosineRamp, HardSwitch, ConstantBeta, NoiseOnly,
// DistillOnly or BetaFunc, or parse one from a string with
// ParseJointLossSchedule ("linear:0.5", "hard:0.5", "const:0.5", ...).
//
// The ramp length (linear, cosine) and the switch point (hard) are given by
// Frac, a fraction of the total number of training steps, unless Steps > 0,
// which gives them in steps.
type JointLossSchedule struct {
	// Kind is one of "linear", "cosine", "hard", "const", "noise",
	// "distill" or "func".
	Kind string `json:"kind"`
	// Frac is the ramp length or switch point as a fraction of total steps
	// (used when Steps is 0).
	Frac float64 `json:"frac,omitempty"`
	// Steps is the ramp length or switch point in steps (overrides Frac).
	Steps int `json:"steps,omitempty"`
	// Value is beta for the "const" kind.
	Value float64 `json:"value,omitempty"`
	// Label names a "func" schedule (in tables and charts).
	Label string `json:"label,omitempty"`
	// Func computes beta for the "func" kind; it is not saved in JSON.
	Func func(step, total int) float64 `json:"-"`
}

// LinearRamp raises beta linearly from 0 to 1 over the first frac of
// training, then keeps it at 1. LinearRamp(0.5) is the default of DiffNAS.
func LinearRamp(frac float64) JointLossSchedule {
	return JointLossSchedule{Kind: "linear", Frac: frac}
}

// CosineRamp raises beta from 0 to 1 along half a cosine period
// ((1 - cos(pi*s/N))/2) over the first frac of training, then keeps it at 1.
func CosineRamp(frac float64) JointLossSchedule {
	return JointLossSchedule{Kind: "cosine", Frac: frac}
}

// HardSwitch uses pure distillation (beta 0) before the first frac of
// training and pure noise prediction (beta 1) from then on: what the closest
// public DiffNAS code does.
func HardSwitch(frac float64) JointLossSchedule {
	return JointLossSchedule{Kind: "hard", Frac: frac}
}

// ConstantBeta keeps beta fixed at v for the whole training: the "static
// joint loss" ablation.
func ConstantBeta(v float64) JointLossSchedule {
	return JointLossSchedule{Kind: "const", Value: v}
}

// NoiseOnly is beta = 1 throughout: ordinary diffusion training, no teacher.
func NoiseOnly() JointLossSchedule { return JointLossSchedule{Kind: "noise"} }

// DistillOnly is beta = 0 throughout: the student only matches the teacher's
// block outputs (including the head's noise prediction).
func DistillOnly() JointLossSchedule { return JointLossSchedule{Kind: "distill"} }

// BetaFunc wraps any function of (step, total) as a schedule, so a notebook
// can pass its own closure, e.g.
//
//	dnas.BetaFunc("sqrt", func(s, n int) float64 { return math.Sqrt(float64(s) / float64(n)) })
//
// Values are clamped to [0, 1]. A func schedule is saved in JSON by its label
// only and cannot be reloaded from it.
func BetaFunc(label string, f func(step, total int) float64) JointLossSchedule {
	return JointLossSchedule{Kind: "func", Label: label, Func: f}
}

// DefaultJointLossSchedule is the DiffNAS default: a linear ramp over the
// first half of training.
func DefaultJointLossSchedule() JointLossSchedule { return LinearRamp(0.5) }

// Validate checks that the schedule is one this package knows and that its
// numbers make sense.
func (s JointLossSchedule) Validate() error {
	switch s.Kind {
	case "linear", "cosine", "hard":
		if s.Steps < 0 {
			return fmt.Errorf("joint loss schedule %s: Steps %d is negative; give a number of steps > 0, or 0 to use Frac", s.Kind, s.Steps)
		}
		if s.Steps == 0 && (s.Frac < 0 || s.Frac > 1 || math.IsNaN(s.Frac)) {
			return fmt.Errorf("joint loss schedule %s: Frac %g is outside [0, 1]; it is a fraction of the training steps", s.Kind, s.Frac)
		}
	case "const":
		if s.Value < 0 || s.Value > 1 || math.IsNaN(s.Value) {
			return fmt.Errorf("joint loss schedule const: beta %g is outside [0, 1]", s.Value)
		}
	case "noise", "distill":
	case "func":
		if s.Func == nil {
			return fmt.Errorf("joint loss schedule func %q has no function (a func schedule cannot be reloaded from JSON; build it with BetaFunc)", s.Label)
		}
	default:
		return fmt.Errorf("unknown joint loss schedule %q: want one of %s", s.Kind, scheduleKinds)
	}
	return nil
}

const scheduleKinds = `linear[:frac|steps], cosine[:frac|steps], hard[:frac|steps], const:v, noise, distill (or BetaFunc in Go)`

// span is the ramp length / switch step for a run of total steps.
func (s JointLossSchedule) span(total int) float64 {
	if s.Steps > 0 {
		return float64(s.Steps)
	}
	return s.Frac * float64(total)
}

// Beta is the weight of the noise loss at step (0-based) of a run of total
// steps; 1 - Beta weighs the distillation loss. It is always in [0, 1]; an
// invalid schedule (see Validate) gives 1, plain training.
func (s JointLossSchedule) Beta(step, total int) float64 {
	var b float64
	switch s.Kind {
	case "linear", "cosine":
		n := s.span(total)
		if n <= 0 {
			return 1
		}
		r := math.Min(float64(step)/n, 1)
		if s.Kind == "linear" {
			b = r
		} else {
			b = (1 - math.Cos(math.Pi*r)) / 2
		}
	case "hard":
		if float64(step) >= s.span(total) {
			b = 1
		}
	case "const":
		b = s.Value
	case "noise":
		b = 1
	case "distill":
		b = 0
	case "func":
		if s.Func == nil {
			return 1
		}
		b = s.Func(step, total)
	default:
		return 1
	}
	if math.IsNaN(b) {
		return 1
	}
	return math.Min(math.Max(b, 0), 1)
}

// Values samples beta at n evenly spaced steps of a run of total steps, for
// plotting a schedule.
func (s JointLossSchedule) Values(total, n int) (steps []int, betas []float64) {
	if n < 2 {
		n = 2
	}
	for i := 0; i < n; i++ {
		st := int(math.Round(float64(i) * float64(total-1) / float64(n-1)))
		steps = append(steps, st)
		betas = append(betas, s.Beta(st, total))
	}
	return steps, betas
}

// String is the schedule's name in the same syntax ParseJointLossSchedule
// reads ("linear:0.5", "const:0.5", "noise", ...).
func (s JointLossSchedule) String() string {
	num := func() string {
		if s.Steps > 0 {
			return strconv.Itoa(s.Steps)
		}
		return strconv.FormatFloat(s.Frac, 'g', -1, 64)
	}
	switch s.Kind {
	case "linear", "cosine", "hard":
		return s.Kind + ":" + num()
	case "const":
		return "const:" + strconv.FormatFloat(s.Value, 'g', -1, 64)
	case "func":
		if s.Label == "" {
			return "func"
		}
		return "func:" + s.Label
	}
	return s.Kind
}

// ParseJointLossSchedule reads a schedule from its string form, as used on
// the command line:
//
//	linear:0.5   linear ramp over the first half of training (also "linear")
//	linear:300   linear ramp over the first 300 steps (a number > 1 is steps)
//	cosine:0.5   cosine ramp
//	hard:0.5     hard switch from distillation to noise loss at mid-training
//	const:0.5    constant beta 0.5 (static joint loss)
//	noise        noise loss only (beta 1)
//	distill      distillation loss only (beta 0)
//
// An unknown name is an error that lists the known ones.
func ParseJointLossSchedule(text string) (JointLossSchedule, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(strings.ToLower(text)), ":")
	var num float64
	if hasArg {
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return JointLossSchedule{}, fmt.Errorf("joint loss schedule %q: %q is not a number: want e.g. linear:0.5", text, arg)
		}
		num = v
	}
	var s JointLossSchedule
	switch name {
	case "linear", "cosine", "hard":
		s = JointLossSchedule{Kind: name, Frac: 0.5}
		if hasArg {
			if num > 1 {
				if num != math.Trunc(num) {
					return s, fmt.Errorf("joint loss schedule %q: %g is above 1, so it is read as a number of steps, but it is not an integer", text, num)
				}
				s.Frac, s.Steps = 0, int(num)
			} else {
				s.Frac = num
			}
		}
	case "const", "constant":
		if !hasArg {
			return s, fmt.Errorf("joint loss schedule %q: const needs a value, e.g. const:0.5", text)
		}
		s = ConstantBeta(num)
	case "noise", "noise-only":
		s = NoiseOnly()
	case "distill", "distill-only":
		s = DistillOnly()
	default:
		return s, fmt.Errorf("unknown joint loss schedule %q: want one of %s", text, scheduleKinds)
	}
	if (name == "noise" || name == "distill") && hasArg {
		return s, fmt.Errorf("joint loss schedule %q: %s takes no argument", text, name)
	}
	return s, s.Validate()
}

// ParseJointLossSchedules reads a comma-separated list of schedules, e.g.
// "linear:0.5,cosine:0.5,hard:0.5,const:0.5,noise".
func ParseJointLossSchedules(text string) ([]JointLossSchedule, error) {
	var out []JointLossSchedule
	for _, part := range strings.Split(text, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		s, err := ParseJointLossSchedule(part)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no joint loss schedule in %q: want e.g. linear:0.5,noise", text)
	}
	return out, nil
}

// UnmarshalJSON accepts both the object form written by MarshalJSON and the
// string form of ParseJointLossSchedule ("linear:0.5").
func (s *JointLossSchedule) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		v, err := ParseJointLossSchedule(str)
		if err != nil {
			return err
		}
		*s = v
		return nil
	}
	type plain JointLossSchedule
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("joint loss schedule: %v", err)
	}
	*s = JointLossSchedule(p)
	if s.Kind == "func" {
		return nil // the function itself cannot be saved; Validate reports it
	}
	return s.Validate()
}
