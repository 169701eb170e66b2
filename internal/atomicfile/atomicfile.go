// Package atomicfile writes files so that a reader, or a crash, never sees
// half of one: the data goes to a temporary file beside the target, which
// is synced and then renamed over it. Checkpoints, reports and charts are
// all written this way.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write makes path hold data, with mode 0644: path keeps its old content
// until the new content is complete on disk, then holds all of it. The
// directory must exist. On error the temporary file is removed.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	// Sync the directory so that the rename itself survives a crash; a
	// directory that cannot be opened or synced leaves the file written.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
