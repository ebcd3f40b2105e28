"""Job specs: the shipped ones load, bad ones fail with a line naming the file and the fix."""

import pytest
import yaml

from xeonfleet.bench.jobs import RUNNERS_DIR, JobError, load_jobs, parse_job, select_jobs

GOOD = {"name": "x", "stack": "intel-python", "runner": "gemm_fp32.py", "pinning": "single",
        "metrics": {"gflops": {"unit": "GFLOP/s", "better": "higher"}}}


def test_shipped_jobs_load_and_light_set_is_quick_jobs_on_numpy_faiss_and_torch():
    jobs = load_jobs()
    assert {"gemm-fp32", "faiss-hnsw", "kmeans-sklearnex", "openvino-infer", "resnet50-ipex", "numa-local",
            "multi-instance", "mem-bandwidth", "matmul-isa"} <= set(jobs)
    light, is_light = select_jobs(jobs, "light")
    assert is_light and {j.stack for j in light} <= {"intel-python", "faiss", "pytorch"}
    assert {j.name for j in light} == {"gemm-fp32", "faiss-hnsw", "numa-local", "multi-instance", "mem-bandwidth",
                                       "matmul-isa"}


def test_params_merge_light_overrides_and_carry_pinning():
    job = load_jobs()["gemm-fp32"]
    assert job.params()["n"] == 4096
    light = job.params(light=True)
    assert light["n"] == 2048 and light["pinning"] == "single" and light["job"] == "gemm-fp32"


@pytest.mark.parametrize("change, message", [
    ({"pinning": "everywhere"}, "pinning 'everywhere' must be one of"),
    ({"pinning": {"cores_per_instance": 0}}, "pinning"),
    ({"runner": "missing.py"}, "runner 'missing.py' is not a file"),
    ({"metrics": {"gflops": {"unit": "x", "better": "up"}}}, "better: one of higher, lower, none"),
    ({"repeats": 0}, "repeats must be an integer >= 1"),
    ({"colour": "blue"}, "unknown key(s) colour"),
])
def test_bad_specs_name_the_problem(change, message):
    with pytest.raises(JobError, match="^bad.yaml: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_job({**GOOD, **change}, "bad.yaml")


def test_missing_keys_are_listed():
    with pytest.raises(JobError, match="missing key\\(s\\) runner, metrics"):
        parse_job({"name": "x", "stack": "s", "pinning": "single"}, "bad.yaml")


def test_instances_pinning_is_accepted():
    job = parse_job({**GOOD, "pinning": {"cores_per_instance": 4, "instances": 2}}, "ok.yaml")
    assert job.pinning == {"cores_per_instance": 4, "instances": 2}


def test_unknown_job_selection_lists_the_choices():
    with pytest.raises(JobError, match="unknown job\\(s\\) nope; choose light, all or names from: .*gemm-fp32"):
        select_jobs(load_jobs(), "gemm-fp32,nope")


def test_duplicate_names_are_an_error(tmp_path):
    (tmp_path / "runners").mkdir()
    (tmp_path / "runners" / "gemm_fp32.py").write_text("")
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(GOOD))
    with pytest.raises(JobError, match="b.yaml: job name 'x' is already used"):
        load_jobs(tmp_path)


@pytest.mark.parametrize("tail, line, message", [
    ("repeats: 0\n", 9, "repeats must be an integer >= 1 (got 0)"),
    ("warmup: true\n", 9, "warmup must be an integer >= 0 (got True)"),  # YAML's true is no count
    ("metrics:\n  gflops: {unit: x}\n", 6, "metric 'gflops' needs unit: TEXT and better: one of"),
    ("parms: {}\n", 9, "unknown key(s) parms; allowed: name, stack, runner, pinning, metrics, description"),
])
def test_a_spec_file_error_names_its_line(tmp_path, tail, line, message):
    (tmp_path / "runners").mkdir()
    (tmp_path / "runners" / "gemm_fp32.py").write_text("")
    head = {key: value for key, value in GOOD.items() if key not in yaml.safe_load(tail)}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(head, sort_keys=False) + tail)
    with pytest.raises(JobError) as info:
        load_jobs(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'bad.yaml'}:{line}: {message}")


def test_each_benchmark_has_one_name_across_its_yaml_its_runner_and_its_samples() -> None:
    """gemm-fp32.yaml runs runners/gemm_fp32.py, whose samples say benchmark "gemm-fp32"."""
    for name, job in load_jobs().items():
        assert job.runner == name.replace("-", "_") + ".py", name
        text = (RUNNERS_DIR / job.runner).read_text()
        assert f'BENCHMARK_NAME = "{name}"' in text, name
