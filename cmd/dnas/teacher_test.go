package main

import (
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas"
)

// TestTeacherSnapshotsAcrossAResume trains tiny for 4 steps with a snapshot
// every 2, then resumes to 6 without the flag (the run keeps its interval)
// and to 8 with --snapshot-every 0 (no more): the snapshots of steps 2, 4
// and 6 are there, and the final teacher is step 8's.
func TestTeacherSnapshotsAcrossAResume(t *testing.T) {
	out := t.TempDir()
	base := []string{"--preset", "tiny", "--out", out, "--eval-samples", "0", "--checkpoint-every", "3"}
	if err := runTeacher(append(base, "--steps", "4", "--snapshot-every", "2")); err != nil {
		t.Fatal(err)
	}
	if err := runTeacher(append(base, "--steps", "6")); err != nil {
		t.Fatal(err)
	}
	if err := runTeacher(append(base, "--steps", "8", "--snapshot-every", "0")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "snapshots")
	got, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	want := []string{dnas.SnapshotPath(dir, 2), dnas.SnapshotPath(dir, 4), dnas.SnapshotPath(dir, 6)}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	te, err := dnas.LoadTeacher(filepath.Join(out, "teacher.safetensors"))
	if err != nil || te.Step != 8 {
		t.Fatalf("teacher.safetensors: %v (step %v)", err, te)
	}
}

