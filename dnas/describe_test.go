package dnas

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"dnas/dnas/checkpoint"
)

// DescribeFile tells each kind of checkpoint apart and says what a user
// needs of it: a teacher's schedule with every restart, where a training
// run stands and how to resume it, a supernet's and a retraining's teacher.
func TestDescribeFile(t *testing.T) {
	dir := t.TempDir()
	tr := tinyTrainer(t, 1)
	tr.Preset.LRDecay, tr.Preset.MinLR, tr.Preset.Steps = "cosine", 1e-4, 4
	if err := tr.Train(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if err := tr.WarmRestart(5e-4, 6); err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := tr.WarmRestart(2e-4, 9); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "train.safetensors")
	if err := tr.SaveCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	teacher, err := tr.Teacher()
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "teacher.safetensors")
	if err := teacher.Save(weights); err != nil {
		t.Fatal(err)
	}
	sn := tinySupernet(t, false)
	if err := sn.TrainAll(context.Background(), 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := sn.Save(filepath.Join(dir, "supernet")); err != nil {
		t.Fatal(err)
	}
	res, err := sn.Search(context.Background(), SearchOptions{EvalBatch: 4, Seed: 1, LossScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, data := testTeacher(t)
	rt, err := NewRetrainer("subnet", sn.Teacher, res, data, RetrainOptions{Steps: 3, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Train(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	retrain := filepath.Join(dir, "retrain.safetensors")
	if err := rt.Save(retrain); err != nil {
		t.Fatal(err)
	}
	var other checkpoint.File
	other.Add("x", []int{2}, []float32{1, 2})
	other.SetMeta("format", "elsewhere/1")
	foreign := filepath.Join(dir, "other.safetensors")
	if err := other.Save(foreign); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{ckpt, []string{"teacher training checkpoint", "preset tiny", "at step 5 of 9",
			"restart after step 4: warm-up over 0 steps to 0.0005, cosine to 0.0001 at step 6; restart after step 5: warm-up over 0 steps to 0.0002",
			"resume: dnas teacher --preset tiny --out " + dir, " ago)\n"}},
		{weights, []string{"teacher weights (EMA)", teacher.ID(), "trained 5 steps"}},
		{filepath.Join(dir, "supernet", "enc0.safetensors"), []string{"stage-1 supernet checkpoint", "distilled from teacher " + sn.Teacher.ID(), "up to 1 Adam steps"}},
		{retrain, []string{`stage-3 retraining checkpoint "subnet"`, "at step 1 of 3", "blockwise search, kernels"}},
		{foreign, []string{`format "elsewhere/1", not one dnas knows`, "1 tensors"}},
	} {
		got, err := DescribeFile(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: description lacks %q:\n%s", filepath.Base(c.path), w, got)
			}
		}
	}
	if _, err := DescribeFile(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("a missing file: %v, want an error naming it", err)
	}
}

// A run directory is described from its state.json: what is done, the
// retraining in progress with its step, what is left and how to resume.
func TestDescribeRunDirectory(t *testing.T) {
	teacher, data := testTeacher(t)
	dir := t.TempDir()
	opts, err := DefaultPipelineOptions("tiny")
	if err != nil {
		t.Fatal(err)
	}
	opts.Models = []string{"subnet", "teacher-arch"}
	st := pipelineState{Teacher: teacher.ID(), Options: &opts, Stages: []StageTime{
		{Stage: "stage1", Seconds: 12, Done: true}, {Stage: "search", Seconds: 30, Done: true}, {Stage: "eval:teacher", Seconds: 18, Done: true}}}
	if err := writeJSON(filepath.Join(dir, "state.json"), st); err != nil {
		t.Fatal(err)
	}
	r := searchAfterOneStep(t, teacher, data, 1e6)
	rt, err := NewRetrainer("subnet", teacher, r, data, RetrainOptions{Steps: 10, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Train(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "retrain"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := rt.Save(filepath.Join(dir, "retrain", "subnet.safetensors")); err != nil {
		t.Fatal(err)
	}
	got, err := DescribeFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a dnas run directory, preset tiny, teacher " + teacher.ID(),
		"done: stage1 12s, search 30s, eval:teacher 18s (1.0 min of stage time)",
		fmt.Sprintf("left: retrain:subnet (at step 3 of %d), eval:subnet, retrain:teacher-arch, eval:teacher-arch, report", opts.Retrain.Steps),
		"resume: dnas run --out " + dir + " --resume"} {
		if !strings.Contains(got, want) {
			t.Errorf("the description lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "retrained models") {
		t.Errorf("a retraining in progress is listed as a retrained model:\n%s", got)
	}
	// Once a retraining is done, its model is listed with how to use it.
	st.Stages = append(st.Stages, StageTime{Stage: "retrain:subnet", Seconds: 5, Done: true})
	if err := writeJSON(filepath.Join(dir, "state.json"), st); err != nil {
		t.Fatal(err)
	}
	if got, _ = DescribeFile(dir); !strings.Contains(got, "retrained models (dnas sample --model FILE, dnas fid --model FILE): "+filepath.Join(dir, "retrain", "subnet.safetensors")+"\n") {
		t.Errorf("the description does not list the retrained subnet:\n%s", got)
	}
}

// A teacher's output directory: its weights, snapshots and quality curve,
// and the command that measures the snapshots the curve lacks.
func TestDescribeTeacherDirectory(t *testing.T) {
	teacher, _ := testTeacher(t)
	dir := t.TempDir()
	if _, err := DescribeFile(dir); err == nil || !strings.Contains(err.Error(), "a directory dnas did not write") {
		t.Errorf("an empty directory: %v", err)
	}
	if err := teacher.Save(filepath.Join(dir, "teacher.safetensors")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{100, 200} {
		if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := teacher.Save(SnapshotPath(filepath.Join(dir, "snapshots"), step)); err != nil {
			t.Fatal(err)
		}
	}
	c := &QualityCurve{Samples: 40, Spec: DDIMSpec(7, 0), Sampler: "DDIM 7 steps, eta 0", Seed: 3,
		Points: []CurvePoint{{Step: 100, FID: 50, ConfidentFraction: 0.5}}}
	if err := os.MkdirAll(filepath.Join(dir, "curve"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(filepath.Join(dir, "curve", "curve.json")); err != nil {
		t.Fatal(err)
	}
	got, err := DescribeFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"teacher.safetensors: teacher weights", "2 EMA snapshots, step-0000100.safetensors to step-0000200.safetensors",
		"quality curve of 1 points", "100: FID 50.0, 50.0%",
		"1 snapshots not measured yet; this measures only those: dnas fid --model '" + filepath.Join(dir, "snapshots", "*.safetensors") + "' --samples 40 --steps 7 --eta 0 --seed 3 --out " + filepath.Join(dir, "curve")} {
		if !strings.Contains(got, want) {
			t.Errorf("the description lacks %q:\n%s", want, got)
		}
	}
}

var pointerDump = regexp.MustCompile(`0x[0-9a-f]{4}`)

// The values a REPL or notebook user prints describe themselves in words,
// never as a dump of fields and pointers.
func TestOneLineDescriptions(t *testing.T) {
	check := func(what, got string, wants ...string) {
		t.Helper()
		if pointerDump.MatchString(got) {
			t.Errorf("%s: %q prints a pointer", what, got)
		}
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", what, got, w)
			}
		}
	}
	check("DDIM", DDIMSpec(20, 0.5).String(), "DDIM, 20 steps, eta 0.5")
	check("default sampler", SamplerSpec{Batch: 10}.String(), "DDIM, 50 steps, eta 0, batches of 10")
	check("DDPM", DDPMSpec().String(), "DDPM, all T steps")
	check("bad sampler", SamplerSpec{Kind: "euler"}.String(), `"euler" (unknown`)
	p, err := LookupTeacherPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	check("preset", p.String(), "preset small: UNet (ch 16, mult [1 2 2]", "linear noise schedule T=1000", "batch 64", "warm-up over")

	tr := tinyTrainer(t, 3)
	check("fresh trainer", tr.String(), "teacher trainer, preset tiny, seed 3: step 0 of")
	if err := tr.Train(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	check("trainer", tr.String(), "step 1 of", "last loss")
	teacher, data := testTeacher(t)
	check("teacher", teacher.String(), "teacher tiny (ch 8", "params", "MACs/sample")
	check("dataset", data.String(), "images of 28x28 in [-1, 1]")
	check("batcher", tr.Data.String(), "batches of", "epoch 0")

	sn := tinySupernet(t, false)
	if err := sn.TrainAll(context.Background(), 1, ""); err != nil {
		t.Fatal(err)
	}
	check("supernet", sn.String())
	res, err := sn.Search(context.Background(), SearchOptions{EvalBatch: 4, Seed: 1, LossScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NewRetrainer("subnet", sn.Teacher, res, data, RetrainOptions{Steps: 3, BatchSize: 4, LogEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	check("fresh retrainer", rt.String(), `retrainer "subnet"`, "step 0 of 3", "beta linear")
	if err := rt.Train(context.Background(), -2); err == nil || !strings.Contains(err.Error(), "Retrainer.Train: -2 steps") {
		t.Errorf("Retrainer.Train(-2): %v", err)
	}
	if err := rt.Train(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	check("retrainer", rt.String(), "step 1 of 3", "last logged joint loss")
	check("retraining log", rt.Dynamics().String(), "retraining log: 1 logged steps (0 to 0)", "beta 0, L_noise", "L_distill", "joint")
	check("empty log", RetrainLog{}.String(), "nothing logged yet")
	check("subnet", rt.Net.String(), "UNet (ch 8")

	v := &Verdicts{Labels: []uint8{4, 9, 1}, Prob: []float32{0.95, 0.5, 0.99}}
	check("verdicts", v.String(), "verdicts on 3 images: 66.7% labelled with p >= 0.9", "least confident: 9 (0.50)")
	if v.Markdown() != v.Table() {
		t.Error("Verdicts.Markdown is not its table")
	}
}

func TestBlockSearchDescriptions(t *testing.T) {
	r := handTable()
	r.Blocks[0].Choice = 4
	b := r.Blocks[0]
	if got, want := b.String(), "block enc0: 5 candidates; baseline k=[3]: loss 0.2, 90 MACs, 9 params; chosen k=[9]: loss 0.18, 40 MACs, 4 params (-56% MACs, loss x0.900)"; got != want {
		t.Errorf("String() = %q\nwant       %q", got, want)
	}
	if got := fmt.Sprint(r.Blocks[1]); !strings.HasSuffix(got, "chosen: the baseline") {
		t.Errorf("a block keeping its baseline prints as %q", got)
	}
	tab := b.Markdown()
	for _, w := range []string{"**Block enc0: 5 candidates**", "| [1] | - | 0.50000 | 2.500 | 10 | 1 | Pareto |", "| [3] | - | 0.20000 | 1.000 | 90 | 9 | baseline |", "| [9] | - | 0.18000 | 0.900 | 40 | 4 | **chosen**, Pareto |"} {
		if !strings.Contains(tab, w) {
			t.Errorf("table lacks %q:\n%s", w, tab)
		}
	}
	// Fewest MACs first.
	if strings.Index(tab, "| [1] |") > strings.Index(tab, "| [9] |") || strings.Index(tab, "| [9] |") > strings.Index(tab, "| [5] |") {
		t.Errorf("rows not ordered by MACs:\n%s", tab)
	}
	// A block with many candidates lists its front, baseline and choice.
	var many BlockSearch
	many.Block = "dec0"
	for i := range 200 {
		many.Candidates = append(many.Candidates, Candidate{Kernels: []int{i}, Loss: 1 + float64(i%7), MACs: int64(1000 - i)})
	}
	many.Baseline, many.Choice = 100, 150
	tab = many.Table()
	if rows := strings.Count(tab, "\n| ["); rows > 20 || !strings.Contains(tab, "listed** (Candidates holds them all)") || !strings.Contains(tab, "baseline") || !strings.Contains(tab, "**chosen**") {
		t.Errorf("a 200-candidate block's table (%d rows):\n%s", rows, tab)
	}
	if got := (Candidate{Kernels: []int{1, 3}, Widths: []float64{0.5}, Loss: 0.123456, MACs: 2_500_000, Params: 1200}).String(); got != "k=[1 3] w=[0.5]: loss 0.12346, 2.50M MACs, 1.2k params" {
		t.Errorf("Candidate.String() = %q", got)
	}
}
