"""Rebuild the custom TensorFlow wheel (oneDNN + Eigen threadpool) and roll it out.

    pyinfra inventories/prod.py deploys/tf_wheel.py

Host data read (see docs/tf_wheel.md for every key and its default):
    tf_source_repo, tf_source_ref   the source to build (required on the build host)
    tf_target_env                   the venv a target's tensorflow is replaced in
    tf_builders (inventory group)   where to build; else the host with most cores x memory
    tf_build_dir, tf_build_log, tf_build_jobs, tf_ram_per_job_gb, tf_min_free_disk_gb,
    tf_build_packages, tf_python, tf_wheel_store
"""

from xeonfleet.tfbuild.deploy import tf_wheel

tf_wheel()
