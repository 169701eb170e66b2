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
#        bench/compare.sh --sample N [--sample-steps 50] [--sample-batch 100] [--model F] [--no-check]
#   --gonum   also time dnas on its pure-Go BLAS fallback (DNAS_BLAS=gonum)
#   --sample  instead time sampling N images with DDIM (eta 0) from the base teacher
#             (models/base.safetensors, or --model FILE) in dnas and in PyTorch
#             (bench/torch_sample.py), same batch for both, and first check that
#             both turn the same noise into the same images (--no-check skips it)
# env: DNAS (the dnas binary, default bin/dnas, built if missing),
#      PY (default /usr/bin/python3), DNAS_BLAS (as for dnas).
set -euo pipefail
cd "$(dirname "$0")/.."

batch=64 steps=10 rounds=2 gonum=0
sample=0 sample_steps=50 sample_batch=100 model=models/base.safetensors check=1
while [ $# -gt 0 ]; do
	case "$1" in
	--batch) batch=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--gonum) gonum=1; shift ;;
	--sample) sample=$2; shift 2 ;;
	--sample-steps) sample_steps=$2; shift 2 ;;
	--sample-batch) sample_batch=$2; shift 2 ;;
	--model) model=$2; shift 2 ;;
	--no-check) check=0; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

if [ "$sample" -gt 0 ]; then
	help=$("$DNAS" bench --help 2>&1 || true) # (grep -q in a pipe would SIGPIPE dnas under pipefail)
	if [[ "$help" != *-sample-steps* ]]; then
		echo "compare.sh: $DNAS has no bench --sample (built before it existed): rebuild it (make build)" >&2
		exit 1
	fi
	read -r load0 _ </proc/loadavg
	loads=""
	if [ "$check" = 1 ]; then
		echo "check: dnas and pytorch from the same noise, 4 images, $sample_steps steps" >&2
		"$DNAS" bench --sample 4 --sample-steps "$sample_steps" --model "$model" --sample-dump "$out/dump.safetensors" --json >/dev/null
		"$PY" bench/torch_sample.py --check "$out/dump.safetensors" --model "$model" >"$out/check.json" ||
			{ cat "$out/check.json"; echo "compare.sh: dnas and PyTorch sample different images" >&2; exit 1; }
	fi
	for r in $(seq 1 "$rounds"); do
		echo "round $r/$rounds: dnas, $sample images" >&2
		"$DNAS" bench --json --sample "$sample" --sample-steps "$sample_steps" --sample-batch "$sample_batch" --model "$model" >>"$out/go.jsonl"
		read -r l _ </proc/loadavg; loads="$loads $l"
		echo "round $r/$rounds: pytorch, $sample images" >&2
		"$PY" bench/torch_sample.py --n "$sample" --steps "$sample_steps" --batch "$sample_batch" --model "$model" >>"$out/torch.jsonl"
		read -r l _ </proc/loadavg; loads="$loads $l"
	done
	# the 1-minute load average at the start and after each side: the machine's
	# other work, which slows both sides (PyTorch's OpenMP threads more)
	"$PY" - "$out" "$load0" "$loads" <<'PYEOF'
import json, os, sys
d, load0, loads = sys.argv[1], sys.argv[2], sys.argv[3].split()
load1 = loads[-1]
def best(name):
    runs = [json.loads(l) for l in open(os.path.join(d, name)) if l.strip()]
    b = dict(min(runs, key=lambda r: r["seconds"]))
    b["cpu_seconds"] = min(r["cpu_seconds"] for r in runs)
    b["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    b["rounds"] = len(runs)
    return b
go, pt = best("go.jsonl"), best("torch.jsonl")
print("dnas:    %s, %d workers" % (go["blas"], go["workers"]))
print("pytorch: %s, %d threads" % (pt["version"], pt["threads"]))
print("%s, %s, batch %d, %d forwards; best of %d" % (go["model"], go["sampler"], go["batch"], go["forwards"], go["rounds"]))
print("load average (1 min): %s at start, then after each side (dnas, pytorch, ...): %s" % (load0, " ".join(loads)))
print("%-15s %10s %10s %12s" % ("%d images" % go["images"], "dnas", "pytorch", "dnas/pytorch"))
for label, key in [("seconds", "seconds"), ("ms/forward", "ms_per_forward"), ("CPU seconds", "cpu_seconds"),
                   ("peak RSS MB", "peak_rss_mb")]:
    print("%-15s %10.1f %10.1f %12.2f" % (label, go[key], pt[key], go[key] / pt[key]))
print("%-15s %10.2f %10.2f" % ("images/s", go["images_per_s"], pt["images_per_s"]))
chk = None
if os.path.exists(os.path.join(d, "check.json")):
    chk = json.load(open(os.path.join(d, "check.json")))
    print("same noise -> same images: max |dnas - pytorch| = %.2g over %d images, %d steps (tol %g)" % (
        chk["max_abs_diff"], chk["images"], chk["steps"], chk["tol"]))
print(json.dumps({"dnas": go, "pytorch": pt, "check": chk, "load_start": float(load0), "load_end": float(load1), "loads_after_each_side": [float(l) for l in loads],
                  "ratio_seconds": go["seconds"] / pt["seconds"], "ratio_rss": go["peak_rss_mb"] / pt["peak_rss_mb"]}))
PYEOF
	exit 0
fi

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
