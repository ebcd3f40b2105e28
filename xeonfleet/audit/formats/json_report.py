"""JSON report: the whole audit as one document for scripts and dashboards."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from xeonfleet.audit.report import AuditReport

SCHEMA_VERSION = 1


def to_dict(report: AuditReport) -> dict[str, Any]:
    by_host = report.by_host()
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": report.run_id,
        "inventory": report.inventory,
        "started_at": report.started_at,
        "duration_s": round(report.duration_s, 3),
        "exit_code": report.exit_code,
        "summary": {
            "nodes": len(report.nodes),
            "failing_nodes": report.failing_hosts(),
            "unreachable": sorted(report.unreachable),
            "findings": report.status_counts(),
            "top_failures": dict(report.top_failures()),
        },
        "nodes": {
            node.host: {
                "profile": node.profile,
                "cpu": node.cpu,
                "summary": report.status_counts(by_host.get(node.host, [])),
                "findings": [f.to_dict() for f in by_host.get(node.host, [])],
            }
            for node in report.nodes
        },
        "unreachable": dict(sorted(report.unreachable.items())),
        "drift": None if report.drift is None else [asdict(node) for node in report.drift],
    }


def render(report: AuditReport) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"
