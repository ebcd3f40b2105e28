"""The value types of a hardware profile (text, counts, sysctl names, MSR and CPUID hex) and the error
its own checks raise.

Kept apart from the models that use them so the part specs (hardware_specs), the whole profile's cross-field
rules (hardware_profile) and the loader's `file:line` messages (hardware) share one definition of each type
and of the error they turn into a message.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_HEX64 = re.compile(r"0x[0-9a-fA-F]{1,16}")
_CPUID_LEAF = re.compile(r"0x[0-9a-f]{1,8}\.0x[0-9a-f]{1,8}")
_CPUID_REGS = re.compile(r"[0-9a-f]{8}( [0-9a-f]{8}){3}")
INVALID = "hardware_profile"  # the pydantic error type of our own checks


def invalid(problem: str, fix: str, *at: str | int) -> PydanticCustomError:
    """Our own check failed: `at` is the key to blame, relative to the model that checks it."""
    return PydanticCustomError(INVALID, "{problem}; {fix}", {"problem": problem, "fix": fix, "at": at})


def _scalar_text(value: Any) -> Any:
    """YAML numbers written where text is meant (a BIOS `version: 2.1`, a sysctl `10`) become their text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _at_least_one(count: int) -> int:
    if count < 1:
        raise invalid(f"must be >= 1, got {count}", "use a positive count")
    return count


def _matching(pattern: re.Pattern[str], what: str, fix: str) -> Callable[[str], str]:
    """A validator: the whole text matches `pattern`, else one error "'TEXT' is not WHAT; FIX"."""
    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise invalid(f"{text!r} is not {what}", fix)
        return text

    return check


def _sysctl_name(name: str) -> str:
    if not _SYSCTL_KEY.match(name):
        raise invalid("is not a dotted sysctl name", "write it like vm.swappiness")
    return name


_hex64 = _matching(_HEX64, "a 64-bit hex number", 'write both as quoted hex strings, e.g. "0x1a4": "0x0"')
_cpuid_leaf = _matching(_CPUID_LEAF, "a CPUID leaf", 'write it "0xLEAF.0xSUBLEAF" in lowercase hex, e.g. "0x7.0x1"')
_cpuid_regs = _matching(_CPUID_REGS, "four CPUID registers",
                        'write EAX EBX ECX EDX as 8 lowercase hex digits each, e.g. "00000000 00000000 00200000 00000000"')


Text = Annotated[str, BeforeValidator(_scalar_text)]
Count = Annotated[int, AfterValidator(_at_least_one)]
SysctlName = Annotated[str, AfterValidator(_sysctl_name)]
Hex64 = Annotated[str, AfterValidator(_hex64)]  # an MSR address: a YAML key, so quoted text only
Hex64Text = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_hex64)]
CpuidLeaf = Annotated[str, AfterValidator(_cpuid_leaf)]
CpuidRegs = Annotated[str, AfterValidator(_cpuid_regs)]


class Spec(BaseModel):
    """A part of a hardware profile: strict types (YAML's `true` is no int), no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
