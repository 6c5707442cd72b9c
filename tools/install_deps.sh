#!/bin/sh
# Install the Debian packages HAKMEM needs to build, test and benchmark.
# Runs apt-get only when something is missing; needs root for that.
set -eu
PKGS="build-essential pkg-config check libunwind-dev valgrind gdb python3 xz-utils
      libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 gnuplot-nox time man-db
      perl sqlite3 clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install_deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
