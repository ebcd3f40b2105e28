"""The HTML benchmark report in a real headless browser (Debian's chromium): no script error, no empty
plot, nothing fetched from the network. The report's own self-check counts every plot's drawn marks
after layout and writes the count on <body data-plots>; `--dump-dom` hands it back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.store_checks import store_bench_run
from xeonfleet.bench.analyze import analyze_run
from xeonfleet.bench.jobs import load_jobs
from xeonfleet.bench.report import html_report
from xeonfleet.store import open_store

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"),
                                reason="chromium not installed (scripts/bootstrap.sh installs it; CI must have it)")
NO_DATA = '<p class="bad">this plot has no data</p>'  # what the self-check inserts under an empty plot
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0")


def render(page: Path, tmp_path: Path) -> tuple[str, str]:
    """(DOM after scripts ran, browser log) of a local file."""
    assert CHROMIUM, "chromium is missing: scripts/bootstrap.sh installs it"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def _plots(dom: str) -> tuple[int, int]:
    match = re.search(r'data-plots="(\d+) drawn, (\d+) empty"', dom)
    assert match, "the report's self-check did not run: " + dom[:300]
    return int(match[1]), int(match[2])


@pytest.fixture
def report(tmp_path: Path) -> Path:
    with open_store(str(tmp_path / "bench.db")) as store:
        for run_id, slow in (("r1", 100.0), ("r2", 98.0), ("r3", 101.0), ("r4", 40.0)):
            store_bench_run(store, tmp_path, run_id, {"n1": 100.0, "n2": 101.0, "n3": 99.0, "n4": slow})
        page = tmp_path / "bench.html"
        page.write_text(html_report(store, load_jobs(), analyze_run(store, "r4", load_jobs())))
    return page


def test_report_renders_every_plot_without_script_errors(report, tmp_path):
    dom, log = render(report, tmp_path)
    assert _plots(dom) == (2, 0)
    assert "Uncaught" not in log and NO_DATA not in dom
    assert "REGRESSION n4 gemm-fp32/gflops" in dom


def test_the_check_catches_an_empty_plot_and_a_script_error(report, tmp_path):
    broken = tmp_path / "broken.html"
    text = report.read_text()
    first = text.index('class="pygal-chart plot')  # the first plot's root <svg>
    end = text.index("</svg>", first)
    emptied = text[:first] + re.sub(r'\bmark"', 'gone"', text[first:end]) + text[end:]
    broken.write_text(emptied.replace("</body>", "<script>undefinedFunction()</script></body>"))
    dom, log = render(broken, tmp_path)
    assert _plots(dom) == (1, 1) and NO_DATA in dom
    assert "Uncaught ReferenceError: undefinedFunction is not defined" in log
