"""The node facts JSON (docs/facts.md) as typed dicts: one declaration for type checkers, validation and
the JSON schema other tools consume (`xeonfleet facts --schema`). Each is named for its part with "Json"
(NodeFactsJson, CpuJson ...), so none shares a name with a pyinfra fact (xeonfleet.facts.node.NodeFacts) or a
profile section (xeonfleet.profiles.CpuSection).

TypedDicts, not model classes, because the facts travel as plain dicts (pyinfra facts, the JSON output,
snapshots); `NodeFactsJson` types them where they are read and `validate_facts` checks a dict against the
contract. Every key is required (keys are never dropped) and every leaf the node may not be able to tell
is `| None`; extra keys are refused, so a key added to a parser without its declaration here fails the
facts-model test instead of drifting from the docs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before Python 3.12

STRICT = ConfigDict(extra="forbid", strict=True)
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@with_config(STRICT)
class IsaJson(TypedDict):
    """Each ISA extension true/false from /proc/cpuinfo or CPUID (cpu.isa_source says which); null when
    neither can tell (non-x86; the CPUID-only keys without a CPUID dump)."""

    avx2: bool | None
    avx512f: bool | None
    avx512_vnni: bool | None
    avx512_bf16: bool | None
    amx_tile: bool | None
    amx_int8: bool | None
    amx_bf16: bool | None
    avx_vnni: bool | None
    fma: bool | None
    avx512_fp16: bool | None
    amx_fp16: bool | None
    amx_complex: bool | None
    avx_vnni_int8: bool | None
    avx10: bool | None


IsaFrom = Literal["cpuinfo", "cpuid"] | None


@with_config(STRICT)
class IsaSourceJson(TypedDict):
    """Per cpu.isa key, where its value came from: "cpuinfo", "cpuid" or null (unknown)."""

    avx2: IsaFrom
    avx512f: IsaFrom
    avx512_vnni: IsaFrom
    avx512_bf16: IsaFrom
    amx_tile: IsaFrom
    amx_int8: IsaFrom
    amx_bf16: IsaFrom
    avx_vnni: IsaFrom
    fma: IsaFrom
    avx512_fp16: IsaFrom
    amx_fp16: IsaFrom
    amx_complex: IsaFrom
    avx_vnni_int8: IsaFrom
    avx10: IsaFrom


@with_config(STRICT)
class Avx10Json(TypedDict):
    """CPUID leaf 24H: null without AVX10 or without a CPUID dump."""

    version: int | None
    vector_bits: Literal[128, 256, 512] | None


@with_config(STRICT)
class CpuJson(TypedDict):
    vendor: Annotated[str | None, Field(description='"GenuineIntel", "AuthenticAMD", another vendor_id or an arm '
                                                    "implementer name; null on ppc, riscv, loongarch, sparc")]
    model_name: str | None
    family: int | None
    model: int | None
    stepping: int | None
    microarch: Annotated[str | None, Field(description="gcc -march name: icelake-server, sapphirerapids, zen4 ...")]
    microarch_source: Literal["model", "flags"] | None
    arch: Annotated[str | None, Field(description="x86_64, aarch64, ppc64le ... from the cpuinfo shape")]
    hypervisor: Annotated[str | None, Field(description="kvm, vmware, hyperv, xen, virtualbox, parallels, "
                                                        "unknown (a guest that does not say); null on bare metal")]
    sockets: int | None
    cores_per_socket: int | None
    threads_per_core: int | None
    logical_cpus: int | None
    online_cpus: int | None
    offline_cpus: list[int]
    physical_cores: int | None
    smt_enabled: bool | None
    base_ghz: float | None
    base_ghz_source: Literal["model_name", "cpufreq", "tsc"] | None
    max_ghz: float | None
    microcode: str | None
    microcode_uniform: bool | None
    isa: IsaJson
    isa_source: IsaSourceJson
    avx10: Avx10Json
    amx_usable: Annotated[bool | None, Field(description="the kernel enabled the AMX tile state (amx_tile in "
                                                         "/proc/cpuinfo); null without an x86 flags line")]
    amx_usable_reason: Annotated[str | None, Field(description="why AMX is or is not usable here")]
    fma_units: Annotated[int | None, Field(description="AVX-512 FMA units per core (0 without AVX-512); null "
                                                       "when the SKU is unknown")]
    segment: Annotated[str | None, Field(description='platform segment the SKU names, e.g. "Xeon 6 6700P '
                                                     '(Granite Rapids-SP)"; null when it cannot be told')]
    segment_note: Annotated[str | None, Field(description="the table row's source, or why the segment is "
                                                          "unknown; null for CPUs outside the Intel table")]
    flags: list[str]


@with_config(STRICT)
class NumaNodeJson(TypedDict):
    id: int
    cpus: list[int]
    cpulist: str
    mem_total_bytes: int | None
    kind: Annotated[Literal["dram", "cxl", "hbm", "memory-only"],
                    Field(description="dram: has CPUs; CPU-less: cxl (a CXL region onlines into it), hbm (Xeon CPU "
                                      "Max, flat mode), memory-only (kind unknown)")]
    memory_tier: Annotated[int | None, Field(description="N of the kernel's memory_tierN holding the node (smaller "
                                                         "is faster); null before kernel 6.1")]


@with_config(STRICT)
class NumaJson(TypedDict):
    nodes: list[NumaNodeJson]
    node_count: int | None
    nodes_per_socket: Annotated[int | None, Field(description="NUMA nodes with CPUs on each socket, by the CPUs' "
                                                              "package ids; null when sockets differ")]
    snc_enabled: bool | None
    snc_mode: Annotated[Literal["off", "SNC2", "SNC3", "SNC4", "SNC6"] | None,
                        Field(description="Intel: the clustering mode nodes_per_socket names, only one the CPU's "
                                          "segment offers; null with the reason in errors")]
    nps: int | None
    balancing: int | None
    demotion_enabled: Annotated[bool | None, Field(description="/sys/kernel/mm/numa/demotion_enabled; null when "
                                                               "absent")]


@with_config(STRICT)
class DimmJson(TypedDict):
    """One SMBIOS type 17 slot; the module's fields are null when the slot is empty."""

    locator: str | None
    bank: str | None
    socket: int | None
    channel: Annotated[str | None, Field(description='the vendor\'s channel name ("0", "A", "iMC3 CH1")')]
    slot_in_channel: Annotated[int | None, Field(description="0 = the slot the vendor's guide fills first")]
    size_bytes: int | None
    type: str | None
    speed_mts: int | None
    configured_speed_mts: int | None
    manufacturer: str | None
    part_number: str | None
    rank: int | None
    populated: bool


