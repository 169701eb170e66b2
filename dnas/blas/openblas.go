//go:build linux || darwin || freebsd

package blas

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"dnas/dnas/tensor"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/cpu"
)

// openBLAS is an OpenBLAS shared library opened with purego (dlopen without
// cgo).
//
// Why sgemm_ and not cblas_sgemm: cblas_sgemm mixes integer and float
// arguments passed by value. purego's allocation-free SyscallN cannot place
// such a mix in the right registers, and its RegisterFunc path (which can)
// builds reflect values on every call, i.e. allocates on every product. The
// Fortran entry point sgemm_ of the same library takes every argument by
// reference, so SyscallN calls it correctly and without allocating; it runs
// the same kernels as cblas_sgemm. The row-major product is expressed in
// column-major terms the way cblas does it: C^T = op(B)^T op(A)^T.
type openBLAS struct {
	path    string
	sgemmFn uintptr // sgemm_
	setFn   uintptr // openblas_set_num_threads (0 if absent)
	getFn   uintptr // openblas_get_num_threads (0 if absent)
	config  string  // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
	core    string  // openblas_get_corename(): the kernels in use, e.g. "SkylakeX"
}

// gemmArgs holds the by-reference arguments of one sgemm_ call. They live in
// a free list (tensor.FreeList, not a sync.Pool, whose per-P slots allocate
// at random) so that concurrent calls do not share them and steady-state
// calls do not allocate.
//
// args is the argument list handed to purego.SyscallN as an existing slice:
// writing the 13 conversions inline in the call would make the compiler build
// a fresh heap slice on every call. The matrices' pointers are also kept in
// mats, as real pointers: storing them in this heap object makes them escape
// to the heap (which never moves objects) and keeps them alive until the
// call returns, which is what the inline uintptr conversions would guarantee.
type gemmArgs struct {
	transA, transB byte
	m, n, k        int32
	lda, ldb, ldc  int32
	alpha, beta    float32
	mats           [3]unsafe.Pointer
	args           [13]uintptr
}

var argPool tensor.FreeList[gemmArgs]

// defaultPaths are tried in order by "auto" and "openblas": absolute paths
// first, so that Name can say which file was opened.
func defaultPaths() []string {
	switch runtime.GOOS {
	case "darwin":
		return []string{"/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib", "libopenblas.dylib"}
	default:
		multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "riscv64": "riscv64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu", "loong64": "loongarch64-linux-gnu"}[runtime.GOARCH]
		var ps []string
		if multiarch != "" {
			ps = append(ps, "/usr/lib/"+multiarch+"/libopenblas.so.0")
		}
		return append(ps, "/usr/lib64/libopenblas.so.0", "/usr/lib/libopenblas.so.0", "/usr/local/lib/libopenblas.so.0", "libopenblas.so.0", "libopenblas.so")
	}
}

// openOpenBLAS opens the first loadable library of paths (defaultPaths when
// nil). The error names every path tried and why it failed.
func openOpenBLAS(paths []string) (backend, error) {
	if paths == nil {
		paths = defaultPaths()
	}
	var why []string
	for _, p := range paths {
		ob, err := openLib(p)
		if err == nil {
			return ob, nil
		}
		why = append(why, err.Error())
	}
	return nil, errors.New("cannot load OpenBLAS: " + strings.Join(why, "; ") +
		" (install it, e.g. apt-get install libopenblas0-pthread, or set DNAS_BLAS to the library's path, or DNAS_BLAS=gonum)")
}

// pickCoreType helps OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds).
// OpenBLAS 0.3.21, Debian 12's, does not know recent Intel server CPUs (e.g.
// Sapphire Rapids, which virtual machines report as plain "Intel Xeon
// Processor") and falls back to its "Prescott" SSE3 kernels, 5 to 6 times
// slower than its AVX-512 ones. Unless the user already chose with
// OPENBLAS_CORETYPE, this sets it from the CPU's features before the library
// is opened (OpenBLAS reads it in its constructor): "SkylakeX" for AVX-512,
// "Haswell" for AVX2+FMA. Without cgo, os.Setenv reaches the C environment
// through purego's runtime shim.
func pickCoreType() {
	if runtime.GOARCH != "amd64" || os.Getenv("OPENBLAS_CORETYPE") != "" {
		return
	}
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL:
		os.Setenv("OPENBLAS_CORETYPE", "SkylakeX")
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		os.Setenv("OPENBLAS_CORETYPE", "Haswell")
	}
}

