"""Prometheus textfile-collector output (node_exporter --collector.textfile.directory).

`xeonfleet_rule_status{host,rule,category,status} 1` names the verdict as a label for tables and
alerts; `xeonfleet_rule_ok{host,rule,category}` is the same verdict as a number for graphs
(1 pass, 0 fail, -1 unknown, -2 n/a). Write it to a temp file and rename, as the collector requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from xeonfleet.audit.findings import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.report import AuditReport

NUMERIC = {PASS: 1, FAIL: 0, UNKNOWN: -1, NA: -2}


def _escape(value: str) -> str:
    """Label value escaping of the exposition format: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def _family(name: str, help_text: str, samples: Iterable[tuple[str, float | int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {value}" for labels, value in samples]
    return lines


def render(report: AuditReport) -> str:
    findings = report.findings
    hosts = [n.host for n in report.nodes]
    by_host = report.by_host()
    lines = _family(
        "xeonfleet_rule_status", "Audit verdict of one rule on one host; the status label holds it.",
        ((_labels(host=f.host, rule=f.rule, category=f.category, status=f.status), 1) for f in findings))
    lines += _family(
        "xeonfleet_rule_ok", "Audit verdict as a number: 1 pass, 0 fail, -1 unknown, -2 n/a.",
        ((_labels(host=f.host, rule=f.rule, category=f.category), NUMERIC[f.status]) for f in findings))
    lines += _family(
        "xeonfleet_audit_findings", "Findings per host and status in the last audit.",
        ((_labels(host=host, status=status), count)
         for host in hosts for status, count in report.status_counts(by_host.get(host, [])).items()))
    lines += _family(
        "xeonfleet_audit_host_up", "1 if the host was reached and audited, 0 if unreachable.",
        [*((_labels(host=host), 1) for host in hosts),
         *((_labels(host=host), 0) for host in sorted(report.unreachable))])
    lines += _family("xeonfleet_audit_duration_seconds", "Wall time of the last audit.",
                     [("", round(report.duration_s, 3))])
    lines += _family("xeonfleet_audit_last_run_timestamp_seconds", "When the last audit started (Unix time).",
                     [("", round(datetime.fromisoformat(report.started_at).timestamp(), 3))])
    return "\n".join(lines) + "\n"
