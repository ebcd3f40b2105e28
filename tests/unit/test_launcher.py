"""xeonfleet-run (node-side launcher) on a generated 2S Ice Lake sysroot with SNC2: 4 NUMA nodes of
20 cores / 40 logical CPUs. Plans are printed with --dry-run; real runs start real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.node_sysroots import icx_snc2_sysroot, restricted_copy
from xeonfleet.node import launcher as xeonfleet_run
from xeonfleet.node.instances import Instance

SCRIPT = Path(xeonfleet_run.__file__)


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory: pytest.TempPathFactory) -> str:
    return icx_snc2_sysroot(tmp_path_factory.mktemp("icx-snc2"))


def launch(sysroot: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--sysroot", sysroot, *args], capture_output=True,
                          text=True, env=env)


def plan_rows(output: str) -> list[list[str]]:
    return [line.split(None, 4) for line in output.splitlines()[2:]]


def test_throughput_mode_is_one_instance_per_numa_node(sysroot: str) -> None:
    result = launch(sysroot, "--mode", "throughput", "--dry-run", "--", "app")
    rows = plan_rows(result.stdout)
    assert result.returncode == 0 and [r[1] for r in rows] == ["0", "1", "2", "3"]
    assert rows[0][2:4] == ["20", "0-19"]  # physical cores only: HT siblings 80-99 stay free
    assert rows[0][4] == "numactl -C 0-19 -m 0 app"


def test_latency_mode_and_node_local(sysroot: str) -> None:
    rows = plan_rows(launch(sysroot, "--mode", "latency", "--instances", "6", "--node-local", "--dry-run", "--",
                            "app").stdout)
    assert len(rows) == 6 and {r[2] for r in rows} == {"4"} and rows[5][1] == "1"  # 5 per node, then node 1
    assert rows[0][4] == "numactl -C 0-3 -l app"


def test_auto_follows_the_env_file(sysroot: str) -> None:
    rows = plan_rows(launch(sysroot, "--dry-run", "--", "app", env={"XEONFLEET_CORES_PER_INSTANCE": "10"}).stdout)
    assert len(rows) == 8 and {r[2] for r in rows} == {"10"}


def test_too_many_cores_or_instances_is_a_clear_error(sysroot: str) -> None:
    big = launch(sysroot, "--cores-per-instance", "21", "--dry-run", "--", "app")
    assert big.returncode == 2 and "more than a NUMA node has (20 physical cores)" in big.stderr
    many = launch(sysroot, "--cores-per-instance", "20", "--instances", "5", "--dry-run", "--", "app")
    assert many.returncode == 2 and "this host holds 4" in many.stderr


def test_missing_allocator_is_a_clear_error(sysroot: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xeonfleet_run, "LIB_DIRS", ("/nonexistent",))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    code = xeonfleet_run.main(["--sysroot", sysroot, "--allocator", "jemalloc", "--dry-run", "--", "app"])
    assert code == 2


def test_instance_env_intel_vs_gnu() -> None:
    inst = Instance(index=1, node=0, cpus=(0, 1, 2), threads=3)
    intel = xeonfleet_run.instance_env(inst, "intel", "/usr/lib/libjemalloc.so.2")
    assert intel["OMP_NUM_THREADS"] == "3" and "KMP_AFFINITY" in intel and intel["LD_PRELOAD"].startswith("/usr/lib/libj")
    gnu = xeonfleet_run.instance_env(inst, "gnu", None)
    assert gnu["OMP_PROC_BIND"] == "close" and gnu["OMP_PLACES"] == "cores" and "KMP_AFFINITY" not in gnu


def test_runs_every_instance_and_returns_the_worst_exit_code(sysroot: str, tmp_path: Path) -> None:
    # numactl cannot pin to CPUs this test machine lacks (an 80-core plan), so a stand-in numactl on PATH runs
    # the command; the real numactl is tested below on this machine's own topology.
    fake = tmp_path / "numactl"
    fake.write_text('#!/bin/sh\nwhile [ "$1" != app ]; do shift; done; shift; exec "$@"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    result = launch(sysroot, "--mode", "throughput", "--", "app", "sh", "-c", 'echo "t=$OMP_NUM_THREADS"; exit $XEONFLEET_INSTANCE', env=env)
    assert result.returncode == 3 and result.stdout.count("t=20") == 4


def test_real_numactl_pins_each_instance_to_its_planned_cpus_on_this_machine() -> None:
    """No stand-in: this machine's own topology (--sysroot /) and the real numactl. Each instance
    reports the CPUs the kernel lets it run on, which must be exactly the ones its plan row lists."""
    report = 'echo "$XEONFLEET_INSTANCE $(grep Cpus_allowed_list /proc/self/status | cut -f2)"'
    result = launch("/", "--cores-per-instance", "1", "--instances", "auto", "--", "sh", "-c", report)
    assert result.returncode == 0, result.stderr
    rows = plan_rows(result.stdout)
    planned = {row[0]: row[3] for row in rows if len(row) == 5 and row[4].startswith("numactl -C")}
    reported = {row[0]: row[1] for row in rows if len(row) == 2}
    assert len(planned) >= 1 and reported == planned


def test_plans_only_over_the_cpus_the_process_may_use(sysroot: str, tmp_path: Path) -> None:
    # sysfs claims 160 CPUs on 4 nodes; affinity allows 0-9 and 20-29, the cgroup cpuset only 0-5 of them.
    root = restricted_copy(sysroot, tmp_path, "0-9,20-29", "0,1", cgroup_cpus="0-5,60-70")
    result = launch(root, "--instances", "auto", "--dry-run", "--", "app")
    assert result.returncode == 0, result.stderr
    assert plan_rows(result.stdout) == [["0", "0", "6", "0-5", "numactl -C 0-5 -m 0 app"]]
    assert "the topology lists 160 CPUs on 4 NUMA node(s), this process may use 6" in result.stderr


def test_unrestricted_process_gets_no_note(sysroot: str, tmp_path: Path) -> None:
    root = restricted_copy(sysroot, tmp_path, "0-159", "0-3")
    result = launch(root, "--mode", "throughput", "--dry-run", "--", "app")
    assert result.returncode == 0 and "note" not in result.stderr
    assert len(plan_rows(result.stdout)) == 4


def test_nothing_usable_is_one_error_line(sysroot: str, tmp_path: Path) -> None:
    root = restricted_copy(sysroot, tmp_path, "200-201", "0")  # CPUs the topology does not list
    result = launch(root, "--instances", "auto", "--", "app")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "xeonfleet-run: none of the 160 CPUs in this host's topology is usable by this process "
        "(allowed CPUs 200-201, memory nodes 0); run it outside the restricting cgroup or taskset"]


def test_memory_nodes_outside_mems_allowed_are_not_planned(sysroot: str, tmp_path: Path) -> None:
    root = restricted_copy(sysroot, tmp_path, "0-159", "2")
    result = launch(root, "--mode", "throughput", "--dry-run", "--", "app")
    assert [row[1] for row in plan_rows(result.stdout)] == ["2"]


def test_near_nic_places_every_instance_on_the_nics_numa_node(sysroot: str, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "nic"
    shutil.copytree(sysroot, root, symlinks=True)
    (root / "sys/class/net/ens1f1/device/numa_node").write_text("2\n")
    rows = plan_rows(launch(str(root), "--near-nic", "ens1f1", "--mode", "latency", "--dry-run", "--", "app").stdout)
    assert rows and {row[1] for row in rows} == {"2"}  # SNC2: node 2 is socket 1's first half
    (root / "sys/class/net/ens1f1/device/numa_node").write_text("-1\n")
    unknown = launch(str(root), "--near-nic", "ens1f1", "--dry-run", "--", "app")
    assert unknown.returncode == 2 and "ens1f1 reports no NUMA node" in unknown.stderr
    virtual = launch(str(root), "--near-nic", "lo", "--dry-run", "--", "app")
    assert virtual.returncode == 2 and len(virtual.stderr.strip().splitlines()) == 1
    assert "no PCIe device behind lo" in virtual.stderr
