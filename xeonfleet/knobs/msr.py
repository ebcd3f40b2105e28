"""MSR knobs: hardware prefetchers, C1E and C1 auto-demotion (PerfSpect's `config` prefetcher/C-state
controls), one bit each, through the msr driver's /dev/cpu/N/msr.

Which bit means what depends on the microarchitecture, so every knob looks its bit up in
MICROARCH_BITS by the facts' cpu.microarch: a microarch not in the table reads `unknown` and is never
written; a control that microarch lacks is n/a; so is every MSR knob under a hypervisor (the registers
are the host's) and on AMD. The undo log keeps each CPU's whole 64-bit register before the first
change, so restore puts every bit back, not only the ones we touched. The BIOS sets MSRs again at every
boot, so the boot script re-applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xeonfleet.knobs.base import Facts, Knob, ProfileKey, ProfileValues, Setter, bool_key, fact, is_intel
from xeonfleet.parsers.sections import root_refusal
from xeonfleet.knobs import commands

MISC_FEATURE_CONTROL = 0x1A4  # a set bit disables that prefetcher
POWER_CTL = 0x1FC
PKG_CST_CONFIG_CONTROL = 0xE2
CST_CONFIG_LOCK_BIT = 15  # set by the BIOS ("CFG lock"): writes to 0xE2 are ignored or fault


@dataclass(frozen=True)
class MsrBit:
    """One control bit; `set_means_on` is False for the prefetchers' "disable" bits."""

    title: str
    address: int
    bit: int
    set_means_on: bool

    def is_on(self, value: int) -> bool:
        return bool(value >> self.bit & 1) == self.set_means_on


PREFETCHERS = {
    "l2_streamer": MsrBit("L2 hardware (streamer) prefetcher", MISC_FEATURE_CONTROL, 0, False),
    "l2_adjacent": MsrBit("L2 adjacent cache line prefetcher", MISC_FEATURE_CONTROL, 1, False),
    "dcu_streamer": MsrBit("DCU (L1) streamer prefetcher", MISC_FEATURE_CONTROL, 2, False),
    "dcu_ip": MsrBit("DCU IP prefetcher", MISC_FEATURE_CONTROL, 3, False),
    "dcu_next_page": MsrBit("DCU next-page prefetcher", MISC_FEATURE_CONTROL, 4, False),
    "l2_amp": MsrBit("L2 adaptive multipath probability (AMP) prefetcher", MISC_FEATURE_CONTROL, 5, False),
}
C_STATE_BITS = {
    "c1e": MsrBit("C1E (C1 promoted to enhanced halt)", POWER_CTL, 1, True),
    "c1_demotion": MsrBit("C1 auto-demotion", PKG_CST_CONFIG_CONTROL, 26, True),
}
# The controls each server microarch has (Intel SDM vol. 4 for the classic four prefetchers and the
# C-state bits; the next-page and AMP bits as PerfSpect's table gives them for Sapphire Rapids and later).
_CLASSIC = ("l2_streamer", "l2_adjacent", "dcu_streamer", "dcu_ip", "c1e", "c1_demotion")
_SPR = (*_CLASSIC, "dcu_next_page", "l2_amp")
MICROARCH_BITS: dict[str, tuple[str, ...]] = {
    "skylake-avx512": _CLASSIC, "cascadelake": _CLASSIC, "cooperlake": _CLASSIC, "icelake-server": _CLASSIC,
    "sapphirerapids": _SPR, "emeraldrapids": _SPR, "graniterapids": _SPR,
}
# The MSRs the probe reads (its MSRS line in xeonfleet/node/probe.sh must list exactly these).
ADDRESSES = tuple(sorted({b.address for b in (*PREFETCHERS.values(), *C_STATE_BITS.values())}))


def _is_prefetcher_map(value: Any) -> bool:
    return isinstance(value, dict) and all(k in PREFETCHERS and isinstance(v, bool) for k, v in value.items())


PROFILE_KEYS = (
    ProfileKey("power.prefetchers", _is_prefetcher_map,
               f"a mapping of prefetcher ({', '.join(PREFETCHERS)}) to true (on) or false (off)"),
    bool_key("power.c1e"),
    bool_key("power.c1_demotion"),
)


def _register(facts: Facts, address: int) -> int | None:
    return (fact(facts, "power.msr") or {}).get(f"{address:#x}")


def _applies(name: str, control: MsrBit):
    def applies(facts: Facts) -> str | None:
        if not is_intel(facts):
            return f"Intel MSR bit; this CPU is {fact(facts, 'cpu.vendor') or 'unknown'}"
        if fact(facts, "cpu.hypervisor"):
            return f"under a hypervisor ({fact(facts, 'cpu.hypervisor')}) MSRs are the host's"
        microarch = fact(facts, "cpu.microarch")
        if microarch in MICROARCH_BITS and name not in MICROARCH_BITS[microarch]:
            return f"{microarch} has no {control.title} control"
        lock = _register(facts, PKG_CST_CONFIG_CONTROL)
        if control.address == PKG_CST_CONFIG_CONTROL and lock is not None and lock >> CST_CONFIG_LOCK_BIT & 1:
            return "MSR_PKG_CST_CONFIG_CONTROL is locked by the BIOS (CFG lock): set it in the BIOS"
        return None

    return applies


def _unknown(facts: Facts) -> str | None:
    microarch = fact(facts, "cpu.microarch")
    if microarch not in MICROARCH_BITS:
        return (f"no MSR bit table for microarch {microarch or 'unknown'} "
                f"(from {fact(facts, 'cpu.microarch_source') or 'cpuinfo'}): never written")
    if fact(facts, "power.msr") is None:
        return (root_refusal(facts.get("errors") or [], "MSRs")
                or "no readable /dev/cpu/N/msr: load the msr module (modprobe msr) and probe as root")
    return None


def _knob(knob_id: str, name: str, control: MsrBit, profile_key: str | None = None) -> Knob:
    """The knob of one control bit; its profile key is its id unless named (the prefetchers' map)."""

    def read(facts: Facts) -> bool | None:
        value = _register(facts, control.address)
        return None if value is None else control.is_on(value)

    def command(on: bool, facts: Facts) -> str:
        return commands.set_msr_bit(control.address, control.bit, on == control.set_means_on)

    return Knob(
        id=knob_id, severity="medium", title=control.title, facts=("power.msr", "cpu.microarch"), read=read,
        wanted=(lambda profile, facts: profile.get(profile_key)) if profile_key else None,
        applies=_applies(name, control), unknown=_unknown,
        setter=Setter(command=command, record=lambda knob_id, on, facts: commands.record_msr(knob_id, control.address),
                      boot=True),
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    declared = [_knob(f"power.prefetcher.{name}", name, PREFETCHERS[name], f"power.prefetchers.{name}")
                for name in profile.get("power.prefetchers") or {}]
    declared += [_knob(f"power.{name}", name, control)
                 for name, control in C_STATE_BITS.items() if profile.get(f"power.{name}") is not None]
    return declared
