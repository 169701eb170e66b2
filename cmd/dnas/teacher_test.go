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
