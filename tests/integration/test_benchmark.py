"""The fleet benchmark for real: `xeonfleet bench run` over lab hosts (real sshd, real pyinfra, real
numpy/faiss runs on the node side, real SQLite store).

The python env the jobs use is one venv on this machine's root filesystem: every lab host's root is
an overlay over it, so all hosts see the same env (a real fleet gets it from deploys/frameworks.py).
Lab hosts share this VM's 2 cores (and whatever else runs on it), so thresholds are loose and the slowed host's
runner gets only 10 % of the CPU its cores could give it (host data xeonfleet_bench_throttle_pct: node/throttle.py
stops and continues it like cpulimit, counting its CPU seconds). Pinning it to one core (xeonfleet_bench_cpus) was
tried first: with other work on the VM's 2 cores a 2-thread GEMM is no faster than a 1-thread one, so that
slowdown drowned in the noise. The throttle was a duty cycle on the wall clock at first (a shell loop, then a
python one): under the suite's other worker its share of each on-time swung with that worker's load, and in two
suite runs the slowed host's repeats spread so far (the regression limit is 3 x that spread) that it got no
regression verdict. The slowed-host test also benchmarks one host at a time (--parallel 1): with all five at
once the slowed host's first repeat shared the cores with its peers and its later ones ran alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from xeonfleet.bench.analyze import Thresholds, analyze_run
from xeonfleet.bench.jobs import load_jobs, select_jobs
from xeonfleet.resources import packaged
from xeonfleet.store import open_store

pytestmark = pytest.mark.lab
XEONFLEET = str(Path(sys.executable).with_name("xeonfleet"))
HOSTS = 5
LOOSE = ["--min-pct", "40", "--outlier-pct", "40"]
THROTTLE_PCT = 10  # the slowed host's share of its CPUs: ~-90 % against its peers, far past the 40 % limits
# Shipped jobs at other sizes as jobs of their own, the way a site adds jobs (benchmarks/ on $XEONFLEET_PATH):
# the nightly-lock test needs a GEMM that takes seconds, not gemm-fp32's full n 4096 on five hosts, the killed-host
# test two short jobs, not the whole light set, and the slowed-host test GEMMs long enough to average out the other
# worker's load (n 3072: 5 s each on a host's share of the cores) without the full size's 20 minutes of throttled work.
SMALL_GEMM, SMALL_STREAM, MID_GEMM = "gemm-2k", "stream-48m", "gemm-3k"
SITE_JOBS = {SMALL_GEMM: ("gemm-fp32", "light"), SMALL_STREAM: ("mem-bandwidth", "light"),
             MID_GEMM: ("gemm-fp32", {"n": 3072, "repeats": 3})}


@pytest.fixture(scope="module")
def lab(lab_factory, bench_env):
    return lab_factory(["icx-8380-2s"], hosts=HOSTS)


def _inventory(tmp_path: Path, lab, env: Path, slowed: str | None = None) -> str:
    hosts = []
    for name, data in lab.inventory_hosts():
        data = {**data, "xeonfleet_bench_env": str(env)}
        if name == slowed:
            data["xeonfleet_bench_throttle_pct"] = THROTTLE_PCT
        hosts.append((name, data))
    path = tmp_path / f"inventory-{slowed or 'all'}.py"
    path.write_text(f"lab_hosts = {hosts!r}\n")
    return str(path)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A site directory holding SITE_JOBS: each a shipped job's spec at its light sizes or the sizes given."""
    root = tmp_path_factory.mktemp("site")
    (root / "benchmarks").mkdir()
    for name, (shipped, sizes) in SITE_JOBS.items():
        spec = yaml.safe_load((packaged("data/benchmarks") / f"{shipped}.yaml").read_text())
        light = spec.pop("light")
        sizes = light if sizes == "light" else sizes
        spec.update(name=name, parameters={**spec["parameters"], **{k: v for k, v in sizes.items() if k != "repeats"}},
                    repeats=sizes.get("repeats", spec["repeats"]))
        (root / "benchmarks" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    return root


def _bench(tmp_path: Path, db: Path, *args: str, wait: bool = True, site: Path | None = None
           ) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {**os.environ, "XEONFLEET_DB": str(db), "XEONFLEET_RESULTS_DIR": str(tmp_path / "raw"),
           **({"XEONFLEET_PATH": str(site)} if site else {})}
    command = [XEONFLEET, "bench", *args]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def _latest_run(db: Path) -> str:
    with open_store(str(db), read_only=True) as store:
        return store.execute("SELECT run_id FROM bench_runs ORDER BY started DESC LIMIT 1")[0][0]


def _stored_jobs(db: Path, host: str) -> list:
    """The host's stored ok results in the newest run ([] before the run registered itself)."""
    if not db.exists():
        return []
    try:
        with open_store(str(db), read_only=True) as store:
            return store.execute("SELECT job FROM bench_results WHERE host = :host AND status = 'ok' AND run_id = "
                                 "(SELECT run_id FROM bench_runs ORDER BY started DESC LIMIT 1)", {"host": host})
    except Exception:  # the store is being created by the run under test; ask again
        return []


def test_light_run_over_five_hosts_stores_every_sample(lab, bench_env, tmp_path):
    db = tmp_path / "bench.db"
    start = time.monotonic()
    result = _bench(tmp_path, db, "run", _inventory(tmp_path, lab, bench_env), "--jobs", "light")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_id = _latest_run(db)
    light, _ = select_jobs(load_jobs(), "light")
    with open_store(str(db), read_only=True) as store:
        run = {"run_id": run_id}
        hosts = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = :run_id", run))
        results = store.execute("SELECT host, job, status, reason FROM bench_results WHERE run_id = :run_id", run)
        samples = store.execute("SELECT host, job, metric FROM bench_samples WHERE run_id = :run_id", run)
        nulls = dict(((h, j, m), r) for h, j, m, r in store.execute(
            "SELECT host, job, metric, reason FROM bench_unavailable WHERE run_id = :run_id", run))
    assert hosts == {name: "complete" for name, _ in lab.inventory_hosts()}
    assert all(status == "ok" for _, _, status, _ in results), results
    assert len(results) == HOSTS * len(light)
    # Every metric a light job declares came back from every host, or is null with the reason: an
    # icx-8380 has neither BF16 nor FP16 ISA (the runner reads the host's generated cpuinfo), a lab host
    # has one usable NUMA node (no remote pair).
    expected = {(h, j.name, m.name) for h in hosts for j in light for m in j.metrics}
    assert expected <= set(samples) | set(nulls)
    no_native = {("matmul-isa", f"{metric}_{precision}") for precision in ("bf16", "fp16")
                 for metric in ("pct_of_peak", "pct_of_used_cores_peak", "rate")}
    no_native |= {("matmul-isa", f"rate_{precision}_{path}") for precision in ("bf16", "fp16")
                  for path in ("layer", "gemm")}
    no_native |= {("matmul-isa", "bf16_fp32_speedup"), ("matmul-isa", "fp16_fp32_speedup")}
    # torch._int_mm has no fast kernel on the VM's real CPU (no VNNI): under the lab's load it may pass its budget.
    slow = {(j, m) for (_, j, m), reason in nulls.items() if reason.startswith("gemm path too slow to time")}
    assert slow <= {("matmul-isa", "rate_int8_gemm")}, slow
    found = {(j, m) for _, j, m in set(nulls) & expected} - slow
    assert found == no_native | {("numa-local", "local_remote_ratio")}, nulls
    raw = sorted((tmp_path / "raw" / run_id).glob("*/*.json"))
    assert len(raw) == HOSTS * len(light)
    doc = json.loads(raw[0].read_text())
    assert doc["samples"][0]["metadata"]["cpus_clamped"] is True  # an 80-core profile on a 2-core VM
    _check_limits_use_what_the_process_has(tmp_path / "raw" / run_id / "lab-01")
    assert "regression test: worse than the baseline" in result.stdout and "no verdict yet" not in result.stdout
    print(f"\nlight job set over {HOSTS} hosts: {elapsed:.0f} s\n{result.stdout}")


def _check_limits_use_what_the_process_has(raw: Path) -> None:
    """On a lab host claiming 2 x 8380 (8 x DDR4-3200 per socket), the %-of-limit samples use the 2 real
    cores and the one socket they sit on; the ISA oneDNN ran is named; counters are there or say why."""
    mem = {s["metric"]: s for s in json.loads((raw / "mem-bandwidth.json").read_text())["samples"]}
    pct = mem["triad_pct_of_theoretical"]["metadata"]
    assert pct["theoretical_gbps"] == 204.8 and pct["sockets_used"] == ["0"]
    assert mem["triad_gbps"]["metadata"]["stream_rule_met"] is False  # light arrays, and it says so
    matmul = json.loads((raw / "matmul-isa.json").read_text())
    rates = {s["metric"]: s for s in matmul["samples"]}
    assert rates["rate_fp32_layer"]["metadata"]["dispatched_isa"].startswith(("avx512", "avx2"))
    used = rates["pct_of_used_cores_peak_fp32"]["metadata"]
    assert used["used_cores"] == 2 and used["peak_gops"] == 80 * 2.3 * 64
    assert {"counters.busy_pct"} <= set(rates) and ("counters.ipc" in rates or "counters.ipc" in matmul["unavailable"])


@pytest.mark.timeout(1200)
def test_slowed_host_is_flagged_as_regression_and_outlier_others_are_not(lab, bench_env, site, tmp_path):
    """GEMMs of n 3072 (MID_GEMM): at the light size one GEMM lasts a few throttle periods, and under the other
    worker's load the baseline run of the host to slow came out as slow as the throttle makes it."""
    db = tmp_path / "bench.db"
    # A verdict after one earlier run; one host at a time, so each host's repeats see the same machine.
    common = ["--jobs", MID_GEMM, *LOOSE, "--min-baseline-runs", "1", "--parallel", "1"]
    first = _bench(tmp_path, db, "run", _inventory(tmp_path, lab, bench_env), *common, site=site)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    slowed = "lab-03"
    second = _bench(tmp_path, db, "run", _inventory(tmp_path, lab, bench_env, slowed), *common, site=site)
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    jobs = {**load_jobs(), **load_jobs(site / "benchmarks")}
    with open_store(str(db), read_only=True) as store:
        analysis = analyze_run(store, _latest_run(db), jobs, Thresholds(min_pct=40, outlier_pct=40, min_runs=1))
    flagged = {(f.kind, f.host) for f in analysis.findings if f.metric == "gflops"}
    assert flagged == {("regression", slowed), ("outlier", slowed)}, second.stdout
    assert {f.host for f in analysis.findings} == {slowed}
    assert f"REGRESSION {slowed} {MID_GEMM}/gflops" in second.stdout
    compare = _bench(tmp_path, db, "compare", _latest_run_pair(db)[0], _latest_run_pair(db)[1], "--min-pct", "40",
                     site=site)
    assert compare.returncode == 1 and f"WORSE {slowed} {MID_GEMM}/gflops" in compare.stdout


def _latest_run_pair(db: Path) -> tuple[str, str]:
    with open_store(str(db), read_only=True) as store:
        rows = store.execute("SELECT run_id FROM bench_runs ORDER BY started DESC LIMIT 2")
    return rows[1][0], rows[0][0]


def test_concurrent_nightly_starts_one_runs_one_exits_on_the_lock(lab, bench_env, site, tmp_path):
    db, lock = tmp_path / "bench.db", tmp_path / "nightly.lock"
    inventory = _inventory(tmp_path, lab, bench_env)
    args = ["nightly", inventory, "--jobs", SMALL_GEMM, "--lock", str(lock), "--html", str(tmp_path / "r.html"),
            *LOOSE]
    first = _bench(tmp_path, db, *args, wait=False, site=site)
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text().startswith("pid")) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = _bench(tmp_path, db, *args, site=site)
    out, err = first.communicate(timeout=600)
    assert second.returncode == 75 and f"holds the lock (pid {first.pid}" in second.stderr
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert (tmp_path / "r.html").read_text().count("<svg") >= 2


