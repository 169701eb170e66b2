package dnas

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestResultsJSONWithUnmeasuredFigures: a run that retrained only some
// models has NaN figures; results.json must still be written (null) and
// read back (NaN), with the measured figures intact.
func TestResultsJSONWithUnmeasuredFigures(t *testing.T) {
	opts, err := DefaultPipelineOptions("tiny")
	if err != nil {
		t.Fatal(err)
	}
	in := PipelineResults{Preset: "tiny", Options: opts, SubnetFID: 12.5, TeacherArchFID: math.NaN(),
		Models: []ModelResult{{Name: "subnet", FID: 12.5, HeldOutLoss: 0.03, Kernels: []int{3, 1}},
			{Name: "teacher-arch", FID: math.NaN(), HeldOutLoss: math.NaN()}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshal with NaN figures: %v", err)
	}
	s := string(b)
	for _, want := range []string{`"teacher_arch_fid":null`, `"subnet_fid":12.5`, `"fid":null`, `"held_out_loss":0.03`, `"kernels":[3,1]`, `"preset":"tiny"`} {
		if !strings.Contains(s, want) {
			t.Errorf("results.json lacks %s: %s", want, s)
		}
	}
	var out PipelineResults
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.SubnetFID != 12.5 || !math.IsNaN(out.TeacherArchFID) || out.Preset != "tiny" {
		t.Errorf("headline read back as %v / %v / %q", out.SubnetFID, out.TeacherArchFID, out.Preset)
	}
	if len(out.Models) != 2 || out.Models[0].FID != 12.5 || out.Models[0].Kernels[1] != 1 ||
		!math.IsNaN(out.Models[1].FID) || !math.IsNaN(out.Models[1].HeldOutLoss) {
		t.Errorf("models read back as %+v", out.Models)
	}
}
