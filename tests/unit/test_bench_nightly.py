"""The nightly lock (across real processes) and raw-result retention."""

import os
import subprocess
import sys
import time

import pytest

from xeonfleet.bench.nightly import LockHeld, NightlyLock, prune_raw_results

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


def test_timer_service_and_cron_templates_render_the_nightly_command():
    from xeonfleet.templates import render

    values = {"jobs": "all", "inventory": "inventories/prod.py", "user": "bench", "repo_dir": "/srv/xeonfleet",
              "db": "/srv/xeonfleet/results/xeonfleet.db", "results_dir": "/srv/xeonfleet/results/raw",
              "keep_days": 30, "lock_path": "/srv/xeonfleet/results/nightly.lock", "html_path": "/srv/r.html",
              "timeout_s": 14400, "on_calendar": "*-*-* 02:00:00", "randomized_delay_s": 600,
              "cron_schedule": "0 2 * * *", "log_path": "/var/log/xeonfleet-bench.log"}
    service = render("xeonfleet-bench.service.j2", **values)
    assert "ExecStart=/srv/xeonfleet/.venv/bin/xeonfleet bench nightly inventories/prod.py --jobs all" in service
    assert "SuccessExitStatus=1 75" in service
    assert "OnCalendar=*-*-* 02:00:00" in render("xeonfleet-bench.timer.j2", **values)
    cron = render("xeonfleet-bench.cron.j2", **values)
    assert "0 2 * * * bench cd /srv/xeonfleet && .venv/bin/xeonfleet bench nightly" in cron
