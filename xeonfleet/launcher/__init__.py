"""The node-side multi-instance launcher `xeonfleet-run` (xeonfleet_run.py, standard library only).

The tune deploy installs xeonfleet_run.py and xeonfleet/instances.py side by side in
/usr/local/lib/xeonfleet and links /usr/local/bin/xeonfleet-run to it.
"""
