"""Nightly runs on the controller: a lock so two runs never overlap, and retention of raw results."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import IO


class LockHeld(RuntimeError):
    """Another nightly run is in progress; the message names its pid, start time and the lock file."""


class NightlyLock:
    """An exclusive flock on a file: released by the kernel when the holder exits, even on a crash,
    so a stale lock never blocks the next night."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def __enter__(self) -> NightlyLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown holder"
            handle.close()
            raise LockHeld(f"another nightly benchmark holds the lock ({holder}): {self.path}; "
                           "this start exits without running") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle:
            self._handle.close()
            self._handle = None


def prune_raw_results(results_dir: Path, keep_days: float, now: float | None = None) -> list[Path]:
    """Delete run directories of raw result files older than keep_days (the store keeps the samples)."""
    if keep_days <= 0:
        raise ValueError(f"--keep-days must be positive (got {keep_days})")
    cutoff = (now or time.time()) - keep_days * 86400
    removed = []
    if not results_dir.is_dir():
        return removed
    for run_dir in sorted(results_dir.iterdir()):
        if run_dir.is_dir() and run_dir.stat().st_mtime < cutoff:
            shutil.rmtree(run_dir)
            removed.append(run_dir)
    return removed