def test_a_node_without_env_or_sftp_is_incomplete_in_one_line_exit_1(lab_factory, tmp_path):
    """No bench env: every job skipped -> INCOMPLETE with the reason, exit 1. Then the same host's sshd
    loses its SFTP subsystem: the deploy switches it to scp and says so in one line (no traceback), and
    the run is still incomplete for want of an env: exit 1."""
    lone = lab_factory(["cloud-vm"])
    name, data = lone.inventory_hosts()[0]
    inventory = tmp_path / "inventory-lone.py"
    inventory.write_text(f"hosts = {[(name, {**data, 'xeonfleet_bench_env': '/nonexistent-env'})]!r}\n")
    db = tmp_path / "bench.db"
    skipped = _bench(tmp_path, db, "run", str(inventory), "--jobs", "gemm-fp32")
    assert skipped.returncode == 1, skipped.stdout + skipped.stderr
    assert (f"INCOMPLETE run {_latest_run(db)}: {name} measured nothing (1 job(s) skipped, 0 failed: numpy not "
            "importable by") in skipped.stdout and "point host data xeonfleet_bench_env at an env" in skipped.stdout
    config = lone.ssh_dir / "sshd_config"
    config.write_text(config.read_text().replace("Subsystem sftp internal-sftp\n", ""))
    lone.stop(name)
    lone.start(name)
    no_sftp = _bench(tmp_path, db, "run", str(inventory), "--jobs", "gemm-fp32")
    assert no_sftp.returncode == 1 and "Traceback" not in no_sftp.stdout + no_sftp.stderr
    assert f"xeonfleet bench: {name}: no SFTP subsystem in this host's sshd: file transfers use scp" in no_sftp.stderr
    assert "gemm-fp32 skipped: numpy not importable" in no_sftp.stdout  # the runner went over, the result came back


