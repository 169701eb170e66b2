package nn

import (
	"errors"
	"strings"
	"testing"
)

// expectShapeError runs f and fails unless it panics with a *ShapeError whose
// Layer is layer; through Catch, as an API boundary would.
func expectShapeError(t *testing.T, layer string, f func()) {
	t.Helper()
	err := func() (err error) {
		defer Catch(&err)
		f()
		return nil
	}()
	var se *ShapeError
	if !errors.As(err, &se) {
		t.Fatalf("want a *ShapeError from %s, got %v", layer, err)
	}
	if se.Layer != layer || !strings.Contains(err.Error(), layer) {
		t.Errorf("ShapeError names layer %q (%v), want %q", se.Layer, err, layer)
	}
	if len(se.Got) == 0 || se.Want == "" {
		t.Errorf("ShapeError lacks the shapes: %v", err)
	}
}
