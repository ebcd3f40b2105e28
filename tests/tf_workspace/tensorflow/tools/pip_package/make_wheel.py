"""Writes a small real wheel (tensorflow-<version>-<cpXY>-<cpXY>-<platform>.whl) whose
package reports the build configuration, so a roll-out can verify what was really built."""

import base64
import hashlib
import json
import sys
import sysconfig
import zipfile
from pathlib import Path


def package_files(info: dict) -> dict[str, str]:
    """The module sources, laid out like TensorFlow's public entry points."""
    onednn = info["build_with_mkl"] == "true"
    threadpool = onednn and info["build_with_openmp"] == "false"
    build_info = {
        "is_mkl_enabled": onednn,
        "eigen_threadpool": threadpool,
        "openmp": info["build_with_openmp"] == "true",
        "compilation_mode": info["compilation_mode"],
        "cc_opt_flags": info["cc_opt_flags"],
    }
    return {
        "tensorflow/__init__.py": (
            '"""Stand-in TensorFlow built by tests/tf_workspace with Bazel."""\n'
            "from tensorflow import sysconfig\n"
            f"__version__ = {info['version']!r}\n"
        ),
        "tensorflow/sysconfig.py": (
            f"_BUILD_INFO = {build_info!r}\n\n\n"
            "def get_build_info():\n    return dict(_BUILD_INFO)\n"
        ),
        "tensorflow/python/__init__.py": "",
        "tensorflow/python/util/__init__.py": "",
        "tensorflow/python/util/_pywrap_util_port.py": (
            f"def IsMklEnabled():\n    return {onednn!r}\n"
        ),
    }


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def main() -> None:
    info = json.loads(Path(sys.argv[1]).read_text())
    dest = Path(sys.argv[2])
    dest.mkdir(parents=True, exist_ok=True)
    version = info["version"]
    py_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    tag = f"{py_tag}-{py_tag}-{platform}"
    dist_info = f"tensorflow-{version}.dist-info"
    files = {name: text.encode() for name, text in package_files(info).items()}
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {version}\n"
        "Summary: test-workspace TensorFlow stand-in\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: make_wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = [record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"tensorflow-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), files[name])
    print(f"Output wheel file is in: {wheel}")


if __name__ == "__main__":
    main()
