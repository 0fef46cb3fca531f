"""Charts as SVG drawn on the server: no chart library, no script, nothing fetched from elsewhere.

Every function is pure (numbers and already translated labels in, markup out) and every label is
escaped. Colours are the Okabe-Ito palette, which stays distinguishable for the common kinds of
colour blindness, and colour never carries a figure alone: bars carry their values, the series
of the daily chart differ in form (columns against a dashed line with square markers), the
heatmap's cells carry their counts, and each chart comes with a table of the same numbers in the
page. Each SVG is an image with a title and a description for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup

# Okabe-Ito: blue, vermillion, bluish green, sky blue, orange, reddish purple, yellow.
BLUE, VERMILLION, GREEN, SKY, ORANGE, PURPLE, YELLOW = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#56B4E9",
    "#E69F00",
    "#CC79A7",
    "#F0E442",
)
SEGMENT_COLOURS = (GREEN, SKY, ORANGE, PURPLE, BLUE, VERMILLION)
# A sequential scale from light to dark (viridis, reversed), for the heatmap's bins.
SEQUENTIAL = ("#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154")
EMPTY = "#eef1f5"
INK, MUTED, GRID = "#1b1f24", "#555e69", "#d5dae1"
WIDTH = 560  # drawn at about this size in a two-column grid, so that 12 units read as 12 px
WIDE = 720  # the heatmap's 24 hours need more room: it takes a whole row

Format = Callable[[float], str]


def _plain(value: float) -> str:
    return format_decimal(value, locale="en")


def _open(chart_id: str, height: int, title: str, desc: str, width: int = WIDTH) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {w} {h}" '
        'width="100%" style="max-width:{w}px" aria-labelledby="{id}-title {id}-desc" '
        'font-family="system-ui, sans-serif" font-size="12">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
    ).format(w=width, h=height, id=chart_id, title=title, desc=desc)


def _text(
    x: float, y: float, label: str, *, anchor: str = "start", fill: str = INK, size: int = 12
) -> Markup:
    return Markup('<text x="{:.1f}" y="{:.1f}" text-anchor="{}" fill="{}" font-size="{}">{}</text>').format(
        x, y, anchor, fill, size, label
    )


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if top >= 1 else step
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def date_ticks(days: Sequence[date], most: int = 8) -> list[int]:
    """Indexes of the days to label: all of them when few, else evenly spaced, the first included."""
    if len(days) <= most:
        return list(range(len(days)))
    step = math.ceil(len(days) / most)
    return list(range(0, len(days), step))


def daily(
    days: Sequence[date],
    columns: tuple[str, Sequence[float]],
    line: tuple[str, Sequence[float]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    locale: Locale | str = "en",
    number: Format = _plain,
) -> Markup:
    """One series as columns (say, tickets created) and one as a dashed line with square
    markers (resolved), per day; dates on the axis in the reader's language."""
    height, left, right, top, bottom = 270, 44, 10, 40, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [*columns[1], *line[1]]
    ticks = nice_ticks(max(values, default=0))
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(days), 1)
    parts = [_open(chart_id, height, title, desc)]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>').format(
                left, WIDTH - right, y, y, GRID
            )
        )
        parts.append(_text(left - 6, y + 4, number(tick), anchor="end", fill=MUTED))
    show_values = len(days) <= 14
    bar_w = max(slot * 0.6, 1)
    for i, value in enumerate(columns[1]):
        x = left + i * slot + (slot - bar_w) / 2
        h = value * scale
        parts.append(
            Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>').format(
                x, top + plot_h - h, bar_w, h, BLUE
            )
        )
        if show_values and value:
            parts.append(_text(x + bar_w / 2, top + plot_h - h - 4, number(value), anchor="middle", size=11))
    points = [(left + i * slot + slot / 2, top + plot_h - value * scale) for i, value in enumerate(line[1])]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            Markup(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="6 3"/>'
            ).format(path, VERMILLION)
        )
        if len(points) <= 62:
            for x, y in points:
                parts.append(
                    Markup('<rect x="{:.1f}" y="{:.1f}" width="7" height="7" fill="{}"/>').format(
                        x - 3.5, y - 3.5, VERMILLION
                    )
                )
    for i in date_ticks(days):
        x = left + i * slot + slot / 2
        label = format_skeleton("MMMd", days[i], locale=locale)
        parts.append(_text(x, height - bottom + 18, label, anchor="middle", fill=MUTED))
    parts.append(_legend(left, 16, [(columns[0], "column"), (line[0], "line")]))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _legend(x: float, y: float, entries: list[tuple[str, str]]) -> Markup:
    parts = []
    for label, kind in entries:
        if kind == "column":
            parts.append(
                Markup('<rect x="{:.1f}" y="{:.1f}" width="12" height="12" fill="{}"/>').format(
                    x, y - 10, BLUE
                )
            )
        else:
            parts.append(
                Markup(
                    '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2" '
                    'stroke-dasharray="6 3"/><rect x="{:.1f}" y="{:.1f}" width="7" height="7" fill="{}"/>'
                ).format(x - 2, x + 16, y - 4, y - 4, VERMILLION, x + 3.5, y - 7.5, VERMILLION)
            )
        parts.append(_text(x + 20, y, label))
        x += 20 + 8 * len(label) + 24
    return Markup("").join(parts)


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    number: Format = _plain,
    colour: str = BLUE,
) -> Markup:
    """Horizontal bars, one per item, each labelled with its name and its value."""
    row, top = 26, 8
    height = top * 2 + row * max(len(items), 1)
    # About 8 px per character at the chart font; long category names in German need the room.
    label_w = min(max((len(label) for label, _value in items), default=4) * 8 + 12, 260)
    value_w = 50
    bar_space = WIDTH - label_w - value_w
    most = max((value for _label, value in items), default=0) or 1
    parts = [_open(chart_id, height, title, desc)]
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(value / most * bar_space, 0)
        parts.append(_text(label_w - 8, y + 17, label, anchor="end"))
        parts.append(
            Markup('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>').format(
                label_w, y + 4, w, row - 8, colour
            )
        )
        parts.append(_text(label_w + w + 6, y + 17, number(value)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def stacked(
    parts_: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    share: Format,
) -> Markup:
    """One bar split 100 % into its parts (which must add up to the whole), each segment with
    its share written in it when it fits, and a legend naming every part with its share."""
    total = sum(value for _label, value in parts_)
    left, bar_y, bar_h = 8, 8, 36
    legend_top = bar_y + bar_h + 24
    height = legend_top + 20 * len(parts_) + 4
    width = WIDTH - 2 * left
    out = [_open(chart_id, height, title, desc)]
    x = float(left)
    for i, (label, value) in enumerate(parts_):
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        w = value / total * width if total else 0
        if w:
            out.append(
                Markup(
                    '<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}" stroke="#fff" '
                    'stroke-width="2"><title>{}</title></rect>'
                ).format(x, bar_y, w, bar_h, colour, label)
            )
            if w >= 44:
                out.append(_text(x + w / 2, bar_y + bar_h / 2 + 4, share(value / total), anchor="middle"))
        ly = legend_top + 20 * i
        out.append(
            Markup('<rect x="{}" y="{}" width="12" height="12" fill="{}"/>').format(left, ly - 10, colour)
        )
        text = f"{label}: {share(value / total)}" if total else label
        out.append(_text(left + 20, ly, text))
        x += w
    if not total:
        out.append(
            Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>').format(
                left, bar_y, width, bar_h, EMPTY
            )
        )
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def bins(most: int, steps: int = len(SEQUENTIAL)) -> list[tuple[int, int]]:
    """Up to `steps` ranges of counts (from, to) covering 1..most, for the heatmap's legend."""
    if most <= 0:
        return []
    size = math.ceil(most / steps)
    return [(start, min(start + size - 1, most)) for start in range(1, most + 1, size)]


def heatmap(
    matrix: Sequence[Sequence[int]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    legend_title: str,
    number: Format = _plain,
) -> Markup:
    """Rows (weekdays) by 24 hours, each cell shaded by its bin of a light-to-dark scale and
    carrying its count; a legend gives each shade's range."""
    left, top, cell_w, cell_h = 96, 22, 25, 24
    most = max((max(row) for row in matrix), default=0)
    ranges = bins(most)
    legend_y = top + cell_h * len(matrix) + 28
    height = legend_y + 20
    out = [_open(chart_id, height, title, desc, WIDE)]
    for hour in range(0, 24, 3):
        out.append(_text(left + hour * cell_w + cell_w / 2, top - 8, str(hour), anchor="middle", fill=MUTED))
    for r, row in enumerate(matrix):
        y = top + r * cell_h
        out.append(_text(left - 8, y + cell_h / 2 + 4, row_labels[r], anchor="end"))
        for hour, count in enumerate(row):
            index = next((i for i, (low, high) in enumerate(ranges) if low <= count <= high), None)
            fill = EMPTY if index is None else SEQUENTIAL[index]
            x = left + hour * cell_w
            out.append(
                Markup(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#fff">'
                    "<title>{} {}: {}</title></rect>"
                ).format(x, y, cell_w, cell_h, fill, row_labels[r], hour, number(count))
            )
            if count:
                ink = "#fff" if index is not None and index >= 3 else INK
                out.append(
                    _text(
                        x + cell_w / 2, y + cell_h / 2 + 4, number(count), anchor="middle", fill=ink, size=10
                    )
                )
    x = float(left)
    out.append(_text(left - 8, legend_y, legend_title, anchor="end", fill=MUTED))
    for i, (low, high) in enumerate(ranges):
        out.append(
            Markup('<rect x="{:.1f}" y="{}" width="14" height="14" fill="{}"/>').format(
                x, legend_y - 11, SEQUENTIAL[i]
            )
        )
        label = number(low) if low == high else f"{number(low)}–{number(high)}"
        out.append(_text(x + 18, legend_y, label))
        x += 18 + 8 * len(label) + 16
    out.append(Markup("</svg>"))
    return Markup("").join(out)
