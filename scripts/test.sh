#!/usr/bin/env bash
# The README's test command (via `make test`): the whole suite but the `heavy` framework installs.
# Lab tests boot real sshd hosts in namespaces, so this runs as root (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
# The disk here is slow for the many small files a generated /sys holds: keep test trees in tmpfs, one
# directory per run, so two suites at once (two clones, two users) never clobber each other's trees.
BASETEMP=$(mktemp -d /dev/shm/xeonfleet-pytest.XXXXXX)
trap 'rm -rf "$BASETEMP"' EXIT
# One worker per core (pytest-xdist): a single pytest process leaves a core idle while it waits on SSH, pyinfra
# and pip. --dist loadfile keeps each file on one worker, so a module's lab (and any host state its tests hand on
# in file order) is booted once. Arguments after ours win: `scripts/test.sh -n 0` runs in one process,
# `scripts/test.sh -m heavy` the heavy tests.
.venv/bin/pytest -m "not heavy" -p no:cacheprovider --basetemp="$BASETEMP" --numprocesses auto --dist loadfile "$@"
