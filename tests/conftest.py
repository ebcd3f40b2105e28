"""Shared fixtures. `lab_factory` boots lab fleets for integration tests (see xeonfleet/lab/fleet.py).

Tests that boot hosts are marked `@pytest.mark.lab`. They are skipped on a machine that cannot run
the lab (not root, no unshare, no sshd) unless $CI is set: in CI we are root, so a missing tool
must fail the run instead of silently skipping the tests that matter most.
"""

from __future__ import annotations

import fcntl
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


def _port_search_start() -> int:
    """Where this process looks for free lab ports: one slot of 100 ports out of 200 per test process, so
    concurrent sessions (several people or helpers on one VM) seldom meet. The workers of one xdist run
    take consecutive slots from their shared run id, so they never share one."""
    run_id, worker = os.environ.get("PYTEST_XDIST_TESTRUNUID"), os.environ.get("PYTEST_XDIST_WORKER")
    if run_id and worker:
        slot = int(run_id, 16) + int(worker.removeprefix("gw"))
    else:
        slot = os.getpid()
    return 23000 + (slot % 200) * 100


_PORT_SEARCH_START = _port_search_start()

# scripts/test.sh runs the suite on pytest-xdist workers, which must survive the gevent patching that an
# in-process pyinfra run does.
pytest_plugins = ["tests.xdist_gevent"]


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


@pytest.fixture(scope="module")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """Boot a lab in a fresh temp lab dir on free ports: `lab_factory(["icx-8380-2s", "cloud-vm"])`
    gives one host per name (or `hosts=N` cycling over them); other options go to Lab.up (`login="ops"`: hosts
    that refuse root and log that user in; `sudoers=["audit"]`: with that role's drop-in). Every lab is downed
    at the end of the module that booted it, also when a test failed, so a worker's labs never pile up over the
    session (their memory, and ports spilling into the next worker's slot); fails the calling test if any host
    did not boot."""
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
def lab_port_base() -> Callable[[int], int]:
    """`lab_port_base(count)`: the first of `count` free consecutive ports in this process's slot, for a
    test that boots a lab through the CLI rather than `lab_factory`."""
    return lambda count: find_free_port_base(count, _PORT_SEARCH_START)


@pytest.fixture(scope="session")
def bench_env() -> Path:
    """A venv with the light benchmark jobs' packages, built once per machine and shared by every test that
    runs benchmarks on lab hosts (each host's root is an overlay of this machine's, so they all see it).
    Built under a lock: two xdist workers (or two sessions) asking at once build it once."""
    python = BENCH_ENV / "bin" / "python"
    BENCH_ENV.parent.mkdir(parents=True, exist_ok=True)
    with open(BENCH_ENV.parent / "bench-env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not python.exists() or subprocess.run([str(python), "-c", "import numpy, faiss, torch"]).returncode != 0:
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", "--clear", str(BENCH_ENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *BENCH_PACKAGES], check=True)
    return BENCH_ENV
