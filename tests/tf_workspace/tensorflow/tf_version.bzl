"""The version the wheel carries (TensorFlow keeps it in tensorflow/tf_version.bzl too)."""
TF_VERSION = "2.15.1"
