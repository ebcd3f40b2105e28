"""The runners' pure parts: STREAM accounting, LLC sizing, counter parsing, NUMA pair ratios, best
instance size, matmul speed-ups and null metrics with their reason."""

import sys

import pytest

from xeonfleet.bench.jobs import RUNNERS_DIR

sys.path.insert(0, str(RUNNERS_DIR))
import benchlib  # noqa: E402
import counters  # noqa: E402
import matmul_isa  # noqa: E402
import mem_bandwidth  # noqa: E402
import multi_instance  # noqa: E402
import numa_local  # noqa: E402

PLAN = benchlib.CpuPlan([(0,), (1,)], {"usable_physical_cores": 2, "reported_physical_cores": 80,
                                       "usable_numa_nodes": 1, "reported_numa_nodes": 2, "cpusets": ["0", "1"]})


def test_stream_rates_count_bytes_the_stream_way_over_first_start_to_last_end():
    # Two workers of 1e6 elements; the triad spans 0.0 -> 0.012 s over both: 24 B x 2e6 / 0.012 s = 4 GB/s.
    spans = [{k: [(0.0, 0.010)] for k in ("copy", "scale", "add", "triad")},
             {k: [(0.001, 0.012)] for k in ("copy", "scale", "add", "triad")}]
    rates = mem_bandwidth._rates(spans, 1_000_000)
    assert rates["triad"] == [pytest.approx(4.0)] and rates["copy"] == [pytest.approx(16 * 2e6 / 0.012 / 1e9)]


def test_llc_from_sys_counts_each_shared_cache_once_else_cpuinfo_per_socket(tmp_path):
    for cpu in (0, 1):
        index = tmp_path / "cpu" / f"cpu{cpu}" / "cache" / "index3"
        index.mkdir(parents=True)
        (index / "level").write_text("3\n")
        (index / "size").write_text("107520K\n")
        (index / "shared_cpu_list").write_text("0-1\n")
    assert mem_bandwidth.llc_bytes(tmp_path / "cpu", tmp_path / "none")[0] == 107520 * 1024
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nphysical id\t: 0\ncache size\t: 61440 KB\n\n"
                       "processor\t: 1\nphysical id\t: 1\ncache size\t: 61440 KB\n")
    size, source = mem_bandwidth.llc_bytes(tmp_path / "nosys", cpuinfo)
    assert size == 2 * 61440 * 1024 and "x 2 socket(s)" in source
    assert mem_bandwidth.llc_bytes(tmp_path / "nosys", tmp_path / "none") == (None, "no L3 size in /sys or /proc/cpuinfo")


def test_triad_pct_uses_the_sockets_really_used_or_is_null_with_the_reason(monkeypatch):
    monkeypatch.setattr(mem_bandwidth, "socket_of", lambda cpu: "0")
    whole = {k: [10.0, 12.0, 11.0] for k in ("copy", "scale", "add", "triad")}
    state = {"whole": PLAN, "per_node": {0: PLAN}, "array_bytes": 48 << 20, "llc": 120 << 20, "llc_source": "x"}
    limit = {"per_socket_gbps": {"0": 204.8, "1": 204.8}, "formula": "f"}
    samples = mem_bandwidth._ParseStreamResults(whole, {0: whole}, 1 << 20, {"memory_limit": limit}, state)
    pct = next(s for s in samples if s.metric == "triad_pct_of_theoretical")
    assert pct.value == pytest.approx(100 * 12.0 / 204.8) and pct.metadata["stream_rule_met"] is False
    null = mem_bandwidth._ParseStreamResults(whole, {0: whole}, 1 << 20, {"memory_limit": {
        "per_socket_gbps": None, "formula": "no limit: no SMBIOS table"}}, state)
    assert any(isinstance(s, benchlib.Unavailable) and s.reason == "no limit: no SMBIOS table" for s in null)


