"""Node-side helper for framework envs: the command line deploys/frameworks.py runs, and the env record.

Uploaded by deploys/frameworks.py to /opt/xeonfleet/lib/node_env.py, with the node modules it imports
beside it (xeonfleet/frameworks/render.py NODE_ENV_FILES), and run with the env's Python (stdlib only,
Python 3.8+): the controller never imports a framework.

    python node_env.py install ENV_PATH [--find-links DIR] [--no-index] -- REQ...   # env_install.py
    python node_env.py smoke ENV_PATH --meta JSON      # runs every stack, writes the record
    python node_env.py check STACK [VARIANT]           # one stack, prints one JSON line (env_checks.py)

`smoke` runs each `check` in its own child process, so one crashing framework cannot take the others'
results down, and records per precision the ISA that really ran: from oneDNN's verbose lines (torch,
TensorFlow, INC; onednn_verbose.py) or OpenVINO's runtime graph; and, asked before those kernels, whether
the process got the AMX tile state (amx_permission).
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata

if __package__:  # on the controller: the package xeonfleet.node
    from xeonfleet.node.siblings import sibling
else:  # on a node: the flat upload directory (see siblings.py)
    from siblings import sibling

env_checks = sibling("env_checks")
env_install = sibling("env_install")
isa_names = sibling("isa_names")
onednn_verbose = sibling("onednn_verbose")

RECORD_NAME = "xeonfleet-env.json"
CHECK_TIMEOUT_S = 900
# Bumped when the checks change what they record: a record of an older version is re-checked.
CHECKS_VERSION = 2
ONEDNN_VERBOSE_STACKS = ("pytorch", "tensorflow", "inc")
# Variables that change which kernels oneDNN / TensorFlow pick; the record says where each was set.
RUNTIME_KNOBS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ONEDNN_DEFAULT_FPMATH_MODE",
                 "DNNL_DEFAULT_FPMATH_MODE", "ONEDNN_CPU_ISA_HINTS", "TF_ENABLE_ONEDNN_OPTS")
PROFILE_ENV = "/etc/profile.d/xeonfleet-ai.sh"
# The cpuinfo flags that decide which precisions are checked (kept in the record as evidence).
_JUDGED_FLAGS = {flag for table in isa_names.WANTED_FOR_FLAGS.values() for flag, _ in table}


def split_phases(lines):
    """Lines of a check's output -> {precision: the lines printed while it ran}."""
    phases, current = {}, None
    for line in lines:
        if line.startswith(env_checks.PHASE_PREFIX):
            current = line[len(env_checks.PHASE_PREFIX):].strip()
            phases[current] = []
        elif current is not None:
            phases[current].append(line)
    return phases


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")
_NUMPY_ABI = re.compile(r"compiled using NumPy 1\.x cannot be run in")


def failure_line(lines, returncode):
    """The one line that says why a check died: NumPy 2 under a NumPy-1 build is named as
    such (its traceback ends in an unrelated pybind11 TypeError), else the last exception line."""
    text = [line for line in lines if line.strip() and not line.startswith(("onednn_verbose", "dnnl_verbose"))]
    if any(_NUMPY_ABI.search(line) for line in text):
        return "a module built for NumPy 1.x was imported under NumPy 2; pin numpy<2 for this stack"
    exceptions = [line.strip() for line in text if _EXCEPTION_LINE.match(line)]
    return (exceptions or text or [f"exit {returncode}"])[-1]


