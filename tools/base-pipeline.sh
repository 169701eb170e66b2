#!/bin/sh
# The whole base-preset chain, resumable: run it again after an interruption
# (or in the next session) and it continues where it stopped.
#   1. train the base teacher (10,000 steps; EMA snapshots every 500), which
#      ends with its 2,000-sample DDIM-50 evaluation (report.json); with
#      TEACHER_V2=1, then take it further on a second learning-rate cycle to
#      30,000 steps (a warm restart, snapshots every 1,000) into
#      $OUT/teacher-base-v2 and use that teacher for the rest
#   2. the quality curve over its snapshots (500 samples, DDIM 20)
#   3. the DiffNAS pipeline on it: stage 1 and the search at loss_scale 1.0
#      (out/run-base), then retraining at loss_scale $LOSS_SCALE (default
#      1.15) on the same supernet (out/run-base-<loss_scale>); for v2 (without
#      LOSS_SCALE) one run with --min-reduction 0.3 (the smallest loss_scale
#      that removes >= 30% of the MACs) (out/run-base-v2-min30)
# With TEACHER=FILE, steps 1 and 2 are skipped and step 3 is the v2 one
# (--min-reduction 0.3) on that teacher, e.g. the committed
# models/base.safetensors (into $OUT/run-base-<its name>-min30).
# Usage: [OUT=dir] [TEACHER_V2=1 | TEACHER=file] [LOSS_SCALE=x] tools/base-pipeline.sh [dnas binary]
#   (default binary: bin/dnas, rebuilt from this checkout)
# Output under $OUT (default out/, not committed). A new work tree does not
# keep out/: for a chain that spans sessions put OUT outside it (e.g.
# OUT=$HOME/dnas-out), which lasts as long as the machine does.
set -eu
# One progress line every 10 s in the log (the bar redraws in place only on a terminal).
export DNAS_PROGRESS="${DNAS_PROGRESS:-1}"
cd "$(dirname "$0")/.."
DNAS=${1:-}
if [ -z "$DNAS" ]; then
	go build -o bin/dnas ./cmd/dnas
	DNAS=bin/dnas
fi
LS=${LOSS_SCALE:-}
OUT=${OUT:-out}
T=$OUT/teacher-base
RUN=$OUT/run-base
log() { echo "[base-pipeline $(date -u +%H:%M:%S)] $*"; }

if [ -n "${TEACHER:-}" ]; then
	R=$RUN-$(basename "$TEACHER" .safetensors)-min30
	log "DiffNAS pipeline on $TEACHER, --min-reduction 0.3 (resumes $R)"
	"$DNAS" run --preset base --teacher "$TEACHER" --out "$R" --min-reduction 0.3
	log "done: $R/summary.md"
	exit 0
fi

if [ ! -f "$T/report.json" ]; then
	log "1/3 teacher (resumes $T/train.safetensors if present)"
	"$DNAS" teacher --preset base --seed 1 --out "$T" --snapshot-every 500 --checkpoint-every 250
fi
log "teacher: $(tr -d '\n ' < "$T/report.json" | head -c 200)"
if [ "${TEACHER_V2:-0}" = 1 ]; then
	V=$OUT/teacher-base-v2
	if [ ! -f "$V/report.json" ]; then
		log "1/3 teacher v2: warm restart of $T to 30,000 steps (resumes $V if present)"
		"$DNAS" teacher --preset base --restart-from "$T/train.safetensors" --restart-lr 5e-4 \
			--steps 30000 --out "$V" --snapshot-every 1000 --checkpoint-every 250
	fi
	log "teacher v2: $(tr -d '\n ' < "$V/report.json" | head -c 200)"
	# One curve over both cycles: the first cycle's snapshots sit beside the second's.
	for s in "$T"/snapshots/*.safetensors; do
		[ -e "$V/snapshots/$(basename "$s")" ] || ln -s "../../teacher-base/snapshots/$(basename "$s")" "$V/snapshots/"
	done
	# The first cycle's points were measured already, with the same settings.
	if [ ! -f "$V/curve/curve.json" ] && [ -f "$T/curve/curve.json" ]; then
		mkdir -p "$V/curve"
		sed "s#$T/snapshots/#$V/snapshots/#g" "$T/curve/curve.json" > "$V/curve/curve.json"
	fi
	T=$V
	RUN=$OUT/run-base-v2
fi

log "2/3 quality curve over $T/snapshots (points already measured are reused)"
"$DNAS" fid --model "$T/snapshots/*.safetensors" --samples 500 --steps 20 --out "$T/curve"

if [ "${TEACHER_V2:-0}" = 1 ] && [ -z "$LS" ]; then
	# One run: the rule at the smallest loss_scale whose subnet removes >= 30%
	# of the MACs (exact, from the candidate tables); its summary also gives
	# what METHOD.md's loss_scale 1.0 removes on the same tables.
	R=$RUN-min30
	log "3/3 DiffNAS pipeline, --min-reduction 0.3 (resumes $R)"
	"$DNAS" run --preset base --teacher "$T/teacher.safetensors" --out "$R" --min-reduction 0.3
	log "done: $R/summary.md"
	exit 0
fi

log "3/3 DiffNAS pipeline: stage 1 and the search at METHOD.md's loss_scale 1.0 ($RUN)"
# At loss_scale 1.0 the rule removed only 2.3% of the MACs on the first base
# teacher (results/base/search.md); 1.15 was the smallest grid tolerance that
# removed >= 30%, so the retraining budget goes to that subnet and the
# teacher architecture, on the same stage-1 supernet (copied, not retrained).
if [ ! -f "$RUN/search/subnet.json" ]; then
	"$DNAS" run --preset base --teacher "$T/teacher.safetensors" --out "$RUN" --models subnet &
	pid=$!
	while [ ! -f "$RUN/search/subnet.json" ] && kill -0 $pid 2>/dev/null; do sleep 10; done
	kill -TERM $pid 2>/dev/null || true
	wait $pid || true
fi
LS=${LS:-1.15}
R=$RUN-$LS
if [ ! -d "$R/stage1" ]; then
	mkdir -p "$R/stage1" && cp "$RUN"/stage1/* "$R/stage1/"
fi
log "retraining at loss_scale $LS (resumes $R)"
"$DNAS" run --preset base --loss-scale "$LS" --teacher "$T/teacher.safetensors" --out "$R"
log "done: $R/summary.md"
