"""Audit history in a real SQLite store and the per-node drift computed from it."""

from __future__ import annotations

from pathlib import Path

from tests.store_checks import check_drift_compares_with_the_last_run_a_node_answered, finding, store_audit
from xeonfleet.audit.drift import node_changes
from xeonfleet.knobs.status import FAIL, NA, PASS
from xeonfleet.store import open_store


def test_first_audit_has_nothing_to_compare(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "h.db"))
    first = store_audit(store, [finding("a", "power.governor", PASS, "performance")])
    assert [(d.host, d.previous_run, d.changes) for d in first.drift] == [("a", None, [])]


def test_status_change_reported_with_old_and_new_evidence(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "h.db"))
    first = store_audit(store, [finding("a", "power.governor", PASS, "performance"),
                          finding("a", "power.turbo", PASS, "on"),
                          finding("b", "power.governor", PASS, "performance")])
    second = store_audit(store, [finding("a", "power.governor", FAIL, "powersave"),
                           finding("a", "power.turbo", PASS, "on"),
                           finding("b", "power.governor", PASS, "performance")])
    drift = {d.host: d for d in second.drift}
    assert drift["a"].previous_run == first.run_id
    (change,) = drift["a"].changes
    assert (change.rule, change.old_status, change.new_status) == ("power.governor", PASS, FAIL)
    assert (change.old_evidence, change.new_evidence) == ("performance", "powersave")
    assert drift["b"].changes == []


def test_previous_is_the_last_run_the_node_was_reachable(tmp_path: Path) -> None:
    check_drift_compares_with_the_last_run_a_node_answered(open_store(str(tmp_path / "h.db")))


def test_rules_appearing_and_disappearing_are_changes() -> None:
    old = {"x.gone": finding("a", "x.gone", PASS, "1"), "x.same": finding("a", "x.same", NA, "vm")}
    new = {"x.new": finding("a", "x.new", FAIL, "2"), "x.same": finding("a", "x.same", NA, "vm")}
    changes = {c.rule: (c.old_status, c.new_status) for c in node_changes(old, new)}
    assert changes == {"x.gone": (PASS, None), "x.new": (None, FAIL)}


def test_runs_are_stored_whole(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "h.db"))
    result = store_audit(store, [finding("a", "power.governor", FAIL, "powersave")], {"z": "unreachable: timeout"})
    assert store.execute("SELECT nodes, failing_nodes, unreachable FROM audit_runs WHERE id = :id",
                         {"id": result.run_id}) == [(1, 1, 1)]
    assert store.execute("SELECT host, reachable, error FROM audit_nodes ORDER BY host") == [
        ("a", 1, ""), ("z", 0, "unreachable: timeout")]
