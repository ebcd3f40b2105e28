"""Reaching nodes through pyinfra: the one batched probe (xeonfleet/facts/probe.py) gathered over an inventory,
host commands, file transfers (SFTP or scp), pyinfra's output kept quiet, the progress bar, and snapshots of
a live host.

Everything the CLI and the deploys share about talking to a fleet lives here, so a connection problem is
reported the same way whoever ran into it.
"""
