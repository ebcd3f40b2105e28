"""Benchmark results into the results store (xeonfleet/store.py): runs, hosts, job results, samples.

A host's row starts `incomplete` and becomes `complete` only after its last job was ingested, so a
node that dies mid-run keeps the jobs it finished and stays marked incomplete. Every sample carries
run id, host, job, time, the node's facts fingerprint and its stack versions."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from xeonfleet.store import Store

RUN_ID_VAR = "XEONFLEET_BENCH_RUN_ID"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Facts that can change a benchmark result; counters and timestamps stay out of the fingerprint.
FINGERPRINT_KEYS = {
    "cpu": ("model_name", "microcode", "sockets", "cores_per_socket", "threads_per_core", "online_cpus",
            "base_ghz", "max_ghz", "isa"),
    "numa": ("node_count", "snc_enabled", "balancing"),
    "memory": ("total_bytes", "populated", "populated_channels", "dimm_sizes_matched"),
    "bios": ("vendor", "version"),
    "power": ("governor", "turbo_enabled", "epp", "epb", "cstates"),
    "os": ("kernel", "cmdline", "thp", "sysctl", "runtime_env"),
}


class ResultError(ValueError):
    """A fetched result file cannot be read; one line naming the file."""



def new_run_id() -> str:
    """Sortable by time, unique across controllers: 20261125T130457-f8a8f5."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


class RunIdError(ValueError):
    """A run id that is not safe in a path or a shell word."""


def check_run_id(run_id: str) -> str:
    """The id itself when it is letters, digits, '.', '_', '-' (1-64, not starting with '.' or '-'):
    it becomes a directory name on every node and on the controller."""
    if not _RUN_ID.fullmatch(run_id or ""):
        raise RunIdError(f"run id {run_id!r} is not valid: use 1-64 letters, digits, '.', '_' or '-' "
                         f"(e.g. {new_run_id()}), or unset ${RUN_ID_VAR}")
    return run_id


@lru_cache(maxsize=1)
def current_run_id() -> str:
    """$XEONFLEET_BENCH_RUN_ID (set by `xeonfleet bench run`), else one id per controller process, so
    every host of one `pyinfra ... deploys/benchmark.py` shares it."""
    return check_run_id(os.environ.get(RUN_ID_VAR) or new_run_id())


def facts_subset(facts: dict[str, Any]) -> dict[str, Any]:
    """The result-relevant facts (what the fingerprint hashes and the report diffs)."""
    return {part: {key: (facts.get(part) or {}).get(key) for key in keys} for part, keys in FINGERPRINT_KEYS.items()}


def fingerprint(facts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(facts_subset(facts), sort_keys=True).encode()).hexdigest()[:16]


def hardware_profile(facts: dict[str, Any]) -> str:
    """Peers for outlier detection: same CPU model, socket count and core count."""
    cpu = facts.get("cpu") or {}
    return f"{cpu.get('model_name') or 'unknown'} x{cpu.get('sockets') or '?'} ({cpu.get('physical_cores') or '?'} cores)"


def start_run(store: Store, run_id: str, selection: str, jobs: list[str]) -> None:
    """Record the run once (every host's deploy calls this; the first one wins)."""
    store.execute(
        "INSERT INTO bench_runs (run_id, started, selection, jobs) VALUES (:run_id, :started, :selection, :jobs) "
        "ON CONFLICT DO NOTHING",
        {"run_id": run_id, "started": time.time(), "selection": selection, "jobs": ",".join(jobs)},
    )


def finish_run(store: Store, run_id: str) -> None:
    store.execute("UPDATE bench_runs SET finished = :now WHERE run_id = :run_id", {"now": time.time(), "run_id": run_id})


def start_host(store: Store, run_id: str, host: str, facts: dict[str, Any]) -> None:
    """The host's row, `incomplete` until complete_host: a host that dies never reaches it."""
    key = {"run_id": run_id, "host": host}
    with store.transaction():
        store.execute("DELETE FROM bench_hosts WHERE run_id = :run_id AND host = :host", key)
        store.execute(
            "INSERT INTO bench_hosts (run_id, host, status, hw_profile, facts_fingerprint, facts_json, started) "
            "VALUES (:run_id, :host, 'incomplete', :hw_profile, :fingerprint, :facts_json, :started)",
            {**key, "hw_profile": hardware_profile(facts), "fingerprint": fingerprint(facts),
             "facts_json": json.dumps(facts_subset(facts)), "started": time.time()},
        )


def complete_host(store: Store, run_id: str, host: str) -> None:
    store.execute("UPDATE bench_hosts SET status = 'complete', finished = :now WHERE run_id = :run_id AND host = :host",
                  {"now": time.time(), "run_id": run_id, "host": host})


def read_result(path: Path) -> dict[str, Any]:
    """A runner's result document, checked for the fields ingestion needs."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultError(f"result file {path}: unreadable ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("status") not in ("ok", "skipped", "failed"):
        raise ResultError(f"result file {path}: no status ok/skipped/failed; was it written by benchlib?")
    if not isinstance(doc.get("unavailable") or {}, dict):
        raise ResultError(f"result file {path}: unavailable must map metric names to reasons")
    for sample in doc.get("samples") or []:
        if not {"metric", "value", "unit"} <= set(sample) or not isinstance(sample["value"], (int, float)):
            raise ResultError(f"result file {path}: malformed sample {sample!r}")
    return doc


def ingest_result(store: Store, run_id: str, host: str, job: str, path: Path) -> dict[str, Any]:
    """Store one job's result file (replacing an earlier ingestion of the same run/host/job)."""
    try:
        doc = read_result(path)
    except ResultError as exc:
        doc = {"status": "failed", "error": str(exc), "samples": []}
    fp = store.execute("SELECT facts_fingerprint FROM bench_hosts WHERE run_id = :run_id AND host = :host",
                       {"run_id": run_id, "host": host})
    key = {"run_id": run_id, "host": host, "job": job}
    tags = {**key, "versions_json": json.dumps(doc.get("versions") or {}, sort_keys=True)}
    when = float(doc.get("finished") or time.time())
    with store.transaction():
        for table in ("bench_results", "bench_samples", "bench_unavailable"):
            store.execute(f"DELETE FROM {table} WHERE run_id = :run_id AND host = :host AND job = :job", key)
        store.execute(
            "INSERT INTO bench_results (run_id, host, job, status, reason, versions_json, started, finished) "
            "VALUES (:run_id, :host, :job, :status, :reason, :versions_json, :started, :finished)",
            {**tags, "status": doc["status"], "reason": doc.get("reason") or doc.get("error"),
             "started": doc.get("started"), "finished": doc.get("finished")},
        )
        store.executemany(
            "INSERT INTO bench_samples (run_id, host, job, metric, value, unit, time, facts_fingerprint, "
            "versions_json, metadata_json) VALUES (:run_id, :host, :job, :metric, :value, :unit, :time, "
            ":facts_fingerprint, :versions_json, :metadata_json)",
            [{**tags, "metric": s["metric"], "value": float(s["value"]), "unit": s["unit"], "time": when,
              "facts_fingerprint": fp[0][0] if fp else "unknown",
              "metadata_json": json.dumps(s.get("metadata") or {}, sort_keys=True)} for s in doc.get("samples") or []],
        )
        store.executemany(
            "INSERT INTO bench_unavailable (run_id, host, job, metric, reason) VALUES (:run_id, :host, :job, :metric, "
            ":reason)",
            [{**key, "metric": metric, "reason": str(reason)} for metric, reason in (doc.get("unavailable") or {}).items()],
        )
    return doc
