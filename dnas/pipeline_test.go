package dnas

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyPipelineOptions(t *testing.T) PipelineOptions {
	teacher, _ := testTeacher(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "teacher.safetensors")
	if err := teacher.Save(path); err != nil {
		t.Fatal(err)
	}
	o, err := DefaultPipelineOptions("tiny")
	if err != nil {
		t.Fatal(err)
	}
	o.OutDir, o.TeacherPath = filepath.Join(dir, "run"), path
	o.Models = []string{"subnet", "teacher-arch"}
	o.Log = testLog{t}
	return o
}

func TestPipelineResumesWithoutRedoingStages(t *testing.T) {
	o := tinyPipelineOptions(t)
	p, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	// Interrupt during the first retraining.
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.RunStage1(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.RunSearch(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctxAfter(ctx, cancel, &n, 2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled run, got %v", err)
	}
	if p.StageDone("retrain:subnet") {
		t.Fatal("the interrupted retraining is marked done")
	}
	searchInfo, err := os.Stat(filepath.Join(o.OutDir, "search", "subnet.json"))
	if err != nil {
		t.Fatal(err)
	}
	stage1 := p.Stages()[0]

	p2, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.StageDone("stage1") || !p2.StageDone("search") {
		t.Fatal("a new pipeline on the same directory does not see the finished stages")
	}
	res, err := p2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.Stat(filepath.Join(o.OutDir, "search", "subnet.json"))
	if !again.ModTime().Equal(searchInfo.ModTime()) {
		t.Error("the search was redone on resume")
	}
	if got := p2.Stages()[0]; got.Seconds != stage1.Seconds {
		t.Errorf("stage 1 time changed on resume (%v -> %v): it was redone", stage1.Seconds, got.Seconds)
	}
	if p2.Retrainers["subnet"].Step != o.Retrain.Steps {
		t.Errorf("subnet retrained %d steps, want %d", p2.Retrainers["subnet"].Step, o.Retrain.Steps)
	}
	if len(res.Models) != 3 || res.Models[1].Name != "subnet" {
		t.Fatalf("models %+v", res.Models)
	}
	for _, f := range []string{"results.json", "summary.md", "tradeoff.png", "tradeoff.svg", "models.png", "dynamics-subnet.png"} {
		if _, err := os.Stat(filepath.Join(o.OutDir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(o.OutDir, "summary.md"))
	for _, want := range []string{"Headline", "fewer MACs", "Stage timings", "stage1", "retrain:subnet"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	// Another teacher's run directory is refused.
	other := o
	other.TeacherPath = ""
	other.Preset = "tiny"
	if _, err := NewPipeline(other); err == nil {
		t.Log("no committed tiny teacher: nothing to compare")
	}
}

func TestBetaAblationTiny(t *testing.T) {
	teacher, data := testTeacher(t)
	s := tinySupernet(t, true)
	if err := s.TrainAll(context.Background(), 1, ""); err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(context.Background(), SearchOptions{EvalBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ab, err := RunBetaAblation(context.Background(), teacher, r, data, BetaAblationOptions{
		Schedules: []JointLossSchedule{LinearRamp(0.5), NoiseOnly()},
		Retrain:   RetrainOptions{Steps: 4, BatchSize: 4, LogEvery: 2},
		Eval:      EvalOptions{Samples: 16, HeldOut: 32, Sampler: DDIMSpec(3, 0), GridSize: 16},
		Dir:       dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ab.Runs) != 2 || ab.Runs[1].Schedule != "noise" {
		t.Fatalf("runs %+v", ab.Runs)
	}
	if err := WriteAblationReport(ab, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ablation.md", "ablation.png", "betas.svg", "dynamics-noise.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// Resuming reads the finished runs instead of retraining.
	ab2, err := RunBetaAblation(context.Background(), teacher, r, data, BetaAblationOptions{
		Schedules: []JointLossSchedule{LinearRamp(0.5), NoiseOnly()}, Dir: dir})
	if err != nil || len(ab2.Runs) != 2 || ab2.Runs[0].FID != ab.Runs[0].FID {
		t.Fatalf("resumed ablation: %v %+v", err, ab2)
	}
}

// testLog sends a pipeline's stage log to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func TestRedundancyStudyAndComparison(t *testing.T) {
	teacher, data := testTeacher(t)
	rows, err := RedundancyStudy(context.Background(), []*Teacher{teacher}, data, SupernetOptions{BatchSize: 2, Parallel: true}, 1, SearchOptions{EvalBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].TeacherMACs != teacher.Net.MACs() || rows[0].SubnetMACs > rows[0].TeacherMACs {
		t.Fatalf("rows %+v", rows)
	}
	r := handTable()
	b, _ := SelectBlockwise(r, 1)
	g, _ := GlobalSearch(r, GlobalSearchOptions{})
	md := SearchComparison(b, g, nil)
	if !strings.Contains(md, "blockwise") || !strings.Contains(md, "global") || strings.Count(md, "\n") < 4 {
		t.Errorf("comparison table:\n%s", md)
	}
}
