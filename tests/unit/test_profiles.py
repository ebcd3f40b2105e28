"""Profile loading: inheritance, and every broken-profile case failing with file:line before any host."""

from pathlib import Path

import pytest

from xeonfleet.knobs import AREAS
from xeonfleet.profiles import SECTIONS, ProfileError, list_profiles, load_profile


def test_shipped_profiles_load_and_inherit() -> None:
    assert {"xeon-ai-base", "inference-online", "inference-offline", "training"} <= set(list_profiles())
    online = load_profile("inference-online")
    assert online.chain == ("inference-online", "xeon-ai-base")
    assert online.get("runtime.mode") == "multi"
    assert online.get("runtime.cores_per_instance") == [8, 16]
    assert online.get("power.governor") == "performance"  # inherited unchanged


@pytest.mark.parametrize("name", list_profiles())
def test_every_shipped_profile_loads(name: str) -> None:
    assert load_profile(name).get("power.governor") == "performance"


def test_child_mapping_merges_key_by_key() -> None:
    training = load_profile("training")
    sysctl = training.get("os.sysctl")
    assert sysctl["vm.max_map_count"] == "1048576"
    assert sysctl["vm.swappiness"] == "10"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("power:\n  governor: [performance\n", 3, "invalid YAML"),
        ("power:\n  governer: performance\n", 2, "unknown key `power.governer`"),
        ("powr:\n  governor: performance\n", 1, "unknown section `powr`"),
        ("power:\n  turbo: yes please\n", 2, "`power.turbo` must be true or false"),
        ("runtime:\n  cores_per_instance: [16, 8]\n", 2, "`runtime.cores_per_instance` must be [min, max]"),
        ("os:\n  thp: sometimes\n", 2, "`os.thp` must be one of always, madvise, never"),
        ("bios:\n  hyperthreading: null\n", 2, "`bios.hyperthreading` must be true or false, got None"),
        ("cpu:\n  isa_required: [avx512f, 3]\n", 2, "`cpu.isa_required` must be a list of ISA names"),
        ("bios: {1: true}\n", 1, "unknown key `bios.1` (known: hwp_native, hyperthreading)"),
        ("description: 5\n", 1, "`description` must be a string"),
        ("bios:\n  hwp_native: true\n  hyperthreading: 1\npower:\n  governer: x\n", 3, "`bios.hyperthreading`"),
        ("power:\n  epb: 16\n", 2, "`power.epb` must be an integer 0-15 (0 = performance), got 16"),
        ("os:\n  sysctl:\n    kernel.nmi_watchdog: '0'\n    vm.swappiness: 500\n", 4,
         "`os.sysctl.vm.swappiness` must be an integer from 0 to 200 (kernel Documentation/admin-guide/sysctl/vm.rst), "
         "got 500"),
        ("os:\n  sysctl:\n    vm.dirty_ratio: 'lots'\n", 3, "`os.sysctl.vm.dirty_ratio` must be an integer from 0 to 100"),
        ("os:\n  sysctl:\n    kernel.nmi_watchdog: -1\n", 3,
         "`os.sysctl.kernel.nmi_watchdog` must be an integer from 0 to 1 (kernel Documentation/admin-guide/sysctl/"
         "kernel.rst), got -1"),
        ("runtime:\n  omp_num_threads: -4\n", 2,
         "`runtime.omp_num_threads` must be physical_cores, cores_per_instance or a positive integer, got -4"),
        ("runtime:\n  omp_num_threads: 0\n", 2, "`runtime.omp_num_threads` must be"),
        ("runtime:\n  omp_num_threads: all_cores\n", 2, "`runtime.omp_num_threads` must be"),
        ("runtime:\n  kmp_settings: 2\n", 2, "`runtime.kmp_settings` must be 0 or 1, got 2"),
        ("", 1, "empty profile"),
        ("- just\n- a list\n", 1, "must be a mapping"),
    ],
)
def test_broken_profile_names_file_line_and_problem(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "broken", text)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert f"{path}:{line}:" in str(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_sysctl_values_at_the_ends_of_their_ranges_and_unranged_keys_load(tmp_path: Path) -> None:
    """The documented ranges are inclusive, written as integers or strings; a sysctl without a documented range
    (vm.max_map_count, a multi-value net.ipv4.tcp_rmem) is taken as written."""
    path = write(tmp_path, "edges", "include: xeon-ai-base\nos:\n  sysctl:\n    vm.swappiness: 200\n"
                                    "    vm.dirty_ratio: '0'\n    vm.zone_reclaim_mode: 7\n"
                                    "    vm.max_map_count: '1048576'\n    net.ipv4.tcp_rmem: 4096 87380 6291456\n"
                                    "runtime:\n  omp_num_threads: 1\n")
    profile = load_profile(str(path))
    assert profile.get("os.sysctl")["vm.swappiness"] == 200 and profile.get("runtime.omp_num_threads") == 1


def test_include_cycle_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a", "include: b\n")
    write(tmp_path, "b", "description: x\ninclude: a\n")
    with pytest.raises(ProfileError, match=r"b\.yaml:2: include cycle a -> b -> a"):
        load_profile(str(tmp_path / "a.yaml"))


def test_missing_include_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "child", "description: x\ninclude: no-such-parent\n")
    with pytest.raises(ProfileError, match=r"child\.yaml:2: included profile `no-such-parent` not found"):
        load_profile(str(path))


def test_unknown_profile_name_lists_known() -> None:
    with pytest.raises(ProfileError, match="no such profile.*xeon-ai-base"):
        load_profile("no-such-profile")


def test_every_knob_key_is_a_profile_key_checked_by_its_declaration(tmp_path: Path) -> None:
    """The knob sections of the model come from the knob declarations: each key exists, with its wording."""
    for key in (key for area in AREAS for key in area.PROFILE_KEYS):
        section, name = key.key.split(".")
        assert SECTIONS[section].model_fields[name].description == key.wording
        path = write(tmp_path, "knob", f"{section}:\n  {name}: [[]]\n")
        with pytest.raises(ProfileError, match=rf":2: `{section}\.{name}` must be "):
            load_profile(str(path))


def test_get_refuses_a_key_the_model_does_not_declare() -> None:
    """A typo in a rule's profile key fails loudly instead of reading as "not asked"."""
    profile = load_profile("xeon-ai-base")
    assert profile.get("power.governor") == "performance"
    assert profile.get("os.sysctl.vm.no_such_key", "unset") == "unset"  # below a declared key: data, not model
    with pytest.raises(KeyError, match="power.governer"):
        profile.get("power.governer")
    with pytest.raises(KeyError, match="powr.governor"):
        profile.get("powr.governor")
