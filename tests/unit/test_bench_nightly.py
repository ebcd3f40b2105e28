"""The nightly lock (across real processes), raw-result retention, and the schedule files that run it."""

import getpass
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from xeonfleet.bench.nightly import LockHeld, NightlyLock, prune_raw_results
from xeonfleet.bench.remote import BENCH_DIR
from xeonfleet.cli.main import main as cli
from xeonfleet.cli.bench import nightly_command

HOLD = "import sys, time; from pathlib import Path; from xeonfleet.bench.nightly import NightlyLock\n" \
       "with NightlyLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)\n"


def test_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    lock = tmp_path / "nightly.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=f"holds the lock \\(pid {holder.pid} since .*\\): .*nightly.lock"):
            with NightlyLock(lock):
                pass
    finally:
        holder.kill()
        holder.wait()
    with NightlyLock(lock):  # the kernel dropped the dead holder's lock: no stale lock
        assert lock.read_text().startswith(f"pid {os.getpid()}")


def test_prune_removes_only_runs_older_than_the_window(tmp_path):
    old, new = tmp_path / "run-old", tmp_path / "run-new"
    for run in (old, new):
        (run / "host").mkdir(parents=True)
    stamp = time.time() - 10 * 86400
    os.utime(old, (stamp, stamp))
    assert prune_raw_results(tmp_path, keep_days=7) == [old]
    assert new.exists() and not old.exists()
    with pytest.raises(ValueError, match="--keep-days must be positive"):
        prune_raw_results(tmp_path, 0)


def _nightly_argv(command_line: str) -> list[str]:
    """The arguments after `xeonfleet bench nightly` in a unit's or cron entry's command line."""
    words = shlex.split(command_line)
    return words[words.index("nightly") + 1 :]


def _schedule(*args: str) -> str:
    result = CliRunner().invoke(cli, ["bench", "schedule", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_systemd_schedule_runs_this_installs_nightly_at_the_given_time(tmp_path):
    out = _schedule("inventories/prod.py", "--at", "3:05", "--jobs", "light", "--user", "bench",
                    "--db", str(tmp_path / "b.db"), "--lock", str(tmp_path / "n.lock"))
    service, timer = out.split("# ==> /etc/systemd/system/xeonfleet-bench.timer <==")
    assert f"WorkingDirectory={Path.cwd().resolve()}" in service and "User=bench" in service
    assert f"Environment=XEONFLEET_DB={tmp_path / 'b.db'}" in service and "SuccessExitStatus=1 75" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert exec_start.startswith(f"ExecStart={Path(sys.executable).with_name('xeonfleet')} bench nightly ")
    # Every flag the unit passes is one `bench nightly` accepts, with the values given here.
    ctx = nightly_command.make_context("nightly", _nightly_argv(exec_start))
    assert ctx.params["inventory"] == str(Path("inventories/prod.py").resolve())
    assert (ctx.params["selection"], ctx.params["lock_path"]) == ("light", tmp_path / "n.lock")
    assert "OnCalendar=*-*-* 03:05:00" in timer and "WantedBy=timers.target" in timer


def test_cron_schedule_is_a_valid_cron_line_running_the_nightly(tmp_path):
    written = _schedule("inventories/prod.py", "--cron", "--at", "23:40", "--install", "--root", str(tmp_path))
    cron_file = tmp_path / "etc/cron.d/xeonfleet-bench"
    assert f"wrote {cron_file}" in written
    entry = cron_file.read_text().splitlines()[-1]
    minute, hour, dom, month, dow, user, command = entry.split(None, 6)
    assert (minute, hour, dom, month, dow) == ("40", "23", "*", "*", "*") and user == getpass.getuser()
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0
    ctx = nightly_command.make_context("nightly", _nightly_argv(command.split(">>")[0]))
    assert ctx.params["keep_days"] == 30 and ctx.params["html_path"] == BENCH_DIR / "nightly.html"


@pytest.mark.parametrize("args, message", [
    (["nope.py"], "inventory nope.py not found"),
    (["inventories/prod.py", "--at", "25:00"], "--at '25:00' is not a time of day; use HH:MM"),
    (["inventories/prod.py", "--jobs", "bogus"], "unknown job(s) bogus"),
    (["inventories/prod.py", "--keep-days", "0"], "--keep-days must be positive"),
])
def test_schedule_refuses_bad_options_in_one_line(args, message):
    result = CliRunner().invoke(cli, ["bench", "schedule", *args])
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_schedule_install_names_the_file_it_cannot_write(tmp_path):
    (tmp_path / "etc").write_text("a file where a directory should be")
    result = CliRunner().invoke(cli, ["bench", "schedule", "inventories/prod.py", "--install", "--root", str(tmp_path)])
    assert result.exit_code == 2 and f"cannot write {tmp_path}/etc/systemd/system/xeonfleet-bench.service" in result.output
