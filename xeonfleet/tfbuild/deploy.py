"""pyinfra side of the TensorFlow wheel: plan once for the fleet, build on one host, fetch the
wheel to the controller, roll it out to every host with `tf_target_env`.

pyinfra runs each operation on all hosts before the next, so the builder's build and fetch
finish before any target's roll-out starts. The wheel's name is only known after the build,
so the fetch and the roll-out are Python callbacks that run at execution time; when the
controller already holds the wheel and a target already runs it, both are plain no-ops.
"""

import json
import posixpath
import shlex
from dataclasses import dataclass, replace
from io import StringIO
from pathlib import Path
from typing import Any

from pyinfra import host, inventory, logger
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.api.host import Host
from pyinfra.api.state import State
from pyinfra.facts.files import FileContents
from pyinfra.operations import apt, files, python

from xeonfleet.facts.node import NodeFacts
from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.resources import packaged
from xeonfleet.tfbuild import plan
from xeonfleet.tfbuild.facts import BuildHostState, GitRemoteCommit
from xeonfleet.tfbuild.march import lowest_common_march, node_march

NODE_SCRIPTS = packaged("node")
# What a TensorFlow build needs besides Bazel's own download (tf_build_packages overrides).
DEFAULT_PACKAGES = ("git", "build-essential", "python3-dev", "python3-numpy", "python3-wheel",
                    "default-jdk-headless", "bazel-bootstrap")
TARGET_CACHE = "/var/cache/xeonfleet/tf_wheels"
MARKER = ".xeonfleet-tf-wheel.json"
LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class BuildPlan:
    """One decision for the whole run, computed once and shared by every host's deploy."""

    builder: str
    targets: tuple[str, ...]
    march: str
    store: Path
    settings: plan.BuildSettings | None = None
    commit: str | None = None
    key: str | None = None
    sizing: plan.Sizing | None = None
    cached: dict[str, Any] | None = None
    error: str | None = None


_PLANS: dict[int, BuildPlan] = {}


def fleet_plan() -> BuildPlan:
    """The BuildPlan of this pyinfra run (facts of every active host are read once)."""
    run = id(host.state)
    if run not in _PLANS:
        _PLANS[run] = _make_plan()
    return _PLANS[run]


def _make_plan() -> BuildPlan:
    hosts = {h.name: h for h in inventory.iter_activated_hosts()}
    node_facts = {name: h.get_fact(NodeFacts) for name, h in sorted(hosts.items())}
    group = [h.name for h in inventory.get_group(plan.BUILDER_GROUP, default=[]) if h.name in hosts]
    targets = tuple(name for name, h in sorted(hosts.items()) if h.data.get("tf_target_env"))
    builder_name = plan.choose_builder(group, node_facts)
    builder = hosts[builder_name]
    march = lowest_common_march(node_march(node_facts[t]) for t in targets or (builder_name,))
    store = Path(builder.data.get("tf_wheel_store") or "build/tf_wheels").resolve()
    base = BuildPlan(builder=builder_name, targets=targets, march=march, store=store)
    try:
        settings = plan.settings_from_data(builder.data)
    except plan.BuildInputError as exc:
        return replace(base, error=str(exc))
    remote = builder.get_fact(GitRemoteCommit, repo=settings.source_repo, ref=settings.source_ref)
    if remote["error"]:
        return replace(base, settings=settings,
                       error=f"{settings.source_repo}: {remote['error']}; fix tf_source_ref")
    commit = remote["commit"]
    key = plan.cache_key(commit, settings, march)
    build_state = builder.get_fact(BuildHostState, build_dir=settings.build_dir,
                                   metadata_path=posixpath.join(settings.wheel_dir(key), "metadata.json"))
    found = replace(base, settings=settings, commit=commit, key=key, cached=build_state["cached"])
    if found.cached:
        return found
    cpu, memory = node_facts[builder_name]["cpu"], node_facts[builder_name]["memory"]
    try:
        plan.check_disk(settings, build_state["free_bytes"] or 0)
        sizing = plan.size_build(settings, cpu.get("online_cpus") or 1, memory.get("total_bytes") or 0,
                                 build_state["mem_available"] or 0)
    except plan.BuildInputError as exc:
        return replace(found, error=f"{builder_name}: {exc}")
    return replace(found, sizing=sizing)


