#!/bin/sh
# Install the Debian 12 packages vitviz needs to build, test and run.
# Idempotent: packages already present are not touched and apt is not
# called at all when nothing is missing.  chromium and nodejs run the
# browser test of the HTML viewer (tests/browser/; no npm packages).
#
#   scripts/install-deps.sh            build + test + run dependencies
#                                      (the tests also run sharded embeds
#                                      under mpirun and a local Slurm:
#                                      openmpi-bin, slurm-wlm, munge)
#   scripts/install-deps.sh --python   also the Python stack used only to
#                                      regenerate fixtures, the demo and benches
#   scripts/install-deps.sh --dev      also the hardening tools (CI, `make
#                                      fuzz`, `make valgrind`): clang with
#                                      libFuzzer (libclang-rt-14-dev) and valgrind
set -eu

PKGS="build-essential pkg-config
libopenblas-dev liblapacke-dev
libcairo2-dev libpango1.0-dev fonts-wqy-microhei
libjpeg62-turbo-dev libpng-dev
libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libx264-dev
libcjson-dev libzip-dev libyaml-dev libcmocka-dev
chromium nodejs
openmpi-bin slurm-wlm munge"
PYPKGS="python3 python3-numpy python3-scipy python3-sklearn python3-pil
python3-matplotlib python3-torch python3-yaml ffmpeg"

DEVPKGS="clang libclang-rt-14-dev valgrind"

want=$PKGS
for a in "$@"; do
	case $a in
	--python) want="$want $PYPKGS" ;;
	--dev) want="$want $DEVPKGS" ;;
	*) echo "install-deps: unknown option $a (--python, --dev)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: missing packages:$missing; run this script as root (apt-get needs it)" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# wait for another apt (unattended-upgrades, a parallel build) instead of failing
LOCK="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
$SUDO apt-get $LOCK update -qq
# shellcheck disable=SC2086
$SUDO apt-get $LOCK install -y -qq --no-install-recommends $missing >/dev/null
