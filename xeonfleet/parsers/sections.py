"""Split the probe's output into files (path -> lines), binary blobs, tools and device hints."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field

MARKER = "@@@ "
PACKED = "@@@ packed gzip base64"
CPU_DIR = "sys/devices/system/cpu/cpu"
# "@@@ unreadable PATH needs-root": a root-only file this user may not read, and sudo -n did not grant it.
NEEDS_ROOT = " needs-root"
GRANT_COMMAND = "xeonfleet sudoers --role audit"


def needs_root_reason(what: str, path: str) -> str:
    """The start of the errors line of a root-only read that was refused ("needs root: SMBIOS /sys/...
    (grant it ...)"); the caller adds what is unknown because of it."""
    return f"needs root: {what} /{path} (grant it with `{GRANT_COMMAND}`, or probe as root)"


def root_refusal(errors: list[str], what: str) -> str | None:
    """The `needs root: WHAT ...` line of a facts `errors` list without what the parser added after it (a rule's
    UNKNOWN evidence: the read refused and the grant that allows it); None when that read was not refused."""
    start = f"needs root: {what} "
    for line in errors:
        if line.startswith(start):
            return line.rpartition("): ")[0] + ")" if "): " in line else line
    return None


def to_int(text: str | None) -> int | None:
    """A sysfs value as an integer; None when missing or not an integer."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


@dataclass
class ProbeOutput:
    """What one probe run saw, keyed by path relative to the root ("proc/cpuinfo")."""

    files: dict[str, list[str]] = field(default_factory=dict)
    binary: dict[str, bytes] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    needs_root: set[str] = field(default_factory=set)  # the unreadable ones that need root (needs_root_reason)
    virtual_devices: set[str] = field(default_factory=set)  # "sys/devices/virtual/net/lo"
    tools: dict[str, str] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)  # "dev/cpu/0/msr": a driver's device node exists
    complete: bool = False
    _paths: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    _cpu_leaves: dict[str, dict[int, str]] = field(default_factory=dict, init=False, repr=False,
                                                   compare=False)
    _cpu_leaves_seen: int = field(default=-1, init=False, repr=False, compare=False)

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
        return to_int(self.value(path))

    def matching(self, prefix: str, suffix: str) -> dict[str, list[str]]:
        """Files whose path starts with prefix and ends with suffix, keyed by the middle part."""
        paths = self._sorted_paths()
        found = {}
        # Paths are sorted: the ones with this prefix are one contiguous run (a big host has
        # thousands of per-CPU files, and parsers ask for a few prefixes each).
        for path in paths[bisect_left(paths, prefix) :]:
            if not path.startswith(prefix):
                break
            if path.endswith(suffix) and len(path) > len(prefix) + len(suffix):
                found[path[len(prefix) : len(path) - len(suffix)]] = self.files[path]
        return found

    def per_cpu(self, leaf: str) -> dict[int, str]:
        """{cpu: value} of every sys/devices/system/cpu/cpuN/<leaf> ("cpufreq/scaling_governor"),
        stripped; missing and empty files are left out (as value() gives None for them).

        Indexed in one pass: parsers read ~10 per-CPU leaves of up to a few hundred CPUs each.
        """
        if self._cpu_leaves_seen != len(self.files):
            self._cpu_leaves = self._index_cpu_leaves()
            self._cpu_leaves_seen = len(self.files)
        return self._cpu_leaves.get(leaf, {})

    def _index_cpu_leaves(self) -> dict[str, dict[int, str]]:
        # One pass in the probe's own order, no sort: this runs once per host of a fleet gather.
        leaves: dict[str, dict[int, str]] = {}
        start = len(CPU_DIR)
        for path, lines in self.files.items():
            if lines and path.startswith(CPU_DIR):
                number, sep, leaf = path[start:].partition("/")
                if sep and number.isdigit() and (text := lines[0].strip()):
                    leaves.setdefault(leaf, {})[int(number)] = text
        return leaves

    def _sorted_paths(self) -> list[str]:
        """The paths in order, recomputed only when files were added since the last call."""
        if len(self._paths) != len(self.files):
            self._paths = sorted(self.files)
        return self._paths


def unpack(lines: list[str]) -> str:
    """The plain probe text, whether the probe ran with PACK=1 (gzip + base64) or not."""
    if not lines or lines[0] != PACKED:
        return "\n".join(lines)
    try:
        data = gzip.decompress(base64.b64decode("".join(lines[1:])))
    except (binascii.Error, OSError, EOFError, zlib.error):
        return "@@@ unreadable packed probe output (corrupt gzip/base64)"
    return data.decode("utf-8", errors="replace")


def _add_text_lines(out: ProbeOutput, body: str) -> None:
    """grep -H output: "path:line" per line (split at the first colon), a file's lines contiguous."""
    files = out.files
    for text in body.split("\n"):
        path, sep, line = text.partition(":")
        if not sep:
            continue
        lines = files.get(path)
        if lines is None:
            files[path] = [line]
        else:
            lines.append(line)


def parse_probe_output(lines: list[str]) -> ProbeOutput:
    """Parse probe.sh output lines (plain or packed) into a ProbeOutput.

    Works on whole sections (split, regex) rather than line by line: a 2-socket host sends
    ~10,000 lines and this runs once per host inside the fleet gather.
    """
    out = ProbeOutput()
    text = "\n" + unpack(lines)
    for section in text.split("\n" + MARKER)[1:]:
        header, _, body = section.partition("\n")
        kind, _, arg = header.partition(" ")
        if kind == "text":
            _add_text_lines(out, body)
        elif kind == "file" and arg:
            out.files[arg] = body.splitlines()
        elif kind == "hex" and arg:
            try:
                out.binary[arg] = bytes.fromhex(body.replace(" ", "").replace("\n", ""))
            except ValueError:
                out.unreadable.append(arg)
        elif kind == "unreadable" and arg:
            if arg.endswith(NEEDS_ROOT):
                arg = arg.removesuffix(NEEDS_ROOT)
                out.needs_root.add(arg)
            out.unreadable.append(arg)
        elif kind == "virtual" and arg:
            out.virtual_devices.add(arg)
        elif kind == "device" and arg:
            out.devices.add(arg)
        elif kind == "tool" and arg:
            name, _, path = arg.partition(" ")
            out.tools[name] = path
        elif kind == "end":
            out.complete = True
    return out
