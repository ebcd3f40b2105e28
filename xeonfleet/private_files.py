"""What the controller writes about a fleet is its owner's alone: the results store (serial numbers, BIOS and
microcode versions), reports, benchmark results, the lab's SSH keys.

Directories xeonfleet creates are 0700 and its files 0600, set when they are created. A directory or file the
user already has is never chmod'ed: `-o /tmp/x.html` makes x.html 0600 and leaves /tmp as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dirs(path: Path) -> Path:
    """`mkdir -p path`, each directory it creates 0700; those that exist keep their mode. Returns `path`."""
    missing = []
    for directory in (path, *path.parents):
        if directory.is_dir():
            break
        missing.append(directory)
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists, for a file another library then opens and fills (SQLite,
    whose -wal and -shm files take the database file's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, created 0600 (a file that exists keeps its mode)."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "w") as out:
        out.write(text)
