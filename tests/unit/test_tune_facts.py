"""ManagedFiles, the tune deploy's one-round-trip view of the files it manages, run by sh on a real tree."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from xeonfleet.tune.facts import ManagedFiles


def test_managed_files_reads_checksums_links_and_absences(tmp_path: Path) -> None:
    text, script = tmp_path / "a.conf", tmp_path / "dir" / "b.sh"
    script.parent.mkdir()
    text.write_text("vm.swappiness = 10\n")
    script.write_bytes(b"#!/bin/sh\n")
    link, absent, dangling = tmp_path / "link", tmp_path / "absent", tmp_path / "dangling"
    link.symlink_to(script)
    dangling.symlink_to(tmp_path / "nowhere")
    fact = ManagedFiles()
    paths = tuple(str(p) for p in (text, script, link, absent, dangling))
    output = subprocess.run(["sh", "-c", fact.command(paths)], capture_output=True, text=True, check=True).stdout
    files = fact.process(output.splitlines())
    assert files[str(text)] == {"sha1": hashlib.sha1(text.read_bytes()).hexdigest()}
    assert files[str(script)] == {"sha1": hashlib.sha1(b"#!/bin/sh\n").hexdigest()}
    assert files[str(link)] == {"link": str(script)} and files[str(dangling)] == {"link": str(tmp_path / "nowhere")}
    assert files[str(absent)] is None
    assert set(files) == {*paths, "@systemd", "@grub"}


def test_managed_files_with_no_file_present_runs_no_checksum(tmp_path: Path) -> None:
    fact = ManagedFiles()
    output = subprocess.run(["sh", "-c", fact.command((str(tmp_path / "x"),))], capture_output=True, text=True,
                            check=True)
    assert fact.process(output.stdout.splitlines())[str(tmp_path / "x")] is None and output.stderr == ""
