"""Facts about framework envs: the env records deploys/frameworks.py writes, the Python
interpreter an env is built from, and the conda tool a node has."""

from __future__ import annotations

import json
import shlex
from typing import Any

from pyinfra.api import FactBase

from xeonfleet.stacks import DEFAULT_ROOT, RECORD_NAME
_MARK = "@@xeonfleet-env "


def _empty_record(path: str, error: str) -> dict[str, Any]:
    return {"name": path.rstrip("/").rsplit("/", 1)[-1], "backend": None, "path": path, "stacks": {},
            "versions": {}, "isa": None, "ok": False, "spec_hash": None, "error": error}


def parse_env_records(output: list[str]) -> list[dict[str, Any]]:
    """Lines of `@@xeonfleet-env PATH` followed by that env's record JSON (or nothing) -> records.

    A directory without a readable record is an env an earlier run left half-installed: it is
    reported with ok=False so the deploy rebuilds it and the audit flags it.
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in output:
        if line.startswith(_MARK):
            blocks.append((line[len(_MARK):].strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    records = []
    for path, lines in blocks:
        text = "\n".join(lines).strip()
        if not text:
            records.append(_empty_record(path, f"no {RECORD_NAME}: half-installed (an earlier run stopped before its smoke test passed)"))
            continue
        try:
            record = json.loads(text)
        except ValueError:
            records.append(_empty_record(path, f"unreadable {RECORD_NAME}"))
            continue
        record["path"] = path
        records.append(record)
    return records


class FrameworkEnvs(FactBase):
    """Returns the records of the framework envs under a root (default /opt/xeonfleet/envs)."""

    default = list

    def command(self, root: str = DEFAULT_ROOT) -> str:
        quoted = shlex.quote(root.rstrip("/"))
        return (
            f"for d in {quoted}/*/; do [ -d \"$d\" ] || continue; "
            f"echo {shlex.quote(_MARK)}\"${{d%/}}\"; cat \"$d\"{RECORD_NAME} 2>/dev/null; echo; done"
        )

    def process(self, output: list[str]) -> list[dict[str, Any]]:
        return parse_env_records(output)


def python_candidates(version: str) -> list[str]:
    """Where a python3.X that can make venvs usually lives (PATH first, then pyenv and /usr/local)."""
    exe = f"python{version}"
    return [f"/usr/bin/{exe}", f"/usr/local/bin/{exe}", f"/root/.pyenv/versions/{version}*/bin/{exe}",
            f"/opt/python/{version}*/bin/{exe}"]


class FrameworkPython(FactBase):
    """Returns the path of a python3.X on the node that has venv + ensurepip, or None."""

    def command(self, version: str) -> str:
        exe = shlex.quote(f"python{version}")
        # Globs stay unquoted so the node's shell expands them.
        candidates = " ".join(python_candidates(version))
        return (
            f"for p in \"$(command -v {exe} 2>/dev/null)\" {candidates}; do "
            "[ -x \"$p\" ] && \"$p\" -c 'import venv, ensurepip' 2>/dev/null && { echo \"$p\"; break; }; "
            "done; true"
        )

    def process(self, output: list[str]) -> str | None:
        return output[0].strip() if output and output[0].strip() else None


def conda_tool_candidates() -> list[str]:
    return ["/usr/local/bin/micromamba", "/root/.local/bin/micromamba", "/opt/conda/bin/conda",
            "/opt/miniforge3/bin/conda", "/root/miniforge3/bin/conda", "/root/miniconda3/bin/conda"]


def parse_conda_tools(output: list[str]) -> dict[str, str]:
    """Lines of paths -> {"micromamba": path, "conda": path} (first found of each)."""
    tools: dict[str, str] = {}
    for line in output:
        path = line.strip()
        name = path.rsplit("/", 1)[-1]
        if name in ("micromamba", "conda"):
            tools.setdefault(name, path)
    return tools


class CondaTools(FactBase):
    """Returns {"micromamba": path, "conda": path} for the conda tools the node has."""

    default = dict

    def command(self) -> str:
        return (
            "for p in \"$(command -v micromamba 2>/dev/null)\" \"$(command -v conda 2>/dev/null)\" "
            + " ".join(conda_tool_candidates())
            + "; do [ -x \"$p\" ] && echo \"$p\"; done; true"
        )

    def process(self, output: list[str]) -> dict[str, str]:
        return parse_conda_tools(output)