def _fail(state: State, host: Host, message: str) -> bool:
    """A callback that fails its host with one clear line (no traceback)."""
    host.log_styled(message, fg="red", log_func=logger.error)
    return False


def _run(host: Host, command: str) -> tuple[bool, list[str], list[str]]:
    ok, output = host.run_shell_command(StringCommand(command))
    return ok, output.stdout_lines, output.stderr_lines


def _local_metadata(fp: BuildPlan) -> dict[str, Any] | None:
    path = fp.store / str(fp.key) / "metadata.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _build_spec(fp: BuildPlan) -> dict[str, Any]:
    settings, sizing = fp.settings, fp.sizing
    assert settings is not None and sizing is not None and fp.key and fp.commit
    return {
        "source_repo": settings.source_repo,
        "source_ref": settings.source_ref,
        "commit": fp.commit,
        "source_dir": settings.source_dir,
        "log_path": settings.log_path,
        "configure_env": plan.configure_env(settings, fp.march),
        "bazel_args": plan.bazel_args(settings, fp.march, sizing),
        "targets": plan.PIP_TARGETS,
        "wheel_dir": settings.wheel_dir(fp.key),
        "cache_key": fp.key,
        "flags": plan.build_flags(settings, fp.march),
        "march": fp.march,
    }


def _run_build(state: State, host: Host, fp: BuildPlan, script: str, spec_path: str) -> bool:
    """Run tf_build.py; on failure fetch the build log and print its tail."""
    settings = fp.settings
    assert settings is not None
    host.log_styled(f"building TensorFlow {settings.source_ref} ({fp.commit}) for -march="
                    f"{fp.march}, jobs={fp.sizing.jobs if fp.sizing else '?'}; "
                    f"log: {settings.log_path}")
    ok, stdout, stderr = _run(host, f"python3 {shlex.quote(script)} {shlex.quote(spec_path)}")
    if ok:
        metadata = json.loads(stdout[-1])
        host.log_styled(f"built {metadata['wheel']} in {metadata['build_seconds']} s "
                        f"(phases: {metadata['phase_seconds']})", fg="green")
        return True
    local_log = fp.store / "logs" / f"{host.name}-tf_build.log"
    local_log.parent.mkdir(parents=True, exist_ok=True)
    host.get_file(settings.log_path, str(local_log))
    tail = local_log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    reason = stderr[-1] if stderr else "tf_build failed"
    message = "\n".join([f"{reason}", f"last {len(tail)} lines of {local_log}:", *tail,
                         "nothing rolled out"])
    return _fail(state, host, message)


