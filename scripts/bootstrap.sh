#!/usr/bin/env bash
# One-shot set-up for a fresh Debian machine (root): system packages the lab fleet and the
# node-side tools need, then a venv with xeonfleet installed editable. Safe to re-run: every
# step is skipped when already done, so `make test` stays fast on a prepared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# bazel-bootstrap + a JDK: the real (offline-capable) Bazel the tf_wheel deploy is tested with;
# postgresql: the results store is tested against a throwaway server of its own; g++ and python3-dev
# (Python.h): torch.compile's inductor builds the INT8 ResNet-50 kernels (INC's PT2E flow) with them;
# linux-perf: the benchmark runners' counters (perf stat); chromium: the HTML report's browser test;
# prometheus-node-exporter: the audit agent's test scrapes the textfile through a real node_exporter;
# sudo: `xeonfleet sudoers` drop-ins are checked by its visudo, and the probe reads through it as a non-root user.
APT_PACKAGES=(openssh-server openssh-client numactl linux-cpupower dmidecode util-linux iproute2 procps python3-venv
    git bazel-bootstrap default-jdk-headless postgresql g++ python3-dev linux-perf chromium prometheus-node-exporter
    sudo)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.xeonfleet-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing xeonfleet and its Python dependencies into .venv"
    log=.venv/bootstrap-pip.log
    if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e ".[test,bench,postgres]"; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "bootstrap: pip install failed (full log: $log); check the network to PyPI and re-run" >&2
        exit 1
    fi
    touch "$stamp"
fi
