"""Parsers of xeonfleet.tfbuild.facts (git ls-remote output, the build host probe)."""

from xeonfleet.tfbuild.facts import (LS_REMOTE_FAILED, REF_PREFIX, BuildHostState,
                                     GitRemoteCommit, parse_build_host, parse_ls_remote)

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def test_branch_and_peeled_tag():
    lines = [f"{SHA_A}\trefs/heads/r2.15", f"{SHA_B}\trefs/tags/v2.15.0",
             f"{SHA_C}\trefs/tags/v2.15.0^{{}}"]
    assert parse_ls_remote(lines, "r2.15") == {"commit": SHA_A, "error": None}
    assert parse_ls_remote(lines, "v2.15.0")["commit"] == SHA_C


def test_unknown_ref_and_pinned_sha():
    assert parse_ls_remote([], "nope") == {"commit": None,
                                           "error": "unknown ref 'nope': no such branch or tag"}
    assert parse_ls_remote([], SHA_A.upper())["commit"] == SHA_A


def test_unreachable_remote_keeps_git_message():
    result = parse_ls_remote(["fatal: repository 'x' does not exist", LS_REMOTE_FAILED], "main")
    assert result["commit"] is None and "does not exist" in result["error"]


def test_git_remote_commit_fact_round_trip():
    fact = GitRemoteCommit()
    assert "git ls-remote 'file:///srv/a b.git' main" in fact.command("file:///srv/a b.git", "main")
    assert fact.process([f"{REF_PREFIX}main", f"{SHA_A}\trefs/heads/main"])["commit"] == SHA_A


def test_build_host_probe_parse():
    out = ["free_bytes=1073741824", "mem_available_kb=2048", 'metadata={"wheel": "t.whl"}']
    assert parse_build_host(out) == {"free_bytes": 1 << 30, "mem_available": 2 << 20,
                                     "cached": {"wheel": "t.whl"}}
    assert parse_build_host(["free_bytes=", 'metadata={"torn']) == {
        "free_bytes": None, "mem_available": None, "cached": None}
    assert "df -P -B1" in BuildHostState().command("/var/cache/x", "/var/cache/x/m.json")
