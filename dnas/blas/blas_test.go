package blas

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveGemm is the textbook triple loop, in float64, as the reference.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// available returns the backends this machine has: gonum always, OpenBLAS
// when it loads.
func available(t *testing.T) map[string]backend {
	bs := map[string]backend{"gonum": gonumBackend{}}
	if ob, err := openOpenBLAS(nil); err == nil {
		bs["openblas"] = ob
	} else {
		t.Logf("OpenBLAS not available, testing gonum only: %v", err)
	}
	return bs
}

// withBackend runs f with b as the current backend.
func withBackend(b backend, f func()) {
	old := cur
	cur = b
	defer func() { cur = old }()
	f()
}

func TestSgemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, b := range available(t) {
		withBackend(b, func() {
			for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 196, 576}, {2, 300, 9}} {
				m, n, k := sz[0], sz[1], sz[2]
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						// Strides larger than the matrices, to check ld handling.
						lda, ldb, ldc := k+3, n+1, n+2
						ra, rb := m, k
						if ta {
							lda, ra = m+2, k
						}
						if tb {
							ldb, rb = k+1, n
						}
						a := randSlice(rng, ra*lda)
						bb := randSlice(rng, rb*ldb)
						c := randSlice(rng, m*ldc)
						want := append([]float32(nil), c...)
						Sgemm(ta, tb, m, n, k, 0.7, a, lda, bb, ldb, 0.3, c, ldc)
						naiveGemm(ta, tb, m, n, k, 0.7, a, lda, bb, ldb, 0.3, want, ldc)
						for i := range c {
							if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*float64(k)+1e-5 {
								t.Fatalf("%s m=%d n=%d k=%d ta=%v tb=%v: c[%d]=%g want %g", name, m, n, k, ta, tb, i, c[i], want[i])
							}
						}
					}
				}
			}
		})
	}
}

func TestBackendsAgree(t *testing.T) {
	bs := available(t)
	if len(bs) < 2 {
		t.Skip("only one backend on this machine")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 64, 784, 288
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	out := map[string][]float32{}
	for name, be := range bs {
		c := make([]float32, m*n)
		withBackend(be, func() { Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) })
		out[name] = c
	}
	for i := range out["gonum"] {
		if d := math.Abs(float64(out["gonum"][i] - out["openblas"][i])); d > 1e-4 {
			t.Fatalf("c[%d]: gonum %g, openblas %g", i, out["gonum"][i], out["openblas"][i])
		}
	}
}

func TestBetaZeroIgnoresGarbage(t *testing.T) {
	for name, b := range available(t) {
		withBackend(b, func() {
			c := []float32{float32(math.NaN()), float32(math.Inf(1))}
			Sgemm(false, false, 1, 2, 1, 1, []float32{2}, 1, []float32{3, 4}, 2, 0, c, 2)
			if c[0] != 6 || c[1] != 8 {
				t.Errorf("%s: beta=0 must overwrite C, got %v", name, c)
			}
			// k = 0: C = beta*C.
			c = []float32{1, 2}
			Sgemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 2, c, 2)
			if c[0] != 2 || c[1] != 4 {
				t.Errorf("%s: k=0 must scale C by beta, got %v", name, c)
			}
		})
	}
}

func TestSgemmRejectsShortSlice(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "B is 3 x 4") {
			t.Fatalf("want a panic naming B's shape, got %v", r)
		}
	}()
	Sgemm(false, false, 2, 4, 3, 1, make([]float32, 6), 3, make([]float32, 11), 4, 0, make([]float32, 8), 4)
}

func TestUseBadPath(t *testing.T) {
	old := cur
	defer func() { cur = old }()
	err := Use("/nonexistent/libfoo.so")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libfoo.so") {
		t.Fatalf("want an error naming the path, got %v", err)
	}
	if Name() != "gonum" {
		t.Errorf("after a failed Use the fallback must be gonum, got %q", Name())
	}
	if err := Use("gonum"); err != nil || Name() != "gonum" {
		t.Errorf("Use(gonum) = %v, Name %q", err, Name())
	}
}

func TestOpenBLASNameAndThreads(t *testing.T) {
	ob, err := openOpenBLAS(nil)
	if err != nil {
		t.Skip(err)
	}
	withBackend(ob, func() {
		old := Threads()
		defer SetThreads(old)
		SetThreads(1)
		if Threads() != 1 {
			t.Errorf("SetThreads(1): Threads() = %d", Threads())
		}
		if n := Name(); !strings.HasPrefix(n, "openblas (") || !strings.Contains(n, "1 threads") {
			t.Errorf("Name() = %q", n)
		}
	})
}

func TestSgemmDoesNotAllocate(t *testing.T) {
	ob, err := openOpenBLAS(nil)
	if err != nil {
		t.Skip(err)
	}
	a, b, c := make([]float32, 64*64), make([]float32, 64*64), make([]float32, 64*64)
	withBackend(ob, func() {
		if n := testing.AllocsPerRun(50, func() { Sgemm(false, true, 64, 64, 64, 1, a, 64, b, 64, 0, c, 64) }); n != 0 {
			t.Errorf("openblas Sgemm allocates %v times per call", n)
		}
	})
}

func BenchmarkSgemmConv3x3(b *testing.B) {
	// The shape of a 3x3, 64->64 conv at 14x14 over 4 samples.
	m, n, k := 64, 4*196, 576
	rng := rand.New(rand.NewPCG(5, 6))
	a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	b.ReportAllocs()
	for b.Loop() {
		Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
	b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
