#!/usr/bin/env bash
# The README's demo (via `make demo`): boot a lab fleet of Xeon-like hosts, show their facts, audit them,
# tune the mistuned ones with the real pyinfra deploy, and audit again. The lab stays up for you to explore;
# `make lab-down` removes it.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Booting 6 lab hosts (one per hardware profile)"
$BIN/xeonfleet lab up --hosts 6 || exit $?

step "Fleet facts: xeonfleet facts inventories/lab.py"
$BIN/xeonfleet facts inventories/lab.py

step "Compliance audit: xeonfleet audit inventories/lab.py"
$BIN/xeonfleet audit inventories/lab.py -o results/audit-before.html --format html >/dev/null
$BIN/xeonfleet audit inventories/lab.py
echo "(exit code $?: 1 = some node fails its profile; HTML report in results/audit-before.html)"

step "Tuning: pyinfra inventories/lab.py deploys/ai_node.py"
$BIN/pyinfra -y inventories/lab.py deploys/ai_node.py

step "Audit again: what is left is BIOS and hardware, with the manual fix for each"
$BIN/xeonfleet audit inventories/lab.py --since last
echo
echo "The lab is still up: try 'pyinfra inventories/lab.py deploys/restore.py' or 'make lab-down'."
