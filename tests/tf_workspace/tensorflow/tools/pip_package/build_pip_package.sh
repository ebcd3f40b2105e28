#!/usr/bin/env bash
# Usage: build_pip_package DEST_DIR — writes tensorflow-<version>-<tag>.whl into DEST_DIR.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 DEST_DIR" >&2
    exit 2
fi
payload="$(dirname "$(readlink -f "$0")")/pip_payload"
exec "$(cat "$payload/python_bin")" "$payload/make_wheel.py" "$payload/build_info.json" "$1"
