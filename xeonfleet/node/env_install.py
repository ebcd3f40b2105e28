"""pip install into a framework env, with pip's failure turned into the one line a fleet operator needs.

Run on the node through node_env.py's `install` command (deploys/frameworks.py); standard library only,
Python 3.8+.
"""

import os
import re
import subprocess
import sys


def install_error_line(output, find_links):
    """Turn pip's output into the one line a fleet operator needs."""
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing and find_links:
        return (f"xeonfleet: wheel missing from wheelhouse {find_links}: {missing.group(1)} "
                f"(rebuild it with `xeonfleet wheelhouse build` for this env's stacks)")
    if missing:
        return f"xeonfleet: the package index has no {missing.group(1)} for this Python/platform"
    if "No space left on device" in output:
        return "xeonfleet: no space left on device while installing; free space in the env prefix"
    if re.search(r"(NewConnectionError|Temporary failure in name resolution|Network is unreachable)", output):
        return "xeonfleet: cannot reach the package index; give the deploy a wheelhouse (host data `wheelhouse`)"
    tail = [line for line in output.strip().splitlines() if line.strip()]
    return "xeonfleet: pip install failed: " + (tail[-1] if tail else "no output")


def cmd_install(env_path, find_links, no_index, reqs):
    cmd = [os.path.join(env_path, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-input", "--progress-bar", "off"]
    if find_links:
        cmd += ["--find-links", find_links]
    if no_index:
        cmd.append("--no-index")
    proc = subprocess.run(cmd + list(reqs), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        print(install_error_line(proc.stdout, find_links), file=sys.stderr)
        return 1
    return 0

