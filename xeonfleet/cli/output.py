"""One output convention for every command that renders a report: `--format NAME` and `-o/--output FILE`.

Without `--format`, a FILE's suffix picks the format (`-o audit.html` writes HTML); without either, the
command's default goes to stdout. Files are written atomically, so a dashboard's textfile collector or a
CI reader never sees half a report.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

EXIT_PROBLEM = 2

# file suffix -> format name, for the formats a command offers
SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".xml": "junit", ".prom": "prom",
                  ".txt": "table"}


def output_options(formats: tuple[str, ...], default: str) -> Callable[[Callable], Callable]:
    """The `--format` and `-o/--output` options (parameters `fmt` and `output`)."""
    def decorate(func: Callable) -> Callable:
        func = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="Write the report to FILE (its suffix picks --format when that is not given).")(func)
        return click.option("--format", "fmt", type=click.Choice(formats), default=None,
                            help=f"Report format (default: from -o's suffix, else {default}).")(func)
    return decorate


def resolve_format(fmt: str | None, output: Path | None, formats: tuple[str, ...], default: str) -> str:
    """--format if given, else the output file's suffix when it names one of `formats`, else `default`."""
    if fmt:
        return fmt
    if output is not None:
        by_suffix = SUFFIX_FORMATS.get(output.suffix.lower())
        if by_suffix in formats:
            return by_suffix
    return default


def write_atomically(path: Path, text: str) -> None:
    """Temp file + rename in the target directory (created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(text: str, output: Path | None, fmt: str) -> None:
    """Print the report, or write it to `output` and say where on stderr (exit 2 when it cannot be written)."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomically(output, text)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_PROBLEM)
    click.echo(f"{fmt} report -> {output}", err=True)
