"""What a lab host is, before and while it runs: the plan of hosts a lab should have, and their records.

`lab up --hosts N` is a plan (names, hardware, ports) compared against the hosts lab.json records;
this is the pure part of that, with no process, mount or socket, so the unit tests check it offline.
A LabHost is one host as lab.json stores it, with the paths of its state dir; a HostStatus is what
a probe found about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from xeonfleet.lab.errors import LabError
from xeonfleet.lab.ports import ADDRESS

_HOST_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,50}")


@dataclass(frozen=True)
class HostSpec:
    """What a host should be: the part of a host `up` compares to decide keep / replace."""

    name: str
    hardware: str
    port: int


@dataclass
class LabHost:
    """One lab host as recorded in lab.json; `pid` is its `unshare` process while it runs.

    `tree_dir` holds the host's generated /proc and /sys files (its overlay of the profile's shared
    tree): what the host reads and what its deploys write (governor, sysctls, THP...) are these
    files, readable from outside too."""

    name: str
    hardware: str
    port: int
    state_dir: Path
    tree_dir: Path
    pid: int | None = None

    @property
    def spec(self) -> HostSpec:
        return HostSpec(self.name, self.hardware, self.port)

    @property
    def upper_dir(self) -> Path:
        return self.state_dir / "upper"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / "work"

    @property
    def merged_dir(self) -> Path:
        return self.state_dir / "merged"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "host.log"

    @property
    def address(self) -> str:
        return f"{ADDRESS}:{self.port}"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "hardware": self.hardware,
            "port": self.port,
            "state_dir": str(self.state_dir),
            "tree_dir": str(self.tree_dir),
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, data: dict) -> LabHost:
        return cls(
            name=data["name"],
            hardware=data["hardware"],
            port=int(data["port"]),
            state_dir=Path(data["state_dir"]),
            tree_dir=Path(data["tree_dir"]),
            pid=data.get("pid"),
        )


@dataclass(frozen=True)
class HostStatus:
    """A host's health: its namespace runs, its sshd answers; `error` says why not after a boot."""

    host: LabHost
    running: bool
    answering: bool
    error: str | None = None

    @property
    def state(self) -> str:
        if self.answering:
            return "up"
        return "error" if self.error else "down"


def plan_hosts(count: int, hardware: list[str], port_base: int, prefix: str) -> list[HostSpec]:
    """The hosts a lab of `count` should have: names prefix-01.., hardware cycled, ports base+i."""
    if count < 1:
        raise LabError(f"--hosts must be at least 1 (got {count})")
    if not hardware:
        raise LabError("no hardware profile given; pass --hardware NAME (see `ls hardware/`)")
    if not _HOST_PREFIX.fullmatch(prefix):
        raise LabError(f"--prefix {prefix!r} is not a host name start; use lowercase letters, digits and '-'")
    if port_base < 1024 or port_base + count - 1 > 65535:
        raise LabError(
            f"ports {port_base}..{port_base + count - 1} are outside 1024..65535; "
            "pick another --port-base"
        )
    width = max(2, len(str(count)))
    return [
        HostSpec(f"{prefix}-{index + 1:0{width}d}", hardware[index % len(hardware)], port_base + index)
        for index in range(count)
    ]


def diff_plan(
    current: list[HostSpec], wanted: list[HostSpec]
) -> tuple[list[HostSpec], list[HostSpec], list[HostSpec]]:
    """Split into (keep, remove, add): a host is kept only when name, hardware and port all match."""
    wanted_set = set(wanted)
    current_set = set(current)
    keep = [spec for spec in current if spec in wanted_set]
    remove = [spec for spec in current if spec not in wanted_set]
    add = [spec for spec in wanted if spec not in current_set]
    return keep, remove, add

