"""Shared fixtures. `lab_factory` boots lab fleets for integration tests (see xeonfleet/lab/fleet.py).

Tests that boot hosts are marked `@pytest.mark.lab`. They are skipped on a machine that cannot run
the lab (not root, no unshare, no sshd) unless $CI is set: in CI we are root, so a missing tool
must fail the run instead of silently skipping the tests that matter most.
"""

from __future__ import annotations

import os
import posix
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xeonfleet.lab.fleet import Lab
from xeonfleet.lab.ports import find_free_port_base
from xeonfleet.lab.processes import lab_unavailable_reason

# Spread concurrent test sessions (several people or helpers on one VM) over distinct port ranges.
_PORT_SEARCH_START = 23000 + (os.getpid() % 200) * 100


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = lab_unavailable_reason()
    if reason is None or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"lab fleet unavailable: {reason}")
    for item in items:
        if item.get_closest_marker("lab"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _unpatched_os_close() -> Iterator[None]:
    """Undo gevent's os.close patch after each test. A test that runs pyinfra in-process leaves gevent's
    os.close in place, which defers every close; shutil.rmtree of a generated sysroot (thousands of
    directories) then runs out of file descriptors in a later test."""
    yield
    os.close = posix.close


LabFactory = Callable[..., Lab]


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """Boot a lab in a fresh temp lab dir on free ports: `lab_factory(["icx-8380-2s", "cloud-vm"])`
    gives one host per name (or `hosts=N` cycling over them); other options go to Lab.up (`login="ops"`: hosts
    that refuse root and log that user in; `sudoers=["audit"]`: with that role's drop-in). Every lab is downed
    at session end, also when a test failed; fails the calling test if any host did not boot."""
    labs: list[Lab] = []

    def boot(hardware: list[str], hosts: int | None = None, **options: Any) -> Lab:
        lab = Lab(tmp_path_factory.mktemp("lab"))
        labs.append(lab)  # before up: a half-booted lab is downed too
        count = hosts or len(hardware)
        statuses = lab.up(count, list(hardware), find_free_port_base(count, _PORT_SEARCH_START), **options)
        failed = [f"{s.host.name}: {s.error}" for s in statuses if not s.answering]
        if failed:
            pytest.fail(f"lab hosts did not boot: {'; '.join(failed)}")
        return lab

    yield boot
    for lab in labs:
        lab.down()


BENCH_ENV = Path("/var/cache/xeonfleet-test/bench-env")
# torch==2.13.0: the CPU wheel (a plain `torch` pulls a CUDA build), for matmul-isa.
BENCH_PACKAGES = ("numpy", "faiss-cpu", "torch==2.13.0")


@pytest.fixture(scope="session")
def bench_env() -> Path:
    """A venv with the light benchmark jobs' packages, built once per machine and shared by every test that
    runs benchmarks on lab hosts (each host's root is an overlay of this machine's, so they all see it)."""
    python = BENCH_ENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import numpy, faiss, torch"]).returncode != 0:
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(BENCH_ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BENCH_PACKAGES], check=True)
    return BENCH_ENV
