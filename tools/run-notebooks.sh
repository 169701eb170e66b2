#!/bin/sh
# Runs every notebook in notebooks/ headless through the dnas kernel on a preset
# (tiny in CI), failing on the first cell error.
# usage: tools/run-notebooks.sh [PRESET]
set -eu
preset="${1:-tiny}"
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-/usr/bin/python3}"
if ! "$PY" -c "import nbconvert, nbclient" 2>/dev/null; then
	echo "run-notebooks: $PY lacks nbconvert/nbclient (apt-get install python3-nbclient jupyter-nbconvert)" >&2
	exit 1
fi
for nb in "$root"/notebooks/[0-9]*.ipynb; do
	"$root/tools/run-notebook.sh" "notebooks/$(basename "$nb")" "$root/out/notebooks-$preset" "$preset"
done
