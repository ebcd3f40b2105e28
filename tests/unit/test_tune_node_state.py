"""node_state.py, the node-side undo log: first prior value wins, restore puts values and files back."""

from __future__ import annotations

from pathlib import Path

import pytest

from xeonfleet.node import undo_log as node_state


@pytest.fixture()
def state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "var" / "state.json"
    monkeypatch.setattr(node_state, "STATE", str(path))
    monkeypatch.setattr(node_state, "OWNED_DIRS", (str(tmp_path / "owned"),))
    return path


def test_first_prior_value_is_never_overwritten(tmp_path: Path, state_file: Path) -> None:
    gov = tmp_path / "scaling_governor"
    gov.write_text("powersave\n")
    assert node_state.main(["save-values", "power.governor", str(tmp_path / "scaling_*")]) == 0
    gov.write_text("performance\n")
    assert node_state.main(["save-values", "power.governor", str(gov)]) == 0
    assert node_state.load()["values"][str(gov)]["content"] == "powersave"


def test_restore_puts_values_and_files_back(tmp_path: Path, state_file: Path) -> None:
    thp = tmp_path / "enabled"
    thp.write_text("always [madvise] never\n")
    existing, created, link = tmp_path / "existing.conf", tmp_path / "new.sh", tmp_path / "wants.service"
    existing.write_text("old\n")
    existing.chmod(0o600)
    node_state.main(["save-values", "os.thp", str(thp)])
    node_state.main(["save-files", str(existing), str(created), str(link)])
    thp.write_text("always\n")
    existing.write_text("new\n")
    created.write_text("x")
    link.symlink_to(created)
    (tmp_path / "owned").mkdir()
    (tmp_path / "owned" / "state.py").write_text("")

    assert node_state.main(["restore"]) == 0
    assert thp.read_text() == "madvise\n"  # the bare choice, as the kernel takes it
    assert existing.read_text() == "old\n" and existing.stat().st_mode & 0o777 == 0o600
    assert not created.exists() and not link.is_symlink()
    assert not state_file.exists() and not (tmp_path / "owned").exists()
    assert node_state.main(["restore"]) == 0  # nothing recorded: nothing to do


def test_restore_skips_unchanged_values(tmp_path: Path, state_file: Path) -> None:
    sysctl = tmp_path / "nmi_watchdog"
    sysctl.write_text("0\n")
    node_state.main(["save-values", "os.sysctl", str(sysctl)])
    sysctl.chmod(0o444)  # read-only, like a sysctl the kernel does not let change: untouched, no error
    assert node_state.main(["restore"]) == 0


def test_msr_bits_change_alone_and_restore_puts_every_bit_back(tmp_path: Path, state_file: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """On sparse files read at the register's offset (what the msr device is to pread/pwrite)."""
    devices = []
    for cpu, value in enumerate((0x14000403, 0x14000403, 0x94000403)):
        device = tmp_path / "dev" / str(cpu) / "msr"
        device.parent.mkdir(parents=True)
        device.write_bytes(b"\0" * 0xE2 + value.to_bytes(8, "little"))
        devices.append(device)
    original = [d.read_bytes() for d in devices]
    monkeypatch.setattr(node_state, "MSR_DEVICES", str(tmp_path / "dev/[0-9]*/msr"))
    assert node_state.main(["save-msr", "power.c1_demotion", "0xe2"]) == 0
    assert node_state.main(["set-msr-bit", "0xe2", "26", "0"]) == 0
    assert [node_state.read_msr(str(d), 0xE2) for d in devices] == [0x10000403, 0x10000403, 0x90000403]
    assert node_state.main(["save-msr", "power.c1_demotion", "0xe2"]) == 0  # the first value stays
    assert node_state.main(["restore"]) == 0
    assert [d.read_bytes() for d in devices] == original


def test_set_msr_bit_without_msr_devices_fails_in_one_line(tmp_path: Path, state_file: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(node_state, "MSR_DEVICES", str(tmp_path / "none/[0-9]*/msr"))
    assert node_state.main(["set-msr-bit", "0x1a4", "0", "1"]) == 1
    assert "modprobe msr" in capsys.readouterr().err


def test_chained_records_are_saved_by_one_run(tmp_path: Path, state_file: Path) -> None:
    """The deploy records a host's every prior value in one python3 start: sub-commands split at ';'."""
    gov, conf = tmp_path / "scaling_governor", tmp_path / "absent.conf"
    gov.write_text("powersave\n")
    assert node_state.main(["save-values", "power.governor", str(gov), ";", "save-files", str(conf), ";",
                            "save-packages", "numactl"]) == 0
    state = node_state.load()
    assert state["values"][str(gov)]["content"] == "powersave"
    assert state["files"] == {str(conf): None} and state["packages"] == ["numactl"]


def test_a_failed_sub_command_stops_the_rest_and_keeps_what_was_recorded(tmp_path: Path, state_file: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_state, "MSR_DEVICES", str(tmp_path / "none/[0-9]*/msr"))
    gov = tmp_path / "scaling_governor"
    gov.write_text("powersave\n")
    assert node_state.main(["save-values", "power.governor", str(gov), ";", "set-msr-bit", "0x1a4", "0", "1", ";",
                            "save-packages", "numactl"]) == 1
    state = node_state.load()
    assert str(gov) in state["values"] and state["packages"] == []


def test_chained_msr_bits_write_no_undo_log(tmp_path: Path, state_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The boot script and the deploy's MSR run only set bits: no state.json appears for them."""
    device = tmp_path / "dev" / "0" / "msr"
    device.parent.mkdir(parents=True)
    device.write_bytes(b"\0" * 0x1A4 + (0).to_bytes(8, "little"))
    monkeypatch.setattr(node_state, "MSR_DEVICES", str(tmp_path / "dev/[0-9]*/msr"))
    assert node_state.main(["set-msr-bit", "0x1a4", "0", "1", ";", "set-msr-bit", "0x1a4", "3", "1"]) == 0
    assert node_state.read_msr(str(device), 0x1A4) == 0b1001
    assert not state_file.exists()


def test_restore_runs_alone(state_file: Path) -> None:
    assert node_state.main(["restore", ";", "save-packages", "numactl"]) == 2
    assert not state_file.exists()
