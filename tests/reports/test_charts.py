"""The SVG charts: well-formed images with a title and a description, escaped labels, values
written on them (colour never alone), dates in the reader's language."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from markupsafe import Markup

from reports import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 3, 2) + timedelta(days=n) for n in range(7)]


def _parsed(svg: Markup) -> ET.Element:
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None
    assert title.text
    assert desc is not None
    assert desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_daily_chart_has_columns_a_line_and_dates_in_the_readers_language() -> None:
    svg = charts.daily(
        DAYS,
        ("Erstellt", [5, 0, 0, 0, 0, 0, 0]),
        ("Gelöst", [0, 4, 0, 0, 0, 0, 0]),
        chart_id="c",
        title="Tickets pro Tag",
        desc="5 erstellt, 4 gelöst",
        locale="de",
    )
    root = _parsed(svg)
    texts = _texts(root)
    assert "2. März" in texts
    assert "Erstellt" in texts
    assert "Gelöst" in texts
    assert "5" in texts  # the column's value is written on it
    # The resolved series differs by form, not only colour: a dashed line.
    assert root.find(f"{SVG}polyline").get("stroke-dasharray") == "6 3"


def test_labels_are_escaped() -> None:
    svg = charts.hbars([("<script>alert(1)</script>", 3)], chart_id="x", title="A & B", desc="<b>")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = _parsed(svg)
    assert root.find(f"{SVG}title").text == "A & B"
    assert "<script>alert(1)</script>" in _texts(root)


def test_bars_carry_their_values() -> None:
    root = _parsed(
        charts.hbars(
            [("E-mail", 3), ("Phone", 1)], chart_id="b", title="By channel", desc="E-mail 3, Phone 1"
        )
    )
    texts = _texts(root)
    assert texts == ["E-mail", "3", "Phone", "1"]
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 3 * widths[1]


def test_stacked_bar_shows_every_share_in_its_legend() -> None:
    root = _parsed(
        charts.stacked(
            [("First contact", 1), ("Level 2", 3)],
            chart_id="s",
            title="Outcomes",
            desc="1 and 3",
            share=lambda value: f"{value:.0%}",
        )
    )
    texts = _texts(root)
    assert "First contact: 25%" in texts
    assert "Level 2: 75%" in texts


def test_an_empty_stacked_bar_is_still_an_image() -> None:
    root = _parsed(charts.stacked([("A", 0)], chart_id="e", title="Outcomes", desc="none", share=str))
    assert "A" in _texts(root)


def test_heatmap_shades_by_bin_and_writes_the_counts() -> None:
    matrix = [[0] * 24 for _ in range(7)]
    matrix[0][9] = 12
    matrix[4][14] = 1
    root = _parsed(
        charts.heatmap(
            matrix,
            chart_id="h",
            title="Heatmap",
            desc="Busiest Monday 9",
            row_labels=["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
            legend_title="Tickets",
        )
    )
    fills = {
        r.find(f"{SVG}title").text: r.get("fill")
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    }
    assert fills["Mo 9: 12"] == charts.SEQUENTIAL[-1]  # the darkest shade
    assert fills["Fr 14: 1"] == charts.SEQUENTIAL[0]
    assert fills["Tu 3: 0"] == charts.EMPTY
    texts = _texts(root)
    assert "12" in texts
    assert "1–2" in texts


def test_axis_ticks_are_round_numbers() -> None:
    assert charts.nice_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert charts.nice_ticks(37) == [0, 10, 20, 30, 40]
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.date_ticks(DAYS) == list(range(7))
    assert charts.date_ticks([DAYS[0]] * 90) == list(range(0, 90, 12))
