"""One output convention for every command that renders a report: `--format NAME` and `-o/--output FILE`.

Without `--format`, a FILE's suffix picks the format (`-o audit.html` writes HTML); without either, the
command's default goes to stdout. Files are written atomically, so a dashboard's textfile collector or a
CI reader never sees half a report, and 0600 (in a 0700 directory when -o's directory is new): a report
describes the fleet. The exception is the textfile node_exporter, another user, reads (`--format prom`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from xeonfleet.private_files import PRIVATE_FILE, make_private_dirs

EXIT_PROBLEM = 2
# Formats written for another user to read: node_exporter's textfile collector (the audit agent's -o) reads
# .prom files as its own user, so they stay world-readable, in a directory made as before.
PUBLISHED_FORMATS = {"prom": 0o644}

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


def write_atomically(path: Path, text: str, mode: int = PRIVATE_FILE) -> None:
    """Temp file + rename in the target directory, the file `mode`; a missing directory is made 0700 for a
    private file, with the umask's mode for a published one."""
    if mode == PRIVATE_FILE:
        make_private_dirs(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, mode)
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
        write_atomically(output, text, PUBLISHED_FORMATS.get(fmt, PRIVATE_FILE))
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_PROBLEM)
    click.echo(f"{fmt} report -> {output}", err=True)