def test_perf_output_gives_ipc_and_ghz_or_says_counters_are_not_supported():
    text = ("# started\n\n2000.00,msec,task-clock,2000000000,100.00,1.9,CPUs utilized\n"
            "5000000000,,cycles,2000000000,100.00,,\n10000000000,,instructions,2000000000,100.00,2.00,insn per cycle\n")
    readings = {r["metric"]: r for r in counters.perf_readings(counters.parse_perf_csv(text))}
    assert readings["counters.ipc"]["value"] == pytest.approx(2.0)
    assert readings["counters.core_ghz"]["value"] == pytest.approx(2.5)
    kvm = "1.07,msec,task-clock,1072284,100.00,0.010,CPUs utilized\n<not supported>,,cycles,0,100.00,,\n"
    readings = {r["metric"]: r for r in counters.perf_readings(counters.parse_perf_csv(kvm))}
    assert "not supported" in readings["counters.ipc"]["reason"] and "value" not in readings["counters.core_ghz"]


def test_os_fallbacks_read_proc_stat_and_cpuinfo_of_the_jobs_cpus():
    stat = "cpu  1 1 1 1\ncpu0 100 0 50 800 50 0 0 0\ncpu1 10 0 0 990 0 0 0 0\n"
    assert counters.proc_stat_busy(stat, [0]) == (150, 1000)
    assert counters.cpuinfo_mhz("processor : 0\ncpu MHz : 2000.0\nprocessor : 1\ncpu MHz : 3000.0\n", [1]) == 3000.0


def test_numa_pairs_give_local_over_remote_ratio_or_say_there_is_no_remote_node():
    pairs = {(0, 0): 100.0, (0, 1): 60.0, (1, 1): 90.0, (1, 0): 60.0}
    sample = numa_local._pair_ratio(pairs, PLAN)
    assert sample.value == pytest.approx((100 / 60 + 90 / 60) / 2)
    assert sample.metadata["per_pair_ratio"]["cpu node 0 / memory node 1"] == pytest.approx(1.667)
    none = numa_local._pair_ratio({}, PLAN)
    assert isinstance(none, benchlib.Unavailable) and "1 usable NUMA node(s) (the node reports 2)" in none.reason


def test_best_cores_per_instance_is_the_highest_total_throughput():
    state = {"big": PLAN, "sweep": {1: PLAN, 2: benchlib.CpuPlan([(0, 1)], {})}}
    sample = multi_instance._best_size({1: 2100.0, 2: 1900.0}, state)
    assert sample.value == 1 and sample.metadata["instances_by_cores_per_instance"] == {"1": 2, "2": 1}


def _path(times, kernel, isa, library="oneDNN", op="mkldnn Linear, prepacked weight", dtype="float32"):
    """One measured path as the matmul instance returns it."""
    return {"times": times, "op": op, "dtype": dtype, "library": library, "kernel": kernel, "isa": isa,
            "src_type": None, "mkl_cpu_path": None}


def test_matmul_speedups_are_over_fp32_and_a_skipped_precision_is_null_with_its_reason():
    result = {"fp32": {"layer": _path([1.0, 1.0], "brg_matmul:avx512_core", "avx512_core"),
                       "gemm": _path([2.0, 2.0], "SGEMM", None, "MKL", "torch.mm, contiguous")},
              "int8": {"layer": _path([0.25, 0.25], "brg_matmul:x_amx", "avx512_core_amx"),
                       "gemm": {"error": "not offered by this stack: RuntimeError: no int8 kernel"}}}
    state = {"plan": PLAN, "skipped": {"bf16": "no avx512_bf16 or amx_bf16 in /proc/cpuinfo flags"}}
    peaks = {"int8": {"gops": 100.0, "per_core_gops": 1.25, "isa": "amx", "formula": "f"}}
    samples = matmul_isa._ParseMatmulResults(result, 1000, {"peaks": peaks}, state)
    by = {s.metric: s for s in samples}
    assert by["int8_fp32_speedup"].value == pytest.approx(4.0)
    assert by["rate_int8"].metadata["dispatched_isa"] == "avx512_core_amx"
    assert by["pct_of_used_cores_peak_int8"].value == pytest.approx(100 * 8.0 / 2.5)  # 2 real cores x 1.25
    assert by["bf16_fp32_speedup"].reason.startswith("no avx512_bf16")
    assert by["rate_bf16"].reason == by["pct_of_used_cores_peak_bf16"].reason == state["skipped"]["bf16"]
    assert by["rate_bf16_layer"].reason == by["rate_bf16_gemm"].reason == state["skipped"]["bf16"]
    assert by["pct_of_peak_fp32"].reason.startswith("no peak passed")
    # A path the stack does not offer is null with its error; the headline comes from the other one.
    assert by["rate_int8_gemm"].reason == "gemm path not offered by this stack: RuntimeError: no int8 kernel"
    assert by["rate_int8"].metadata["path_errors"] == {"gemm": result["int8"]["gemm"]["error"]}


