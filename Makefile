# dnas: the two commands are `make demo` and `make test`. Both install what is
# missing first (Debian packages via apt-get, Go modules via the proxy).
GO       ?= go
PY       ?= /usr/bin/python3
BIN      := bin/dnas
PRESET   ?= small
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all deps build demo test test-cache test-go test-kernel test-notebooks bench bench-sample generate clean

all: build

deps:
	./tools/install-deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/dnas

# The main job: the whole DiffNAS pipeline on the small preset with the committed
# teacher, then the quickstart notebook through the dnas kernel into HTML.
demo: deps build
	./$(BIN) run --preset $(PRESET) --out out/demo
	./tools/run-notebook.sh notebooks/01_diffusion_basics.ipynb out/demo small

test: deps build test-cache test-go test-kernel test-notebooks

# The tests get an evaluation cache of their own, empty at the start of `make test`
# (a teacher evaluation cached by an earlier run would skip the code under test).
TEST_CACHE := $(CURDIR)/out/test-cache
test-go test-kernel test-notebooks: export DNAS_CACHE_DIR = $(TEST_CACHE)
test-cache:
	rm -rf $(TEST_CACHE)

test-go:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	$(GO) test -count=1 -timeout 15m ./...

test-kernel: build
	./tools/kernel-conformance.sh

test-notebooks: build
	$(PY) tools/mknotebooks.py --check
	./tools/run-notebooks.sh tiny

# PyTorch and dnas side by side in one run, with the ratios.
bench: deps build
	./bench/compare.sh

# Issue 3's sampling target: 1,000 images, DDIM 50 steps, base teacher, batch 100,
# dnas then PyTorch (each about 5 minutes on 2 quiet cores, much longer on a busy machine:
# dnas used 475 CPU seconds; SAMPLE=100 for a quick look).
SAMPLE ?= 1000
bench-sample: deps build
	./bench/compare.sh --sample $(SAMPLE) --sample-steps 50 --sample-batch 100 --rounds 1

generate:
	$(GO) generate ./...

clean:
	rm -rf bin out
