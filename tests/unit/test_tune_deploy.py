"""The tune deploy's wiring: every knob declares how it is set, recorded and kept; the boot script runs
the knobs' own set commands; and the shell itself does what it says on a real directory tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xeonfleet.knobs import AREAS, knobs_for, power
from xeonfleet.knobs.kernel_cmdline import grub_add_command, grub_edit
from xeonfleet.profiles import SECTIONS, ProfileError, list_profiles, load_profile
from xeonfleet.render import render
from xeonfleet.knobs import commands


def test_every_knob_is_set_or_kept_and_every_setter_records_first() -> None:
    for name in list_profiles():
        for knob in knobs_for(load_profile(name)):
            assert knob.setter is not None or knob.persist is not None, f"{name}: {knob.id} is never set"
            assert knob.persist is None or knob.key, f"{knob.id} has a persist file but no key to write"


def test_profile_schema_is_the_knob_declarations(tmp_path: Path) -> None:
    """Every key a knob area declares is in the schema, and a bad value is refused with its wording."""
    for area in AREAS:
        for key in area.PROFILE_KEYS:
            section, _, name = key.key.partition(".")
            assert SECTIONS[section].model_fields[name].description == key.wording, key.key
    bad = tmp_path / "bad.yaml"
    bad.write_text("include: xeon-ai-base\npower:\n  epb: 16\n")
    with pytest.raises(ProfileError, match=r"bad.yaml:3: `power.epb` must be an integer 0-15"):
        load_profile(str(bad))


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


def test_an_unquoted_glob_must_be_a_plain_path() -> None:
    with pytest.raises(ValueError, match="not a plain sysfs glob"):
        commands.ensure_files("sys/devices/system/cpu/cpu*/x; rm -rf /", "1")


def test_turbo_file_follows_the_driver() -> None:
    assert power.turbo_file("intel_pstate").endswith("intel_pstate/no_turbo")
    assert "printf '%s\\n' 0" in power.turbo_command(True, "intel_pstate")
    assert power.turbo_file("acpi-cpufreq").endswith("cpufreq/boost")
    assert "printf '%s\\n' 1" in power.turbo_command(True, "acpi-cpufreq")


def test_grub_edit_quotes_kernel_arguments_for_sed(tmp_path: Path) -> None:
    """Arguments with sed's special characters (/ & \\) and shell ones land in the file verbatim."""
    grub = tmp_path / "grub"
    grub.write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    args = ["isolcpus=nohz,domain,2-3/4", "foo=a&b", "bar=c\\d", "baz='$(id)'"]
    result = _run(grub_edit(args, str(grub)))
    assert grub.read_text() == f'GRUB_CMDLINE_LINUX_DEFAULT="quiet {" ".join(args)}"\n', result.stderr
    assert grub_edit(args) in grub_add_command(args)  # the deploy runs this very edit


def test_persist_templates_quote_values_and_list_keys() -> None:
    env = render("xeonfleet-ai.sh.j2", profile="p", path="/etc/profile.d/x.sh",
                 values={"KMP_AFFINITY": "granularity=fine,compact,1,0", "X": "a b"})
    assert "export KMP_AFFINITY=granularity=fine,compact,1,0\n" in env and "export X='a b'\n" in env
    conf = render("sysctl-xeonfleet.conf.j2", profile="p", path="/etc/sysctl.d/x.conf", values={"vm.swappiness": "10"})
    assert "\nvm.swappiness = 10\n" in conf


def test_boot_script_is_valid_shell_and_reports_failures(tmp_path: Path) -> None:
    script = render("xeonfleet-tune.sh.j2", profile="p", steps=[
        {"id": "ok", "wanted": "1", "command": "true"},
        {"id": "bad", "wanted": "2", "command": "exit 1"},
    ])
    result = _run(script)
    assert result.returncode == 1 and "xeonfleet-tune: bad failed" in result.stderr and "ok failed" not in result.stderr