// A fresh `dnas teacher --steps N` lays its learning-rate schedule over N
// steps (the checkpoint's preset says so); resuming it to a longer total
// keeps the schedule it started with.
func TestTeacherStepsSetTheSchedule(t *testing.T) {
	out := filepath.Join(t.TempDir(), "teacher")
	if err := runTeacher([]string{"--preset", "tiny", "--steps", "3", "--eval-samples", "0", "--out", out}); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(out, "train.safetensors")
	tr, err := dnas.ResumeTeacherTrainer(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StepNum != 3 || tr.Preset.Steps != 3 {
		t.Fatalf("after --steps 3: step %d, schedule length %d; want 3 and 3", tr.StepNum, tr.Preset.Steps)
	}
	if err := runTeacher([]string{"--preset", "tiny", "--steps", "5", "--eval-samples", "0", "--out", out}); err != nil {
		t.Fatal(err)
	}
	if tr, err = dnas.ResumeTeacherTrainer(ckpt); err != nil {
		t.Fatal(err)
	}
	if tr.StepNum != 5 || tr.Preset.Steps != 3 {
		t.Fatalf("resumed to --steps 5: step %d, schedule length %d; want 5 and 3", tr.StepNum, tr.Preset.Steps)
	}
}

// `dnas teacher --restart-from` takes a run further on a new cycle in
// another --out, leaving the source alone; running it again resumes the
// restarted run; misuse is refused with a message that says what to do.
func TestTeacherRestartFrom(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	flags := func(out string, more ...string) []string {
		return append([]string{"--preset", "tiny", "--eval-samples", "0", "--out", out}, more...)
	}
	if err := runTeacher(flags(src, "--steps", "3")); err != nil {
		t.Fatal(err)
	}
	srcCkpt := filepath.Join(src, "train.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{flags(src, "--restart-from", srcCkpt, "--steps", "6"), "another --out"},
		{flags(dst, "--restart-lr", "1e-4", "--steps", "6"), "needs --restart-from"},
		{flags(dst, "--restart-from", srcCkpt, "--restart-lr", "-1", "--steps", "6"), "a rate > 0"},
		{flags(dst, "--restart-from", srcCkpt, "--steps", "3"), "needs a longer total than 3 steps"},
		{flags(dst, "--restart-min-lr", "1e-5", "--steps", "6"), "needs --restart-from"},
		{flags(dst, "--restart-from", srcCkpt, "--restart-min-lr", "-1", "--steps", "6"), "a rate > 0"},
		{flags(dst, "--restart-from", srcCkpt, "--restart-min-lr", "1e-5", "--steps", "6"), "needs a cosine restart"}, // tiny's rate is constant
		{[]string{"--preset", "small", "--eval-samples", "0", "--out", dst, "--restart-from", srcCkpt, "--steps", "6"}, `pass --preset tiny`},
		{flags(dst, "--restart-from", filepath.Join(dir, "missing.safetensors"), "--steps", "6"), "missing.safetensors"},
	} {
		if err := runTeacher(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dnas teacher %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	if err := runTeacher(flags(dst, "--restart-from", srcCkpt, "--restart-lr", "4e-4", "--steps", "6")); err != nil {
		t.Fatal(err)
	}
	tr, err := dnas.ResumeTeacherTrainer(filepath.Join(dst, "train.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if p := tr.Preset; tr.StepNum != 6 || p.RestartStep != 3 || p.RestartLR != 4e-4 || p.Steps != 6 {
		t.Fatalf("restarted run: step %d, preset %+v; want step 6, a restart at 3 to lr 4e-4 ending at 6", tr.StepNum, p)
	}
	if a, err := dnas.ResumeTeacherTrainer(srcCkpt); err != nil || a.StepNum != 3 || a.Preset.RestartStep != 0 {
		t.Fatalf("the source run changed: %v, %+v", err, a)
	}
	// A weights-only file restarts too, with fresh optimiser state and the
	// data order of --seed.
	wdst := filepath.Join(dir, "w")
	if err := runTeacher(flags(wdst, "--restart-from", filepath.Join(src, "teacher.safetensors"), "--seed", "5", "--steps", "6")); err != nil {
		t.Fatal(err)
	}
	if w, err := dnas.ResumeTeacherTrainer(filepath.Join(wdst, "train.safetensors")); err != nil || w.StepNum != 6 || w.Seed != 5 ||
		w.Preset.RestartStep != 3 || w.Preset.RestartInit == "" {
		t.Fatalf("restart from a weights file: %v, %+v", err, w)
	}
	// Again with the same flags: the restarted run resumes, to a longer total.
	if err := runTeacher(flags(dst, "--restart-from", srcCkpt, "--steps", "7")); err != nil {
		t.Fatal(err)
	}
	if tr, err = dnas.ResumeTeacherTrainer(filepath.Join(dst, "train.safetensors")); err != nil || tr.StepNum != 7 || tr.Preset.RestartStep != 3 {
		t.Fatalf("resumed restarted run: %v, step %d, restart at %d; want 7 and 3", err, tr.StepNum, tr.Preset.RestartStep)
	}
	// A restarted run restarts again: its cycle is kept as an earlier one.
	third := filepath.Join(dir, "third")
	if err := runTeacher(flags(third, "--restart-from", filepath.Join(dst, "train.safetensors"), "--restart-lr", "2e-4", "--steps", "9")); err != nil {
		t.Fatal(err)
	}
	if tr, err = dnas.ResumeTeacherTrainer(filepath.Join(third, "train.safetensors")); err != nil || tr.StepNum != 9 || tr.Preset.RestartStep != 7 ||
		len(tr.Preset.EarlierRestarts) != 1 || tr.Preset.EarlierRestarts[0].Step != 3 {
		t.Fatalf("restart of a restarted run: %v, %+v; want step 9, a restart at 7 after one at 3", err, tr)
	}
	// Resumed without --steps, a run goes on to its own length (5 here),
	// not the preset's (200 for tiny).
	long := filepath.Join(dir, "long")
	if err := runTeacher(flags(long, "--restart-from", srcCkpt, "--steps", "5")); err != nil {
		t.Fatal(err)
	}
	if err := runTeacher(flags(long)); err != nil {
		t.Fatal(err)
	}
	if tr, err = dnas.ResumeTeacherTrainer(filepath.Join(long, "train.safetensors")); err != nil || tr.StepNum != 5 {
		t.Fatalf("restarted run resumed without --steps: %v, at step %d; want its own length, 5", err, tr.StepNum)
	}
	// A plain run in --out is not silently taken for a restarted one.
	if err := runTeacher(flags(src, "--steps", "4")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "c")
	if err := runTeacher(flags(other, "--steps", "2")); err != nil {
		t.Fatal(err)
	}
	if err := runTeacher(flags(other, "--restart-from", srcCkpt, "--steps", "8")); err == nil || !strings.Contains(err.Error(), "was not restarted") {
		t.Errorf("--restart-from into an --out with a plain run: %v", err)
	}
}
