"""`xeonfleet audit --from-store`'s report: each node's newest reached audit from a real SQLite store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.store_checks import audit_report, finding
from xeonfleet.audit.drift import save_audit
from xeonfleet.knobs.status import FAIL, PASS
from xeonfleet.audit.stored import NothingStored, latest_report
from xeonfleet.cli.audit import audit
from xeonfleet.store import Store, open_store

NOW = datetime.fromisoformat("2026-11-02T12:00:00+00:00")
DAY = timedelta(hours=24)


def save(store: Store, started_at: str, findings: list, unreachable: dict[str, str] | None = None) -> None:
    report = audit_report(findings, unreachable)
    report.started_at = started_at
    save_audit(store, report)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """a: audited by a controller run, then by its agent with its governor changed, then unreachable
    in a later controller run; b: only the controller run; c: an agent that stopped two days ago."""
    with open_store(str(tmp_path / "fleet.db")) as writer:
        save(writer, "2026-11-02T09:00:00+00:00", [finding("a", "power.governor", PASS, "performance"),
                                                   finding("a", "power.turbo", PASS, "on"),
                                                   finding("b", "power.governor", PASS, "performance")])
        save(writer, "2026-11-02T10:00:00+00:00", [finding("a", "power.governor", FAIL, "powersave")])
        save(writer, "2026-11-02T11:00:00+00:00", [finding("b", "power.governor", PASS, "performance")],
             {"a": "unreachable: refused"})
        save(writer, "2026-10-31T11:00:00+00:00", [finding("c", "power.governor", PASS, "performance")])
    reader = open_store(str(tmp_path / "fleet.db"), read_only=True)
    yield reader
    reader.close()


def test_each_node_counts_with_its_newest_reached_audit(store: Store) -> None:
    report = latest_report(store, None, DAY, now=NOW)
    assert [n.host for n in report.nodes] == ["a", "b"]
    assert [(f.host, f.rule, f.status, f.evidence) for f in report.findings] == [
        ("a", "power.governor", FAIL, "powersave"), ("b", "power.governor", PASS, "performance")]
    assert report.started_at == "2026-11-02T11:00:00+00:00" and report.exit_code == 2


def test_a_node_that_stopped_reporting_is_not_compliant(store: Store) -> None:
    report = latest_report(store, None, DAY, now=NOW)
    assert report.unreachable["c"].startswith("newest stored audit is from 2026-10-31T11:00:00+00:00, older than "
                                              "--max-age 24h")
    assert "c" in {n.host for n in latest_report(store, None, timedelta(days=3), now=NOW).nodes}


def test_inventory_hosts_never_stored_are_named(store: Store) -> None:
    report = latest_report(store, ["b", "new-node"], DAY, now=NOW)
    assert [n.host for n in report.nodes] == ["b"]
    assert report.unreachable == {"new-node": "no audit of this host in the store (is its audit agent installed?)"}


def test_nothing_usable_is_one_line(store: Store) -> None:
    with pytest.raises(NothingStored, match=r"^results store .*fleet\.db: no audit of any of the 1 hosts asked "
                                            r"for newer than --max-age 1h; run `xeonfleet audit INVENTORY`"):
        latest_report(store, ["c"], timedelta(hours=1), now=NOW)


@pytest.mark.parametrize(("args", "message"), [
    (["--from-store", "--sysroot", "/"], "--from-store reports the stored audits as they are: drop --sysroot"),
    (["--node-name", "n1", "inventories/lab.py"], "--node-name names the node of a --sysroot audit"),
    (["--from-store", "--db", "/nonexistent/fleet.db"], "no results store at /nonexistent/fleet.db"),
])
def test_from_store_usage_errors_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(audit, args)
    assert result.exit_code == 2 and result.output.startswith(f"error: {message}"), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_from_store_renders_json_and_exits_with_the_worst_verdict(store: Store) -> None:
    result = CliRunner().invoke(audit, ["--from-store", "--db", store.location, "--format", "json", "--max-age",
                                        "1000000"])
    assert result.exit_code == 1, result.output
    assert sorted(json.loads(result.output)["nodes"]) == ["a", "b", "c"]
