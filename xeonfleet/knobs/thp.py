"""Transparent huge pages (`os.thp`): the kernel's multiple-choice file, re-applied at boot."""

from __future__ import annotations

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import Knob, ProfileValues, Setter, choice_key, records_files
from xeonfleet.knobs import commands

# The kernel's choices, in the order /sys/kernel/mm/transparent_hugepage/* lists them.
THP_CHOICES = {
    "enabled": ("always", "madvise", "never"),
    "defrag": ("always", "defer", "defer+madvise", "madvise", "never"),
}
PROFILE_KEYS = (choice_key("os.thp", THP_CHOICES["enabled"]),)


def knobs(profile: ProfileValues) -> list[Knob]:
    if profile.get("os.thp") is None:
        return []
    return [Knob(
        id="os.thp", severity="low", title="Transparent huge pages",
        setter=Setter(command=lambda wanted, facts: commands.write_choice(paths.THP_ENABLED, wanted),
                      record=records_files(lambda facts: [paths.THP_ENABLED]), boot=True),
    )]
