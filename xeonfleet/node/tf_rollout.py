"""Target-node side of the TensorFlow wheel roll-out (stdlib only; uploaded and run by the deploy).

Usage: python3 tf_rollout.py VENV WHEEL SHA256

Swaps the venv's tensorflow for WHEEL and proves the result imports with the wheel's version,
oneDNN enabled and the Eigen threadpool (no OpenMP runtime). The venv's lib/ and bin/ are
snapshotted with hard links first (pip unlinks files before writing, so the snapshot keeps the
old bytes at no disk cost); any failure restores the snapshot, so the node keeps its previous
working install. Prints one JSON line; exit 0 ok, 1 failed (restored), 3 no such venv.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

MARKER = ".xeonfleet-tf-wheel.json"
SNAPSHOT = ".xeonfleet-tf-snapshot"
STOCK_DISTS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "intel-tensorflow")
SNAPSHOT_DIRS = ("lib", "bin")

VERIFY = """
import json
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port as port
info = tf.sysconfig.get_build_info()
maps = open("/proc/self/maps").read()
openmp = any(lib in maps for lib in ("libgomp", "libiomp5"))
print(json.dumps({"version": tf.__version__, "onednn": bool(port.IsMklEnabled()),
                  "eigen_threadpool": bool(info.get("eigen_threadpool", not openmp))}))
"""


class RolloutError(Exception):
    """Install or verification failed; the message says what was seen."""


def verify(python: Path, version: str) -> dict:
    """Import tensorflow in the venv and check version, oneDNN and the Eigen threadpool."""
    proc = subprocess.run([str(python), "-c", VERIFY], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RolloutError(f"import tensorflow failed: {tail}")
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    if seen["version"] != version:
        raise RolloutError(f"tensorflow {seen['version']} imported, wanted {version}")
    if not seen["onednn"]:
        raise RolloutError("tensorflow imported but oneDNN is off (not a --config=mkl* build)")
    if not seen["eigen_threadpool"]:
        raise RolloutError("tensorflow imported but uses OpenMP, not the Eigen threadpool")
    return seen


def pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RolloutError(f"pip {args[0]} failed: {tail}")


def snapshot(venv: Path) -> Path:
    snap = venv / SNAPSHOT
    shutil.rmtree(snap, ignore_errors=True)
    snap.mkdir()
    for name in SNAPSHOT_DIRS:
        if (venv / name).exists():
            subprocess.run(["cp", "-al", str(venv / name), str(snap / name)], check=True)
    return snap


def restore(venv: Path, snap: Path) -> None:
    for name in SNAPSHOT_DIRS:
        if (snap / name).exists():
            shutil.rmtree(venv / name, ignore_errors=True)
            (snap / name).rename(venv / name)
    shutil.rmtree(snap, ignore_errors=True)


def rollout(venv: Path, wheel: Path, sha256: str) -> dict:
    python = venv / "bin" / "python"
    version = wheel.name.split("-")[1]
    marker = venv / MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("sha256") == sha256:
        try:
            return {"status": "up to date", **verify(python, version)}
        except RolloutError:
            pass  # recorded as installed but broken since: reinstall below
    snap = snapshot(venv)
    try:
        pip(python, "uninstall", "-y", *STOCK_DISTS)
        pip(python, "install", "--no-cache-dir", str(wheel))
        seen = verify(python, version)
    except (RolloutError, OSError) as exc:
        restore(venv, snap)
        raise RolloutError(f"{exc}; previous install restored") from exc
    shutil.rmtree(snap, ignore_errors=True)
    marker.write_text(json.dumps({"wheel": wheel.name, "sha256": sha256,
                                  "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")
    return {"status": "installed", **seen}


def main() -> int:
    venv, wheel, sha256 = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if not (venv / "bin" / "python").exists():
        print(json.dumps({"status": "error", "error": f"no target env at {venv}: create the venv "
                          "(deploys/frameworks.py) or fix tf_target_env"}))
        return 3
    try:
        result = rollout(venv, wheel, sha256)
    except RolloutError as exc:
        print(json.dumps({"status": "error", "error": str(exc)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
