#!/bin/sh
# Runs one notebook top to bottom through the dnas kernel, headless, and writes
# it as HTML (and as an executed .ipynb) into OUTDIR.
# usage: tools/run-notebook.sh NOTEBOOK OUTDIR [PRESET]
set -eu
nb="$1"; outdir="$2"; preset="${3:-tiny}"
PY="${PY:-/usr/bin/python3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
spec="$outdir/.jupyter"
"$root/bin/dnas" kernel install --prefix "$spec" >/dev/null
export JUPYTER_PATH="$spec/share/jupyter"
export DNAS_PRESET="$preset"
name="$(basename "$nb" .ipynb)"
cd "$root/notebooks"
"$PY" -m nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=dnas \
	--ExecutePreprocessor.timeout=1800 --output-dir "$outdir" --output "$name" "$root/$nb"
"$PY" -m nbconvert --to html --output-dir "$outdir" "$outdir/$name.ipynb" >/dev/null 2>&1
echo "notebook $nb ran on preset $preset: $outdir/$name.html"
