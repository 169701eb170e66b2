package dnas

import (
	"context"
	"dnas/dnas/unet"
	"errors"
	"fmt"
	"math"
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
	if err := p.RunEvaluate(ctx, "teacher"); err != nil {
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

	// A report of the unfinished run lists what is pending and leaves the
	// run's state alone.
	stateBefore, _ := os.ReadFile(filepath.Join(o.OutDir, "state.json"))
	rp, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := rp.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(partial.Pending, " "); got != "retrain:subnet eval:subnet retrain:teacher-arch eval:teacher-arch" || partial.Finished != "" {
		t.Errorf("pending %q, finished %q: want the retrainings and their evaluations pending, no finish time", got, partial.Finished)
	}
	if sum, _ := os.ReadFile(filepath.Join(o.OutDir, "summary.md")); !strings.Contains(string(sum), "Unfinished run") || !strings.Contains(string(sum), "not measured yet") {
		t.Errorf("partial summary.md:\n%s", sum)
	}
	if stateAfter, _ := os.ReadFile(filepath.Join(o.OutDir, "state.json")); string(stateAfter) != string(stateBefore) {
		t.Error("Report changed state.json")
	}

	p2, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.StageDone("stage1") || !p2.StageDone("search") {
		t.Fatal("a new pipeline on the same directory does not see the finished stages")
	}
	if s := p2.String(); !strings.Contains(s, "stages done, next retrain:subnet (4 left)") {
		t.Errorf("the pipeline describes itself as %q; want the next stage and the count left", s)
	}
	res, err := p2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := p2.String(); !strings.HasSuffix(s, "all done") {
		t.Errorf("a finished pipeline describes itself as %q", s)
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
	if len(res.Pending) != 0 || res.Finished == "" {
		t.Errorf("finished run: pending %v, finished %q", res.Pending, res.Finished)
	}
	for _, want := range []string{"Headline", "fewer MACs", "Stage timings", "stage1", "retrain:subnet"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	// Run again once everything is done (a later session): nothing is
	// redone, and the summary still draws every model's training dynamics,
	// though this session retrained none of them.
	p3, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum, _ = os.ReadFile(filepath.Join(o.OutDir, "summary.md"))
	for _, m := range o.Models {
		if want := fmt.Sprintf("![dynamics-%s](dynamics-%s.png)", m, m); !strings.Contains(string(sum), want) {
			t.Errorf("summary.md of a run finished in an earlier session lacks %s", want)
		}
	}
	// Other options on the same directory are refused, naming what changed;
	// more models to retrain are fine; the options can be read back.
	changed := o
	changed.Search.LossScale = 1.04
	changed.Retrain.Steps++
	_, err = NewPipeline(changed)
	if err == nil || !strings.Contains(err.Error(), "search.LossScale: 1 then, 1.04 now") || !strings.Contains(err.Error(), "retrain.steps: 6 then, 7 now") {
		t.Fatalf("resuming with another loss_scale and budget: want an error naming both, got %v", err)
	}
	more := o
	more.Models = []string{"subnet", "teacher-arch", "random"}
	more.TeacherPath = filepath.Join(t.TempDir(), "copy.safetensors")
	if err := p2.Teacher.Save(more.TeacherPath); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPipeline(more); err != nil {
		t.Fatalf("the same run with one more model (and the teacher read from a copy): %v", err)
	}
	if back, err := LoadPipelineOptions(o.OutDir); err != nil || back.Retrain.Steps != o.Retrain.Steps || back.Search.LossScale != 1 {
		t.Fatalf("LoadPipelineOptions: %+v, %v", back, err)
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
	if ab.Seed != 1 || ab.Runs[0].Seed != 1 || !strings.Contains(ab.Table(), "training seed 1") {
		t.Errorf("the ablation does not record its training seed: %d, run %d, table %q", ab.Seed, ab.Runs[0].Seed, ab.Table())
	}
	// Another training seed in the same directory is refused, not mixed in.
	_, err = RunBetaAblation(context.Background(), teacher, r, data, BetaAblationOptions{
		Schedules: []JointLossSchedule{LinearRamp(0.5)}, Retrain: RetrainOptions{Steps: 4, BatchSize: 4, Seed: 2}, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "training seed 1") || !strings.Contains(err.Error(), "seed 2") {
		t.Errorf("an ablation with seed 2 over seed-1 runs: got %v", err)
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
	if rows[0].Result == nil || rows[0].Result.MACs() != rows[0].SubnetMACs {
		t.Fatalf("the row does not carry its search result: %+v", rows[0])
	}
	r := handTable()
	b, _ := SelectBlockwise(r, 1)
	g, _ := GlobalSearch(r, GlobalSearchOptions{})
	md := SearchComparison(b, g, nil)
	if !strings.Contains(md, "blockwise") || !strings.Contains(md, "global") || strings.Count(md, "\n") < 4 {
		t.Errorf("comparison table:\n%s", md)
	}
}

// The retraining defaults must scale with the budget: the EMA averages over
// about the last tenth of training and warms up from the first step, and
// the cosine LR decay ends at MinLR.
func TestRetrainDefaultsFollowTheBudget(t *testing.T) {
	p, err := LookupTeacherPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		steps int
		ema   float32
	}{{800, 0.9875}, {1000, 0.99}, {10000, 0.999}, {100000, 0.999}, {20, 0.9}} {
		o := RetrainOptions{Steps: c.steps}.withDefaults(p)
		if d := o.EMADecay - c.ema; d > 1e-6 || d < -1e-6 {
			t.Errorf("%d steps: default EMA decay %v, want %v", c.steps, o.EMADecay, c.ema)
		}
	}
	o := RetrainOptions{Steps: 800, EMADecay: 0.99}.withDefaults(p)
	if got := o.EMADecayAt(0); got != 0.1 {
		t.Errorf("EMA decay at step 0 = %v, want 0.1 (warm-up)", got)
	}
	if got := o.EMADecayAt(5000); got != 0.99 {
		t.Errorf("EMA decay late in training = %v, want the configured 0.99", got)
	}
	o = RetrainOptions{Steps: 800, LR: 1e-3, WarmupSteps: 80, LRDecay: "cosine"}.withDefaults(p)
	if o.MinLR != o.LR/20 {
		t.Errorf("default MinLR %v, want LR/20", o.MinLR)
	}
	if got := o.LearningRate(39); got != 5e-4 {
		t.Errorf("LR half way through the warm-up = %v, want 5e-4", got)
	}
	if got := o.LearningRate(80); got != 1e-3 {
		t.Errorf("LR right after the warm-up = %v, want 1e-3", got)
	}
	if got := o.LearningRate(799); got != o.MinLR {
		t.Errorf("LR at the last step = %v, want MinLR %v", got, o.MinLR)
	}
	if a, b := o.LearningRate(300), o.LearningRate(600); !(a > b && b > o.MinLR) {
		t.Errorf("cosine decay is not decreasing: LR(300) %v, LR(600) %v", a, b)
	}
	o.LRDecay = ""
	if got := o.LearningRate(799); got != 1e-3 {
		t.Errorf("constant LR at the last step = %v, want 1e-3", got)
	}
	teacher, data := testTeacher(t)
	if _, err := NewRetrainer("x", teacher, handTable(), data, RetrainOptions{Steps: 2, LRDecay: "linear"}); err == nil || !strings.Contains(err.Error(), "cosine") {
		t.Errorf("an unknown LRDecay is accepted or the error does not name the choices: %v", err)
	}
}

// The small preset's pipeline retrains the headline pair by default, with
// the budget results/README.md was measured with.
func TestSmallPipelineDefaults(t *testing.T) {
	o, err := DefaultPipelineOptions("small")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Models, ",") != "subnet,teacher-arch" {
		t.Errorf("small models %v, want subnet,teacher-arch", o.Models)
	}
	if o.Retrain.Steps != 800 || o.Retrain.BatchSize != 32 || o.Retrain.LRDecay != "cosine" || o.Stage1Steps != 300 {
		t.Errorf("small budgets changed without updating results/README.md: %+v, stage 1 %d", o.Retrain, o.Stage1Steps)
	}
}

// TestPipelineNotesWorkDoneElsewhere: a second run on the same teacher, its
// stage 1 copied from the first, reads the teacher's evaluation from the
// cache and says so, and its stage timings say which times are not costs.
func TestPipelineNotesWorkDoneElsewhere(t *testing.T) {
	t.Setenv("DNAS_CACHE_DIR", t.TempDir())
	o := tinyPipelineOptions(t)
	o.Models = []string{"subnet"}
	first, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	a, err := first.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, st := range a.Stages {
		if st.Note != "" {
			t.Errorf("first run: stage %s has a note %q", st.Stage, st.Note)
		}
		order = append(order, st.Stage)
	}
	// Each model is evaluated as soon as it is retrained, the teacher first.
	if got, want := strings.Join(order, " "), "stage1 search eval:teacher retrain:subnet eval:subnet report"; got != want {
		t.Errorf("stage order %q, want %q", got, want)
	}

	o2 := o
	o2.OutDir = filepath.Join(t.TempDir(), "run2")
	if err := os.CopyFS(filepath.Join(o2.OutDir, "stage1"), os.DirFS(filepath.Join(o.OutDir, "stage1"))); err != nil {
		t.Fatal(err)
	}
	second, err := NewPipeline(o2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := second.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for _, st := range b.Stages {
		notes[st.Stage] = st.Note
	}
	if !strings.Contains(notes["stage1"], "found trained") {
		t.Errorf("stage1 note %q: want it to say the blocks were found trained", notes["stage1"])
	}
	if !strings.Contains(notes["eval:teacher"], "evaluation cache") {
		t.Errorf("eval:teacher note %q: want it to say the evaluation came from the cache", notes["eval:teacher"])
	}
	if b.Models[0].FID != a.Models[0].FID || b.Models[0].HeldOutLoss != a.Models[0].HeldOutLoss {
		t.Errorf("the cached teacher row differs: %+v vs %+v", b.Models[0], a.Models[0])
	}
	if _, err := os.Stat(filepath.Join(o2.OutDir, "eval", "teacher.png")); err != nil {
		t.Errorf("the cached evaluation's grid was not written: %v", err)
	}
	sum, _ := os.ReadFile(filepath.Join(o2.OutDir, "summary.md"))
	if !strings.Contains(string(sum), "evaluation cache") {
		t.Error("summary.md does not say the teacher's evaluation was cached")
	}
}

func TestPipelineMinReductionPicksTheLossScale(t *testing.T) {
	o := tinyPipelineOptions(t)
	for _, bad := range []struct {
		ls, red float64
		want    string
	}{{1, 30, "fraction in (0, 1)"}, {1, -0.2, "fraction in (0, 1)"}, {-1, 0, "loss_scale -1 must be"}} {
		b := o
		b.Search.LossScale, b.Search.MinReduction = bad.ls, bad.red
		if _, err := NewPipeline(b); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("loss_scale %v, min_reduction %v: got %v, want an error saying %q before any stage runs", bad.ls, bad.red, err, bad.want)
		}
	}
	// More than the smallest kernels everywhere can remove is refused
	// before any stage runs, saying the most there is.
	tt, err := LoadTeacher(o.TeacherPath)
	if err != nil {
		t.Fatal(err)
	}
	most, err := MaxMACReduction(tt.Net, o.Supernet)
	if err != nil {
		t.Fatal(err)
	}
	all1 := tt.Net.Config
	all1.Kernels = make([]int, all1.NumSearchableConvs())
	for i := range all1.Kernels {
		all1.Kernels[i] = 1
	}
	if net, _ := unet.New(all1, 0); math.Abs(most-(1-float64(net.MACs())/float64(tt.Net.MACs()))) > 1e-12 || most <= 0.2 || most >= 1 {
		t.Fatalf("MaxMACReduction %v", most)
	}
	tooMuch := o
	tooMuch.Search.MinReduction = most + 0.01
	if _, err := NewPipeline(tooMuch); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("removes at most %.1f%%", 100*most)) {
		t.Errorf("min_reduction beyond the search space: got %v", err)
	}
	if _, err := os.Stat(tooMuch.OutDir); err == nil {
		t.Error("the refused run wrote its directory")
	}
	o.Search.MinReduction = 0.2
	p, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.RunStage1(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.RunSearch(ctx); err != nil {
		t.Fatal(err)
	}
	r := p.Searches["subnet"]
	if r.MinReduction != 0.2 || r.MACReduction() < 0.2 || r.LossScale < 1 {
		t.Fatalf("subnet: min_reduction %v, %.1f%% fewer MACs at loss_scale %v; want >= 20%% at a loss_scale >= 1", r.MinReduction, 100*r.MACReduction(), r.LossScale)
	}
	t.Logf("loss_scale %v: %.1f%% fewer MACs", r.LossScale, 100*r.MACReduction())
	// It is the smallest such loss_scale: the sweep over the same tables
	// agrees, and the saved result says how it was picked.
	sw, err := SweepLossScale(r, 1, 1e6)
	if err != nil {
		t.Fatal(err)
	}
	if pt, ok := sw.MinLossScaleFor(0.2); !ok || (pt.LossScale > 1 && pt.Rounded() != r.LossScale) || (pt.LossScale == 1 && r.LossScale != 1) {
		t.Errorf("loss_scale %v, the sweep's smallest for 20%%: %+v (ok %v)", r.LossScale, pt, ok)
	}
	saved, err := LoadSearchResult(filepath.Join(o.OutDir, "search", "subnet.json"))
	if err != nil || saved.MinReduction != 0.2 || saved.LossScale != r.LossScale {
		t.Fatalf("saved search: %+v, %v", saved, err)
	}
	if b := p.Budgets(); !strings.Contains(b, "the smallest >= 1 removing >= 20% of the MACs ("+fmt.Sprint(r.LossScale)+")") {
		t.Errorf("budgets line does not say how the loss_scale was picked: %s", b)
	}
	// The report gives the rule's reduction at METHOD.md's 1.0 beside it.
	res, err := p.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at1, _ := SelectBlockwise(r, 1)
	if res.LossScale != r.LossScale || res.DefaultRuleReduction != at1.MACReduction() {
		t.Errorf("results: loss_scale %v, reduction at 1.0 %v; want %v, %v", res.LossScale, res.DefaultRuleReduction, r.LossScale, at1.MACReduction())
	}
	sum, _ := os.ReadFile(filepath.Join(o.OutDir, "summary.md"))
	if want := fmt.Sprintf("At METHOD.md's loss_scale 1.0 the same candidate tables give %.1f%% fewer MACs", 100*at1.MACReduction()); r.LossScale != 1 && !strings.Contains(string(sum), want) {
		t.Errorf("summary.md lacks %q:\n%s", want, sum)
	}
	// The random search matches the picked subnet's MACs.
	if rnd := p.Searches["random"]; rnd.MACs() > r.MACs()*11/10 {
		t.Errorf("random search at %d MACs for a %d-MAC subnet", rnd.MACs(), r.MACs())
	}
}
