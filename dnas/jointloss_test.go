package dnas

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestJointLossScheduleValues(t *testing.T) {
	const total = 100
	cases := []struct {
		s    JointLossSchedule
		step int
		want float64
	}{
		{LinearRamp(0.5), 0, 0},
		{LinearRamp(0.5), 25, 0.5},
		{LinearRamp(0.5), 50, 1},
		{LinearRamp(0.5), 99, 1},
		{JointLossSchedule{Kind: "linear", Steps: 10}, 5, 0.5},
		{CosineRamp(0.5), 0, 0},
		{CosineRamp(0.5), 25, 0.5},
		{CosineRamp(0.5), 10, (1 - math.Cos(math.Pi*0.2)) / 2},
		{CosineRamp(0.5), 60, 1},
		{HardSwitch(0.5), 49, 0},
		{HardSwitch(0.5), 50, 1},
		{ConstantBeta(0.5), 0, 0.5},
		{ConstantBeta(0.5), 99, 0.5},
		{NoiseOnly(), 0, 1},
		{DistillOnly(), 99, 0},
		{BetaFunc("sq", func(s, n int) float64 { return float64(s*s) / float64(n*n) }), 50, 0.25},
		{BetaFunc("over", func(s, n int) float64 { return 3 }), 1, 1}, // clamped
	}
	for _, c := range cases {
		if got := c.s.Beta(c.step, total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v.Beta(%d, %d) = %g, want %g", c.s, c.step, total, got, c.want)
		}
	}
}

func TestParseJointLossSchedule(t *testing.T) {
	for text, want := range map[string]JointLossSchedule{
		"linear:0.5": LinearRamp(0.5),
		"linear":     LinearRamp(0.5),
		"cosine:0.3": CosineRamp(0.3),
		"hard:0.5":   HardSwitch(0.5),
		"hard:300":   {Kind: "hard", Steps: 300},
		"const:0.5":  ConstantBeta(0.5),
		"noise":      NoiseOnly(),
		"distill":    DistillOnly(),
	} {
		got, err := ParseJointLossSchedule(text)
		if err != nil {
			t.Fatalf("parse %q: %v", text, err)
		}
		if got.Kind != want.Kind || got.Frac != want.Frac || got.Steps != want.Steps || got.Value != want.Value {
			t.Errorf("parse %q = %+v, want %+v", text, got, want)
		}
		back, err := ParseJointLossSchedule(got.String())
		if err != nil || back.String() != got.String() {
			t.Errorf("round trip of %q through String %q failed: %v", text, got.String(), err)
		}
	}
	for _, bad := range []string{"exponential", "linear:x", "const", "const:2", "hard:1.5e0x", "linear:2.5", "noise:1"} {
		if _, err := ParseJointLossSchedule(bad); err == nil {
			t.Errorf("parse %q: want an error", bad)
		}
	}
	_, err := ParseJointLossSchedule("exponential")
	if err == nil || !strings.Contains(err.Error(), "unknown joint loss schedule") {
		t.Errorf("unknown schedule error should say so, got %v", err)
	}
	list, err := ParseJointLossSchedules("linear:0.5, cosine:0.5,hard:0.5,const:0.5,noise")
	if err != nil || len(list) != 5 {
		t.Fatalf("parse list: %v %v", list, err)
	}
}

func TestJointLossScheduleJSON(t *testing.T) {
	in := []JointLossSchedule{LinearRamp(0.25), HardSwitch(0.5), ConstantBeta(0.5), NoiseOnly()}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []JointLossSchedule
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i].String() != in[i].String() {
			t.Errorf("JSON round trip: %v became %v", in[i], out[i])
		}
	}
	var s JointLossSchedule
	if err := json.Unmarshal([]byte(`"cosine:0.5"`), &s); err != nil || s.Kind != "cosine" {
		t.Errorf("string form: %v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"kind":"wobble"}`), &s); err == nil {
		t.Error("unknown kind in JSON: want an error")
	}
	f := BetaFunc("mine", func(int, int) float64 { return 0 })
	b, _ = json.Marshal(f)
	var g JointLossSchedule
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Validate() == nil {
		t.Error("a func schedule reloaded from JSON has no function: Validate should say so")
	}
}
