"""What a node gets: activation script, conda environment file, the exact command lines, and
the wheelhouse's pip download line and manifest."""

import json
import shlex
import subprocess

import yaml
from click.testing import CliRunner

from xeonfleet.cli.wheelhouse import parse_stacks_option, wheelhouse
from xeonfleet.frameworks import render
from xeonfleet.frameworks import wheelhouse as wh
from xeonfleet.frameworks.ops import check_root, is_current
from xeonfleet.stacks import validate_frameworks_spec

(VENV,) = validate_frameworks_spec(
    {"envs": [{"name": "ai", "python": "3.11", "stacks": {"intel-python": "2026.*", "openvino": "2026.*"}}]}, "t")
(CONDA,) = validate_frameworks_spec(
    {"envs": [{"name": "ai", "backend": "conda", "python": "3.11",
               "stacks": {"pytorch": {"variant": "ipex", "version": "2.8"}}}]}, "t")


def test_activate_sources_runtime_tuning_then_the_venv(tmp_path):
    text = render.render_activate(VENV, "/opt/xeonfleet/envs/ai")
    tuning = text.index(". /etc/profile.d/xeonfleet-ai.sh")
    assert tuning < text.index(". /opt/xeonfleet/envs/ai/bin/activate")
    assert "export XEONFLEET_ENV=ai" in text
    # It is valid sh, and it works without the tuning file or the env present.
    script = tmp_path / "a.sh"
    script.write_text(text.replace(". /opt/xeonfleet/envs/ai/bin/activate", ": no venv here"))
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    assert subprocess.run(["sh", "-c", f". {script} && echo $XEONFLEET_ENV"], capture_output=True,
                          text=True).stdout == "ai\n"


def test_conda_env_file_renders_python_and_pinned_packages():
    text = render.render_conda_env(CONDA, "/opt/xeonfleet/envs/ai", "micromamba", ("file:///srv/channel", "conda-forge"))
    data = yaml.safe_load(text)
    assert data == {"name": "ai", "channels": ["file:///srv/channel", "conda-forge"],
                    "dependencies": ["python=3.11", "pip", "pytorch=2.8.*", "intel-extension-for-pytorch=2.8.*"]}
    assert "conda:" not in render.render_activate(CONDA, "/p") and "export CONDA_PREFIX=/p" in render.render_activate(CONDA, "/p")


def test_conda_create_commands():
    assert render.conda_create_command("micromamba", "/usr/local/bin/micromamba", "/opt/e/ai", "/opt/e/.ai.yml") == (
        "/usr/local/bin/micromamba create --yes --prefix /opt/e/ai --file /opt/e/.ai.yml")
    assert render.conda_create_command("conda", "/opt/conda/bin/conda", "/opt/e/ai", "/opt/e/.ai.yml") == (
        "/opt/conda/bin/conda env create --quiet --prefix /opt/e/ai --file /opt/e/.ai.yml")


def test_pip_install_command_offline_and_online():
    offline = shlex.split(render.pip_install_command(VENV, "/opt/e/ai", "/opt/xeonfleet/wheelhouse"))
    assert offline[:7] == ["/opt/e/ai/bin/python", render.REMOTE_NODE_ENV, "install", "/opt/e/ai",
                           "--find-links", "/opt/xeonfleet/wheelhouse", "--no-index"]
    assert offline[8:] == ["numpy", "scikit-learn", "scikit-learn-intelex==2026.*", "openvino==2026.*"]
    assert "--no-index" not in render.pip_install_command(VENV, "/opt/e/ai", None)


def test_smoke_command_runs_under_the_activation_script():
    command = render.smoke_command(VENV, "/opt/e/ai")
    assert command.startswith(". /opt/e/ai/activate.sh && /opt/e/ai/bin/python ")
    meta = json.loads(shlex.split(command.split("&& ", 1)[1])[-1])
    assert meta["packages"] == ["numpy", "openvino", "scikit-learn", "scikit-learn-intelex"]
    assert meta["spec_hash"] == VENV.spec_hash()


def test_space_check_fails_with_one_line(tmp_path):
    ok = subprocess.run(["sh", "-c", render.space_check_command(str(tmp_path), f"{tmp_path}/ai", 1)])
    assert ok.returncode == 0
    full = subprocess.run(["sh", "-c", render.space_check_command(str(tmp_path), f"{tmp_path}/ai", 10**9)],
                          capture_output=True, text=True)
    assert full.returncode == 2
    assert full.stderr.startswith(f"xeonfleet: not enough disk space for {tmp_path}/ai: ")
    assert full.stderr.count("\n") == 1


def test_root_must_be_a_plain_absolute_path():
    assert check_root("/opt/xeonfleet/envs/") == "/opt/xeonfleet/envs"
    for bad in ("relative", "/opt/$(rm -rf /)", "/opt/../etc"):
        try:
            check_root(bad)
        except ValueError as exc:
            assert "frameworks_root" in str(exc)
        else:
            raise AssertionError(bad)


def test_is_current_needs_ok_and_same_spec():
    rec = {"name": "ai", "ok": True, "spec_hash": VENV.spec_hash()}
    assert is_current(VENV, [rec])
    assert not is_current(VENV, [dict(rec, ok=False)])
    assert not is_current(VENV, [dict(rec, spec_hash="old")])
    assert not is_current(VENV, [])


def test_wheelhouse_download_line_and_manifest(tmp_path):
    cmd = wh.download_command(VENV.pip_requirements(), "3.11", tmp_path, ("manylinux_2_28_x86_64",))
    assert cmd[3:] == ["download", "--disable-pip-version-check", "--progress-bar", "off", "--only-binary=:all:",
                       "--implementation", "cp", "--python-version", "3.11", "-d", str(tmp_path),
                       "--platform", "manylinux_2_28_x86_64",
                       "numpy", "scikit-learn", "scikit-learn-intelex==2026.*", "openvino==2026.*"]
    manifest = wh.manifest_for(VENV.pip_requirements(), "3.11", ("p",))
    assert not wh.is_complete(tmp_path, manifest)
    (tmp_path / wh.MANIFEST).write_text(json.dumps(manifest))
    assert wh.is_complete(tmp_path, manifest)
    assert wh.build([VENV], tmp_path, ("p",)) is False  # complete: no pip run at all


def test_wheelhouse_refuses_two_pythons(tmp_path):
    (other,) = validate_frameworks_spec({"envs": [{"name": "b", "python": "3.12", "stacks": {"openvino": "2026"}}]}, "t")
    try:
        wh.build([VENV, other], tmp_path)
    except RuntimeError as exc:
        assert "one wheelhouse serves one Python; these envs ask 3.11, 3.12" in str(exc)
    else:
        raise AssertionError("two Pythons accepted")


def test_stacks_option_and_cli_errors(tmp_path):
    assert parse_stacks_option("intel-python, openvino=2026.*,pytorch:ipex=2.8") == {
        "intel-python": None, "openvino": "2026.*", "pytorch": {"variant": "ipex", "version": "2.8"}}
    result = CliRunner().invoke(wheelhouse, ["build", "--stacks", "tensorflow:intel", "--python", "3.12",
                                             "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "tensorflow intel 2.14 needs Python >=3.9,<3.12" in result.output
    assert CliRunner().invoke(wheelhouse, ["build", "-o", str(tmp_path)]).exit_code == 2