@with_config(STRICT)
class MemoryJson(TypedDict):
    total_bytes: int | None
    dimms: list[DimmJson]
    slots: int | None
    populated: int | None
    channels_per_socket: int | None
    slot_rule: str | None
    populated_channels: Annotated[dict[str, int], Field(description="socket -> channels with a module; {} when "
                                                                    "the counts cannot be trusted")]
    unplaced_slots: list[str]
    channel_problem: str | None
    dimm_sizes_matched: bool | None


@with_config(STRICT)
class BiosJson(TypedDict):
    vendor: str | None
    version: str | None
    date: str | None


@with_config(STRICT)
class SystemJson(TypedDict):
    manufacturer: str | None
    product: str | None
    cpu_sockets_populated: int | None


@with_config(STRICT)
class CStateJson(TypedDict):
    index: int
    name: str | None
    latency_us: int | None
    disabled: Annotated[bool, Field(description="disabled on every online CPU that has the state")]
    disabled_cpus: int
    cpus: int


@with_config(STRICT)
class UncoreDieJson(TypedDict):
    die: Annotated[str, Field(description="package_00_die_00 (MSR driver) or uncore00 (TPMI driver) ...")]
    package_id: int | None
    domain_id: Annotated[int | None, Field(description="TPMI power domain; null for package_PP_die_DD dies")]
    agent_types: Annotated[list[str] | None, Field(description='"core", "cache", "memory", "io"; null when the '
                                                               'kernel does not list them')]
    kind: Annotated[Literal["compute", "io"] | None, Field(description="compute: has the core agent; io: I/O "
                                                                      "agents only; null when not known")]
    min_khz: int | None
    max_khz: int | None
    initial_min_khz: int | None
    initial_max_khz: int | None
    elc_floor_khz: int | None
    elc_low_threshold_percent: int | None
    elc_high_threshold_percent: int | None
    elc_high_threshold_enabled: bool | None


