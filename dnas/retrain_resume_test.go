package dnas

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dnas/dnas/checkpoint"
	"dnas/dnas/mnist"
	"dnas/dnas/unet"
)

// TestRetrainResumeIsExactWithDropout: with dropout on, a retraining
// resumed from a checkpoint takes the same next step as the uninterrupted
// one (same batch, same dropout masks): its losses match.
func TestRetrainResumeIsExactWithDropout(t *testing.T) {
	base, data := testTeacher(t)
	p := base.Preset
	p.UNet.Dropout = 0.3
	net, err := unet.New(p.UNet, 7)
	if err != nil {
		t.Fatal(err)
	}
	teacher := &Teacher{Preset: p, Net: net, Schedule: base.Schedule, Source: "test-dropout"}
	arch := TeacherArchitecture(searchAfterOneStep(t, teacher, data, 1))
	opts := RetrainOptions{Steps: 8, BatchSize: 4, LogEvery: 1, Schedule: LinearRamp(0.5), Seed: 3}
	rt, err := NewRetrainer("dropout", teacher, arch, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	rt2 := trainSaveReload(t, rt, 3)
	a, err := rt.TrainStep()
	if err != nil {
		t.Fatal(err)
	}
	b, err := rt2.TrainStep()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Distill) == 0 || len(a.Distill) != len(b.Distill) {
		t.Fatalf("distillation losses %v and %v", a.Distill, b.Distill)
	}
	for i := range a.Distill {
		if d := a.Distill[i] - b.Distill[i]; d > 1e-6*a.Distill[i] || d < -1e-6*a.Distill[i] {
			t.Errorf("block %d: next-step distillation loss %v uninterrupted, %v resumed", i, a.Distill[i], b.Distill[i])
		}
	}
}

// trainSaveReload trains rt for steps steps, saves it, and returns the
// retrainer loaded back from that checkpoint.
func trainSaveReload(t *testing.T, rt *Retrainer, steps int) *Retrainer {
	t.Helper()
	if err := rt.Train(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/rt.safetensors"
	if err := rt.Save(path); err != nil {
		t.Fatal(err)
	}
	rt2, err := LoadRetrainer(path, rt.Teacher, rt.data, JointLossSchedule{})
	if err != nil {
		t.Fatal(err)
	}
	return rt2
}

// A retraining starts the subnet and the teacher architecture from the same
// weights in every layer they share, and the teacher architecture never from
// the weights a teacher trained with the same seed started from (until
// BuildSubnet drew layer by layer, a teacher-architecture retrain at the
// teacher's seed started from the teacher's own initial draw).
func TestRetrainInitialWeights(t *testing.T) {
	teacher, data := testTeacher(t)
	cheap := searchAfterOneStep(t, teacher, data, 1e6)
	if cheap.MACs() >= TeacherArchitecture(cheap).MACs() {
		t.Fatalf("the loss_scale 1e6 subnet has %d MACs, not fewer than the teacher's", cheap.MACs())
	}
	const seed = 5
	opts := RetrainOptions{Steps: 4, BatchSize: 4, Seed: seed}
	sub, err := NewRetrainer("subnet", teacher, cheap, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	arch, err := NewRetrainer("teacher-arch", teacher, TeacherArchitecture(cheap), data, opts)
	if err != nil {
		t.Fatal(err)
	}
	trainer, err := newTeacherTrainer(teacher.Preset, seed)
	if err != nil {
		t.Fatal(err)
	}
	// compare counts the random layers (norms left out) of a that b has with
	// the same shape, and how many of them start alike.
	compare := func(a, b *unet.UNet) (same, diff int) {
		pb := map[string][]float32{}
		for _, p := range b.Params() {
			pb[p.Name] = p.Data
		}
		for _, p := range a.Params() {
			if q, ok := pb[p.Name]; ok && len(q) == len(p.Data) && !strings.HasSuffix(p.Name, "gamma") && !strings.HasSuffix(p.Name, "beta") {
				if slices.Equal(q, p.Data) {
					same++
				} else {
					diff++
				}
			}
		}
		return same, diff
	}
	if same, diff := compare(sub.Net, arch.Net); diff != 0 || same == 0 {
		t.Errorf("subnet and teacher architecture: %d shared layers start alike, %d differ; want all alike", same, diff)
	}
	if same, diff := compare(arch.Net, trainer.Net); same != 0 || diff == 0 {
		t.Errorf("teacher architecture retrained with seed %d: %d layers start from the weights a teacher trained with seed %d starts from (%d differ); want none", seed, same, seed, diff)
	}
}

// searchAfterOneStep trains a supernet of teacher one step per block and
// searches it at lossScale.
func searchAfterOneStep(t *testing.T, teacher *Teacher, data *mnist.Dataset, lossScale float64) *SearchResult {
	t.Helper()
	sn, err := NewSupernet(teacher, data, SupernetOptions{BatchSize: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := sn.TrainAll(context.Background(), 1, ""); err != nil {
		t.Fatal(err)
	}
	res, err := sn.Search(context.Background(), SearchOptions{EvalBatch: 4, Seed: 1, LossScale: lossScale})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// LoadModel reads a retraining checkpoint as the retrained subnet's EMA
// weights in the searched architecture: the same network Retrainer.EMANet
// builds, to the bit, with or without the teacher's preset in the file.
func TestLoadModelReadsARetrainedSubnet(t *testing.T) {
	teacher, data := testTeacher(t)
	res := searchAfterOneStep(t, teacher, data, 1)
	rt, err := NewRetrainer("subnet", teacher, res, data, RetrainOptions{Steps: 4, BatchSize: 4, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "subnet.safetensors")
	if err := rt.Save(path); err != nil {
		t.Fatal(err)
	}
	want, err := rt.EMANet()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := data.First(2)
	ts := []float32{10, 500}
	ref := want.Forward(x, ts).Clone()
	check := func(what string) {
		t.Helper()
		m, err := LoadModel(path)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if m.Role != "retrained subnet" || m.Net.MACs() != res.MACs() || m.Step != 3 || !strings.HasPrefix(m.String(), "retrained subnet tiny") {
			t.Fatalf("%s: %s (role %q, %d MACs, want %d)", what, m, m.Role, m.Net.MACs(), res.MACs())
		}
		got := m.PredictNoise(x, ts)
		if !slices.Equal(got.Data, ref.Data) {
			t.Fatalf("%s: the loaded subnet predicts other noise than EMANet's", what)
		}
	}
	check("with the teacher's preset")
	// A checkpoint written before it held the teacher's preset.
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	delete(f.Metadata, "teacher_preset")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	check("from the teacher ID's preset name")
	if _, err := MeasureSnapshots(context.Background(), []string{path}, CurveOptions{Eval: EvalOptions{Samples: 2}}); err == nil || !strings.Contains(err.Error(), "is a retrained subnet") {
		t.Errorf("a quality curve over a retrained subnet: %v", err)
	}
	// Teachers load as before.
	tpath := filepath.Join(t.TempDir(), "teacher.safetensors")
	if err := teacher.Save(tpath); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadModel(tpath); err != nil || m.Role != "" || m.ID() != teacher.ID() {
		t.Fatalf("LoadModel of a teacher: %v, %v", m, err)
	}
}
