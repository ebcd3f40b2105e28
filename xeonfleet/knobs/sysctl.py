"""Kernel sysctls: the profile's `os.sysctl` map and automatic NUMA balancing (`numa.balancing`).

Each is set now with `sysctl -w` and kept across boots by one drop-in (/etc/sysctl.d/90-xeonfleet.conf,
read by systemd-sysctl), so the boot script has nothing to do for them.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import (Facts, Knob, PersistFile, ProfileKey, ProfileValues, Setter, fact, int_key,
                                  records_files)
from xeonfleet.knobs import commands

SYSCTL_FILE = "/etc/sysctl.d/90-xeonfleet.conf"
DROP_IN = PersistFile(SYSCTL_FILE, "sysctl-xeonfleet.conf.j2")


def _is_sysctl_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in value.items()
    )


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
