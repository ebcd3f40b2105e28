"""A rich progress bar on stderr for fleet work (gather, `bench run`, `wheelhouse build`).

Shown only when stderr is a terminal and only once the work has taken a second, so quick commands print
exactly what they did before; transient, so the terminal keeps the result and not the bar. CI logs and
pipes never get one: they hold no control characters. pyinfra deploys are not wrapped: pyinfra prints its
own progress.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SHOW_AFTER_S = 1.0


def _no_progress() -> None:
    """advance() when no bar is shown."""


@contextmanager
def fleet_progress(description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """Yield `advance()`, called once per finished unit (a host, a job) out of `total`.

    `total=None` is work of unknown size (one pip download, one pyinfra run): a pulsing bar and the elapsed
    time, so a long wait still shows it is alive.
    """
    if not sys.stderr.isatty():
        yield _no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn()]
    columns += [MofNCompleteColumn()] if total is not None else []
    # redirect_stdout=False: the command's report on stdout may be a pipe while stderr is the terminal.
    progress = Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                        redirect_stdout=False)
    task = progress.add_task(description, total=total)
    lock = threading.Lock()
    finished = False

    def show() -> None:
        with lock:
            if not finished:
                progress.start()

    timer = threading.Timer(SHOW_AFTER_S, show)
    timer.daemon = True
    timer.start()
    try:
        yield lambda: progress.advance(task)
    finally:
        timer.cancel()
        with lock:
            finished = True
            progress.stop()
