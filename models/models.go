// Package models carries the checkpoints this project trained and
// committed (the LeNet classifier behind FID, and the small and base
// teachers), embedded in the dnas binary so it works from any directory.
// How each file was made is in models/README.md.
//
// Open reads a model from the directory $DNAS_MODELS when that variable is
// set (to try freshly trained files without rebuilding), and from the
// embedded copies otherwise.
package models

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

//go:embed *.safetensors
var embedded embed.FS

// Open returns the bytes of the model file called name (e.g.
// "lenet.safetensors", "small.safetensors").
func Open(name string) ([]byte, error) {
	if dir := os.Getenv("DNAS_MODELS"); dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return data, nil
		}
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("models: %w", err)
		}
	}
	data, err := embedded.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("models: no model %q is committed (have %v); train it with the dnas command in models/README.md, or set DNAS_MODELS to a directory holding it", name, Names())
	}
	return data, nil
}

// Names lists the embedded model files.
func Names() []string {
	ents, _ := fs.ReadDir(embedded, ".")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}
