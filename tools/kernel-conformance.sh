#!/bin/sh
# Runs jupyter_kernel_test (Debian python3-jupyter-kernel-test) against the
# built dnas kernel through a temporary kernelspec.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/kernel/conformance/run.sh" "$root/bin/dnas"
