"""Every report format rendered from real rule results over generated hardware trees."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.prom_format import exposition_problems
from xeonfleet.audit.run import AuditPlan, build_report, load_profiles
from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, UNKNOWN
from xeonfleet.connect.gather import gather_sysroot
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.audit.formats import html, json_report, junit, prom, table
from xeonfleet.audit.report import AuditReport

HARDWARE = ("icx-8380-2s", "icx-8380-2s-mistuned", "cloud-vm", "epyc-7763-2s")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    root = tmp_path_factory.mktemp("trees")
    facts = {}
    for name in HARDWARE:
        build_sysroot(load_hardware(name), root / name, name)
        facts[name] = gather_sysroot(root / name)
    plan = AuditPlan(inventory="test", profiles=load_profiles({h: "xeon-ai-base" for h in HARDWARE}),
                     groups={"icx": ["icx-8380-2s", "icx-8380-2s-mistuned"]})
    result = build_report(plan, facts, {"down-1": "unreachable: connection refused"}, 0.0, "2026-11-02T10:00:00+00:00")
    # Evidence with markup and quotes must be escaped by every format.
    result.findings.append(Finding("cloud-vm", "os.quote", "os", "low", 'odd "value"', FAIL,
                                   '<b>x</b> \\ "q"\nline2', "y", "fix <it> & retry"))
    return result


def test_table_groups_by_node_and_category_and_summarises(report: AuditReport) -> None:
    text = table.render(report)
    assert "\x1b[" not in text
    for host in HARDWARE:
        assert re.search(rf"^{re.escape(host)}  \[xeon-ai-base\]", text, re.M)
    assert "  power\n" in text and "  bios\n" in text
    assert re.search(r"FAIL  power\.governor\s+powersave \(want performance\)", text)
    assert "fix: pyinfra INVENTORY deploys/ai_node.py (sets power.governor)" in text
    assert "down-1  UNREACHABLE: unreachable: connection refused" in text
    assert re.search(r"^Fleet: 4 node\(s\) audited .* 1 unreachable$", text, re.M)
    assert "\x1b[31m" in table.render(report, color=True)


def test_json_is_complete(report: AuditReport) -> None:
    data = json.loads(json_report.render(report))
    assert data["exit_code"] == 2 and data["unreachable"] == {"down-1": "unreachable: connection refused"}
    assert sum(len(node["findings"]) for node in data["nodes"].values()) == len(report.findings)
    assert data["summary"]["findings"]["fail"] == sum(f.status == FAIL for f in report.findings)
    governor = next(f for f in data["nodes"]["icx-8380-2s-mistuned"]["findings"] if f["rule"] == "power.governor")
    assert governor["status"] == "fail" and governor["remedy"]


def test_junit_one_testcase_per_node_rule(report: AuditReport) -> None:
    root = ET.fromstring(junit.render(report))
    cases = root.findall(".//testcase")
    assert len(cases) == len(report.findings) + 1
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == sum(f.status == FAIL for f in report.findings)
    assert int(root.get("skipped")) == sum(f.status in (UNKNOWN, NA) for f in report.findings)
    governor = root.find(".//testsuite[@name='icx-8380-2s-mistuned']/testcase[@name='power.governor']")
    assert "remedy: pyinfra INVENTORY deploys/ai_node.py" in governor.find("failure").text
    assert root.find(".//testsuite[@name='down-1']/testcase/error") is not None
    vm_memory = root.find(".//testsuite[@name='cloud-vm']/testcase[@name='memory.channels']")
    finding = next(f for f in report.findings if (f.host, f.rule) == ("cloud-vm", "memory.channels"))
    assert finding.status in (UNKNOWN, NA)  # a VM cannot see (or change) its DIMMs
    assert vm_memory.find("skipped").get("message").startswith(f"{finding.status}: {finding.evidence}")


def test_html_is_one_offline_file(report: AuditReport) -> None:
    page = html.render(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://", page)
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", page)
    assert page.count("<svg") >= 4
    for host in HARDWARE:
        assert f'id="node-{host}"' in page
    assert "BIOS: Uncore Configuration &gt; SNC (Sub NUMA) = Disable" in page  # remedy of a failure
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_prom_lines_parse(report: AuditReport) -> None:
    text = prom.render(report)
    assert exposition_problems(text) == []
    status_lines = [ln for ln in text.splitlines() if ln.startswith("xeonfleet_rule_status{")]
    assert len(status_lines) == len(report.findings)
    # prometheus_client writes labels sorted by name and values as floats.
    assert ('xeonfleet_rule_status{category="power",host="icx-8380-2s-mistuned",rule="power.governor",'
            'status="fail"} 1.0') in text
    assert 'xeonfleet_rule_ok{category="power",host="icx-8380-2s-mistuned",rule="power.governor"} 0.0' in text
    assert 'xeonfleet_audit_host_up{host="down-1"} 0.0' in text


def test_prom_samples_read_back_as_the_findings(report: AuditReport) -> None:
    """What a scraper parses is each finding's verdict, a count per node and status, and the run's time."""
    families = {f.name: f for f in text_string_to_metric_families(prom.render(report))}
    ok = {(s.labels["host"], s.labels["rule"]): s.value for s in families["xeonfleet_rule_ok"].samples}
    assert ok == {(f.host, f.rule): prom.NUMERIC[f.status] for f in report.findings}
    counts = {(s.labels["host"], s.labels["status"]): s.value for s in families["xeonfleet_audit_findings"].samples}
    assert counts[("cloud-vm", FAIL)] == sum(f.host == "cloud-vm" and f.status == FAIL for f in report.findings)
    assert len(counts) == len(HARDWARE) * 4
    (started,) = families["xeonfleet_audit_last_run_timestamp_seconds"].samples
    assert started.value == 1793613600.0  # 2026-11-02T10:00:00+00:00


def test_exit_code_follows_worst_status(report: AuditReport) -> None:
    assert report.exit_code == 2
    clean = AuditReport("t", "2026-11-02T10:00:00+00:00", 0.1, report.nodes, report.findings)
    assert clean.exit_code == 1
    passing = [f for f in report.findings if f.status != FAIL]
    assert AuditReport("t", "2026-11-02T10:00:00+00:00", 0.1, report.nodes, passing).exit_code == 0



def test_table_failures_only_keeps_fail_and_unknown(report: AuditReport) -> None:
    full, short = table.render(report), table.render(report, failures_only=True)
    kept = [line for line in short.splitlines() if line.startswith("    ") and line.split()[0] in ("PASS", "N/A")]
    assert kept == [] and len(short.splitlines()) < len(full.splitlines())
    for finding in report.findings:
        if finding.status in (FAIL, UNKNOWN):
            assert f"{finding.rule}" in short
    assert table.summary_lines(report)[0] in short  # the fleet summary stays
