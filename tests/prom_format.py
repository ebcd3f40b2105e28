"""A checker for the Prometheus text exposition format, shared by the unit and lab tests of prom.py."""

from __future__ import annotations

import re

# name{label="value",...} value  (label values escape \\, \" and \n)
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*",?)*\})? -?[0-9.eE+]+$')


def exposition_problems(text: str) -> list[str]:
    """Lines that are not HELP/TYPE comments or valid samples, or samples before their TYPE line."""
    typed: set[str] = set()
    problems = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line.startswith("# HELP "):
            continue
        elif not (match := SAMPLE.match(line)):
            problems.append(f"not a sample: {line!r}")
        elif match.group("name") not in typed:
            problems.append(f"sample before its TYPE: {line!r}")
    return problems
