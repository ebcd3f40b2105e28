"""Every CLI table (facts, recommend, lab status) through one rich.table.Table setup.

Plain text first: no box, two spaces between columns, no trailing blanks, so a table in a file, a pipe or
a CI log reads (and greps, and diffs) like hand-aligned columns. On a terminal the header is bold (unless
NO_COLOR is set) and a table wider than the window wraps its cells; off a terminal the width is unlimited,
so nothing is cut or wrapped.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterable, Sequence

# Wide enough for any table we print: a piped table is never wrapped or cut.
UNLIMITED_WIDTH = 1 << 16


def stdout_wants_colour() -> bool:
    """Colour on stdout: only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def format_table(columns: Sequence[str], rows: Iterable[Sequence[str]], to_stdout: bool = False) -> str:
    """Left-aligned columns sized to their widest cell, the header first, no trailing newline.

    `to_stdout`: the text will be printed to stdout (not written to a file); when stdout is a terminal the
    header is bold (without NO_COLOR) and the width is the terminal's. Cells are literal text (a
    `[profile]` is not rich markup).
    """
    # rich costs ~0.15 s to import: only a command that prints a table pays it (`xeonfleet --help` does not).
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    for_terminal = to_stdout and sys.stdout.isatty()
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, header_style="")
    for name in columns:
        table.add_column(Text(name, style="bold"), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out = io.StringIO()
    width = shutil.get_terminal_size().columns if for_terminal else UNLIMITED_WIDTH
    colour = to_stdout and stdout_wants_colour()
    console = Console(file=out, width=width, force_terminal=colour, no_color=not colour,
                      color_system="standard" if colour else None, markup=False, highlight=False, emoji=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
