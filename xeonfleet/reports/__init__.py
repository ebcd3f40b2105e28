"""Audit report renderers: table, json, junit, html, prom. Each is `render(report, ...) -> str`."""
