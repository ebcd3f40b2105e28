"""The one renderer of templates/ (the package xeonfleet.templates): every file xeonfleet writes to a node or
a controller comes through here, with one set of jinja settings, so a template reads the same whoever
renders it.

Strict (a missing value is an error, never an empty string in a unit file), trim_blocks (a block
tag on its own line leaves no blank line), the trailing newline kept, and `quote` for any value
that lands in shell.
"""

from __future__ import annotations

import shlex
from typing import Any

import jinja2

from xeonfleet.resources import templates_dir

TEMPLATES = templates_dir()

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                          trim_blocks=True, keep_trailing_newline=True)
_ENV.filters["quote"] = lambda value: shlex.quote(str(value))


def render(template: str, /, **values: Any) -> str:
    """data/templates/TEMPLATE rendered with `values` (which may include one called `name`)."""
    return _ENV.get_template(template).render(**values)
