"""The tune deploy's wiring: every knob kind has an operation, the boot script runs the same shell as the
operations, and the shell itself does what it says on a real directory tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from xeonfleet.knobs import knobs_for
from xeonfleet.profiles import list_profiles, load_profile
from xeonfleet.tune import commands
from xeonfleet.templates import render
from xeonfleet.tune.deploy import BOOT_COMMANDS, KIND_OPERATIONS
from xeonfleet.tune.plan import BOOT_KINDS

# Every kind the Knob docstring promises, whether or not a shipped profile uses it today.
DOCUMENTED_KINDS = {"governor", "cstates", "turbo", "epp", "epb", "sysctl", "thp", "tool", "env"}


def test_every_knob_kind_has_an_operation() -> None:
    used = {knob.kind for name in list_profiles() for knob in knobs_for(load_profile(name))}
    assert used <= DOCUMENTED_KINDS
    assert set(KIND_OPERATIONS) == DOCUMENTED_KINDS


def test_every_boot_kind_has_a_boot_command() -> None:
    assert set(BOOT_COMMANDS) == set(BOOT_KINDS) and set(BOOT_KINDS) <= set(KIND_OPERATIONS)


def _run(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True)


def test_ensure_files_writes_only_what_differs(tmp_path: Path) -> None:
    for cpu, value in enumerate(["powersave", "performance", "powersave"]):
        (tmp_path / f"cpu{cpu}").write_text(value + "\n")
    same = tmp_path / "cpu1"
    mtime = same.stat().st_mtime_ns
    assert _run(commands.ensure_files(f"{tmp_path}/cpu[0-9]*", "performance")).returncode == 0
    assert {p.read_text() for p in tmp_path.iterdir()} == {"performance\n"}
    assert same.stat().st_mtime_ns == mtime


def test_ensure_files_fails_when_a_file_cannot_be_written(tmp_path: Path) -> None:
    target = tmp_path / "cpu0"
    target.mkdir()  # a directory cannot be written as a file: the loop must fail, not carry on
    assert _run(commands.ensure_files(f"{tmp_path}/cpu[0-9]*", "performance")).returncode != 0


def test_turbo_file_follows_the_driver() -> None:
    assert commands.turbo_file("intel_pstate").endswith("intel_pstate/no_turbo")
    assert "printf '%s\\n' 0" in commands.turbo(True, "intel_pstate")
    assert commands.turbo_file("acpi-cpufreq").endswith("cpufreq/boost")
    assert "printf '%s\\n' 1" in commands.turbo(True, "acpi-cpufreq")


def test_env_template_quotes_values_and_sysctl_template_lists_keys() -> None:
    env = render("xeonfleet-ai.sh.j2", profile="p", env={"KMP_AFFINITY": "granularity=fine,compact,1,0", "X": "a b"})
    assert "export KMP_AFFINITY=granularity=fine,compact,1,0\n" in env and "export X='a b'\n" in env
    conf = render("sysctl-xeonfleet.conf.j2", profile="p", path="/etc/sysctl.d/x.conf", sysctls={"vm.swappiness": "10"})
    assert "\nvm.swappiness = 10\n" in conf


def test_boot_script_is_valid_shell_and_reports_failures(tmp_path: Path) -> None:
    script = render("xeonfleet-tune.sh.j2", profile="p", steps=[
        {"id": "ok", "wanted": "1", "command": "true"},
        {"id": "bad", "wanted": "2", "command": "exit 1"},
    ])
    result = _run(script)
    assert result.returncode == 1 and "xeonfleet-tune: bad failed" in result.stderr and "ok failed" not in result.stderr
