#!/usr/bin/env bash
# The README's test command (via `make test`): the whole suite but the `heavy` framework installs.
# Lab tests boot real sshd hosts in namespaces, so this runs as root (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
# The disk here is slow for the many small files a generated /sys holds: keep test trees in tmpfs.
BASETEMP=/dev/shm/xeonfleet-pytest
exec .venv/bin/pytest -m "not heavy" -p no:cacheprovider --basetemp="$BASETEMP" "$@"
