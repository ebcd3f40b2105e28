"""Split the probe's output into files (path -> lines), binary blobs, tools and device hints."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from dataclasses import dataclass, field

MARKER = "@@@ "
PACKED = "@@@ packed gzip base64"


@dataclass
class ProbeOutput:
    """What one probe run saw, keyed by path relative to the root ("proc/cpuinfo")."""

    files: dict[str, list[str]] = field(default_factory=dict)
    binary: dict[str, bytes] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    virtual_devices: set[str] = field(default_factory=set)  # "sys/devices/virtual/net/lo"
    tools: dict[str, str] = field(default_factory=dict)
    complete: bool = False

    def lines(self, path: str) -> list[str] | None:
        """The file's lines, or None when the probe did not see it."""
        return self.files.get(path)

    def value(self, path: str) -> str | None:
        """A one-value sysfs file, stripped; None when missing or empty."""
        lines = self.files.get(path)
        if not lines:
            return None
        text = lines[0].strip()
        return text or None

    def int_value(self, path: str) -> int | None:
        """A one-integer sysfs file; None when missing, empty or not an integer."""
        text = self.value(path)
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    def matching(self, prefix: str, suffix: str) -> dict[str, list[str]]:
        """Files whose path starts with prefix and ends with suffix, keyed by the middle part."""
        found = {}
        for path, lines in self.files.items():
            if path.startswith(prefix) and path.endswith(suffix) and len(path) > len(prefix) + len(suffix):
                found[path[len(prefix) : len(path) - len(suffix)]] = lines
        return found


def unpack(lines: list[str]) -> list[str]:
    """The plain probe lines, whether the probe ran with PACK=1 (gzip + base64) or not."""
    if not lines or lines[0] != PACKED:
        return lines
    try:
        data = gzip.decompress(base64.b64decode("".join(lines[1:])))
    except (binascii.Error, OSError, EOFError, zlib.error):
        return ["@@@ unreadable packed probe output (corrupt gzip/base64)"]
    return data.decode("utf-8", errors="replace").splitlines()


def parse_probe_output(lines: list[str]) -> ProbeOutput:
    """Parse probe.sh output lines (plain or packed) into a ProbeOutput."""
    out = ProbeOutput()
    lines = unpack(lines)
    section = ""
    hex_path = ""
    hex_chunks: list[str] = []
    for line in lines:
        if line.startswith(MARKER):
            if hex_path:
                out.binary[hex_path] = bytes.fromhex("".join(hex_chunks))
                hex_path, hex_chunks = "", []
            words = line[len(MARKER) :].split(" ", 2)
            section = words[0]
            if section == "hex" and len(words) > 1:
                hex_path = words[1]
            elif section == "unreadable" and len(words) > 1:
                out.unreadable.append(words[1])
            elif section == "virtual" and len(words) > 1:
                out.virtual_devices.add(words[1])
            elif section == "tool" and len(words) > 2:
                out.tools[words[1]] = words[2]
            elif section == "end":
                out.complete = True
            continue
        if section == "text":
            path, sep, rest = line.partition(":")
            if sep:
                out.files.setdefault(path, []).append(rest)
        elif hex_path:
            hex_chunks.append(line.replace(" ", ""))
    if hex_path:
        out.binary[hex_path] = bytes.fromhex("".join(hex_chunks))
    return out
