"""xeonfleet/connect/progress.py: a bar on a terminal's stderr once the work has taken SHOW_AFTER_S, never elsewhere."""

from __future__ import annotations

import io
import sys
import time

import pytest

from xeonfleet.connect import progress
from xeonfleet.connect.progress import fleet_progress


class _TerminalStderr(io.StringIO):
    """A stderr that says it is a terminal and keeps what was written to it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def quick_delay(monkeypatch):
    """The real delay is 1 s; a tenth keeps these tests quick and the order of events the same."""
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.1)


def _work(seconds: float, total: int | None = 3) -> None:
    with fleet_progress("probing 3 host(s)", total=total) as advance:
        for _ in range(3):
            time.sleep(seconds / 3)
            advance()


def test_long_work_on_a_terminal_shows_the_bar_then_clears_it(monkeypatch, quick_delay):
    stderr = _TerminalStderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.delenv("NO_COLOR", raising=False)
    _work(0.6)
    written = stderr.getvalue()
    assert "probing 3 host(s)" in written and "3/3" in written
    assert written.endswith("\x1b[?25h\r\x1b[1A\x1b[2K"), repr(written[-40:])  # transient: the line is erased


def test_work_of_unknown_size_shows_the_elapsed_time(monkeypatch, quick_delay):
    stderr = _TerminalStderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    _work(0.6, total=None)
    assert "probing 3 host(s)" in stderr.getvalue() and "0:00:0" in stderr.getvalue()


def test_quick_work_on_a_terminal_prints_nothing(monkeypatch, quick_delay):
    stderr = _TerminalStderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    _work(0.0)
    time.sleep(0.2)  # past the delay: the cancelled timer must not start the bar late
    assert stderr.getvalue() == ""


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch, quick_delay):
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    _work(0.6)
    assert stderr.getvalue() == ""


def test_the_fleet_gather_ticks_once_per_host(monkeypatch):
    """Under gevent (pyinfra's parallel hosts) the bar still starts, counts each finished host and clears."""
    from xeonfleet.facts.probe import ProbeLines
    from xeonfleet.connect.gather import gather_fact

    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    stderr = _TerminalStderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    gathered = gather_fact("@local", ProbeLines)
    assert list(gathered.results) == ["@local"], gathered.unreachable
    assert "probing 1 host(s)" in stderr.getvalue() and "1/1" in stderr.getvalue()
    assert stderr.getvalue().endswith("\x1b[2K")
