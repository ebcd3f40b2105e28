"""The compliance audit, one package: what a node should be (rules), what it is (findings), how it changed.

    findings  Finding (one node x rule verdict), NodeDrift (the statuses are xeonfleet.knobs.status)
    rules     read-only node rules (CPU, BIOS, NUMA, frameworks) + the knobs' rules: evaluate_node
    memory    DIMM population rules, by the vendor's own slot names
    pcie      NIC / NVMe PCIe link rules
    fleet     peer-group rules across the nodes of one inventory group
    report    AuditReport / NodeSummary: what every report format renders
    formats   the report formats: table, json, junit, html, prom
    drift     audit history in the results store and `--since last`
    run       gather -> evaluate -> report -> store (what `xeonfleet audit` runs)
"""
