"""The nightly schedule files (systemd service + timer, or a cron.d entry) for this controller.

Rendered from templates/xeonfleet-bench.*.j2 with the controller's real paths (the directory scheduled
from, the `xeonfleet` of this install, a clone's venv or a wheel's, the results store and raw-results
directory the nightly run will use), so what is installed runs exactly the `xeonfleet bench nightly` a
user would type here.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from xeonfleet.render import render

SYSTEMD_DIR = "etc/systemd/system"
CRON_DIR = "etc/cron.d"
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class ScheduleError(ValueError):
    """A bad schedule option (time, inventory, job selection): one line naming it and the fix."""


@dataclass(frozen=True)
class NightlySettings:
    """What the nightly run does and when: every value the templates need."""

    inventory: Path
    jobs: str
    at: str  # "HH:MM", local time on the controller
    user: str
    db: str
    results_dir: Path
    keep_days: float
    lock_path: Path
    html_path: Path
    log_path: Path
    timeout_s: int = 4 * 3600
    randomized_delay_s: int = 600
    workdir: Path = field(default_factory=Path.cwd)  # where relative paths in the inventory resolve
    xeonfleet: Path = field(default_factory=lambda: Path(sys.executable).with_name("xeonfleet"))  # this install's

    def values(self) -> dict[str, object]:
        match = _TIME.fullmatch(self.at)
        if not match:
            raise ScheduleError(f"--at {self.at!r} is not a time of day; use HH:MM, e.g. 02:00")
        if not self.inventory.is_file():
            raise ScheduleError(f"inventory {self.inventory} not found: pass an existing pyinfra inventory file")
        if self.keep_days <= 0:
            raise ScheduleError(f"--keep-days must be positive, not {self.keep_days:g}")
        hour, minute = int(match[1]), int(match[2])
        return {
            "inventory": self.inventory.resolve(), "jobs": self.jobs, "user": self.user,
            "workdir": self.workdir.resolve(), "xeonfleet": self.xeonfleet,
            "db": self.db, "results_dir": self.results_dir.resolve(), "keep_days": f"{self.keep_days:g}",
            "lock_path": self.lock_path.resolve(), "html_path": self.html_path.resolve(),
            "log_path": self.log_path.resolve(), "timeout_s": self.timeout_s,
            "randomized_delay_s": self.randomized_delay_s,
            "on_calendar": f"*-*-* {hour:02d}:{minute:02d}:00", "cron_schedule": f"{minute} {hour} * * *",
        }


def schedule_files(settings: NightlySettings, kind: str) -> dict[str, str]:
    """{path relative to / : content} for kind "systemd" (service + timer) or "cron"."""
    values = settings.values()
    if kind == "systemd":
        return {f"{SYSTEMD_DIR}/xeonfleet-bench.service": render("xeonfleet-bench.service.j2", **values),
                f"{SYSTEMD_DIR}/xeonfleet-bench.timer": render("xeonfleet-bench.timer.j2", **values)}
    if kind == "cron":
        return {f"{CRON_DIR}/xeonfleet-bench": render("xeonfleet-bench.cron.j2", **values)}
    raise ScheduleError(f"schedule kind {kind!r} is unknown; use systemd or cron")


def install_files(files: dict[str, str], root: Path) -> list[Path]:
    """Write the files under `root` (/ on the controller); an OSError names the file that failed."""
    written = []
    for relative, content in files.items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        except OSError as exc:
            raise ScheduleError(f"cannot write {path}: {exc.strerror}; run as root or pass --root DIR") from exc
        written.append(path)
    return written