def test_matmul_headline_is_the_better_path_by_best_repeat_and_names_it():
    # The layer path is faster on average, the raw GEMM has the best repeat: the best repeat decides, as a
    # plain timing of torch.matmul reports it.
    result = {"fp32": {"layer": _path([1.0, 1.0, 1.0], "brg_matmul:avx512_core", "avx512_core"),
                       "gemm": _path([0.5, 4.0, 4.0], "SGEMM", None, "MKL", "torch.mm, contiguous")}}
    by = {s.metric: s for s in matmul_isa._ParseMatmulResults(result, 1000, {}, {"plan": PLAN, "skipped": {}})}
    assert by["rate_fp32_layer"].value == pytest.approx(2.0) and by["rate_fp32_gemm"].value == pytest.approx(4.0)
    head = by["rate_fp32"]
    assert head.value == pytest.approx(4.0) and head.metadata["best_path"] == "gemm"
    assert head.metadata["path_rates"] == {"layer": pytest.approx(2.0), "gemm": pytest.approx(4.0)}
    meta = head.metadata
    assert (meta["library"], meta["kernel"], meta["dispatched_isa"]) == ("MKL", "SGEMM", None)
    assert meta["mean_rate"] == pytest.approx(2.0 * 3 / 8.5) and meta["statistic"] == "best of repeats"
    assert by["rate_fp32_layer"].metadata["dispatched_isa"] == "avx512_core"


def test_matmul_fails_with_both_reasons_when_no_path_ran():
    result = {"fp32": {"layer": {"error": "too slow to time: one call took 99.0 s"},
                       "gemm": {"error": "not offered by this stack: AttributeError: _int_mm"}}}
    with pytest.raises(benchlib.RunnerError, match="fp32: neither path ran: layer: too slow .*; gemm: not offered"):
        matmul_isa._ParseMatmulResults(result, 1000, {}, {"plan": PLAN, "skipped": {}})


def test_matmul_fp16_rate_peak_and_speedup_carry_every_input():
    result = {"fp32": {"layer": _path([1.0], "brg_matmul:avx512_core", "avx512_core")},
              "fp16": {"layer": {**_path([0.125], "brg_matmul:avx10_1_512_amx_fp16", "avx512_core_amx_fp16",
                                         dtype="float16"), "src_type": "f16"}}}
    state = {"plan": benchlib.CpuPlan([(0, 1)], PLAN.metadata), "skipped": {}}
    peaks = {"fp16": {"gops": 100.0, "per_core_gops": 10.0, "isa": "amx", "formula": "2 cores x ..."}}
    by = {s.metric: s for s in matmul_isa._ParseMatmulResults(result, 1000, {"peaks": peaks}, state)}
    assert by["rate_fp16"].value == pytest.approx(16.0) and by["rate_fp16"].unit == "GFLOP/s"
    meta = by["rate_fp16"].metadata
    assert (meta["precision"], meta["n"], meta["dtype"], meta["threads"]) == ("fp16", 1000, "float16", 2)
    assert (meta["dispatched_isa"], meta["kernel"]) == ("avx512_core_amx_fp16", "brg_matmul:avx10_1_512_amx_fp16")
    assert by["pct_of_used_cores_peak_fp16"].value == pytest.approx(100 * 16.0 / 20.0)
    assert by["pct_of_peak_fp16"].metadata["peak_isa"] == "amx"
    assert by["fp16_fp32_speedup"].value == pytest.approx(8.0)
    assert by["bf16_fp32_speedup"].reason == "bf16 not in this job's precisions"