@with_config(STRICT)
class PowerJson(TypedDict):
    driver: str | None
    governor: Annotated[str | None, Field(description='the governor every online CPU has, else "mixed"')]
    governors_available: list[str]
    min_khz: int | None
    max_khz: int | None
    pstate_status: str | None
    hwp: bool | None
    turbo_enabled: bool | None
    epp: Annotated[str | None, Field(description='the EPP every online CPU has, else "mixed"')]
    epb: int | None
    cpuidle_driver: str | None
    cstates: list[CStateJson]
    uncore: list[UncoreDieJson]
    msr: Annotated[dict[str, int] | None, Field(description="MSR address (\"0x1a4\") -> value; null when no msr "
                                                            "device is readable")]


@with_config(STRICT)
class DistroJson(TypedDict):
    id: str | None
    version_id: str | None
    pretty_name: str | None


@with_config(STRICT)
class CpuDriversJson(TypedDict):
    msr: bool
    cpuid: bool


@with_config(STRICT)
class OsJson(TypedDict):
    kernel: str | None
    cmdline: str | None
    distro: DistroJson
    thp: Literal["always", "madvise", "never"] | None
    thp_defrag: str | None
    sysctl: Annotated[dict[str, str], Field(description="the sysctls xeonfleet/node/probe.sh reads, values as strings")]
    runtime_env: Annotated[dict[str, str], Field(description="from /etc/profile.d/xeonfleet-ai.sh")]
    cpu_drivers: Annotated[CpuDriversJson, Field(description="whether each CPU driver's /dev/cpu/0 device exists")]


@with_config(STRICT)
class PcieLinkJson(TypedDict):
    speed_gts: float | None
    width: int | None
    max_speed_gts: float | None
    max_width: int | None
    numa_node: int | None


@with_config(STRICT)
class NicJson(TypedDict):
    name: str
    speed_mbps: int | None
    operstate: str | None
    pcie: PcieLinkJson | None


@with_config(STRICT)
class DiskJson(TypedDict):
    name: str
    rotational: bool
    nvme: bool
    size_bytes: int | None
    pcie: PcieLinkJson | None


@with_config(STRICT)
class ToolsJson(TypedDict):
    numactl: bool
    cpupower: bool
    dmidecode: bool


@with_config(ConfigDict(extra="allow", strict=True))
class FrameworkEnvJson(TypedDict):
    """The record deploys/frameworks.py writes into each env; more keys than these are kept as written."""

    name: str
    backend: str
    path: str
    stacks: dict[str, dict[str, Any]]
    versions: dict[str, str | None]
    isa: str | None
    ok: bool


@with_config(STRICT)
class FrameworksJson(TypedDict):
    envs: list[FrameworkEnvJson]


@with_config(STRICT)
class NodeFactsJson(TypedDict):
    """What `xeonfleet facts --sysroot DIR --json` prints for one node (docs/facts.md)."""

    schema_version: Literal[1]
    cpu: CpuJson
    numa: NumaJson
    memory: MemoryJson
    bios: BiosJson
    system: SystemJson
    power: PowerJson
    os: OsJson
    nics: list[NicJson]
    disks: list[DiskJson]
    tools: ToolsJson
    frameworks: FrameworksJson
    errors: Annotated[list[str], Field(description="what could not be read and why (never fatal)")]


NODE_FACTS: TypeAdapter[NodeFactsJson] = TypeAdapter(NodeFactsJson)


def validate_facts(facts: dict[str, Any]) -> NodeFactsJson:
    """`facts` checked against the contract; raises pydantic.ValidationError naming each bad key."""
    NODE_FACTS.validate_python(facts)
    return facts  # type: ignore[return-value]  # validated as is: the caller's dict, not a converted copy


def facts_json_schema() -> dict[str, Any]:
    """The JSON schema of one NodeFactsJson (`xeonfleet facts --schema`)."""
    return {"$schema": JSON_SCHEMA_DIALECT, **NODE_FACTS.json_schema()}
