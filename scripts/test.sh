#!/usr/bin/env bash
# The README's test command (via `make test`): the whole suite but the `heavy` framework installs.
# Lab tests boot real sshd hosts in namespaces, so this runs as root (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
# The disk here is slow for the many small files a generated /sys holds: keep test trees in tmpfs, one
# directory per run, so two suites at once (two clones, two users) never clobber each other's trees.
BASETEMP=$(mktemp -d /dev/shm/xeonfleet-pytest.XXXXXX)
# A run cut short (a timeout, a kill) leaves its labs behind: their host processes (named by their paths under
# $BASETEMP) are killed and their tree mounts unmounted, deepest first, or rm cannot remove them and every such run
# keeps its hosts and trees in RAM until the next boot.
cleanup() {
    pkill -KILL -f "$BASETEMP/" || true
    awk -v under="$BASETEMP/" 'index($2, under) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
    rm -rf "$BASETEMP"
}
trap cleanup EXIT
# One worker per core (pytest-xdist): a single pytest process leaves a core idle while it waits on SSH, pyinfra
# and pip. --dist loadfile keeps each file on one worker, so a module's lab (and any host state its tests hand on
# in file order) is booted once. Arguments after ours win: `scripts/test.sh -n 0` runs in one process,
# `scripts/test.sh -m heavy` the heavy tests.
.venv/bin/pytest -m "not heavy" -p no:cacheprovider --basetemp="$BASETEMP" --numprocesses auto --dist loadfile "$@"
