"""perf/xeon_claims.py's verdict on a job against its baseline: within the 10 % target, below it (the job
under-measures), faster by design (and why), or different work with no target."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "perf" / "xeon_claims.py"
spec = importlib.util.spec_from_file_location("xeon_claims", SCRIPT)
claims = sys.modules["xeon_claims"] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
spec.loader.exec_module(claims)


@pytest.mark.parametrize("job, design, verdict, below", [
    (95.0, None, "ratio 0.95, within 10%", False),
    (89.0, None, "ratio 0.89, BELOW the 10% target: the job under-measures by 11%", True),
    (89.0, "one worker per core", "BELOW the 10% target", True),  # a design reason never excuses a shortfall
    (120.0, None, "ratio 1.20, faster by 20%", False),
    (300.0, "one worker per core", "ratio 3.00, faster by design: one worker per core", False),
])
def test_same_work_is_held_to_the_target_from_below(job, design, verdict, below):
    comparison = claims.Comparison("gemm-fp32", job, 100.0, "GFLOP/s", "n 4096", design)
    assert verdict in comparison.line() and comparison.below is below


def test_different_work_has_no_target_and_says_when_the_baseline_is_faster():
    slower = claims.Comparison("faiss-hnsw fp32", 1599.0, 5083.0, "queries/s", "5,000 x 32-d", "HNSW is approximate",
                               same_work=False)
    assert not slower.below
    assert slower.line().endswith("ratio 0.31, different by design: HNSW is approximate; slower than the exact "
                                  "search at this size")


def test_a_null_figure_gives_no_ratio_and_no_verdict():
    comparison = claims.Comparison("matmul-isa int8", 37.6, None, "GOP/s", "baseline null: too slow to time")
    assert comparison.ratio is None and not comparison.below
    assert comparison.line() == ("matmul-isa int8: job 37.6 vs baseline null GOP/s (baseline null: too slow to "
                                 "time): no ratio")


def test_rounds_keep_the_best_job_and_the_best_baseline_figure_each():
    rounds = [[claims.Comparison("matmul-isa fp32", 29.1, 86.3, "GFLOP/s", "round 1")],
              [claims.Comparison("matmul-isa fp32", 69.3, 54.7, "GFLOP/s", "round 2")],
              [claims.Comparison("matmul-isa fp32", None, 60.0, "GFLOP/s", "round 3")]]
    (best,) = claims.best_of(rounds)
    assert (best.job, best.baseline, best.note) == (69.3, 86.3, "round 2")  # the note of the job's best round
    assert best.below and "ratio 0.80, BELOW" in best.line()
    assert claims.best_of([]) == []
