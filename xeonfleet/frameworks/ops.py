"""pyinfra operations and the @deploy that build framework envs on a node.

An env counts as built only when its record (xeonfleet-env.json, written by the node-side smoke
test after every stack passed) carries the spec hash of what the profile asks now. Anything
else under the env's path (a crash mid-install, a failed smoke test, an older spec) is removed
and rebuilt, never used; a current env is a no-op that touches neither the index nor the
wheelhouse. A built env whose checks are stale (an older node_env.py wrote the record, or a file
that set the kernels' runtime variables has changed since) gets its checks re-run, not a reinstall:
that is how fixing a variable the frameworks.isa rule named changes the audit's verdict.
"""

from __future__ import annotations

import os
import re
from io import StringIO
from typing import Any

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, deploy, operation
from pyinfra.facts.files import Sha1File
from pyinfra.operations import files

from xeonfleet.facts.frameworks import CondaTools, FrameworkEnvs, FrameworkPython
from xeonfleet.frameworks import render
from xeonfleet.node.node_env import CHECKS_VERSION
from xeonfleet.stacks import DEFAULT_ROOT, EnvSpec, validate_frameworks_spec

_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")


def check_root(root: str) -> str:
    """The env root must be an absolute path of plain characters (it goes into shell lines)."""
    if not _SAFE_PATH.match(root) or ".." in root.split("/"):
        raise ValueError(f"host data frameworks_root {root!r} must be an absolute path of letters, digits, _ . / -")
    return root.rstrip("/")