# MKL verbose as torch 2.13's MKL 2024 prints it: the version line at the process's first verbose call (on
# this AMD EPYC build machine: MKL's generic path; on an AMX Xeon it names AVX-512 and AMX), then call lines.
MKL_AMD = ("MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for Intel(R) 64 architecture Intel(R) "
           "Architecture processors, Lnx 2.45GHz lp64 gnu_thread")
MKL_AMX = ("MKL_VERBOSE oneMKL 2024.0 Update 2 Patch 2 Product build 20240823 for Intel(R) 64 architecture Intel(R) "
           "Advanced Vector Extensions 512 (Intel(R) AVX-512) with support for INT8, BF16, FP16 (limited) "
           "instructions, and Intel(R) Advanced Matrix Extensions (Intel(R) AMX) with INT8 and BF16, Lnx 2.00GHz "
           "intel_thread")
SGEMM = ("MKL_VERBOSE SGEMM(N,N,256,256,256,0x7ffc51230b00,0x5641c7f753c0,256,0x5641c7f753c0,256,0x7ffc51230b20,"
         "0x5641c8099900,256) 24.45ms CNR:OFF Dyn:1 FastMM:1 TID:0  NThr:2")


def test_mkl_verbose_gives_the_code_path_in_mkls_words_and_the_functions_that_ran():
    import measures

    assert measures.mkl_cpu_path([MKL_AMD, SGEMM]) == "Intel(R) Architecture processors"
    assert measures.mkl_cpu_path([MKL_AMX]).endswith("Extensions (Intel(R) AMX) with INT8 and BF16")
    assert measures.mkl_cpu_path([SGEMM]) is None  # the version line comes once per process
    assert measures.library_kernel([MKL_AMD, SGEMM, SGEMM]) == {"library": "MKL", "kernel": "SGEMM", "isa": None,
                                                               "src_type": None}
    onednn = ("onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx2,undef,src:f32::blocked:ab::f0,,,"
              "256x256:256x256,1.2")
    assert measures.library_kernel([onednn, SGEMM]) == {"library": "oneDNN", "kernel": "brg_matmul:avx2",
                                                       "isa": "avx2", "src_type": "f32"}
    assert measures.library_kernel(["some other output"])["library"] is None  # torch's own kernel


@pytest.mark.parametrize("flags, skipped", [
    ({"avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16", "amx_fp16"}, set()),   # Granite Rapids
    ({"avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16"}, set()),                # Sapphire Rapids: AVX512-FP16
    ({"avx512f", "avx512_vnni"}, {"bf16", "fp16"}),                                # Ice Lake
    ({"avx2", "fma", "avx_vnni"}, {"bf16", "fp16"}),                               # Sierra Forest
])
def test_matmul_runs_bf16_and_fp16_only_where_the_flags_give_native_math(flags, skipped):
    reasons = matmul_isa._skipped(list(matmul_isa.PRECISIONS), flags)
    assert set(reasons) == skipped
    if "fp16" in skipped:
        assert reasons["fp16"] == "no amx_fp16 or avx512_fp16 in /proc/cpuinfo flags: FP16 would be emulated"


def test_gemm_records_its_repeat_spread_and_peaks_of_the_cores_it_used():
    import gemm_fp32 as gemm

    peaks = {"fp32": {"gops": 11776.0, "per_core_gops": 147.2, "isa": "avx512", "formula": "80 cores ..."}}
    samples = gemm._ParseGemmResults([[1.0, 1.0, 2.0]], 1000, {"peaks": peaks}, PLAN)
    by = {s.metric: s for s in samples}
    assert by["gflops"].value == pytest.approx(3 * 2.0 / 4.0) and by["gflops"].metadata["repeats"] == 3
    assert by["gflops"].metadata["spread_pct"] == pytest.approx(0.0)  # median 2, MAD 0 of (2, 2, 1)
    assert by["pct_of_used_cores_peak"].value == pytest.approx(100 * 1.5 / (2 * 147.2))
    assert by["pct_of_peak"].metadata["peak_formula"] == "80 cores ..."
