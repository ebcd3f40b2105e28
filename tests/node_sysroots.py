"""Sysroots for the node wing's topology readers (the launcher and the benchmark runners read them alike):
a generated 2S Ice Lake with SNC2 (4 NUMA nodes of 20 cores / 40 logical CPUs), and copies of it seen by a
process limited by taskset, Mems_allowed or a container's cgroup cpuset; and the facts a lab host of a hardware
profile gives (the tune planner's input)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from xeonfleet.facts.probe import run_probe_local
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines


def icx_snc2_sysroot(root: Path) -> str:
    build_sysroot(load_hardware("icx-8380-2s-mistuned"), root, "launcher")
    return str(root)


def restricted_copy(sysroot: str, tmp_path: Path, cpus: str, mems: str, cgroup_cpus: str | None = None) -> str:
    """The same topology seen by a process limited to `cpus`/`mems` (taskset, a container's cgroup)."""
    root = tmp_path / "restricted"
    shutil.copytree(sysroot, root, symlinks=True)
    (root / "proc/self").mkdir(parents=True, exist_ok=True)
    (root / "proc/self/status").write_text(f"Name:\tpython3\nCpus_allowed_list:\t{cpus}\nMems_allowed_list:\t{mems}\n")
    if cgroup_cpus is not None:
        (root / "proc/self/cgroup").write_text("0::/ctr\n")
        (root / "sys/fs/cgroup/ctr").mkdir(parents=True)
        (root / "sys/fs/cgroup/ctr/cpuset.cpus.effective").write_text(cgroup_cpus + "\n")
    return str(root)


@lru_cache(maxsize=None)
def lab_host_facts(hardware: str, root: str) -> dict:
    """NodeFacts of a lab host of `hardware`, probed from a tree built at `root` (once per hardware and root)."""
    build_sysroot(load_hardware(hardware), Path(root), "unit")
    facts = node_facts_from_lines(run_probe_local(root))
    # A sysroot holds only /proc and /sys; the lab hosts run on a Debian root with the tools installed.
    facts["tools"] = {"numactl": True, "cpupower": True, "dmidecode": True}
    facts["os"]["distro"] = {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12"}
    return facts
