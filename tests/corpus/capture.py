"""Add the machine you are on to the real-tree corpus: `python tests/corpus/capture.py NAME`.

Run it (as root, so the SMBIOS table is readable) on every new kind of machine you get: it writes
tests/corpus/NAME/root/ (what the probe reads, rebuilt as a sysroot, exactly as `xeonfleet snapshot`
does for a remote host) and the machine's own `lscpu` and `numactl -H` output beside it, which the
corpus test takes as the expected values. Commit the folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from xeonfleet.facts.probe import run_probe_local
from xeonfleet.connect.snapshot import snapshot_from_lines

CORPUS = Path(__file__).resolve().parent


def _record(command: list[str], out: Path) -> None:
    """The command's output into out, or nothing when the tool is missing (numactl on some hosts)."""
    if shutil.which(command[0]) is None:
        print(f"capture: {command[0]} not installed, {out.name} not recorded", file=sys.stderr)
        return
    out.write_text(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def capture(name: str) -> Path:
    """Snapshot / into CORPUS/name and record lscpu and numactl -H."""
    target = CORPUS / name
    if target.exists():
        raise SystemExit(f"capture: {target} exists; pick a new name or remove it first")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "snapshot.tar.gz"
        snapshot_from_lines(run_probe_local("/", full_cpuinfo=True), archive)
        with tarfile.open(archive) as tar:
            tar.extractall(target / "root", filter="data")
    _record(["lscpu"], target / "lscpu.txt")
    _record(["numactl", "-H"], target / "numactl-H.txt")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/corpus/capture.py NAME   (e.g. kvm-sapphirerapids-2vcpu)")
    print(f"captured {capture(sys.argv[1])}")
