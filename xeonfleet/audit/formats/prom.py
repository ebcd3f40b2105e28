"""Prometheus textfile-collector output (node_exporter --collector.textfile.directory).

`xeonfleet_rule_status{host,rule,category,status} 1` names the verdict as a label for tables and
alerts; `xeonfleet_rule_ok{host,rule,category}` is the same verdict as a number for graphs
(1 pass, 0 fail, -1 unknown, -2 n/a). prometheus_client writes the exposition format (escaping,
HELP/TYPE lines); the CLI writes the file to a temp name and renames it, as the collector requires.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.report import AuditReport

NUMERIC = {PASS: 1, FAIL: 0, UNKNOWN: -1, NA: -2}


def registry(report: AuditReport) -> CollectorRegistry:
    """The report's gauges in a registry of their own (never the process-global one)."""
    metrics = CollectorRegistry()

    def gauge(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, help_text, labels, registry=metrics)

    status = gauge("xeonfleet_rule_status", "Audit verdict of one rule on one host; the status label holds it.",
                   ("host", "rule", "category", "status"))
    ok = gauge("xeonfleet_rule_ok", "Audit verdict as a number: 1 pass, 0 fail, -1 unknown, -2 n/a.",
               ("host", "rule", "category"))
    for f in report.findings:
        status.labels(host=f.host, rule=f.rule, category=f.category, status=f.status).set(1)
        ok.labels(host=f.host, rule=f.rule, category=f.category).set(NUMERIC[f.status])
    findings = gauge("xeonfleet_audit_findings", "Findings per host and status in the last audit.", ("host", "status"))
    by_host = report.by_host()
    for node in report.nodes:
        for verdict, count in report.status_counts(by_host[node.host]).items():
            findings.labels(host=node.host, status=verdict).set(count)
    up = gauge("xeonfleet_audit_host_up", "1 if the host was reached and audited, 0 if unreachable.", ("host",))
    for node in report.nodes:
        up.labels(host=node.host).set(1)
    for host in sorted(report.unreachable):
        up.labels(host=host).set(0)
    gauge("xeonfleet_audit_duration_seconds", "Wall time of the last audit.").set(round(report.duration_s, 3))
    gauge("xeonfleet_audit_last_run_timestamp_seconds", "When the last audit started (Unix time).").set(
        datetime.fromisoformat(report.started_at).timestamp())
    return metrics


def render(report: AuditReport) -> str:
    return generate_latest(registry(report)).decode()
