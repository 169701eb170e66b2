package main

import (
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas"
)

// TestTeacherSnapshotsAcrossAResume trains tiny for 4 steps with a snapshot
// every 2, then resumes to 6: the snapshots of steps 2, 4 and 6 are there,
// and the final teacher is step 6's.
func TestTeacherSnapshotsAcrossAResume(t *testing.T) {
	out := t.TempDir()
	base := []string{"--preset", "tiny", "--out", out, "--snapshot-every", "2", "--eval-samples", "0", "--checkpoint-every", "3"}
	if err := runTeacher(append(base, "--steps", "4")); err != nil {
		t.Fatal(err)
	}
	if err := runTeacher(append(base, "--steps", "6")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "snapshots")
	got, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	want := []string{dnas.SnapshotPath(dir, 2), dnas.SnapshotPath(dir, 4), dnas.SnapshotPath(dir, 6)}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	te, err := dnas.LoadTeacher(filepath.Join(out, "teacher.safetensors"))
	if err != nil || te.Step != 6 {
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