def current_record(env: EnvSpec, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The record of a smoke-tested env built from exactly this spec, or None."""
    return next((rec for rec in records if rec.get("name") == env.name and rec.get("ok") is True
                 and rec.get("spec_hash") == env.spec_hash()), None)


def is_current(env: EnvSpec, records: list[dict[str, Any]]) -> bool:
    """True when the node holds a smoke-tested env built from exactly this spec."""
    return current_record(env, records) is not None


def stale_checks(record: dict[str, Any]) -> str | None:
    """Why a built env's checks must re-run (None: they are current): written by older checks, or a
    watched file (the node's runtime env, a file that set a kernel variable) changed since."""
    if (record.get("checks_version") or 0) < CHECKS_VERSION:
        return f"its checks are version {record.get('checks_version') or 1}, node_env.py has {CHECKS_VERSION}"
    for path, sha1 in sorted((record.get("watched_files") or {}).items()):
        if host.get_fact(Sha1File, path=path) != sha1:
            return f"{path} changed since its checks ran"
    return None


def needs_work(env: EnvSpec, records: list[dict[str, Any]]) -> bool:
    record = current_record(env, records)
    return record is None or stale_checks(record) is not None


def _conda_tool(env: EnvSpec) -> tuple[str, str]:
    tools = host.get_fact(CondaTools)
    wanted = [env.conda_tool] if env.conda_tool else ["micromamba", "conda"]
    for name in wanted:
        if name in tools:
            return name, tools[name]
    raise OperationError(
        f"env {env.name} wants the conda backend with {' or '.join(wanted)}, but {host.name} has none "
        f"(looked in PATH and /usr/local/bin, /opt/conda, ~/miniforge3); install micromamba or use backend: venv"
    )


@operation()
def framework_env(
    env: EnvSpec,
    root: str = DEFAULT_ROOT,
    wheelhouse: str | None = None,
    conda_channels: tuple[str, ...] = render.DEFAULT_CONDA_CHANNELS,
):
    """
    Build one framework env (venv or conda), smoke-test it and write its record.

    + env: a validated EnvSpec (xeonfleet.stacks.validate_frameworks_spec)
    + root: directory holding the envs, one sub-directory per env
    + wheelhouse: remote directory of wheels to install from with --no-index (venv only)
    + conda_channels: channels written into the conda environment file

    **Example:**

    .. code:: python

        envs = validate_frameworks_spec(host.data.frameworks, "host data")
        framework_env(name="Build env ai", env=envs[0])
    """
    path = env.path(root)
    record = current_record(env, host.get_fact(FrameworkEnvs, root=root))
    if record is not None:
        reason = stale_checks(record)
        if reason is None:
            host.noop(f"framework env {env.name} is built and smoke-tested ({path})")
        else:  # built from this spec: re-run the checks only
            yield render.smoke_command(env, path)
        return
    yield render.space_check_command(root, path, env.size_mb())
    # Whatever sits at the path is not a finished env of this spec: remove it, never reuse it.
    yield f"rm -rf {render.q(path)}"
    if env.backend == "venv":
        python = host.get_fact(FrameworkPython, version=env.python)
        if python is None:
            raise OperationError(
                f"env {env.name}: no python{env.python} with venv/ensurepip on {host.name}; "
                f"install python{env.python} and python{env.python}-venv, or set python in the profile"
            )
        yield render.venv_create_command(python, path)
        yield render.pip_install_command(env, path, wheelhouse)
    else:
        tool, tool_path = _conda_tool(env)
        env_file = f"{root}/.{env.name}.conda-env.yml"
        yield FileUploadCommand(StringIO(render.render_conda_env(env, path, tool, conda_channels)), env_file)
        yield render.conda_create_command(tool, tool_path, path, env_file)
    yield FileUploadCommand(StringIO(render.render_activate(env, path)), f"{path}/activate.sh")
    yield render.smoke_command(env, path)


@deploy("Framework envs")
def framework_envs(
    envs: list[EnvSpec],
    root: str = DEFAULT_ROOT,
    local_wheelhouse: str | None = None,
    conda_channels: tuple[str, ...] = render.DEFAULT_CONDA_CHANNELS,
):
    """
    Build every env of a validated spec; upload the node helper (and the wheelhouse) only when
    some env needs building, so a re-run with the same spec transfers nothing.

    + envs: validated EnvSpecs
    + root: env root on the node
    + local_wheelhouse: a controller directory made by `xeonfleet wheelhouse build`; uploaded
      once per node and installed from with --no-index
    + conda_channels: channels for the conda backend
    """
    root = check_root(root)
    records = host.get_fact(FrameworkEnvs, root=root)
    pending = [env for env in envs if needs_work(env, records)]
    if not pending:
        host.noop(f"framework envs {', '.join(e.name for e in envs)} are built and smoke-tested")
        return
    helper, *imported = render.NODE_ENV_FILES
    files.put(name="Upload the node env helper", src=str(helper), dest=render.REMOTE_NODE_ENV,
              mode="0644", create_remote_dir=True)
    for source in imported:
        files.put(name=f"Upload {source.name}, which it imports", src=str(source),
                  dest=f"{render.REMOTE_LIB}/{source.name}", mode="0644")
    remote_wheelhouse = None
    building = [env for env in pending if not is_current(env, records)]
    if local_wheelhouse and any(env.backend == "venv" for env in building):
        # delete=True: the node holds exactly this wheelhouse, so --no-index sees what the controller built.
        files.sync(name="Upload the wheelhouse", src=local_wheelhouse, dest=render.REMOTE_WHEELHOUSE, delete=True)
        remote_wheelhouse = render.REMOTE_WHEELHOUSE
    for env in pending:
        name = f"Framework env {env.name} ({env.backend}: {', '.join(s.name for s in env.stacks)})"
        record = current_record(env, records)
        if record is not None:
            name += f": re-run its checks, {stale_checks(record)}"
        framework_env(name=name, env=env, root=root, wheelhouse=remote_wheelhouse, conda_channels=conda_channels)


def host_framework_envs(spec: dict, source: str) -> None:
    """framework_envs for the current host, with its host data (`wheelhouse`, `frameworks_root`,
    `conda_channels`); shared by deploys/frameworks.py and deploys/ai_node.py so both read it alike.

    + spec: the `frameworks:` mapping of a profile or of host data
    + source: where the spec came from, quoted in every error
    """
    wheelhouse = host.data.get("wheelhouse")
    if wheelhouse and not os.path.isdir(wheelhouse):
        raise ValueError(f"{host.name}: wheelhouse {wheelhouse!r} is not a directory; run `xeonfleet wheelhouse build -o DIR`")
    framework_envs(
        envs=validate_frameworks_spec(spec, source),
        root=host.data.get("frameworks_root") or DEFAULT_ROOT,
        local_wheelhouse=wheelhouse,
        conda_channels=tuple(host.data.get("conda_channels") or render.DEFAULT_CONDA_CHANNELS),
    )
