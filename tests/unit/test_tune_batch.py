"""The tune deploy's one command per host (operations.plan_command, commands.batch): every prior value
recorded in one undo-log run before anything changes, the knobs in plan order with the MSR bits in one
run, the files after them; nothing at all when everything holds; the shell stops at the first failure."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.node_sysroots import lab_host_facts
from xeonfleet.knobs import commands, show
from xeonfleet.profiles import load_profile
from xeonfleet.tune import deploy
from xeonfleet.tune.operations import ManagedFile, plan_command, sha1
from xeonfleet.tune.plan import plan_host

BASE = load_profile("xeon-ai-base")
HELPER_RUN = commands.sh("python3", commands.STATE_HELPER)
# Linux's limit on one argv string (MAX_ARG_STRLEN, 32 pages): sshd hands the whole command to the login
# shell as one `-c` argument, so the batch must fit in it.
MAX_ARG_STRLEN = 32 * 4096


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory):
    def get(hardware: str) -> dict:
        return lab_host_facts(hardware, str(tmp_path_factory.getbasetemp() / f"batch-{hardware}"))

    return get


def _inputs(host: dict) -> tuple[list[ManagedFile], list, list[ManagedFile]]:
    plan = plan_host("h", BASE, host, {})
    assert plan.errors == []
    helpers = [ManagedFile(path, source.read_text(), "0755") for path, source in deploy.HELPERS.items()]
    steps = [step for step in plan.steps if step.knob.setter is not None]
    return helpers, steps, deploy.planned_files(BASE, plan, host)


def _structure(command: str) -> str:
    """The batch with each written file's (shell-quoted) content replaced by CONTENT, so counting runs or
    changes is not fooled by a file that itself mentions the helper (the boot script, the helper's source)."""
    return re.sub(r"printf '%s' (?:'[^']*'|\"'\")+ >", "printf '%s' CONTENT >", command)


def _holding(files: list[ManagedFile]) -> dict:
    """The ManagedFiles fact of a host where every file is already in place."""
    return {f.path: {"link": f.link} if f.link else {"sha1": sha1(f.content)} for f in files}


def test_first_apply_records_everything_in_one_run_then_sets_in_plan_order(facts) -> None:
    host = facts("icx-8380-2s-mistuned")
    helpers, steps, files = _inputs(host)
    planned = plan_command(helpers, steps, files, host, {})
    command = _structure(planned.command)
    to_set = [s for s in steps if not s.in_place]
    msr_steps = [s.knob.id for s in to_set if isinstance(s.knob.setter.command(s.wanted, host), commands.HelperCall)]
    assert msr_steps == ["power.prefetcher.l2_streamer", "power.prefetcher.l2_adjacent", "power.c1e",
                         "power.c1_demotion"]
    # Two helper starts for the whole host: the records, then the four MSR bits (they are consecutive).
    assert command.count(HELPER_RUN) == 2
    records = commands.helper_line([s.knob.record_command(s.wanted, host) for s in to_set]
                                   + [commands.record_files([f.path for f in files])])
    first_change = command.index("( ")
    assert command.index(records) < first_change
    assert command.index(f"mv -f {commands.STATE_HELPER}.xeonfleet-tmp") < command.index(records)  # installed first
    labels = re.findall(r"could not apply ([^']*)'", command)
    assert [name for label in labels for name in label.split(", ")] == [s.knob.id for s in to_set] + [f.path for f in files]
    assert ", ".join(msr_steps) in labels  # one run, one label
    # Files under LIB_DIR are never recorded (restore removes the directory), the others are.
    recorded = commands.record_files([f.path for f in files]).calls[0]
    assert deploy.UNIT_LINK in recorded and deploy.LAUNCHER_LIB not in recorded
    assert planned.in_place == [f"{s.knob.title} is already {show(s.wanted)}" for s in steps if s.in_place]


def test_first_apply_fits_in_one_command_line_even_through_sudo(facts) -> None:
    host = facts("icx-8380-2s-mistuned")
    command = plan_command(*_inputs(host), host, {}).command
    assert len("sudo -H -n sh -c " + shlex.quote(command)) < MAX_ARG_STRLEN


def test_a_tuned_host_gets_no_command_and_each_item_says_it_holds(facts) -> None:
    host = facts("icx-8380-2s")
    helpers, steps, files = _inputs(host)
    steps = [s for s in steps if s.in_place]
    planned = plan_command(helpers, steps, files, host, _holding([*helpers, *files]))
    assert planned.command is None
    assert len(planned.in_place) == len(steps) + len(helpers) + len(files)
    assert f"{deploy.UNIT_LINK} already points to {deploy.UNIT_FILE}" in planned.in_place


def test_a_changed_file_alone_is_recorded_and_written_alone(facts) -> None:
    host = facts("icx-8380-2s")
    helpers, steps, files = _inputs(host)
    steps = [s for s in steps if s.in_place]
    current = _holding([*helpers, *files])
    current[deploy.BOOT_SCRIPT] = {"sha1": "0" * 40}
    command = plan_command(helpers, steps, files, host, current).command
    assert command.startswith(f"{commands.record_files([deploy.BOOT_SCRIPT])} || exit 1; ")
    assert _structure(command).count("could not apply") == 1 and f"could not apply {deploy.BOOT_SCRIPT}" in command


def test_an_updated_helper_is_installed_even_when_nothing_else_changes(facts) -> None:
    host = facts("icx-8380-2s")
    helpers, steps, files = _inputs(host)
    steps = [s for s in steps if s.in_place]
    current = {**_holding(files), commands.STATE_HELPER: {"sha1": "0" * 40}}
    command = plan_command(helpers, steps, files, host, current).command
    assert command == f"{helpers[0].write_command()} || exit 1"


def _sh(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True)


def test_batch_stops_at_the_first_failed_change_and_names_it(tmp_path: Path) -> None:
    command = commands.batch(["echo setup >> log"], [], [
        ("first", "echo 1 >> log"), ("second", "echo 2 >> log; exit 3"), ("third", "echo 3 >> log")])
    result = _sh(command, tmp_path)
    assert result.returncode == 1
    assert (tmp_path / "log").read_text() == "setup\n1\n2\n"
    assert result.stderr == "xeonfleet: could not apply second\n"


def test_batch_stops_when_setup_fails(tmp_path: Path) -> None:
    result = _sh(commands.batch(["false"], [], [("first", "echo 1 >> log")]), tmp_path)
    assert result.returncode == 1 and not (tmp_path / "log").exists()


def test_consecutive_helper_changes_share_one_run_and_others_split_them() -> None:
    records = [commands.record_values("power.governor", ["/sys/devices/system/cpu/cpu[0-9]*/x"]),
               commands.record_msr("power.c1e", 0x1FC)]
    changes = [("a", commands.set_msr_bit(0x1A4, 0, False)), ("b", commands.set_msr_bit(0x1A4, 1, False)),
               ("c", "true"), ("d", commands.set_msr_bit(0x1FC, 1, True))]
    command = commands.batch([], records, changes)
    assert command.count(HELPER_RUN) == 3  # the records, a+b, d
    assert command.startswith(f"{HELPER_RUN} save-values power.governor '/sys/devices/system/cpu/cpu[0-9]*/x' "
                              "';' save-msr power.c1e 0x1fc || exit 1; ")
    assert f"( {HELPER_RUN} set-msr-bit 0x1a4 0 0 ';' set-msr-bit 0x1a4 1 0 ) || " \
           "{ echo 'xeonfleet: could not apply a, b' >&2; exit 1; }" in command


def test_a_helper_call_is_its_own_command_line() -> None:
    """Used alone (the boot script, a single record), a HelperCall is the plain command line."""
    call = commands.set_msr_bit(0xE2, 26, True)
    assert call == f"{HELPER_RUN} set-msr-bit 0xe2 26 1" and call.calls == (("set-msr-bit", "0xe2", "26", "1"),)
    both = commands.helper_line([commands.record_module("msr"), call])
    assert shlex.split(both)[2:] == ["save-module", "msr", ";", "set-msr-bit", "0xe2", "26", "1"]
