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

step "Compliance audit: xeonfleet audit inventories/lab.py --failures-only"
$BIN/xeonfleet audit inventories/lab.py -o results/audit-before.html
$BIN/xeonfleet audit inventories/lab.py --failures-only
echo "(exit code $?: 1 = some node fails its profile; every rule without --failures-only; HTML report in results/audit-before.html)"

step "Tuning: pyinfra inventories/lab.py deploys/ai_node.py"
$BIN/pyinfra -y inventories/lab.py deploys/ai_node.py

step "Audit again: what is left is BIOS and hardware, with the manual fix for each"
$BIN/xeonfleet audit inventories/lab.py --since last --failures-only

# Framework stacks on request (real installs from the package index):
#   DEMO_STACKS=1 make demo      intel-python + openvino on lab-01 (about 1 min, 640 MB)
#   DEMO_STACKS=dl make demo     also PyTorch and TensorFlow envs (several minutes, several GB)
if [ -n "${DEMO_STACKS:-}" ]; then
    profile=xeon-ai-stack
    [ "$DEMO_STACKS" = dl ] && profile=xeon-ai-stack-dl
    step "AI stacks ($profile) on lab-01: pyinfra inventories/lab.py deploys/frameworks.py"
    $BIN/pyinfra -y inventories/lab.py deploys/frameworks.py --limit lab-01 --data xeonfleet_profile=$profile
    $BIN/xeonfleet audit inventories/lab.py --profile $profile |
        awk '/^lab-01/ {show = 1} /^lab-0[2-9]/ {show = 0} show && /^lab-01|frameworks\./' 
fi
echo
echo "The lab is still up. In this shell run '. .venv/bin/activate' once, then try"
echo "'pyinfra inventories/lab.py deploys/restore.py' or 'make lab-down' (the README's commands run as written)."
