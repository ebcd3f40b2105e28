"""xeonfleet/bench/plots.py: the trend plot pygal draws holds what a reader needs, and nothing from the network."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

from xeonfleet.bench.plots import Band, heat_color, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
RUNS = [("20261130-0200-a1b2", time.mktime((2026, 11, 30, 2, 0, 0, 0, 0, -1))),
        ("20261201-0200-c3d4", time.mktime((2026, 12, 1, 2, 0, 0, 0, 0, -1)))]
PER_HOST = {"lab-01": {"20261130-0200-a1b2": 14107.0, "20261201-0200-c3d4": 14020.0},
            "lab-02": {"20261201-0200-c3d4": 9000.0}}
BAND = Band(median=14000.0, noise=300.0, threshold=12600.0, runs=5)


def _texts(svg: str) -> list[str]:
    return [" ".join(node.itertext()) for node in ET.fromstring(svg).iter(f"{SVG}text")]


def test_axes_carry_dates_run_ids_units_and_human_numbers():
    texts = _texts(trend_svg(RUNS, PER_HOST, "GFLOP/s", BAND))
    assert "11-30 02:00 20261130-0200-a1b2" in texts and "12-01 02:00 20261201-0200-c3d4" in texts
    assert "GFLOP/s" in texts and "run (local date and time, run id)" in texts
    assert "0" in texts and any(re.fullmatch(r"\d{1,2},\d{3}", text) for text in texts)  # y from 0, 14,000 style


def test_legend_names_every_host_the_band_and_the_limit():
    texts = _texts(trend_svg(RUNS, PER_HOST, "GFLOP/s", BAND))
    assert {"lab-01", "lab-02", "fleet baseline 14,000 +- 300.0 (5 runs)", "regression limit 12,600"} <= set(texts)


def test_one_mark_per_measured_point_and_the_band_only_when_given():
    with_band = trend_svg(RUNS, PER_HOST, "GFLOP/s", BAND)
    root = ET.fromstring(with_band)
    assert "plot" in root.get("class").split() and "banded" in root.get("class").split()
    assert len(root.findall(f".//{SVG}circle[@class='dot mark']")) == 3
    hovers = {title.text for title in root.iter(f"{SVG}title")}
    assert "lab-01 20261130-0200-a1b2: 14,107 GFLOP/s" in hovers and "lab-02 20261201-0200-c3d4: 9,000 GFLOP/s" in hovers
    plain = ET.fromstring(trend_svg(RUNS, PER_HOST, "GFLOP/s"))
    assert "banded" not in plain.get("class").split()
    assert not any("baseline" in text for text in _texts(trend_svg(RUNS, PER_HOST, "GFLOP/s")))


def test_self_contained_no_external_reference():
    """pygal's tooltip script would load from a web server: left out. Its inline config data stays (harmless)."""
    svg = trend_svg(RUNS, {"<b>&amp": {"20261130-0200-a1b2": 1.0}}, "ms", BAND)
    root = ET.fromstring(svg)
    assert all((script.text or "").startswith("window.pygal") for script in root.iter(f"{SVG}script"))
    assert "xml-stylesheet" not in svg and "@import" not in svg
    for node in root.iter():
        for name, value in node.attrib.items():
            assert not re.match(r"(https?:)?//", value), (node.tag, name, value)
    assert "<b>&amp" in _texts(svg)  # host names are text, escaped, never markup


def test_heat_colour_red_when_worse_green_when_better_grey_when_informational():
    assert heat_color(-25.0, "higher") == "#ff6969" and heat_color(25.0, "lower") == "#ff6969"
    assert heat_color(25.0, "higher") == "#69ff69"
    assert heat_color(10.0, "none") == heat_color(None, "higher") == "#f4f4f4"