def _fetch_wheel(state: State, host: Host, fp: BuildPlan) -> bool:
    """Copy the wheel and metadata.json from the build host into the controller's store."""
    assert fp.settings is not None and fp.key
    remote_dir = fp.settings.wheel_dir(fp.key)
    ok, stdout, _ = _run(host, f"cat {shlex.quote(posixpath.join(remote_dir, 'metadata.json'))}")
    if not ok:
        return _fail(state, host, f"no wheel in {remote_dir} on {host.name}: the build did not "
                                  "finish; nothing rolled out")
    metadata = json.loads("\n".join(stdout))
    local_dir = fp.store / fp.key
    local_dir.mkdir(parents=True, exist_ok=True)
    wheel = local_dir / metadata["wheel"]
    host.get_file(posixpath.join(remote_dir, metadata["wheel"]), str(wheel))
    (local_dir / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    host.log_styled(f"fetched {wheel} (sha256 {metadata['sha256'][:12]}...)", fg="green")
    return True


def _rollout(state: State, host: Host, fp: BuildPlan, venv: str) -> bool:
    """Upload the wheel and swap it into the target venv (tf_rollout.py keeps the old install
    if anything fails)."""
    metadata = _local_metadata(fp)
    if metadata is None:
        return _fail(state, host, f"nothing rolled out: no wheel for build {fp.key} on the "
                                  f"controller (the build on {fp.builder} failed)")
    remote_wheel = posixpath.join(TARGET_CACHE, metadata["wheel"])
    remote_script = posixpath.join(TARGET_CACHE, "tf_rollout.py")
    _run(host, f"mkdir -p {shlex.quote(TARGET_CACHE)}")
    ok, stdout, _ = _run(host, f"sha256sum {shlex.quote(remote_wheel)}")
    if not ok or not stdout or stdout[0].split()[0] != metadata["sha256"]:
        host.put_file(str(fp.store / str(fp.key) / metadata["wheel"]), remote_wheel)
    host.put_file(str(NODE_SCRIPTS / "tf_rollout.py"), remote_script)
    ok, stdout, stderr = _run(host, " ".join(shlex.quote(a) for a in
                                             ["python3", remote_script, venv, remote_wheel,
                                              metadata["sha256"]]))
    result = json.loads(stdout[-1]) if stdout else {"error": "\n".join(stderr) or "no output"}
    if not ok or result.get("status") == "error":
        return _fail(state, host, f"roll-out to {venv} failed: {result.get('error')}")
    host.log_styled(f"tensorflow {result['version']} {result['status']} in {venv} (oneDNN "
                    f"{result['onednn']}, Eigen threadpool {result['eigen_threadpool']})", fg="green")
    return True


def _builder_ops(fp: BuildPlan) -> None:
    settings = fp.settings
    assert settings is not None and fp.key
    apt.packages(name="Install the TensorFlow build toolchain",
                 packages=list(host.data.get("tf_build_packages") or DEFAULT_PACKAGES))
    files.directory(name="Build directory", path=settings.build_dir)
    files.directory(name="Build log directory", path=posixpath.dirname(settings.log_path))
    if fp.cached:
        host.noop(f"TensorFlow wheel {fp.cached['wheel']} is up to date (commit "
                  f"{fp.commit}, key {fp.key}): no rebuild")
    else:
        script = posixpath.join(settings.build_dir, "tf_build.py")
        spec_path = posixpath.join(settings.build_dir, f"spec-{fp.key}.json")
        files.put(name="Upload the build runner", src=str(NODE_SCRIPTS / "tf_build.py"),
                  dest=script)
        files.put(name="Upload the build spec",
                  src=StringIO(json.dumps(_build_spec(fp), indent=2)), dest=spec_path)
        python.call(name="Build the TensorFlow wheel (bazel)", function=_run_build,
                    fp=fp, script=script, spec_path=spec_path)
    local = _local_metadata(fp)
    if fp.cached and local and local["sha256"] == fp.cached["sha256"]:
        host.noop(f"{fp.store / fp.key / local['wheel']} is already on the controller")
    else:
        python.call(name="Fetch the wheel to the controller", function=_fetch_wheel, fp=fp)


def _target_ops(fp: BuildPlan, venv: str) -> None:
    local = _local_metadata(fp)
    marker = host.get_fact(FileContents, path=posixpath.join(venv, MARKER))
    installed = json.loads("\n".join(marker)).get("sha256") if marker else None
    if local and installed == local["sha256"]:
        host.noop(f"tensorflow {local['wheel']} is already installed in {venv}")
        return
    python.call(name="Roll out the TensorFlow wheel", function=_rollout, fp=fp, venv=venv)


@operation()
def build_phase_done(key: str):
    """A no-change op every host runs at the same point: pyinfra orders operations by each
    host's sequence, so a target's roll-out would otherwise be free to run before the build.

    + key: the build's cache key (shown in the output)
    """
    host.noop(f"build phase of {key} finished")
    yield from ()


@deploy("Rebuild and roll out the TensorFlow wheel")
def tf_wheel() -> None:
    """Build the oneDNN + Eigen-threadpool TensorFlow wheel once, roll it out to the targets.

    **Example:**

    .. code:: python

        from xeonfleet.tfbuild.deploy import tf_wheel
        tf_wheel()
    """
    fp = fleet_plan()
    venv = host.data.get("tf_target_env")
    if (host.name == fp.builder or venv) and not require_root("tune"):  # apt on the builder, the env on targets
        return
    if fp.error:
        message = fp.error if host.name == fp.builder else f"nothing rolled out: {fp.error}"
        if host.name == fp.builder or venv:
            python.call(name="Check the build inputs", function=_fail, message=message)
        return
    if host.name == fp.builder or venv:
        use_working_file_transfer()  # the build spec and scripts go up, the wheel comes back and goes out
    if host.name == fp.builder:
        _builder_ops(fp)
    if host.name == fp.builder or venv:
        build_phase_done(name="Wait for the build phase", key=str(fp.key))
    if venv:
        _target_ops(fp, venv)
