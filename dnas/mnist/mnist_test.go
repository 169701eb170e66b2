package mnist

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFullSet(t *testing.T) {
	tr, err := LoadTrain()
	if err != nil {
		t.Fatal(err)
	}
	te, err := LoadTest()
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 60000 || te.N != 10000 {
		t.Fatalf("want 60000/10000 images, got %d/%d", tr.N, te.N)
	}
	lo, hi := float32(0), float32(0)
	for _, v := range te.Images {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != -1 || hi != 1 {
		t.Fatalf("pixels should span [-1,1], got [%v,%v]", lo, hi)
	}
	// Well-known facts about the files: the first training digit is a 5, the
	// first test digit a 7, and the classes are roughly balanced.
	if tr.Labels[0] != 5 || te.Labels[0] != 7 {
		t.Fatalf("first labels %d/%d, want 5/7", tr.Labels[0], te.Labels[0])
	}
	var count [10]int
	for _, l := range te.Labels {
		count[l]++
	}
	for d, c := range count {
		if c < 800 || c > 1200 {
			t.Fatalf("digit %d appears %d times in the test set", d, c)
		}
	}
	again, _ := LoadTrain()
	if again != tr {
		t.Fatal("second Load should return the cached set")
	}
}

func TestBatcherSeededAndResumable(t *testing.T) {
	te, err := LoadTest()
	if err != nil {
		t.Fatal(err)
	}
	a := NewBatcher(te, 3000, 7)
	b := NewBatcher(te, 3000, 7)
	var seqA [][]uint8
	for i := 0; i < 5; i++ { // crosses an epoch boundary (3 full batches per epoch)
		_, la := a.Next()
		x, lb := b.Next()
		if !bytes.Equal(la, lb) {
			t.Fatalf("batch %d differs between equal seeds", i)
		}
		if got := x.Shape; got[0] != 3000 || got[1] != 1 || got[2] != 28 || got[3] != 28 {
			t.Fatalf("batch shape %v", got)
		}
		seqA = append(seqA, append([]uint8(nil), la...))
	}
	if a.Epoch != 1 {
		t.Fatalf("epoch %d after 5 batches of 3000 from 10000", a.Epoch)
	}
	// Resume a fresh batcher from a's position after batch 2.
	r := NewBatcher(te, 3000, 7)
	r.Epoch, r.Pos = 0, 6000
	for i := 2; i < 5; i++ {
		_, l := r.Next()
		if !bytes.Equal(l, seqA[i]) {
			t.Fatalf("resumed batcher diverged at batch %d", i)
		}
	}
	c := NewBatcher(te, 3000, 8)
	_, lc := c.Next()
	if bytes.Equal(lc, seqA[0]) {
		t.Fatal("different seeds gave the same batch")
	}
}

func TestCorruptAndMissingFilesExplainHowToFetch(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(dir, Test); err == nil || !strings.Contains(err.Error(), "go mod download") {
		t.Fatalf("missing files: want an error with a fetch hint, got %v", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28}) // truncated header
	zw.Close()
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), buf.Bytes(), 0o644)
	_, err := LoadDir(dir, Test)
	if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "go mod download") {
		t.Fatalf("corrupt file: want a 'corrupt' error with a fetch hint, got %v", err)
	}
}
