"""gevent's monkey patching, done once before anything imports pyinfra, at a tenth of its usual start-up cost.

pyinfra connects hosts in parallel with gevent, and `import pyinfra_cli` patches the stdlib for it. gevent's
patch_all announces each of its ~25 steps to plugins, and every announcement asks importlib.metadata for the
plugins' entry points, which re-reads every installed distribution's metadata: 1,400 small files in our
venv, ~0.1 s of CPU on each `xeonfleet facts` / `audit` (half of what gevent costs to start). Patching here
first, with the entry points read once for all the announcements, gives the same patches and the same plugin
calls; pyinfra_cli's own patch_all then finds the same patches done and returns at once.
"""

from __future__ import annotations

from importlib import metadata


def patch_for_pyinfra() -> None:
    """gevent's patch_all (pyinfra_cli's call, same arguments), reading the plugins' entry points once."""
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return
    every_entry_point = metadata.entry_points()
    read = metadata.entry_points
    metadata.entry_points = lambda **selection: every_entry_point.select(**selection)
    try:
        monkey.patch_all()
    finally:
        metadata.entry_points = read
