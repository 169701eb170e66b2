#!/bin/sh
# The whole base-preset chain, resumable: run it again after an interruption
# (or in the next session) and it continues where it stopped.
#   1. train the base teacher (10,000 steps; EMA snapshots every 500), which
#      ends with its 2,000-sample DDIM-50 evaluation (report.json)
#   2. the quality curve over its snapshots (500 samples, DDIM 20)
#   3. the DiffNAS pipeline on it: stage 1 and the search at loss_scale 1.0
#      (out/run-base), then retraining at loss_scale 1.15 (out/run-base-1.15)
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

log "3/3 DiffNAS pipeline: stage 1 and the search at METHOD.md's loss_scale 1.0 (out/run-base)"
# At loss_scale 1.0 the rule removed only 2.3% of the MACs on base
# (results/base/search.md); 1.15 is the smallest tolerance that removes
# >= 30%, so the retraining budget goes to that subnet and the teacher
# architecture, on the same stage-1 supernet (copied, not retrained).
if [ ! -f out/run-base/search/subnet.json ]; then
	"$DNAS" run --preset base --teacher "$T/teacher.safetensors" --out out/run-base --models subnet &
	pid=$!
	while [ ! -f out/run-base/search/subnet.json ] && kill -0 $pid 2>/dev/null; do sleep 10; done
	kill -TERM $pid 2>/dev/null || true
	wait $pid || true
fi
R=out/run-base-1.15
if [ ! -d "$R/stage1" ]; then
	mkdir -p "$R/stage1" && cp out/run-base/stage1/* "$R/stage1/"
fi
log "retraining at loss_scale 1.15 (resumes $R)"
"$DNAS" run --preset base --loss-scale 1.15 --teacher "$T/teacher.safetensors" --out "$R"
log "done: $R/summary.md"
