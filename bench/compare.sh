#!/usr/bin/env bash
# Times the reference UNet in dnas (Go) and in PyTorch back to back, in one
# run, and prints both and the ratios Go/PyTorch (below 1 means Go is faster
# or smaller). Other work on the machine slows both alike, so compare the
# ratios, and repeat when the machine is quiet: every round runs Go then
# PyTorch, and the best time of each over the rounds is kept. The CPU times
# (all threads) are printed too: on a busy machine they show the cost of a
# step better than the wall clock (PyTorch's include OpenMP's spin-waiting).
#
# usage: bench/compare.sh [--batch 64] [--steps 10] [--rounds 2] [--gonum]
#   --gonum  also time dnas on its pure-Go BLAS fallback (DNAS_BLAS=gonum)
# env: DNAS (the dnas binary, default bin/dnas, built if missing),
#      PY (default /usr/bin/python3), DNAS_BLAS (as for dnas).
set -euo pipefail
cd "$(dirname "$0")/.."

batch=64 steps=10 rounds=2 gonum=0
while [ $# -gt 0 ]; do
	case "$1" in
	--batch) batch=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--gonum) gonum=1; shift ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

DNAS=${DNAS:-bin/dnas}
PY=${PY:-/usr/bin/python3}
if [ ! -x "$DNAS" ]; then
	echo "building $DNAS" >&2
	go build -o "$DNAS" ./cmd/dnas
fi
if ! "$PY" -c 'import torch' 2>/dev/null; then
	echo "compare.sh: $PY cannot import torch (apt-get install python3-torch)" >&2
	exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds: dnas" >&2
	"$DNAS" bench --json --batch "$batch" --steps "$steps" >>"$out/go.jsonl"
	echo "round $r/$rounds: pytorch" >&2
	"$PY" bench/torch_unet.py --batch "$batch" --steps "$steps" >>"$out/torch.jsonl"
done
if [ "$gonum" = 1 ]; then
	echo "dnas on gonum (pure Go BLAS)" >&2
	"$DNAS" bench --json --blas gonum --batch "$batch" --steps "$steps" >"$out/gonum.jsonl"
fi

"$PY" - "$out" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
def best(name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return None
    runs = [json.loads(l) for l in open(path) if l.strip()]
    b = dict(min(runs, key=lambda r: r["train_step_ms"]))
    b["forward_ms"] = min(r["forward_ms"] for r in runs)
    b["forward_cpu_ms"] = min(r["forward_cpu_ms"] for r in runs)
    b["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    b["rounds"] = len(runs)
    return b
go, pt, gn = best("go.jsonl"), best("torch.jsonl"), best("gonum.jsonl")
print("dnas:    %s, %d workers" % (go["blas"], go["workers"]))
print("pytorch: %s, %d threads" % (pt["version"], pt["threads"]))
print("params %.3fM / %.3fM, MACs/sample %.1fM / %.1fM (dnas / pytorch)" % (
    go["params"] / 1e6, pt["params"] / 1e6, go["macs_per_sample"] / 1e6, pt["macs_per_sample"] / 1e6))
rows = [("train step ms", "train_step_ms"), ("forward ms", "forward_ms"), ("peak RSS MB", "peak_rss_mb"),
        ("train CPU ms", "train_cpu_ms"), ("forward CPU ms", "forward_cpu_ms")]
print("%-15s %10s %10s %12s" % ("batch %d" % go["batch"], "dnas", "pytorch", "dnas/pytorch"))
for label, key in rows:
    print("%-15s %10.1f %10.1f %12.2f" % (label, go[key], pt[key], go[key] / pt[key]))
print("dnas allocations per training step: %.1f" % go["allocs_per_step"])
if gn:
    print("gonum fallback: train step %.1f ms (%.2fx pytorch), forward %.1f ms (%.2fx)" % (
        gn["train_step_ms"], gn["train_step_ms"] / pt["train_step_ms"], gn["forward_ms"], gn["forward_ms"] / pt["forward_ms"]))
print(json.dumps({"dnas": go, "pytorch": pt, "gonum": gn,
                  "ratio_train": go["train_step_ms"] / pt["train_step_ms"],
                  "ratio_forward": go["forward_ms"] / pt["forward_ms"],
                  "ratio_rss": go["peak_rss_mb"] / pt["peak_rss_mb"]}))
PYEOF
