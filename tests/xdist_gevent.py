"""Lets a pytest-xdist worker live with the gevent monkey patching of an in-process pyinfra run.

A test that runs `xeonfleet facts` or `audit` through CliRunner gathers over pyinfra in the test process, which
patches the stdlib for gevent (xeonfleet/connect/gevent_patch.py) from then on; a plain pytest run does not
mind. An xdist worker does: its main thread waits on threading primitives that a thread of execnet's releases,
and once threading is patched such a wait is a greenlet's with nothing in gevent's hub to wake it, so gevent
raises LoopExit and the worker dies. So, in a worker only:
- the wait for the next test polls the queue under the unpatched sleep (it never enters the hub);
- once the last test is done, threading, _thread and time get their own functions back, so execnet's shutdown
  waits natively.
Code under test is untouched: every test runs as it would in a plain pytest run.
"""

from __future__ import annotations

import sys

import pytest

# What gevent's patch_all replaces that execnet's own waits use.
THREAD_MODULES = ("threading", "_thread", "time")
POLL_S = 0.01


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Swap the worker's wait for its next test for a poll. xdist runs its worker as exec'd source, so its
    queue is reached through the worker's registered plugin rather than an importable class."""
    if not _is_worker(config):
        return
    from gevent.monkey import get_original

    sleep = get_original("time", "sleep")
    (worker,) = [plugin for plugin in config.pluginmanager.get_plugins()
                 if type(plugin).__name__ == "WorkerInteractor"]
    queue = worker.torun

    def get() -> object:
        while True:
            with queue.lock() as items:
                if items:
                    return items.popleft()
            sleep(POLL_S)

    queue.get = get


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After the worker's last test, undo gevent's patches of the thread modules for execnet's shutdown."""
    if not _is_worker(config):
        return
    from gevent.monkey import saved

    for module in THREAD_MODULES:
        for name, original in saved.get(module, {}).items():
            setattr(sys.modules[module], name, original)
