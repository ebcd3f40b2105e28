"""`xeonfleet snapshot`: a live host's probe output turned back into a sysroot tarball.

The tree is rebuilt from the probe's own output rather than by tar on the host: sysfs files
report a size of 4096 bytes, so tar pads them with zeros and the snapshot would lie. Rebuilding
from what the probe read also guarantees `facts --sysroot` on the snapshot equals the live facts.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

from xeonfleet.parsers.sections import ProbeOutput, parse_probe_output

# The root-only files the probe was refused, one a line: probe.sh reports them again from an offline tree, so
# the snapshot's facts say "needs root" as the live host's did, not "no SMBIOS on this host".
NEEDS_ROOT_LIST = ".xeonfleet-needs-root"


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int, now: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(now)
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, now: float) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(now)
    tar.addfile(info)


def write_snapshot(probe: ProbeOutput, out: Path) -> int:
    """Write the files the probe saw as a .tar.gz in the sysroot layout; returns the file count."""
    now = time.time()
    count = 0
    with tarfile.open(out, "w:gz") as tar:
        for path, lines in sorted(probe.files.items()):
            _add(tar, path, ("\n".join(lines) + "\n").encode(), 0o644, now)
            count += 1
        for path, data in sorted(probe.binary.items()):
            _add(tar, path, data, 0o444, now)
            count += 1
        for path in sorted(probe.virtual_devices):
            _add_dir(tar, path, now)
        for tool_path in sorted(probe.tools.values()):
            # An empty executable placeholder: the probe only tests that the tool exists.
            _add(tar, tool_path.lstrip("/"), b"", 0o755, now)
        if probe.needs_root:
            _add(tar, NEEDS_ROOT_LIST, "".join(f"{path}\n" for path in sorted(probe.needs_root)).encode(), 0o644, now)
    return count


def snapshot_from_lines(lines: list[str], out: Path) -> int:
    """Probe output lines -> FILE.tar.gz."""
    return write_snapshot(parse_probe_output(lines), out)
