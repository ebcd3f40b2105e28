"""Offline wheelhouse: download every wheel a set of envs needs once, on the controller, for
the nodes' Python and platform, so a fleet of N nodes hits the package index once, not N times.

A manifest (xeonfleet-wheelhouse.json) records what a directory was built for; building the same
thing again into it downloads nothing. `cached_wheelhouse` keeps one directory per distinct
request under ~/.cache/xeonfleet/wheelhouse, which CI and repeated test runs share.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from xeonfleet.stacks import EnvSpec

MANIFEST = "xeonfleet-wheelhouse.json"
# Tags pip accepts for a glibc x86_64 node when downloading for another interpreter.
LINUX_X86_64_PLATFORMS = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(17, 40)) + (
    "manylinux2014_x86_64", "linux_x86_64",
)


def requirements_for(envs: list[EnvSpec]) -> list[str]:
    """Union of every env's pip requirements, in first-seen order."""
    return list(dict.fromkeys(req for env in envs for req in env.pip_requirements()))


def manifest_for(requirements: list[str], python: str, platforms: tuple[str, ...]) -> dict:
    return {"requirements": requirements, "python": python, "platforms": list(platforms)}


def download_command(requirements: list[str], python: str, out: Path, platforms: tuple[str, ...]) -> list[str]:
    """The `pip download` line: binary wheels only, for the nodes' interpreter and platform."""
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
           "--only-binary=:all:", "--implementation", "cp", "--python-version", python, "-d", str(out)]
    for platform in platforms:
        cmd += ["--platform", platform]
    return cmd + requirements


def is_complete(out: Path, manifest: dict) -> bool:
    path = out / MANIFEST
    return path.is_file() and json.loads(path.read_text()) == manifest


def build(envs: list[EnvSpec], out: Path, platforms: tuple[str, ...] = LINUX_X86_64_PLATFORMS) -> bool:
    """Fill `out` with the wheels for `envs`; returns False when it was already complete.

    Raises RuntimeError with pip's last line when a wheel cannot be had.
    """
    pythons = sorted({env.python for env in envs})
    if len(pythons) != 1:
        raise RuntimeError(f"one wheelhouse serves one Python; these envs ask {', '.join(pythons)}: build one per Python")
    requirements = requirements_for(envs)
    manifest = manifest_for(requirements, pythons[0], platforms)
    if is_complete(out, manifest):
        return False
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    proc = subprocess.run(download_command(requirements, pythons[0], out, platforms),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stdout.splitlines() if line.startswith("ERROR")] or proc.stdout.splitlines()[-1:]
        raise RuntimeError(f"wheelhouse {out}: pip download failed: {lines[-1] if lines else 'no output'}")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return True


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xeonfleet" / "wheelhouse"


def cached_wheelhouse(envs: list[EnvSpec], platforms: tuple[str, ...] = LINUX_X86_64_PLATFORMS) -> Path:
    """A wheelhouse for `envs` under the user cache, built on first use and reused after."""
    key = json.dumps(manifest_for(requirements_for(envs), envs[0].python, platforms), sort_keys=True)
    out = cache_root() / hashlib.sha256(key.encode()).hexdigest()[:16]
    build(envs, out, platforms)
    return out


def wheel_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.whl"))
