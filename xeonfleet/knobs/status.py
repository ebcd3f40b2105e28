"""The four verdicts of a check, at the bottom so knobs, audit rules and reports all share them."""

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"  # the node cannot tell (no SMBIOS, unreadable file): not drift, not compliance
NA = "n/a"  # the rule does not apply here (no cpufreq in a VM, Intel-only rule on AMD)
STATUSES = (PASS, FAIL, UNKNOWN, NA)