func openLib(path string) (*openBLAS, error) {
	pickCoreType()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, path) {
			return nil, err // dlerror already names the file
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ob := &openBLAS{path: path}
	if ob.sgemmFn, err = purego.Dlsym(h, "sgemm_"); err != nil {
		purego.Dlclose(h)
		return nil, fmt.Errorf("%s: opened, but it exports no sgemm_ (not a BLAS?)", path)
	}
	ob.setFn, _ = purego.Dlsym(h, "openblas_set_num_threads")
	ob.getFn, _ = purego.Dlsym(h, "openblas_get_num_threads")
	// Called once each: purego's reflect path (which allocates) is fine here.
	if fn, err := purego.Dlsym(h, "openblas_get_config"); err == nil {
		var getConfig func() string
		purego.RegisterFunc(&getConfig, fn)
		ob.config = getConfig()
	}
	if fn, err := purego.Dlsym(h, "openblas_get_corename"); err == nil {
		var getCore func() string
		purego.RegisterFunc(&getCore, fn)
		ob.core = getCore()
	}
	return ob, nil
}

func (ob *openBLAS) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const maxInt32 = 1<<31 - 1
	if m > maxInt32 || n > maxInt32 || k > maxInt32 || lda > maxInt32 || ldb > maxInt32 || ldc > maxInt32 {
		panic(fmt.Sprintf("blas.Sgemm: sizes m=%d n=%d k=%d exceed OpenBLAS's 32-bit integers", m, n, k))
	}
	g := argPool.Get()
	// Column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
	g.transA, g.transB = 'N', 'N'
	if transB {
		g.transA = 'T'
	}
	if transA {
		g.transB = 'T'
	}
	g.m, g.n, g.k = int32(n), int32(m), int32(k)
	g.lda, g.ldb, g.ldc = int32(ldb), int32(lda), int32(ldc)
	g.alpha, g.beta = alpha, beta
	g.mats = [3]unsafe.Pointer{unsafe.Pointer(&b[0]), unsafe.Pointer(&a[0]), unsafe.Pointer(&c[0])}
	g.args = [13]uintptr{
		uintptr(unsafe.Pointer(&g.transA)), uintptr(unsafe.Pointer(&g.transB)),
		uintptr(unsafe.Pointer(&g.m)), uintptr(unsafe.Pointer(&g.n)), uintptr(unsafe.Pointer(&g.k)),
		uintptr(unsafe.Pointer(&g.alpha)),
		uintptr(g.mats[0]), uintptr(unsafe.Pointer(&g.lda)),
		uintptr(g.mats[1]), uintptr(unsafe.Pointer(&g.ldb)),
		uintptr(unsafe.Pointer(&g.beta)),
		uintptr(g.mats[2]), uintptr(unsafe.Pointer(&g.ldc)),
	}
	purego.SyscallN(ob.sgemmFn, g.args[:]...)
	runtime.KeepAlive(g)
	g.mats = [3]unsafe.Pointer{} // do not keep the caller's matrices alive in the pool
	argPool.Put(g)
}

func (ob *openBLAS) name() string {
	return fmt.Sprintf("openblas (%s, %d threads)", ob.path, ob.threads())
}

func (ob *openBLAS) threads() int {
	if ob.getFn == 0 {
		return 1
	}
	r, _, _ := purego.SyscallN(ob.getFn)
	return int(int32(r))
}

func (ob *openBLAS) setThreads(n int) {
	if ob.setFn != 0 {
		purego.SyscallN(ob.setFn, uintptr(n))
	}
}

// Config returns OpenBLAS's build description and the kernels it runs
// (openblas_get_config and openblas_get_corename, e.g. "OpenBLAS 0.3.21
// DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64; core SkylakeX"), or ""
// when the backend is not OpenBLAS.
func Config() string {
	if ob, ok := cur.(*openBLAS); ok {
		return ob.config + "; core " + ob.core
	}
	return ""
}
