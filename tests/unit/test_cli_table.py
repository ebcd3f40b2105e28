"""xeonfleet/cli/table.py: plain aligned columns off a terminal, the terminal's width and a bold header on one."""

from __future__ import annotations

import sys

from xeonfleet.cli.table import format_table

COLUMNS = ("host", "profile", "reason")
ROWS = [("lab-01", "[xeon-ai-base]", "8 of 16 channels"), ("lab-100", "training", "")]


class _Terminal:
    """A stdout that says it is a terminal (the table is only rendered, never written to it)."""

    def isatty(self) -> bool:
        return True


def test_piped_table_is_hand_aligned_text():
    assert format_table(COLUMNS, ROWS) == (
        "host     profile         reason\n"
        "lab-01   [xeon-ai-base]  8 of 16 channels\n"
        "lab-100  training"
    )


def test_stdout_that_is_not_a_terminal_gets_plain_text_of_any_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    long_reason = "word " * 100
    text = format_table(COLUMNS, [("lab-01", "training", long_reason)], to_stdout=True)
    assert "\x1b" not in text and len(text.splitlines()) == 2
    assert text.splitlines()[1].endswith(long_reason.rstrip())


def test_terminal_wraps_to_its_width_and_keeps_every_word(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = format_table(COLUMNS, [("lab-01", "training", "word " * 20)], to_stdout=True)
    lines = text.splitlines()
    assert lines[0].startswith("\x1b[1mhost") and len(lines) > 2
    body = "\n".join(lines[1:])
    assert max(len(line) for line in lines[1:]) <= 40 and body.count("word") == 20


def test_no_color_on_a_terminal_means_no_escape_codes(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in format_table(COLUMNS, ROWS, to_stdout=True)


def test_a_file_gets_plain_text_even_from_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert format_table(COLUMNS, ROWS, to_stdout=False) == format_table(COLUMNS, ROWS)


def test_header_only_when_there_are_no_rows():
    assert format_table(COLUMNS, []) == "host  profile  reason"
