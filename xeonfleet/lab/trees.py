"""The generated /proc + /sys tree each lab host sees: one read-only tree per hardware profile, shared
by all its hosts, under a small writable overlay layer per host.

A full tree is ~10,000 files, ~35 MB on tmpfs; a host's own part of it (hostname, MAC addresses,
the SMBIOS table with its serials) is a few files under 10 kB. So the profile's tree is built once
and each host gets an overlay: lower = the shared tree, upper = the host's identity plus whatever its
deploys write (a governor, a C-state, an MSR file is copied up on its first write), which no other
host sees. 1,000 hosts of six profiles then hold six trees instead of 1,000.

Layout on the lab's trees tmpfs (one per lab, so a reboot or `down` drops it at once):
    shared/KEY/         a profile's tree, bind-mounted read-only (KEY: profile name + content hash,
                        so an edited profile gets a new tree and running hosts keep theirs)
    hosts/NAME/upper/   the host's writable layer: identity files, then every copied-up write
    hosts/NAME/work/    overlayfs's work dir
    hosts/NAME/tree/    the overlay mount: what the host binds over /sys, /proc files and /dev/cpu,
                        and what `LabHost.tree_dir` names, readable from outside while the lab exists
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.sysroot import build_shared_tree, write_host_identity

# The trees tmpfs gets the kernel's defaults made explicit, so the fit check can count on them before
# it is mounted: half the RAM, and one inode per two pages of RAM.
TREES_MOUNT_OPTIONS = "mode=0755,size=50%"


class TreeError(Exception):
    """A tree could not be built or mounted; the message is one line naming the path and the cause."""


def host_tree_dir(trees_dir: Path, name: str) -> Path:
    """Where host `name`'s overlay is mounted."""
    return trees_dir / "hosts" / name / "tree"


def shared_tree_dir(trees_dir: Path, hw: HardwareProfile) -> Path:
    """The shared tree of `hw`: keyed by its content, so editing a profile's YAML makes a new one."""
    digest = hashlib.sha256(hw.model_dump_json().encode()).hexdigest()[:12]
    return trees_dir / "shared" / f"{hw.name}-{digest}"


def mount_trees_fs(trees_dir: Path) -> None:
    """Mount the lab's trees tmpfs unless it is mounted already."""
    if not os.path.ismount(trees_dir):
        trees_dir.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", TREES_MOUNT_OPTIONS, "xeonfleet-lab", str(trees_dir))


def mount_host_tree(trees_dir: Path, hw: HardwareProfile, name: str) -> None:
    """Mount host `name`'s overlay of the shared tree of `hw`, building what is missing.

    A mounted overlay is left as it is; an upper dir that exists is kept (a stopped host keeps its
    writes); a new one starts with the host's identity files.
    """
    tree = host_tree_dir(trees_dir, name)
    if os.path.ismount(tree):
        return
    lower = _ensure_shared_tree(trees_dir, hw)
    upper, work = tree.with_name("upper"), tree.with_name("work")
    try:
        if not upper.exists():
            write_host_identity(hw, upper, name)
        work.mkdir(exist_ok=True)
        tree.mkdir(exist_ok=True)
    except OSError as exc:
        raise TreeError(f"cannot write the tree layer of {name} at {exc.filename}: {exc.strerror}") from exc
    _mount("-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", str(tree))


def remove_host_tree(trees_dir: Path, name: str) -> None:
    """Unmount host `name`'s overlay and delete its layer (a no-op for a host without one)."""
    tree = host_tree_dir(trees_dir, name)
    if os.path.ismount(tree):
        _umount(str(tree))
    shutil.rmtree(tree.parent, ignore_errors=True)


def unmount_trees_fs(trees_dir: Path) -> None:
    """Unmount the trees tmpfs with every overlay and shared tree on it."""
    if os.path.ismount(trees_dir):
        _umount("-R", str(trees_dir))


def _ensure_shared_tree(trees_dir: Path, hw: HardwareProfile) -> Path:
    """The read-only shared tree of `hw`, built and bind-mounted read-only on first use.

    Built in a temporary dir and renamed into place, so an interrupted build never becomes a lower.
    """
    lower = shared_tree_dir(trees_dir, hw)
    if os.path.ismount(lower):
        return lower
    building = lower.with_name(lower.name + ".building")
    try:
        if not lower.exists():
            shutil.rmtree(building, ignore_errors=True)
            build_shared_tree(hw, building)
            building.rename(lower)
    except OSError as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise TreeError(
            f"cannot build the {hw.name} tree at {exc.filename}: {exc.strerror}; if the trees tmpfs is full, "
            f"give it more room: mount -o remount,size=...,nr_inodes=... {trees_dir}"
        ) from exc
    _mount("--bind", "-o", "ro", str(lower), str(lower))
    return lower


def _mount(*args: str) -> None:
    _run("mount", *args)


def _umount(*args: str) -> None:
    _run("umount", *args)


def _run(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode:
        message = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[0]
        raise TreeError(f"{' '.join(argv)} failed: {message}")
