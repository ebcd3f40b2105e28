"""`xeonfleet recommend INVENTORY` over real SSH on a lab fleet: one profile per host, with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
XEONFLEET = str(Path(sys.executable).parent / "xeonfleet")


def test_recommend_over_ssh(lab_factory) -> None:
    lab = lab_factory(["spr-8480-2s", "clx-6248-2s", "cloud-vm"])
    result = subprocess.run([XEONFLEET, "recommend", "inventories/lab.py", "--format", "json"], cwd=REPO,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)})
    assert result.returncode == 0, result.stderr
    chosen = {host: entry["profile"] for host, entry in json.loads(result.stdout).items()}
    assert chosen == {"lab-01": "training", "lab-02": "inference-offline", "lab-03": "inference-online"}
