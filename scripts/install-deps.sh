#!/bin/sh
# Installs the Debian 12 packages mmdx builds, tests and benchmarks with.
# Idempotent: when every package is already installed it only runs dpkg-query
# and exits, so the test command can call it every time.
#
#   scripts/install-deps.sh            install what is missing (uses sudo when not root)
#   scripts/install-deps.sh --check    list what is missing, exit 1 if anything is
set -eu

PACKAGES="
build-essential cmake pkg-config git ca-certificates
libssl-dev openssl
check
libomp-dev clang libclang-rt-14-dev
libpq-dev postgresql postgresql-contrib
libdcmtk-dev dcmtk
libhts-dev tabix bcftools plink2 strace time
libjson-c-dev
libnifti2-dev
zlib1g-dev
python3 python3-numpy python3-sklearn
orthanc orthanc-dev
slurm-wlm munge
libopenblas-dev libfaiss-dev
libcairo2-dev libmicrohttpd-dev libxml2-dev
chromium tidy curl
linux-perf hyperfine
"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "${1:-}" = "--check" ]; then
    echo "install-deps: missing:$missing"
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# The orthanc package enables and starts a system-wide Orthanc (ports 4242,
# 8042). The tests start their own Orthanc on free ports, so the service is
# not needed: stop and disable it on a build machine.
case " $missing " in
    *" orthanc "*)
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || true
        elif command -v service >/dev/null 2>&1; then
            $SUDO service orthanc stop >/dev/null 2>&1 || true
        fi
        ;;
esac
echo "install-deps: done"
