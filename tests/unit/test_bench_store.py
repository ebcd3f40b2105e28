"""Ingestion into a real SQLite store, then regressions, outliers, facts diffs, comparison and the report."""

import json
import re

import pytest

from xeonfleet.bench import ingest
from xeonfleet.bench.analyze import analyze_run
from xeonfleet.bench.compare import compare_runs
from xeonfleet.bench.jobs import load_jobs
from xeonfleet.bench.report import html_report, metric_line, run_metrics, terminal_summary
from xeonfleet.store import open_store
from tests.store_checks import BENCH_HOSTS as HOSTS
from tests.store_checks import bench_facts, check_slowed_host_is_a_regression_and_an_outlier, store_bench_run


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "bench.db")) as opened:
        yield opened


def test_slowed_host_is_a_regression_and_an_outlier_with_its_facts_diff(store, tmp_path):
    analysis = check_slowed_host_is_a_regression_and_an_outlier(store, tmp_path)
    regression = next(f for f in analysis.regressions if f.metric == "gflops")
    assert "power.governor: 'performance' -> 'powersave'" in regression.line()


def test_first_run_has_no_baseline_and_no_regression(store, tmp_path):
    store_bench_run(store, tmp_path, "r1", {h: 100.0 for h in HOSTS})
    assert analyze_run(store, "r1", load_jobs()).regressions == []


def test_samples_carry_tags_and_incomplete_hosts_stay_marked(store, tmp_path):
    store_bench_run(store, tmp_path, "r1", {h: 100.0 for h in HOSTS}, incomplete=("n2",))
    rows = store.execute("SELECT run_id, host, job, time, facts_fingerprint, versions_json FROM bench_samples")
    assert len(rows) == 8 and all(r[4] != "unknown" and json.loads(r[5]) == {"numpy": "2.1"} for r in rows)
    statuses = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = 'r1'"))
    assert statuses == {"n1": "complete", "n2": "incomplete", "n3": "complete", "n4": "complete"}


def test_unreadable_result_is_stored_as_a_failed_job(store, tmp_path):
    ingest.start_run(store, "r1", "x", ["gemm-fp32"])
    ingest.start_host(store, "r1", "n1", bench_facts())
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    ingest.ingest_result(store, "r1", "n1", "gemm-fp32", bad)
    status, reason = store.execute("SELECT status, reason FROM bench_results")[0]
    assert status == "failed" and "bad.json: unreadable" in reason


def test_compare_marks_worse_metrics(store, tmp_path):
    store_bench_run(store, tmp_path, "a", {"n1": 100.0, "n2": 100.0})
    store_bench_run(store, tmp_path, "b", {"n1": 99.0, "n2": 60.0})
    worse = {(d.host, d.metric) for d in compare_runs(store, "a", "b", load_jobs()) if d.worse}
    assert worse == {("n2", "gflops"), ("n2", "pct_of_peak")}
    with pytest.raises(ValueError, match="run 'zzz' has no samples"):
        compare_runs(store, "a", "zzz", load_jobs())


def test_html_report_is_self_contained_with_fleet_heatmap_trends_and_run_pages(store, tmp_path):
    for run_id, slow in (("r1", 100.0), ("r2", 100.0), ("r3", 100.0), ("r4", 40.0)):
        store_bench_run(store, tmp_path, run_id, {"n1": 100.0, "n2": 101.0, "n3": 99.0, "n4": slow})
    analysis = analyze_run(store, "r4", load_jobs())
    page = html_report(store, load_jobs(), analysis)
    assert page.startswith("<!DOCTYPE html>") and not re.search(r"(src|href)=\"(https?:)?//", page)
    assert len(re.findall(r'<svg[^>]*class="[^"]*\bplot\b', page)) == 2  # a trend per declared metric
    assert page.count("dot mark") == 32  # 4 hosts x 4 runs x 2 metrics
    assert page.count("<section") == 5 and 'id="run-r4"' in page and 'id="fleet"' in page  # 4 runs + fleet
    assert "REGRESSION n4 gemm-fp32/gflops" in page and "Seed" not in page and "seed" not in page
    assert page.count("regression limit") >= 2 and page.count("fleet baseline") >= 2  # band and limit drawn
    assert '<table class="heat">' in page and "-59.8 %" in page  # n4 vs the fleet median 99.5
    summary = terminal_summary(analysis, run_metrics(store, "r4"), 12.0)
    assert "n4: complete" in summary and "OUTLIER n4 gemm-fp32/gflops" in summary
    assert "gemm-fp32 gflops: median 99.5 GFLOP/s on 4 hosts, lowest n4 40.0, highest n2 101.0" in summary
    assert "regression test: worse than the baseline (median of the last 7 good runs, at least 3 needed)" in summary
    assert metric_line("j", "m", "x", {"a": 2.0, "b": 2.0}) == "j m: 2.00 x on all 2 hosts"
    assert metric_line("j", "m", "x", {"a": 14107.2}) == "j m: 14,107 x on a"


def test_two_runs_give_no_verdict_and_say_so(store, tmp_path):
    store_bench_run(store, tmp_path, "r1", {"n1": 100.0})
    store_bench_run(store, tmp_path, "r2", {"n1": 26.4})
    analysis = analyze_run(store, "r2", load_jobs())
    assert analysis.regressions == [] and len(analysis.pending) == 2
    assert "no verdict yet for 2 series: the baseline has 1 of the 3 good runs" in terminal_summary(
        analysis, run_metrics(store, "r2"))
