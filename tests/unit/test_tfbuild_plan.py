"""xeonfleet.tfbuild.plan and .march: the pure decisions of the TensorFlow wheel build."""

import shlex

import pytest

from xeonfleet.tfbuild import plan
from xeonfleet.tfbuild.march import lowest_common_march, node_march

GIB = plan.GIB
SETTINGS = plan.BuildSettings("https://example.com/tf.git", "r2.15", build_dir="/b")


def facts(cores, mem_gib, microarch=None, isa=None, flags=()):
    return {"cpu": {"physical_cores": cores, "microarch": microarch, "isa": isa or {},
                    "flags": list(flags)},
            "memory": {"total_bytes": mem_gib * GIB}}


def test_builder_group_wins_over_capacity():
    assert plan.choose_builder(["b1", "b2"], {"big": facts(128, 1024)}) == "b1"


def test_builder_is_most_cores_times_memory_ties_by_name():
    fleet = {"a": facts(40, 256), "b": facts(80, 256), "c": facts(80, 256), "d": facts(112, 64)}
    assert plan.choose_builder([], fleet) == "b"


def test_builder_with_unknown_facts_is_never_preferred():
    fleet = {"a": {"cpu": {"physical_cores": None}, "memory": {}}, "b": facts(2, 4)}
    assert plan.choose_builder([], fleet) == "b"


@pytest.mark.parametrize("marches, expected", [
    (["icelake-server", "cascadelake"], "cascadelake"),
    (["icelake-server", "cooperlake"], "cascadelake"),
    (["sapphirerapids", "emeraldrapids"], "sapphirerapids"),
    (["sapphirerapids", "zen4"], "x86-64-v4"),
    (["icelake-server", "zen3"], "x86-64-v3"),
    (["graniterapids"], "graniterapids"),
    ([], "x86-64"),
])
def test_lowest_common_march(marches, expected):
    assert lowest_common_march(marches) == expected


def test_node_march_falls_back_to_isa_levels():
    assert node_march(facts(2, 4, microarch="icelake-server")) == "icelake-server"
    assert node_march(facts(2, 4, isa={"avx512f": True})) == "x86-64-v4"
    assert node_march(facts(2, 4, isa={"avx2": True, "fma": True})) == "x86-64-v3"
    assert node_march(facts(2, 4, flags=["sse4_2"])) == "x86-64-v2"
    assert node_march({"cpu": None}) == "x86-64"


def test_jobs_bounded_by_cpus_and_by_ram():
    assert plan.size_build(SETTINGS, 8, 64 * GIB, 60 * GIB).jobs == 8
    # 20 GiB usable at 2 GiB per job: 10 jobs although there are 64 CPUs
    sizing = plan.size_build(SETTINGS, 64, 22 * GIB, 40 * GIB)
    assert sizing == plan.Sizing(jobs=10, ram_mb=20 * 1024)
    # MemAvailable below MemTotal - reserve is what counts
    assert plan.size_build(SETTINGS, 64, 64 * GIB, 8 * GIB).jobs == 4


def test_forced_jobs_beyond_ram_is_a_clear_error():
    settings = plan.BuildSettings("r", "x", jobs=64)
    with pytest.raises(plan.BuildInputError, match=r"not enough RAM for tf_build_jobs=64.*"
                                                   r"lower tf_build_jobs to 15"):
        plan.size_build(settings, 64, 32 * GIB, 32 * GIB)


def test_no_ram_for_one_job_is_a_clear_error():
    with pytest.raises(plan.BuildInputError, match="not enough RAM to build"):
        plan.size_build(SETTINGS, 4, 3 * GIB, 3 * GIB)


def test_disk_check():
    plan.check_disk(SETTINGS, 61 * GIB)
    with pytest.raises(plan.BuildInputError, match="not enough disk for the build at /b: 10.0 GiB"):
        plan.check_disk(SETTINGS, 10 * GIB)


def test_settings_need_repo_and_ref_and_read_overrides():
    with pytest.raises(plan.BuildInputError, match="tf_source_repo and tf_source_ref"):
        plan.settings_from_data({"tf_source_repo": "x"})
    settings = plan.settings_from_data({"tf_source_repo": "u", "tf_source_ref": "r",
                                        "tf_build_jobs": "6", "tf_min_free_disk_gb": "5"})
    assert (settings.jobs, settings.min_free_disk_gb, settings.build_dir) == (6, 5.0, "/var/cache/xeonfleet/tf_build")


def test_configure_env_answers_every_question_with_no():
    env = plan.configure_env(SETTINGS, "icelake-server")
    assert env["CC_OPT_FLAGS"] == "-march=icelake-server"
    assert env["PYTHON_BIN_PATH"] == "/usr/bin/python3"
    assert all(env[name] == "0" for name in plan.TF_NEED_ZERO)
    assert "TF_SET_ANDROID_WORKSPACE" in env


def test_bazel_command_line_is_the_seed_recipe_plus_sizing():
    args = plan.bazel_args(SETTINGS, "cascadelake", plan.Sizing(jobs=12, ram_mb=30000))
    line = plan.command_line(["bazel", *args, plan.PIP_TARGETS["build_pip_package"]])
    assert line == ("bazel --output_user_root=/b/bazel_root build --config=mkl_threadpool -c opt "
                    "--copt=-O3 --copt=-march=cascadelake --jobs=12 --local_ram_resources=30000 "
                    "--disk_cache=/b/disk_cache //tensorflow/tools/pip_package:build_pip_package")


def test_command_line_quotes_odd_paths():
    settings = plan.BuildSettings("r", "x", build_dir="/srv/tf build")
    args = plan.bazel_args(settings, "x86-64", plan.Sizing(1, 1))
    assert shlex.split(plan.command_line(args))[0] == "--output_user_root=/srv/tf build/bazel_root"


def test_cache_key_changes_with_commit_and_flags_only():
    key = plan.cache_key("a" * 40, SETTINGS, "icelake-server")
    assert key == plan.cache_key("a" * 40, plan.BuildSettings("r", "x", build_dir="/b", jobs=3),
                                 "icelake-server")
    assert key != plan.cache_key("b" * 40, SETTINGS, "icelake-server")
    assert key != plan.cache_key("a" * 40, SETTINGS, "cascadelake")
    assert key != plan.cache_key("a" * 40, plan.BuildSettings("u", "r", extra_copts=("-O2",)),
                                 "icelake-server")
