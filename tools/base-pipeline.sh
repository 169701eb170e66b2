#!/bin/sh
# The whole base-preset chain, resumable: run it again after an interruption
# (or in the next session) and it continues where it stopped.
#   1. train the base teacher (10,000 steps; EMA snapshots every 500), which
#      ends with its 2,000-sample DDIM-50 evaluation (report.json)
#   2. the quality curve over its snapshots (500 samples, DDIM 20)
#   3. the DiffNAS pipeline on it (dnas run --preset base)
# Usage: tools/base-pipeline.sh [dnas binary]   (default: bin/dnas, rebuilt from this checkout)
# Output under out/ (not committed): out/teacher-base, out/run-base.
set -eu
# One progress line every 10 s in the log (the bar redraws in place only on a terminal).
export DNAS_PROGRESS="${DNAS_PROGRESS:-1}"
cd "$(dirname "$0")/.."
DNAS=${1:-}
if [ -z "$DNAS" ]; then
	go build -o bin/dnas ./cmd/dnas
	DNAS=bin/dnas
fi
T=out/teacher-base
log() { echo "[base-pipeline $(date -u +%H:%M:%S)] $*"; }

if [ ! -f "$T/report.json" ]; then
	log "1/3 teacher (resumes $T/train.safetensors if present)"
	"$DNAS" teacher --preset base --seed 1 --out "$T" --snapshot-every 500 --checkpoint-every 250
fi
log "teacher: $(tr -d '\n ' < "$T/report.json" | head -c 200)"

log "2/3 quality curve over $T/snapshots (points already measured are reused)"
"$DNAS" fid --model "$T/snapshots/*.safetensors" --samples 500 --steps 20 --out "$T/curve"

log "3/3 DiffNAS pipeline (resumes out/run-base)"
"$DNAS" run --preset base --teacher "$T/teacher.safetensors" --out out/run-base
log "done: out/run-base/summary.md"
