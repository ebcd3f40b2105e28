"""The one error every lab module raises, so the CLI and tests catch a single type.

Planning hosts, finding ports, reading lab.json, killing hosts and booting them all fail for reasons
the user can act on; each says so in a LabError of one line, and `xeonfleet lab` prints it and exits.
It lives apart from the modules that raise it so none of them has to import another for it.
"""


class LabError(Exception):
    """The lab cannot do what was asked; the message is one line naming the cause and the fix."""
