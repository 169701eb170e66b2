// Package checkpoint saves and loads named float32 tensors in the
// safetensors format (https://huggingface.co/docs/safetensors), the format
// PyTorch and diffusers use, so a dnas checkpoint can be opened elsewhere.
//
// The format is small enough to read in one sitting:
//
//	[8 bytes]  little-endian uint64 N, the length of the header
//	[N bytes]  a JSON object: for every tensor name
//	             {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//	           plus an optional "__metadata__": {string: string}
//	           (padded with spaces to a multiple of 8 bytes)
//	[rest]     the raw little-endian tensor bytes; offsets count from here
//
// dnas keeps everything that is not a tensor (the model config, the training
// step, the RNG state, optimiser scalars) as strings in __metadata__.
//
// Save writes atomically: to a temporary file in the same directory, fsynced,
// then renamed over the destination, so a crash never leaves half a
// checkpoint behind.
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"dnas/dnas/nn"
	"dnas/internal/atomicfile"
)

// Tensor is one named float32 array of a checkpoint.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is the content of a checkpoint: its tensors in file order and its
// metadata strings.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string

	index map[string]int
}

// Get returns the tensor called name.
func (f *File) Get(name string) (Tensor, bool) {
	if f.index == nil {
		f.index = make(map[string]int, len(f.Tensors))
		for i, t := range f.Tensors {
			f.index[t.Name] = i
		}
	}
	i, ok := f.index[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensors[i], true
}

// Add appends a tensor (its data is not copied until Save).
func (f *File) Add(name string, shape []int, data []float32) {
	f.Tensors = append(f.Tensors, Tensor{Name: name, Shape: append([]int(nil), shape...), Data: data})
	f.index = nil
}

// AddParams appends the weights of params, each named prefix + p.Name.
func (f *File) AddParams(prefix string, params []*nn.Param) {
	for _, p := range params {
		f.Add(prefix+p.Name, p.Shape, p.Data)
	}
}

// SetMeta sets a metadata string (allocating the map if needed).
func (f *File) SetMeta(key, value string) {
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	f.Metadata[key] = value
}

// SetMetaJSON stores v as JSON under key.
func (f *File) SetMetaJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("checkpoint: metadata %q: %w", key, err)
	}
	f.SetMeta(key, string(b))
	return nil
}

// MetaJSON decodes the JSON metadata under key into v.
func (f *File) MetaJSON(key string, v any) error {
	s, ok := f.Metadata[key]
	if !ok {
		return fmt.Errorf("checkpoint: no metadata %q in this checkpoint", key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("checkpoint: metadata %q is not valid JSON for %T: %w", key, v, err)
	}
	return nil
}

// LoadParams copies the tensors prefix + p.Name into every p of params. A
// tensor that is missing or has another shape is an error naming it; the
// params are only written once all of them match. Tensors of the file that no
// param asks for are ignored (see Unused).
func (f *File) LoadParams(prefix string, params []*nn.Param) error {
	for _, p := range params {
		t, ok := f.Get(prefix + p.Name)
		if !ok {
			return fmt.Errorf("checkpoint: tensor %q (shape %v) is missing from the checkpoint: it was saved from a different model or config", prefix+p.Name, p.Shape)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("checkpoint: tensor %q has shape %v in the checkpoint but %v in the model: the checkpoint was saved from a different config", t.Name, t.Shape, p.Shape)
		}
	}
	for _, p := range params {
		t, _ := f.Get(prefix + p.Name)
		copy(p.Data, t.Data)
	}
	return nil
}

// Unused lists the tensors whose name starts with prefix but that are not
// prefix + p.Name for any p of params (a sign of a config mismatch).
func (f *File) Unused(prefix string, params []*nn.Param) []string {
	want := map[string]bool{}
	for _, p := range params {
		want[prefix+p.Name] = true
	}
	var out []string
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, prefix) && !want[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

// headerEntry is one tensor's line of the JSON header.
type headerEntry struct {
	Dtype       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// Encode renders f in the safetensors format.
func (f *File) Encode() ([]byte, error) {
	header := map[string]any{}
	seen := map[string]bool{}
	off := 0
	for _, t := range f.Tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("checkpoint: invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("checkpoint: tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("checkpoint: tensor %q has %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{Dtype: "F32", Shape: shape, DataOffsets: [2]int{off, off + 4*n}}
		off += 4 * n
	}
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8+len(hj)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	copy(buf[8:], hj)
	p := 8 + len(hj)
	for _, t := range f.Tensors {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[p:], math.Float32bits(v))
			p += 4
		}
	}
	return buf, nil
}

// Save writes f to path atomically (temporary file in the same directory,
// fsync, rename), creating the directory if needed.
func (f *File) Save(path string) error {
	data, err := f.Encode()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path so that path holds either its old
// content or all of data, never a mix: it writes a temporary file next to
// path, fsyncs it, renames it over path and fsyncs the directory.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("checkpoint: writing %s: %w", path, err)
	}
	return nil
}

// Load reads a safetensors file. Only F32 tensors are supported (what dnas
// writes); any other dtype is an error naming the tensor.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return f, nil
}

// Decode parses the safetensors bytes data.
func Decode(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file of %d bytes is too short to be safetensors (truncated?)", len(data))
	}
	hn := binary.LittleEndian.Uint64(data)
	if hn > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes): truncated or not safetensors", hn, len(data))
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data[8 : 8+hn]))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	body := data[8+hn:]
	f := &File{}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &f.Metadata); err != nil {
			return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	type item struct {
		name string
		e    headerEntry
	}
	items := make([]item, 0, len(raw))
	for name, r := range raw {
		var e headerEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		items = append(items, item{name, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].e.DataOffsets[0] < items[j].e.DataOffsets[0] })
	for _, it := range items {
		e := it.e
		if e.Dtype != "F32" {
			return nil, fmt.Errorf("tensor %q has dtype %s; dnas reads F32 tensors only", it.name, e.Dtype)
		}
		n := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q has a negative dimension in shape %v", it.name, e.Shape)
			}
			n *= d
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > len(body) || en-b != 4*n {
			return nil, fmt.Errorf("tensor %q: data_offsets %v do not fit shape %v in a %d-byte body (truncated file?)", it.name, e.DataOffsets, e.Shape, len(body))
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[b+4*i:]))
		}
		f.Tensors = append(f.Tensors, Tensor{Name: it.name, Shape: e.Shape, Data: vals})
	}
	return f, nil
}