def test_host_killed_mid_run_keeps_finished_jobs_marked_incomplete(lab, bench_env, site, tmp_path):
    db, victim = tmp_path / "bench.db", "lab-05"
    jobs = [SMALL_GEMM, SMALL_STREAM]
    run = _bench(tmp_path, db, "run", _inventory(tmp_path, lab, bench_env), "--jobs", ",".join(jobs), wait=False,
                 site=site)
    # Kill the victim once its first job is stored (fetched and ingested), before its last one is.
    deadline = time.monotonic() + 300
    while not _stored_jobs(db, victim) and time.monotonic() < deadline:
        time.sleep(0.1)
    lab.stop(victim)
    out, err = run.communicate(timeout=600)
    run_id = _latest_run(db)
    with open_store(str(db), read_only=True) as store:
        hosts = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = :run_id", {"run_id": run_id}))
        done = store.execute("SELECT job FROM bench_results WHERE run_id = :run_id AND host = :host AND status = 'ok'",
                             {"run_id": run_id, "host": victim})
    assert hosts[victim] == "incomplete", out[-2000:] + err[-2000:]
    assert 1 <= len(done) < len(jobs)
    assert all(status == "complete" for host, status in hosts.items() if host != victim), out[-3000:] + err[-3000:]
    assert f"{victim}: incomplete" in out
    lab.start(victim)
