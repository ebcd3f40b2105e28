"""What the controller writes about the fleet is its owner's alone: 0700 directories and 0600 files where xeonfleet
creates them (the results store, -o reports, the benchmark's raw results, the lab's keys and state), and never a
chmod of a directory the user already had.

Every test runs with umask 0, so a mode comes from the code, not from a lucky umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xeonfleet.bench import remote
from xeonfleet.cli.output import emit
from xeonfleet.lab.hosts import LabHost
from xeonfleet.lab.state import ensure_keys, write_known_hosts, write_state
from xeonfleet.private_files import make_private_dirs
from xeonfleet.store import open_store

REPO = Path(__file__).resolve().parents[2]
CLOUD_VM = REPO / "tests" / "unit" / "fixtures" / "cloud-vm"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def no_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def users_dir(tmp_path: Path) -> Path:
    """A directory the user already has, readable by all (as /tmp or a shared reports folder is)."""
    path = tmp_path / "theirs"
    path.mkdir()
    path.chmod(0o755)
    return path


def test_make_private_dirs_makes_each_missing_directory_0700_and_leaves_existing_ones(users_dir: Path) -> None:
    made = make_private_dirs(users_dir / "a" / "b")
    assert made == users_dir / "a" / "b"
    assert (mode(users_dir), mode(users_dir / "a"), mode(made)) == (0o755, 0o700, 0o700)
    make_private_dirs(users_dir)
    assert mode(users_dir) == 0o755


def test_a_new_store_is_0600_in_a_0700_directory_and_so_are_its_wal_files(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XEONFLEET_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with open_store() as store:
        store.execute("SELECT 1")
        directory = tmp_path / "data" / "xeonfleet"
        files = sorted(directory.iterdir())
        assert [f.name for f in files] == ["results.db", "results.db-shm", "results.db-wal"]
        assert [mode(f) for f in files] == [0o600] * 3
    assert (mode(tmp_path / "data"), mode(directory)) == (0o700, 0o700)


def test_a_store_in_the_users_own_directory_leaves_that_directory_alone(users_dir: Path) -> None:
    with open_store(str(users_dir / "x.db")):
        pass
    assert (mode(users_dir), mode(users_dir / "x.db")) == (0o755, 0o600)


def test_an_existing_store_keeps_its_mode(users_dir: Path) -> None:
    """A store the user made shareable (a team's 0640 file) is opened as it is, not chmod'ed."""
    with open_store(str(users_dir / "x.db")):
        pass
    (users_dir / "x.db").chmod(0o640)
    with open_store(str(users_dir / "x.db")) as store:
        store.execute("SELECT 1")
    assert mode(users_dir / "x.db") == 0o640


def test_report_written_with_o_is_0600_and_its_directory_untouched(users_dir: Path) -> None:
    """The real command: `xeonfleet audit -o DIR/x.html` into a directory the user has."""
    report = users_dir / "x.html"
    result = subprocess.run([str(Path(sys.executable).parent / "xeonfleet"), "audit", "--sysroot", str(CLOUD_VM),
                             "--db", ":memory:", "-o", str(report)], cwd=REPO, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 1 and report.read_text().startswith("<!DOCTYPE html>"), result.stderr
    assert (mode(users_dir), mode(report)) == (0o755, 0o600)


def test_report_in_new_directories_makes_them_0700(users_dir: Path) -> None:
    report = users_dir / "reports" / "today" / "audit.json"
    emit("{}\n", report, "json")
    assert [mode(p) for p in (users_dir, report.parent.parent, report.parent, report)] == [0o755, 0o700, 0o700, 0o600]


def test_replacing_a_report_makes_it_0600(users_dir: Path) -> None:
    report = users_dir / "audit.json"
    report.write_text("old\n")
    report.chmod(0o644)
    emit("{}\n", report, "json")
    assert (report.read_text(), mode(report)) == ("{}\n", 0o600)


def test_the_prom_textfile_is_readable_by_node_exporter(users_dir: Path) -> None:
    """node_exporter's textfile collector reads it as another user: 0644, as before."""
    textfile = users_dir / "xeonfleet.prom"
    emit("xeonfleet_up 1\n", textfile, "prom")
    assert mode(textfile) == 0o644


def test_bench_raw_results_dir_is_made_0700(users_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(remote.RESULTS_DIR_VAR, str(users_dir / "bench" / "raw"))
    assert remote.results_dir() == users_dir / "bench" / "raw"
    assert [mode(p) for p in (users_dir, users_dir / "bench", users_dir / "bench" / "raw")] == [0o755, 0o700, 0o700]
    monkeypatch.setenv(remote.RESULTS_DIR_VAR, str(users_dir))
    assert remote.results_dir() == users_dir and mode(users_dir) == 0o755


def test_lab_keys_and_state_are_private(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    ensure_keys(lab / "ssh", lab / "id_ed25519")
    write_state(lab / "lab.json", {}, [LabHost(name="lab-01", hardware="cloud-vm", port=2222,
                                               state_dir=lab / "hosts" / "lab-01", tree_dir=lab / "trees")])
    write_known_hosts(lab / "known_hosts", lab / "ssh", [])
    assert (mode(lab), mode(lab / "ssh")) == (0o700, 0o700)
    private = [lab / "id_ed25519", lab / "ssh" / "ssh_host_ed25519_key", lab / "ssh" / "authorized_keys",
               lab / "ssh" / "sshd_config", lab / "lab.json", lab / "known_hosts"]
    assert {path.name: mode(path) for path in private} == {path.name: 0o600 for path in private}
