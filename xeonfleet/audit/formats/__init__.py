"""The audit report's output formats: table, json, junit, html, prom. Each is `render(report, ...) -> str`."""
