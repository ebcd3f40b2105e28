"""`xeonfleet wheelhouse build`: download a fleet's framework wheels once, on the controller."""

from __future__ import annotations

from pathlib import Path

import click

from xeonfleet.frameworks import wheelhouse as wh
from xeonfleet.stacks import EnvSpec, validate_frameworks_spec
from xeonfleet.connect.progress import fleet_progress


def parse_stacks_option(text: str) -> dict:
    """"openvino=2026.*,pytorch:ipex=2.8,intel-python" -> the `stacks:` mapping of a spec."""
    stacks: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, version = item.partition("=")
        name, _, variant = name.partition(":")
        if variant:
            stacks[name] = {"variant": variant, "version": version or None}
        else:
            stacks[name] = version or None
    if not stacks:
        raise click.BadParameter("give at least one stack, e.g. --stacks intel-python,openvino=2026.*")
    return stacks


def envs_from_options(stacks: str | None, profile: str | None, python: str) -> list[EnvSpec]:
    if profile:
        from xeonfleet.profiles import load_profile

        spec = load_profile(profile).data.get("frameworks")
        if not spec:
            raise click.UsageError(f"profile {profile} declares no frameworks")
        return validate_frameworks_spec(spec, f"profile {profile}")
    if not stacks:
        raise click.UsageError("give --stacks or --profile")
    spec = {"envs": [{"name": "wheelhouse", "python": python, "stacks": parse_stacks_option(stacks)}]}
    return validate_frameworks_spec(spec, "--stacks")


@click.group()
def wheelhouse() -> None:
    """Offline wheelhouses for air-gapped framework installs."""


@wheelhouse.command("build")
@click.option("--stacks", help="stack[:variant][=version],... e.g. intel-python,openvino=2026.*,pytorch:ipex=2.8")
@click.option("--profile", help="take the stacks of every env in this profile instead")
@click.option("--python", "python", default="3.11", show_default=True, help="the nodes' Python (X.Y)")
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False, path_type=Path))
def build_cmd(stacks: str | None, profile: str | None, python: str, output: Path) -> None:
    """Download every wheel the stacks need, for the nodes' Python on linux x86_64."""
    try:
        envs = envs_from_options(stacks, profile, python)
        with fleet_progress(f"wheelhouse {output}: pip download"):
            built = wh.build(envs, output)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    wheels = wh.wheel_files(output)
    size_mb = sum(w.stat().st_size for w in wheels) / 2**20
    state = "built" if built else "already complete"
    click.echo(f"wheelhouse {output}: {state}, {len(wheels)} wheels, {size_mb:.0f} MiB")
