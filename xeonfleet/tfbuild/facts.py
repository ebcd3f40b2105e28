"""Facts the wheel build needs beyond NodeFacts: the commit a ref names, and the build host's
free disk, available memory and cached wheel. Each is one command with a pure parser."""

import json
import shlex
from typing import Any

from pyinfra.api import FactBase

LS_REMOTE_FAILED = "XF_LS_REMOTE_FAILED"
REF_PREFIX = "XF_REF="


def parse_ls_remote(output: list[str], ref: str) -> dict[str, str | None]:
    """{'commit': sha or None, 'error': None or why} from `git ls-remote URL REF` output.

    A peeled tag line (`refs/tags/v1^{}`) names the commit an annotated tag points at, so it
    wins over the tag object's own line.
    """
    if output and output[-1].startswith(LS_REMOTE_FAILED):
        detail = " ".join(line for line in output[:-1] if line.strip())[-300:]
        return {"commit": None, "error": f"git ls-remote failed: {detail or 'no output'}"}
    refs = dict(reversed(line.split("\t", 1)) for line in output if "\t" in line)
    for name in (f"refs/tags/{ref}^{{}}", f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        if name in refs:
            return {"commit": refs[name], "error": None}
    if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref.lower()):
        return {"commit": ref.lower(), "error": None}  # a pinned commit: verified at checkout
    return {"commit": None, "error": f"unknown ref {ref!r}: no such branch or tag"}


class GitRemoteCommit(FactBase[dict[str, str | None]]):
    """The commit a branch, tag or sha names in a remote repository (no clone, no side effect)."""

    requires_command = "git"

    def command(self, repo: str, ref: str) -> str:
        # The ref is echoed first: process() sees only the output but must know what was asked.
        return (f"echo {REF_PREFIX}{shlex.quote(ref)}; "
                f"git ls-remote {shlex.quote(repo)} {shlex.quote(ref)} 2>&1 "
                f"|| echo {LS_REMOTE_FAILED}")

    def process(self, output: list[str]) -> dict[str, str | None]:
        ref = output[0][len(REF_PREFIX):] if output and output[0].startswith(REF_PREFIX) else ""
        return parse_ls_remote(output[1:], ref)


def parse_build_host(output: list[str]) -> dict[str, Any]:
    """{'free_bytes', 'mem_available', 'cached'} from the BuildHostState command's output."""
    values: dict[str, Any] = {"free_bytes": None, "mem_available": None, "cached": None}
    metadata: list[str] = []
    for line in output:
        key, _, value = line.partition("=")
        if key == "free_bytes" and value.isdigit():
            values["free_bytes"] = int(value)
        elif key == "mem_available_kb" and value.isdigit():
            values["mem_available"] = int(value) * 1024
        elif key == "metadata":
            metadata.append(value)
    if metadata:
        try:
            values["cached"] = json.loads("".join(metadata))
        except json.JSONDecodeError:
            values["cached"] = None  # a torn write is no cache entry
    return values


class BuildHostState(FactBase[dict[str, Any]]):
    """Free disk under the build dir, MemAvailable, and the metadata of a cached wheel."""

    def command(self, build_dir: str, metadata_path: str) -> str:
        # df needs an existing path: walk up from the (maybe not yet created) build dir.
        return (
            f"d={shlex.quote(build_dir)}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; "
            "echo free_bytes=$(df -P -B1 \"$d\" | awk 'NR==2 {print $4}'); "
            "echo mem_available_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo); "
            f"[ -f {shlex.quote(metadata_path)} ] && "
            f"tr -d '\\n' < {shlex.quote(metadata_path)} | sed 's/^/metadata=/'; echo"
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_build_host(output)
