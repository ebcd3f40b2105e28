"""Rolling baselines, the noise-aware threshold and fleet outliers."""

import pytest

from xeonfleet.bench.baseline import baseline, change_pct, check_regression, outliers


def test_baseline_is_median_and_mad():
    base = baseline([10.0, 11.0, 9.0, 10.0, 30.0])
    assert base.median == 10.0 and base.mad == 1.0 and base.runs == 5


def test_steady_series_catches_a_small_drop_noisy_one_does_not():
    steady = [100.0, 100.5, 99.5, 100.0, 100.2]
    noisy = [100.0, 130.0, 70.0, 110.0, 90.0]
    assert check_regression(85.0, steady, "higher").regression
    assert not check_regression(85.0, noisy, "higher").regression


def test_direction_lower_is_better():
    assert check_regression(1.5, [1.0, 1.0, 1.0], "lower").regression
    assert not check_regression(0.5, [1.0, 1.0, 1.0], "lower").regression
    assert change_pct(0.5, 1.0, "lower") == pytest.approx(50.0)


def test_no_history_or_informational_metric_gives_no_verdict():
    assert check_regression(1.0, [], "higher") is None
    assert check_regression(1.0, [5.0], "none") is None


def test_a_baseline_shorter_than_min_runs_gives_no_verdict_even_for_a_big_drop():
    # One noisy earlier run used to make -73.6 % a REGRESSION; now it waits for 3 runs (configurable).
    verdict = check_regression(26.4, [100.0], "higher")
    assert verdict.regression is None and "1 of the 3 runs" in verdict.rule
    assert check_regression(26.4, [100.0, 101.0, 99.0], "higher").regression is True
    assert check_regression(26.4, [100.0], "higher", min_runs=1).regression is True


def test_the_jobs_own_repeat_spread_widens_the_limit_and_the_rule_says_so():
    steady = [100.0, 100.5, 99.5, 100.0, 100.2]
    assert check_regression(85.0, steady, "higher").regression
    noisy_job = check_regression(85.0, steady, "higher", spread_pct=6.0)
    assert not noisy_job.regression and noisy_job.threshold_pct == pytest.approx(18.0)
    assert noisy_job.rule == ("max(min 10 %, 3 x baseline noise 0.3 %, 3 x run spread 6.0 %); "
                              "baseline median of 5 run(s)")


def test_outlier_is_relative_to_same_profile_peers_only():
    values = {"a": 100.0, "b": 98.0, "c": 101.0, "d": 50.0, "e": 40.0}
    profiles = {"a": "icx", "b": "icx", "c": "icx", "d": "icx", "e": "clx"}
    flagged = outliers(values, profiles, "higher", pct=20.0)
    assert set(flagged) == {"d"}  # e is alone in its profile: no peers, no verdict
    change, median = flagged["d"]
    assert median == pytest.approx(99.0) and change == pytest.approx(-49.49, abs=0.01)
