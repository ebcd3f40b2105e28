"""The one rule by which a node module imports another node module.

The node wing has two shapes. On the controller it is the package xeonfleet.node (the tune plan imports the
instance planner, the frameworks audit the ISA names, tests import everything). On a node a deploy uploads
the files flat into one directory (/usr/local/lib/xeonfleet, /opt/xeonfleet/lib, the benchmark runners'
directory) and runs one of them as a script, which puts that directory first on sys.path (Python resolves
the symlink /usr/local/bin/xeonfleet-run to it). A module reaches this one the way it was itself imported:

    if __package__:  # on the controller: the package xeonfleet.node
        from xeonfleet.node.siblings import sibling
    else:  # on a node: a script in the flat upload directory
        from siblings import sibling
    instances = sibling("instances")

and sibling() imports the others the way it was imported, so the two shapes never mix: a node that happens
to have an older xeonfleet installed still runs the files just uploaded beside the script, and the
controller never loads a second, flat copy of a module it already has. Whatever a module imports through
sibling() must be uploaded with it: tests/unit/test_node_wing.py checks every uploader.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def sibling(name: str) -> ModuleType:
    """The node module NAME: xeonfleet.node.NAME on the controller, NAME from the upload directory on a node."""
    return importlib.import_module(f"{__package__}.{name}" if __package__ else name)
