#!/bin/sh
# The base headline's retraining again, with both models drawn layer by
# layer (no retraining starts from the teacher's own initial weights since
# commit ab69ba8; results/initbias): the committed run results/base/run
# (teacher models/base.safetensors, stage 1 and the search at loss_scale
# 1.15) is copied to $OUT/base-fair/run without its retrainings and
# evaluations (the teacher's evaluation stays: it is unchanged), and
# `dnas run` retrains and evaluates the subnet and the teacher architecture
# there with the run's own options: 4,000 steps each, about 4 hours of both
# cores. Resumable: run it again after an interruption.
# Usage: [OUT=dir] tools/base-fair.sh [dnas binary]
#   (default OUT: out; for a run that spans sessions, OUT=$HOME/dnas-out)
set -eu
export DNAS_PROGRESS="${DNAS_PROGRESS:-1}"
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DNAS=${1:-}
if [ -z "$DNAS" ]; then
	go build -o bin/dnas ./cmd/dnas
	DNAS=bin/dnas
fi
OUT=${OUT:-out}
R=$OUT/base-fair/run
TEACHER=$ROOT/models/base.safetensors
if [ ! -f "$R/state.json" ]; then
	mkdir -p "$OUT/base-fair"
	cp -r results/base/run "$R"
	# Keep stage 1, the search and the teacher's evaluation; drop the
	# retrained models, their evaluations and the report.
	/usr/bin/python3 - "$R" "$TEACHER" <<'EOF'
import json, os, sys
run, teacher = os.path.abspath(sys.argv[1]), sys.argv[2]
with open(os.path.join(run, "state.json")) as f:
    state = json.load(f)
state["options"]["teacher"] = teacher
state["options"]["out_dir"] = run
state["stages"] = [s for s in state["stages"] if s["stage"] in ("stage1", "search", "eval:teacher")]
with open(os.path.join(run, "state.json"), "w") as f:
    json.dump(state, f, indent=1)
EOF
	rm -f "$R"/results.json "$R"/summary.md "$R"/eval/subnet.* "$R"/eval/teacher-arch.* "$R"/dynamics-* "$R"/models.*
fi
echo "[base-fair $(date -u +%H:%M:%S)] retraining subnet and teacher architecture in $R"
"$DNAS" run --preset base --teacher "$TEACHER" --loss-scale 1.15 --out "$R"
echo "[base-fair $(date -u +%H:%M:%S)] done: $R/summary.md"
