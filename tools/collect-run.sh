#!/bin/sh
# Copies the report of a `dnas run` directory (summary.md, results.json,
# state.json, the charts, the search results, the evaluations and their sample
# grids, an ablation's tables) into DEST, leaving out the checkpoints
# (stage1/, retrain/ and every .safetensors): what results/ keeps of a run.
# usage: tools/collect-run.sh RUN_DIR DEST
set -eu
if [ $# -ne 2 ] || [ ! -f "$1/state.json" ]; then
	echo "usage: tools/collect-run.sh RUN_DIR DEST  (RUN_DIR: a dnas run --out directory, with its state.json)" >&2
	exit 2
fi
mkdir -p "$2"
dest="$(cd "$2" && pwd)"
cd "$1"
find . -type f \( -name '*.md' -o -name '*.json' -o -name '*.png' -o -name '*.svg' \) \
	! -path './stage1/*' ! -path './retrain/*' | sort | while read -r f; do
	mkdir -p "$dest/$(dirname "$f")"
	cp "$f" "$dest/$f"
	echo "$dest/${f#./}"
done
