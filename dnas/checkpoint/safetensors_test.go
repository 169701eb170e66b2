package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dnas/dnas/nn"
)

func TestRoundTripBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := nn.NewParam("conv.w", 4, 3, 3, 3)
	b := nn.NewParam("conv.b", 4)
	for _, p := range []*nn.Param{a, b} {
		for i := range p.Data {
			p.Data[i] = math.Float32frombits(rng.Uint32()) // any bit pattern, NaNs included
		}
	}
	var f File
	f.AddParams("model.", []*nn.Param{a, b})
	f.Add("scalar", nil, []float32{7})
	f.SetMeta("step", "42")
	if err := f.SetMetaJSON("config", map[string]int{"ch": 8}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "ck.safetensors")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a2, b2 := nn.NewParam("conv.w", 4, 3, 3, 3), nn.NewParam("conv.b", 4)
	if err := g.LoadParams("model.", []*nn.Param{a2, b2}); err != nil {
		t.Fatal(err)
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(a2.Data[i]) {
			t.Fatalf("value %d changed bits", i)
		}
	}
	if g.Metadata["step"] != "42" {
		t.Fatalf("metadata %v", g.Metadata)
	}
	var cfg map[string]int
	if err := g.MetaJSON("config", &cfg); err != nil || cfg["ch"] != 8 {
		t.Fatalf("config %v %v", cfg, err)
	}
	if s, ok := g.Get("scalar"); !ok || len(s.Shape) != 0 || s.Data[0] != 7 {
		t.Fatalf("scalar tensor %+v", s)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want only the checkpoint", len(ents))
	}
}

func TestHeaderIsStandardSafetensors(t *testing.T) {
	var f File
	f.Add("x", []int{2}, []float32{1, 2})
	data, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 || int(n)+8+8 != len(data) {
		t.Fatalf("header length %d, file %d bytes", n, len(data))
	}
	var h map[string]struct {
		Dtype       string `json:"dtype"`
		Shape       []int  `json:"shape"`
		DataOffsets []int  `json:"data_offsets"`
	}
	if err := json.Unmarshal(data[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	if e := h["x"]; e.Dtype != "F32" || e.DataOffsets[0] != 0 || e.DataOffsets[1] != 8 {
		t.Fatalf("header entry %+v", e)
	}
	if math.Float32frombits(binary.LittleEndian.Uint32(data[8+n+4:])) != 2 {
		t.Fatal("data not little-endian float32 after the header")
	}
}

func TestMismatchNamesTheTensor(t *testing.T) {
	var f File
	f.Add("m.a", []int{3}, []float32{1, 2, 3})
	p := nn.NewParam("a", 4)
	err := f.LoadParams("m.", []*nn.Param{p})
	if err == nil || !strings.Contains(err.Error(), `"m.a"`) || !strings.Contains(err.Error(), "[3]") {
		t.Fatalf("shape mismatch error should name m.a and its shape: %v", err)
	}
	q := nn.NewParam("b", 3)
	err = f.LoadParams("m.", []*nn.Param{q})
	if err == nil || !strings.Contains(err.Error(), `"m.b"`) {
		t.Fatalf("missing tensor error should name m.b: %v", err)
	}
	if u := f.Unused("m.", []*nn.Param{q}); len(u) != 1 || u[0] != "m.a" {
		t.Fatalf("unused %v", u)
	}
}

func TestTruncatedFileIsAnError(t *testing.T) {
	var f File
	f.Add("x", []int{4}, []float32{1, 2, 3, 4})
	data, _ := f.Encode()
	for _, cut := range []int{3, 20, len(data) - 1} {
		if _, err := Decode(data[:cut]); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", cut, len(data))
		}
	}
}
