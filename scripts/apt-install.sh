#!/usr/bin/env bash
# Install Debian packages the test run needs: scripts/apt-install.sh PACKAGE...
#
# Needs root (as on the project's machines and CI). Runs `apt-get update` first unless the
# package lists were refreshed in the last hour, so one `make test` updates them once.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: these Debian packages are needed and missing: $*" >&2
    echo "       Install them as root (sudo apt-get install -y $*), or point the run at" >&2
    echo "       existing services with DATABASE_URL / REDIS_URL, then run make test again." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    echo "==> apt-get update"
    apt-get update -qq
fi
echo "==> apt-get install -y $*"
apt-get install -y -qq "$@" </dev/null
