#!/bin/sh
# Runs the jupyter_kernel_test conformance suite against the dnas kernel.
#
#   kernel/conformance/run.sh [DNAS_BINARY]     (default: bin/dnas)
#
# The kernelspec is installed into a temporary prefix put on JUPYTER_PATH,
# so nothing outside the temporary directory is touched. Debian's
# python3-jupyter-kernel-test is used through /usr/bin/python3 (override
# with PY=...); without it the suite is skipped with a message.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dnas=${1:-bin/dnas}
case $dnas in /*) ;; *) dnas=$(pwd)/$dnas ;; esac
py=${PY:-/usr/bin/python3}
if [ ! -x "$dnas" ]; then
	echo "kernel conformance: $dnas not found: build it first (make build)" >&2
	exit 1
fi
if ! "$py" -c 'import jupyter_kernel_test' 2>/dev/null; then
	echo "kernel conformance: SKIPPED: $py cannot import jupyter_kernel_test (apt-get install python3-jupyter-kernel-test)" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$dnas" kernel install --prefix "$tmp" >/dev/null
cd "$here"
JUPYTER_PATH="$tmp/share/jupyter" JUPYTER_RUNTIME_DIR="$tmp/runtime" \
	"$py" -m unittest -v test_dnas_kernel
