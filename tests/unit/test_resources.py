"""The search path for profiles, hardware profiles and benchmark jobs: $XEONFLEET_PATH, the current
directory, then the packaged data; first match wins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xeonfleet import resources
from xeonfleet.bench import remote
from xeonfleet.bench.jobs import JOBS_DIR, RUNNERS_DIR, load_jobs
from xeonfleet.lab.hardware import list_hardware, load_hardware
from xeonfleet.profiles import ProfileError, list_profiles, load_profile


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site directory on $XEONFLEET_PATH and an empty current directory."""
    site, cwd = tmp_path / "site", tmp_path / "cwd"
    for kind in ("profiles", "hardware", "benchmarks/runners"):
        (site / kind).mkdir(parents=True)
    cwd.mkdir()
    monkeypatch.setenv(resources.PATH_VAR, f"{tmp_path / 'missing'}:{site}")
    monkeypatch.chdir(cwd)
    return site


def test_packaged_data_is_found_without_any_user_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.PATH_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resources.search_dirs("profiles") == [resources.packaged("data/profiles")]
    assert resources.locate("hardware", "icx-8380-2s") == resources.packaged("data/hardware/icx-8380-2s.yaml")
    assert not resources.locate("profiles", "nope").exists()


def test_a_site_profile_includes_a_shipped_one_and_is_listed(site: Path) -> None:
    (site / "profiles" / "site.yaml").write_text("include: xeon-ai-base\nos:\n  thp: never\n")
    profile = load_profile("site")
    assert profile.chain == ("site", "xeon-ai-base") and profile.get("os.thp") == "never"
    assert {"site", "xeon-ai-base"} <= set(list_profiles())


def test_the_current_directory_comes_after_xeonfleet_path_and_both_shadow_the_package(site: Path) -> None:
    Path("profiles").mkdir()
    Path("profiles/training.yaml").write_text("include: xeon-ai-base\ndescription: from cwd\n")
    assert load_profile("training").get("description") == "from cwd"
    (site / "profiles" / "training.yaml").write_text("include: xeon-ai-base\ndescription: from the site\n")
    assert load_profile("training").get("description") == "from the site"
    assert list_profiles().count("training") == 1


def test_an_unknown_name_lists_the_users_names_too(site: Path) -> None:
    (site / "hardware" / "our-vm.yaml").write_text("include: cloud-vm\ndescription: our VM flavour\n")
    assert load_hardware("our-vm").description == "our VM flavour"
    assert "our-vm" in list_hardware()
    with pytest.raises(ProfileError, match=r"no such profile \(known: .*xeon-ai-base"):
        load_profile("our-vm")


def test_a_site_job_reuses_a_shipped_runner_and_its_own_runner_shadows_the_shipped_one(site: Path) -> None:
    gemm = yaml.safe_load((JOBS_DIR / "gemm-fp32.yaml").read_text())
    (site / "benchmarks" / "gemm-big.yaml").write_text(yaml.safe_dump({**gemm, "name": "gemm-big"}))
    jobs = load_jobs()
    assert jobs["gemm-big"].runner == gemm["runner"] and "gemm-fp32" in jobs
    (site / "benchmarks" / "runners" / gemm["runner"]).write_text("# ours\n")
    uploaded = {path.name: path for path in remote.runner_files()}
    assert uploaded[gemm["runner"]] == site / "benchmarks" / "runners" / gemm["runner"]
    assert uploaded["benchlib.py"] == RUNNERS_DIR / "benchlib.py"


def test_a_cwd_this_user_may_not_enter_is_left_off_the_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service user started in /root: stat of /root/profiles is EACCES (Path.is_dir raises it), not "missing"."""
    blocked = Path.cwd() / "profiles"
    is_dir = Path.is_dir

    def denied(path: Path) -> bool:
        if path == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return is_dir(path)

    monkeypatch.setattr(Path, "is_dir", denied)
    assert blocked not in resources.search_dirs("profiles")
    assert load_profile("xeon-ai-base").name == "xeon-ai-base"
