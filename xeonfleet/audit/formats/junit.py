"""JUnit XML for CI: one testsuite per node, one testcase per node x rule.

fail -> <failure> with evidence, expectation and remedy; unknown and n/a -> <skipped> (the rule could
not or need not be judged: CI should not go red for a VM without SMBIOS); an unreachable host is one
testcase with an <error>, since nothing on it was audited.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, UNKNOWN
from xeonfleet.audit.report import AuditReport


def _testcase(suite: ET.Element, finding: Finding) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{finding.host}.{finding.category}",
                         name=finding.rule, time="0")
    if finding.status == FAIL:
        failure = ET.SubElement(case, "failure", type=finding.severity,
                                message=f"{finding.title}: {finding.evidence} (want {finding.expected})")
        failure.text = (f"observed: {finding.evidence}\nexpected: {finding.expected}\n"
                        f"remedy: {finding.remedy}\n")
    elif finding.status in (UNKNOWN, NA):
        ET.SubElement(case, "skipped", message=f"{finding.status}: {finding.evidence}")


def render(report: AuditReport) -> str:
    root = ET.Element("testsuites", name="xeonfleet audit", time=f"{report.duration_s:.3f}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host, findings in report.by_host().items():
        counts = {
            "tests": len(findings),
            "failures": sum(f.status == FAIL for f in findings),
            "errors": 0,
            "skipped": sum(f.status in (UNKNOWN, NA) for f in findings),
        }
        suite = ET.SubElement(root, "testsuite", name=host, timestamp=report.started_at,
                              **{k: str(v) for k, v in counts.items()})
        for finding in findings:
            _testcase(suite, finding)
        totals = {k: totals[k] + counts[k] for k in totals}
    for host, error in sorted(report.unreachable.items()):
        suite = ET.SubElement(root, "testsuite", name=host, timestamp=report.started_at,
                              tests="1", failures="0", errors="1", skipped="0")
        case = ET.SubElement(suite, "testcase", classname=f"{host}.connection", name="reachable", time="0")
        ET.SubElement(case, "error", type="unreachable", message=error).text = error
        totals["tests"] += 1
        totals["errors"] += 1
    root.attrib.update({k: str(v) for k, v in totals.items()})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
