"""Which hypervisor a node runs under (kvm, vmware, hyperv, xen, ...), or None on bare metal.

A guest's tenant cannot change BIOS settings or DIMM population: the audit needs to know it is a
guest to call those rules n/a instead of failing them. The evidence, strongest first:
/sys/hypervisor/type (Xen and some others), SMBIOS system/BIOS strings (QEMU, VMware, Hyper-V ...),
the paravirtual clocksource (kvm-clock, hyperv_clocksource_*). On x86 the CPUID "hypervisor" bit
(cpuinfo flag) decides guest or not: bare-metal cloud instances carry "Amazon EC2" in SMBIOS too.
"""

from __future__ import annotations

import re

# (pattern over "manufacturer product bios-vendor", name); first match wins.
_DMI_SIGNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"VMware", re.I), "vmware"),
    (re.compile(r"Microsoft Corporation.*Virtual Machine", re.I), "hyperv"),
    (re.compile(r"\bXen\b", re.I), "xen"),
    (re.compile(r"innotek|VirtualBox", re.I), "virtualbox"),
    (re.compile(r"Parallels", re.I), "parallels"),
    (re.compile(r"QEMU|\bKVM\b|SeaBIOS|Bochs|OpenStack|Google Compute Engine|Amazon EC2", re.I), "kvm"),
)
_CLOCKSOURCE_SIGNS = (("kvm-clock", "kvm"), ("hyperv_clocksource", "hyperv"), ("xen", "xen"))
UNKNOWN_HYPERVISOR = "unknown"


def detect_hypervisor(arch: str | None, flags: list[str], sys_hypervisor_type: str | None,
                      dmi_strings: list[str | None], clocksources: str | None) -> str | None:
    """The hypervisor's name, "unknown" for a guest that does not say which, None on bare metal."""
    x86 = arch in ("x86_64", "i686")
    if x86 and "hypervisor" not in flags:
        return None
    if sys_hypervisor_type:
        return sys_hypervisor_type.strip().lower()
    dmi = " ".join(text for text in dmi_strings if text)
    for pattern, name in _DMI_SIGNS:
        if pattern.search(dmi):
            return name
    words = (clocksources or "").split()
    for sign, name in _CLOCKSOURCE_SIGNS:
        if any(word.startswith(sign) for word in words):
            return name
    return UNKNOWN_HYPERVISOR if x86 else None
