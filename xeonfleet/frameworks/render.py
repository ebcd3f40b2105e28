"""Rendering of the per-env files (activation script, conda environment file) and the exact
commands that build an env; pure functions, so unit tests read exactly what a node gets."""

from __future__ import annotations

import json
import re
import shlex

from xeonfleet.stacks import EnvSpec
from xeonfleet.resources import packaged
from xeonfleet.render import render

REMOTE_LIB = "/opt/xeonfleet/lib"
REMOTE_NODE_ENV = f"{REMOTE_LIB}/node_env.py"
# node_env.py and the node modules it imports (node/siblings.py), uploaded together into REMOTE_LIB.
NODE_ENV_FILES = [packaged(f"node/{name}") for name in ("node_env.py", "siblings.py", "env_install.py",
                                                          "env_checks.py", "onednn_verbose.py", "isa_names.py")]
REMOTE_WHEELHOUSE = "/opt/xeonfleet/wheelhouse"
DEFAULT_CONDA_CHANNELS = ("conda-forge",)

q = shlex.quote


def render_activate(env: EnvSpec, path: str) -> str:
    return render("activate.sh.j2", name=env.name, backend=env.backend, path=path,
                  stacks=[s.name for s in env.stacks])


def render_conda_env(env: EnvSpec, path: str, tool: str, channels: tuple[str, ...] = DEFAULT_CONDA_CHANNELS) -> str:
    return render("conda-env.yml.j2", name=env.name, python=env.python, packages=env.conda_packages(),
                  channels=list(channels), tool=tool, path=path)


def space_check_command(root: str, path: str, need_mb: int) -> str:
    """Fail with one line when the filesystem holding the env root has less than need_mb free.

    Paths are quoted wherever they appear (ops.check_root has already refused odd ones)."""
    need = int(need_mb)
    too_little = (q(f"xeonfleet: not enough disk space for {path}: ") + '"$avail"'
                  + q(f" MiB free in {root}, need {need} MiB; free space or set host data frameworks_root"))
    return (
        f"mkdir -p {q(root)} && avail=$(df -Pm {q(root)} | awk 'NR==2 {{print $4}}') && "
        f"if [ \"$avail\" -lt {need} ]; then echo {too_little} >&2; exit 2; fi"
    )


def venv_create_command(python: str, path: str) -> str:
    return f"{q(python)} -m venv {q(path)} && {q(path)}/bin/python -m pip --version >/dev/null"


def pip_install_command(env: EnvSpec, path: str, wheelhouse: str | None) -> str:
    """pip install through node_env.py, which turns pip's failure into one line."""
    opts = ["--find-links", wheelhouse, "--no-index"] if wheelhouse else []
    args = [f"{path}/bin/python", REMOTE_NODE_ENV, "install", path, *opts, "--", *env.pip_requirements()]
    return " ".join(q(a) for a in args)


def conda_create_command(tool: str, tool_path: str, path: str, env_file: str) -> str:
    """The create command of micromamba or conda for a prefix env from an environment file."""
    if tool == "micromamba":
        return f"{q(tool_path)} create --yes --prefix {q(path)} --file {q(env_file)}"
    return f"{q(tool_path)} env create --quiet --prefix {q(path)} --file {q(env_file)}"


def smoke_meta(env: EnvSpec) -> dict:
    return {
        "name": env.name,
        "backend": env.backend,
        "spec_hash": env.spec_hash(),
        "stacks": {s.name: s.as_record() for s in env.stacks},
        # Every package the env asks for by name: the record keeps all their versions.
        "packages": sorted({re.split(r"[=<>!~\[ ]", req)[0] for req in env.pip_requirements()}),
    }


def smoke_command(env: EnvSpec, path: str) -> str:
    """Smoke-test under the env's own activation script: what passes is what users get."""
    args = (f"{path}/bin/python", REMOTE_NODE_ENV, "smoke", path, "--meta", json.dumps(smoke_meta(env)))
    return f". {q(path)}/activate.sh && " + " ".join(q(a) for a in args)
