#!/usr/bin/env bash
# The README's test command (via `make test`): the whole suite but the `heavy` framework installs.
# Lab tests boot real sshd hosts in namespaces, so this runs as root (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
# The disk here is slow for the many small files a generated /sys holds: keep test trees in tmpfs, one
# directory per run, so two suites at once (two clones, two users) never clobber each other's trees.
BASETEMP=$(mktemp -d /dev/shm/xeonfleet-pytest.XXXXXX)
trap 'rm -rf "$BASETEMP"' EXIT
.venv/bin/pytest -m "not heavy" -p no:cacheprovider --basetemp="$BASETEMP" "$@"
