package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// KernelSpec is the kernel.json of a kernelspec: how a front end starts the
// kernel. "{connection_file}" in Argv is replaced by the front end with the
// path of the connection file it wrote.
type KernelSpec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode,omitempty"` // "signal" (default) or "message"
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// UserDataDir returns Jupyter's per-user data directory, as jupyter_core
// computes it: $JUPYTER_DATA_DIR if set, else $XDG_DATA_HOME/jupyter or
// ~/.local/share/jupyter on Linux, ~/Library/Jupyter on macOS,
// %APPDATA%\jupyter on Windows.
func UserDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	switch runtime.GOOS {
	case "darwin":
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if a := os.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	if err != nil {
		return "", fmt.Errorf("finding the home directory for the Jupyter data dir: %w (set JUPYTER_DATA_DIR)", err)
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// KernelSpecDir returns where a kernelspec named name is installed: under
// PREFIX/share/jupyter/kernels when prefix is set (what `jupyter kernelspec
// install --prefix` does, for virtual environments and tests via
// JUPYTER_PATH), else under the user data directory.
func KernelSpecDir(name, prefix string) (string, error) {
	if prefix != "" {
		abs, err := filepath.Abs(prefix)
		if err != nil {
			return "", err
		}
		return filepath.Join(abs, "share", "jupyter", "kernels", name), nil
	}
	d, err := UserDataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kernels", name), nil
}

// InstallKernelSpec writes spec as dir/kernel.json and each of files (e.g.
// "logo-64x64.png") into dir, creating dir. An existing spec is replaced.
func InstallKernelSpec(dir string, spec KernelSpec, files map[string][]byte) error {
	if len(spec.Argv) == 0 {
		return errors.New("kernelspec has an empty argv: it must say which program starts the kernel")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the kernelspec directory: %w", err)
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing kernel.json: %w", err)
	}
	for name, data := range files {
		if filepath.Base(name) != name {
			return fmt.Errorf("kernelspec file name %q must not contain a directory", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
