"""Kernel sysctls: the profile's `os.sysctl` map and automatic NUMA balancing (`numa.balancing`).

Each is set now with `sysctl -w` and kept across boots by one drop-in (/etc/sysctl.d/90-xeonfleet.conf,
read by systemd-sysctl), so the boot script has nothing to do for them.
"""

from __future__ import annotations

import re
from typing import Any

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import (EntryError, Facts, Knob, PersistFile, ProfileKey, ProfileValues, Setter, fact,
                                  int_key, records_files)
from xeonfleet.knobs import commands

SYSCTL_FILE = "/etc/sysctl.d/90-xeonfleet.conf"
DROP_IN = PersistFile(SYSCTL_FILE, "sysctl-xeonfleet.conf.j2")

VM_RST = "Documentation/admin-guide/sysctl/vm.rst"
KERNEL_RST = "Documentation/admin-guide/sysctl/kernel.rst"
# The ranges the kernel documents for numeric sysctls a profile may set: a value outside is refused when the
# profile loads, not by `sysctl -w` on every node. A sysctl not listed is any string or integer, as before.
SYSCTL_RANGES: dict[str, tuple[int, int, str]] = {
    # vm.rst swappiness: "the rough relative IO cost of swapping and filesystem paging, as a value between
    # 0 and 200" (Linux 5.8 on; 0-100 before)
    "vm.swappiness": (0, 200, VM_RST),
    # vm.rst: "as a percentage of total available memory"; mm/page-writeback.c: proc_dointvec_minmax 0..100
    "vm.dirty_ratio": (0, 100, VM_RST),
    "vm.dirty_background_ratio": (0, 100, VM_RST),
    # vm.rst overcommit_memory: "When this flag is 0 ... 1 ... 2"
    "vm.overcommit_memory": (0, 2, VM_RST),
    # vm.rst zone_reclaim_mode: 1 (zone reclaim on), 2 (writes dirty pages out), 4 (swaps pages) "OR'ed together"
    "vm.zone_reclaim_mode": (0, 7, VM_RST),
    # kernel.rst nmi_watchdog: "0 Disable the hard lockup detector. 1 Enable the hard lockup detector."
    "kernel.nmi_watchdog": (0, 1, KERNEL_RST),
}


def _is_sysctl_map(value: Any) -> bool:
    """A mapping of sysctl key to string or integer, each in its documented range (else EntryError)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in value.items()
    ):
        return False
    for key, setting in value.items():
        if key in SYSCTL_RANGES:
            low, high, source = SYSCTL_RANGES[key]
            text = str(setting).strip()
            if not re.fullmatch(r"-?\d+", text) or not low <= int(text) <= high:
                raise EntryError(key, f"an integer from {low} to {high} (kernel {source})")
    return True


PROFILE_KEYS = (
    ProfileKey("os.sysctl", _is_sysctl_map, "a mapping of sysctl key to value"),
    int_key("numa.balancing", "an integer (0 = off)"),
)


def _numa_balancing_applies(facts: Facts) -> str | None:
    if fact(facts, "numa.balancing") is not None or (fact(facts, "numa.node_count") or 1) > 1:
        return None
    return "single NUMA node kernel without numa_balancing"


def _setter(key: str) -> Setter:
    return Setter(command=lambda wanted, facts: commands.sh("sysctl", "-q", "-w", f"{key}={wanted}"),
                  record=records_files(lambda facts: [paths.sysctl(key)]))


def _sysctl_knob(key: str) -> Knob:
    return Knob(
        id=f"os.sysctl.{key}", severity="low", title=f"sysctl {key}",
        read=lambda facts: (fact(facts, "os.sysctl") or {}).get(key),  # the key's own dots are not a path
        wanted=lambda profile, facts: str(profile.get("os.sysctl")[key]),
        setter=_setter(key), persist=DROP_IN, key=key,
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    """numa.balancing first (it is the guide's), then the profile's sysctl map in its order."""
    declared: list[Knob] = []
    if profile.get("numa.balancing") is not None:
        key = "kernel.numa_balancing"
        declared.append(Knob(id="numa.balancing", severity="medium", title="Automatic NUMA balancing",
                             applies=_numa_balancing_applies, setter=_setter(key), persist=DROP_IN, key=key))
    return declared + [_sysctl_knob(key) for key in (profile.get("os.sysctl") or {})]
