"""Build-host side of the TensorFlow wheel build (stdlib only; uploaded and run by the deploy).

Usage: python3 tf_build.py SPEC.json

Phases: checkout (clone or fetch + checkout of the wanted commit), bazel (find the Bazel the
source pins), configure, build, package, metadata. Each phase is timed and logged to
spec["log_path"], so a failed hours-long build leaves its evidence on the host. The cache entry
is complete only once metadata.json exists (written last, atomically). On failure the script
prints one `tf_build: ERROR ...` line and exits non-zero.
"""

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO


class BuildError(Exception):
    """A failed phase; the message names the phase and the fix."""


def log_line(log: TextIO, text: str) -> None:
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    log.flush()


def run(log: TextIO, argv: list[str], phase: str, cwd: str | None = None,
        env: dict[str, str] | None = None) -> str:
    """Run argv with output appended to the log; return stdout; raise BuildError on failure."""
    log_line(log, f"[{phase}] $ {shlex.join(argv)}")
    proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(proc.stdout)
    log.flush()
    if proc.returncode != 0:
        raise BuildError(f"{phase} failed (exit {proc.returncode}): {shlex.join(argv)}")
    return proc.stdout


def checkout(log: TextIO, spec: dict[str, Any]) -> str:
    """Clone once into the cache dir, then fetch + checkout in place; return HEAD's commit."""
    src, repo = spec["source_dir"], spec["source_repo"]
    if not Path(src, ".git").is_dir():
        Path(src).parent.mkdir(parents=True, exist_ok=True)
        run(log, ["git", "clone", "--no-checkout", repo, src], "checkout")
    else:
        run(log, ["git", "-C", src, "remote", "set-url", "origin", repo], "checkout")
        run(log, ["git", "-C", src, "fetch", "--force", "--tags", "origin",
                  "+refs/heads/*:refs/remotes/origin/*"], "checkout")
    wanted = spec["commit"]
    probe = subprocess.run(["git", "-C", src, "rev-parse", "--verify", "--quiet",
                            f"{wanted}^{{commit}}"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise BuildError(f"checkout failed: {spec['source_ref']} ({wanted}) is not in "
                         f"{repo}; check tf_source_ref")
    run(log, ["git", "-C", src, "checkout", "--force", "--detach", wanted], "checkout")
    run(log, ["git", "-C", src, "clean", "-fdx", "--quiet"], "checkout")
    return run(log, ["git", "-C", src, "rev-parse", "HEAD"], "checkout").strip()


def bazel_version_of(path: str) -> str | None:
    """The release of a bazel binary; Debian's build says no_version, so ask dpkg instead."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, cwd="/")
    match = re.match(r"bazel (\S+)", out.stdout.strip())
    if match and match.group(1) != "no_version":
        return match.group(1)
    owner = subprocess.run(["dpkg-query", "-S", os.path.realpath(path)],
                           capture_output=True, text=True)
    if owner.returncode != 0:
        return None
    package = owner.stdout.split(":", 1)[0]
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True).stdout
    upstream = re.match(r"(?:\d+:)?(\d+(?:\.\d+)*)", version)
    return upstream.group(1) if upstream else None


def find_bazel(wanted: str | None) -> tuple[str, str]:
    """(path, version) of a Bazel matching .bazelversion: bazelisk first (it fetches the pinned
    release where the network allows), then a pinned bazel-X.Y.Z, Debian's bazel-MAJOR, bazel."""
    bazelisk = shutil.which("bazelisk")
    if bazelisk:
        return bazelisk, wanted or "latest"
    names = ["bazel"]
    if wanted:
        names = [f"bazel-{wanted}", f"bazel-{wanted.split('.')[0]}", "bazel"]
    found = []
    for name in names:
        path = shutil.which(name)
        if not path:
            continue
        version = bazel_version_of(path)
        if wanted is None or version == wanted:
            return path, version or "unknown"
        found.append(f"{path} is {version}")
    if not found:
        raise BuildError("bazel not found: install bazelisk where GitHub is reachable, else the "
                         f"official binary as /usr/local/bin/bazel-{wanted or 'X.Y.Z'}")
    raise BuildError(f"bazel mismatch: the source pins {wanted} (.bazelversion) but "
                     f"{'; '.join(found)}; install bazelisk where reachable, or put the official "
                     f"bazel-{wanted} binary in /usr/local/bin")


def python_lib(python_bin: str) -> str:
    return subprocess.run([python_bin, "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def compiler_version() -> str:
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("clang") or "cc"
    out = subprocess.run([compiler, "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.returncode == 0 and out.stdout else "unknown"


def package_wheel(log: TextIO, src: str, target_kind: str, dest: Path) -> Path:
    """Produce the wheel in dest: run build_pip_package, or pick the `wheel` rule's output."""
    pip_dir = Path(src, "bazel-bin/tensorflow/tools/pip_package")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        if target_kind == "build_pip_package":
            run(log, [str(pip_dir / "build_pip_package"), tmp], "package", cwd=src)
            wheels = sorted(Path(tmp).glob("*.whl"))
        else:
            wheels = sorted((pip_dir / "wheel_house").glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"package failed: expected one wheel, found {len(wheels)}")
        final = dest / wheels[0].name
        shutil.copyfile(wheels[0], final)
    return final


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def phase_durations(starts: dict[str, float], end: float) -> dict[str, float]:
    """Seconds per phase from the phases' start times (in order) and the end time."""
    names = list(starts)
    ends = [starts[n] for n in names[1:]] + [end]
    return {n: round(e - starts[n], 2) for n, e in zip(names, ends)}


def build(spec: dict[str, Any], log: TextIO) -> dict[str, Any]:
    """All phases; returns the metadata written beside the wheel."""
    starts: dict[str, float] = {}

    def phase(name: str) -> None:
        starts[name] = time.monotonic()
        log_line(log, f"== phase {name}")

    started = time.monotonic()
    phase("checkout")
    commit = checkout(log, spec)
    src = spec["source_dir"]
    phase("bazel")
    pinned = Path(src, ".bazelversion")
    wanted = pinned.read_text().strip() if pinned.is_file() else None
    bazel, bazel_version = find_bazel(wanted)
    log_line(log, f"[bazel] using {bazel} ({bazel_version}); source pins {wanted}")
    phase("configure")
    env = dict(os.environ, **spec["configure_env"])
    env.setdefault("PYTHON_LIB_PATH", python_lib(env["PYTHON_BIN_PATH"]))
    run(log, ["./configure"], "configure", cwd=src, env=env)
    phase("build")
    build_rule = Path(src, "tensorflow/tools/pip_package/BUILD").read_text()
    target_kind = "wheel" if re.search(r'name\s*=\s*"wheel"', build_rule) else "build_pip_package"
    argv = [bazel, *spec["bazel_args"], spec["targets"][target_kind]]
    try:
        run(log, argv, "build", cwd=src, env=env)
    finally:
        # Builds are rare: do not leave Bazel's JVM server idling on the host for hours.
        startup = spec["bazel_args"][:spec["bazel_args"].index("build")]
        subprocess.run([bazel, *startup, "shutdown"], cwd=src, capture_output=True)
    phase("package")
    wheel = package_wheel(log, src, target_kind, Path(spec["wheel_dir"]))
    metadata = {
        "wheel": wheel.name,
        "sha256": sha256_of(wheel),
        "cache_key": spec["cache_key"],
        "source_repo": spec["source_repo"],
        "source_ref": spec["source_ref"],
        "source_commit": commit,
        "flags": spec["flags"],
        "command": shlex.join(argv),
        "configure_env": {k: env[k] for k in sorted(spec["configure_env"]) + ["PYTHON_LIB_PATH"]},
        "target_microarch": spec["march"],
        "bazel": bazel,
        "bazel_version": bazel_version,
        "compiler": compiler_version(),
        "builder": platform.node(),
        "build_seconds": round(time.monotonic() - started, 2),
        "phase_seconds": phase_durations(starts, time.monotonic()),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = Path(spec["wheel_dir"], "metadata.json.tmp")
    tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    tmp.rename(Path(spec["wheel_dir"], "metadata.json"))
    log_line(log, f"== done in {metadata['build_seconds']} s: {wheel}")
    return metadata


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    Path(spec["log_path"]).parent.mkdir(parents=True, exist_ok=True)
    with open(spec["log_path"], "a") as log:
        log_line(log, f"== tf wheel build {spec['cache_key']} of {spec['source_ref']}")
        try:
            metadata = build(spec, log)
        except (BuildError, OSError, subprocess.CalledProcessError) as exc:
            log_line(log, f"== FAILED: {exc}")
            print(f"tf_build: ERROR {exc} (log: {spec['log_path']})", file=sys.stderr)
            return 1
    print(json.dumps(metadata))
    return 0


if __name__ == "__main__":
    sys.exit(main())