def run_stack_check(python, stack, variant):
    """Run one check in its own child; return its result with the ISAs found. torch, TensorFlow and
    INC run with ONEDNN_VERBOSE=1, whose lines name their kernels. OpenVINO names its own in the
    runtime graph, and under ONEDNN_VERBOSE=1 its 2026.4 INT8 conv failed in 3 of 4 runs on an AMX VM
    ("Node FakeQuantize_..._Convolution of type Reorder could not execute a primitive"): it runs without."""
    env = dict(os.environ)
    if stack in ONEDNN_VERBOSE_STACKS:
        env.update(ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
    try:
        proc = subprocess.run([python, os.path.abspath(__file__), "check", stack, variant],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=env, timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"{stack} smoke test timed out after {CHECK_TIMEOUT_S}s"}
    lines = proc.stdout.splitlines()
    result_lines = [line for line in lines if line.startswith(env_checks.RESULT_PREFIX)]
    if proc.returncode != 0 or not result_lines:
        return {"ok": False, "error": f"{stack}: " + failure_line(lines, proc.returncode)}
    result = json.loads(result_lines[-1][len(env_checks.RESULT_PREFIX):])
    result.update(onednn_verbose.parse_onednn_verbose(lines))
    add_dispatched_kernels(result.get("precisions") or {}, split_phases(lines))
    return result


def add_dispatched_kernels(precisions, phases):
    """Fill each precision that ran with the oneDNN kernel its phase's verbose lines name (the
    OpenVINO check names its own from the runtime graph)."""
    for precision, found in precisions.items():
        if "isa" in found or "skipped" in found or "error" in found:
            continue
        kernel = onednn_verbose.compute_kernel(phases.get(precision, []))
        found.update(kernel or {"isa": None, "kernel": None}, isa_source="onednn verbose")


def _set_in(var, files):
    """The first of `files` that assigns `var` (`VAR=` or `export VAR=`), else None."""
    assign = re.compile(r"^\s*(export\s+)?" + re.escape(var) + r"=")
    for path in files:
        try:
            with open(path) as handle:
                if any(assign.match(line) for line in handle):
                    return path
        except OSError:
            continue
    return None


def runtime_knobs(env_path, environ=None):
    """The kernel-choosing variables set in the checks' environment, with the file that sets each
    (the env's activate.sh, a profile.d script or /etc/environment; None: inherited from the caller)."""
    environ = os.environ if environ is None else environ
    profile_d = "/etc/profile.d"
    scripts = sorted(os.path.join(profile_d, n) for n in os.listdir(profile_d)) if os.path.isdir(profile_d) else []
    files = [os.path.join(env_path, "activate.sh"), *scripts, "/etc/environment"]
    return {var: {"value": environ[var], "set_in": _set_in(var, files)} for var in RUNTIME_KNOBS if var in environ}


def file_sha1(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


def watched_files(knobs):
    """The files whose change should re-run the checks: the node's runtime env and any file that
    set a knob -> their SHA1 now (None: absent)."""
    paths = {PROFILE_ENV, *(k["set_in"] for k in knobs.values() if k["set_in"])}
    return {path: file_sha1(path) for path in sorted(paths)}


def package_versions(names):
    """Installed versions of the given distributions (None when absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def best_isa(stack_results):
    """The best ISA any stack's kernels ran on, from oneDNN's verbose lines or a precision's kernel
    (None if none ran)."""
    found = [isa for res in stack_results.values() for isa in res.get("dispatched") or []]
    found += [p["isa"] for res in stack_results.values() for p in (res.get("precisions") or {}).values() if p.get("isa")]
    return max(found, key=isa_names.rank) if found else None


def cmd_smoke(env_path, meta):
    """Run every stack's check; write the record (ok true/false) atomically; exit 0 only if ok."""
    stacks = {}
    for stack, info in meta["stacks"].items():
        stacks[stack] = dict(info, **run_stack_check(sys.executable, stack, info["variant"]))
    order = list(meta["stacks"])
    coimports = [run_stack_check(sys.executable, "coimport", ",".join(o)) for o in (order, order[::-1])
                 if len(order) > 1]
    failed = [f"{name}: {res.get('error', 'check returned ok=false')}" for name, res in stacks.items()
              if not res.get("ok")]
    failed += [f"importing {', '.join(o)} together: {res.get('error')}" for o, res in
               zip((order, order[::-1]), coimports) if not res.get("ok")]
    knobs = runtime_knobs(env_path)
    record = {
        "name": meta["name"], "backend": meta["backend"], "path": env_path, "python": sys.version.split()[0],
        "spec_hash": meta["spec_hash"], "stacks": stacks, "versions": package_versions(meta["packages"]),
        "isa": best_isa(stacks), "coimport_ok": all(res.get("ok") for res in coimports), "ok": not failed, "error": "; ".join(failed) or None,
        "checks_version": CHECKS_VERSION, "cpu_flags": sorted(env_checks.cpu_flags() & _JUDGED_FLAGS),
        "runtime_knobs": knobs, "watched_files": watched_files(knobs),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = os.path.join(env_path, RECORD_NAME + ".tmp")
    with open(tmp, "w") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(env_path, RECORD_NAME))
    print(json.dumps(record, sort_keys=True))
    if failed:
        print("xeonfleet: smoke test failed in " + env_path + ": " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "install":
        opts, reqs = argv[2:argv.index("--")], argv[argv.index("--") + 1:]
        find_links = opts[opts.index("--find-links") + 1] if "--find-links" in opts else None
        return env_install.cmd_install(argv[1], find_links, "--no-index" in opts, reqs)
    if len(argv) == 4 and argv[0] == "smoke" and argv[2] == "--meta":
        return cmd_smoke(argv[1], json.loads(argv[3]))
    if len(argv) in (2, 3) and argv[0] == "check" and argv[1] in env_checks.CHECKS:
        return env_checks.cmd_check(argv[1], argv[2] if len(argv) == 3 else "")
    print("usage: node_env.py install ENV [--find-links D] [--no-index] -- REQ... | "
          "smoke ENV --meta JSON | check STACK [VARIANT]", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
