"""Non-interactive subset of TensorFlow's configure.py: reads the same env vars, writes
.tf_configure.bazelrc. An unset question is an error (TensorFlow would prompt)."""

import os
import sys

REQUIRED_ZERO = ("TF_NEED_ROCM", "TF_NEED_CUDA", "TF_NEED_CLANG", "TF_SET_ANDROID_WORKSPACE")


def env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        sys.exit(f"configure: {name} is not set (non-interactive run); export it and re-run")
    return value


def main() -> None:
    python_bin = env("PYTHON_BIN_PATH")
    if not os.access(python_bin, os.X_OK):
        sys.exit(f"configure: PYTHON_BIN_PATH={python_bin} is not an executable")
    python_lib = env("PYTHON_LIB_PATH")
    if not os.path.isdir(python_lib):
        sys.exit(f"configure: PYTHON_LIB_PATH={python_lib} is not a directory")
    for name in REQUIRED_ZERO:
        if env(name) != "0":
            sys.exit(f"configure: {name}={os.environ[name]} is not supported by this workspace; set 0")
    cc_opt_flags = env("CC_OPT_FLAGS")
    lines = [
        f'build --action_env PYTHON_BIN_PATH="{python_bin}"',
        f'build --action_env PYTHON_LIB_PATH="{python_lib}"',
        f'build --action_env TF_CC_OPT_FLAGS="{cc_opt_flags}"',
    ]
    lines += [f"build:opt --copt={flag}" for flag in cc_opt_flags.split()]
    with open(".tf_configure.bazelrc", "w") as out:
        out.write("\n".join(lines) + "\n")
    print("Configuration finished")


if __name__ == "__main__":
    main()
