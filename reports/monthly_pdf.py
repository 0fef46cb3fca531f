"""The monthly report as a PDF (fpdf2, A4), from the same `MonthlyView` as the page and the mail:
a band in the client's colour with its name and the month, the key figures against the month
before (each change in words, the arrow beside it), the contacts per day as a bar chart drawn
with rectangles, and the tables of categories, channels, teams and ratings.

Fonts as for invoices (billing.pdf): DejaVu Sans when installed, so Babel's narrow spaces,
Swiss apostrophes and the arrows print as they are; otherwise Helvetica with Latin-1 stand-ins.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace

from billing.pdf import BOLD, LATIN1, REGULAR, unicode_font_available
from reports.monthly_present import Bar, MonthlyView

MARGIN = 15.0
WIDTH = 210.0 - 2 * MARGIN  # usable width of A4 in mm
STAND_INS = str.maketrans({"▲": "+", "▼": "-", "★": "*"})
GREY = "#f2f2f2"


class _Report(FPDF):
    def __init__(self, unicode_font: bool, color: str) -> None:
        super().__init__(format="A4")
        self.unicode_font = unicode_font
        self.color = color
        if unicode_font:
            self.add_font("body", "", str(REGULAR))
            self.add_font("body", "B", str(BOLD))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, MARGIN)

    @property
    def family(self) -> str:
        return "body" if self.unicode_font else "helvetica"

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        if self.unicode_font:
            return value
        value = value.translate(STAND_INS).translate(LATIN1)
        return value.encode("latin-1", "replace").decode("latin-1")

    def room_for(self, height: float) -> None:
        """Start a new page unless `height` mm still fit on this one."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def heading(self, text: str) -> None:
        """A section title; also resets the fill colour, which fpdf2's tables use for their rows."""
        self.set_fill_color(255, 255, 255)
        self.room_for(24)
        self.ln(4)
        self.set_text_color(34, 34, 34)
        self.font(12, bold=True)
        self.cell(0, 7, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def note(self, text: str) -> None:
        self.set_text_color(85, 85, 85)
        self.font(9)
        self.multi_cell(0, 5, self.text_of(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(34, 34, 34)


def _band(doc: _Report, view: MonthlyView) -> None:
    doc.set_fill_color(doc.color)
    doc.rect(0, 0, 210, 30, style="F")
    doc.set_text_color(255, 255, 255)
    doc.set_xy(MARGIN, 7)
    doc.font(11)
    doc.cell(0, 6, doc.text_of(view.client), new_x="LMARGIN", new_y="NEXT")
    doc.font(18, bold=True)
    doc.cell(0, 10, doc.text_of(view.title), new_x="LMARGIN", new_y="NEXT")
    doc.set_y(34)
    doc.note(view.comparison)


def _kpis(doc: _Report, view: MonthlyView) -> None:
    doc.heading(_("Key figures"))
    doc.font(9)
    with doc.table(
        col_widths=(70, 28, 28, 54),
        width=WIDTH,
        text_align=("LEFT", "RIGHT", "RIGHT", "LEFT"),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
        line_height=5,
        padding=1,
    ) as table:
        header = table.row()
        for text in (_("Measure"), view.month_title, view.previous_title, _("Difference")):
            header.cell(doc.text_of(text))
        for kpi in view.kpis:
            row = table.row()
            row.cell(doc.text_of(kpi.label))
            row.cell(doc.text_of(kpi.this_month), style=FontFace(emphasis="BOLD"))
            row.cell(doc.text_of(kpi.previous_month))
            row.cell(doc.text_of(f"{kpi.arrow} {kpi.change}"), style=FontFace(color=kpi.color))


def _chart(doc: _Report, view: MonthlyView) -> None:
    """The contacts per day as vertical bars, the day of the month under each."""
    doc.heading(_("Contacts per day"))
    doc.note(view.daily_summary)
    height = 40.0
    doc.room_for(height + 12)
    top = doc.get_y() + 4
    longest = max((bar.value for bar in view.daily), default=0)
    slot = WIDTH / max(1, len(view.daily))
    doc.set_draw_color(160, 160, 160)
    doc.line(MARGIN, top + height, MARGIN + WIDTH, top + height)
    doc.set_fill_color(doc.color)
    doc.font(6)
    doc.set_text_color(85, 85, 85)
    for index, bar in enumerate(view.daily):
        x = MARGIN + index * slot
        if bar.value and longest:
            tall = max(0.6, height * bar.value / longest)
            doc.rect(x + slot * 0.15, top + height - tall, slot * 0.7, tall, style="F")
        doc.set_xy(x, top + height + 0.5)
        doc.cell(slot, 3, str(index + 1), align="C")
    doc.set_xy(MARGIN, top - 4)
    doc.cell(WIDTH, 3, doc.text_of(_("Most in a day: %(count)s", count=_most(view.daily))), align="R")
    doc.set_text_color(34, 34, 34)
    doc.set_y(top + height + 5)


def _most(bars: list[Bar]) -> str:
    best = max(bars, key=lambda bar: bar.value, default=None)
    return best.text if best else "0"


def _bars(doc: _Report, title: str, bars: list[Bar], empty: str) -> None:
    """Horizontal bars: the label, the bar (a rectangle as long as its share of the longest),
    the count and, in grey, last month's."""
    doc.heading(title)
    if not bars:
        doc.note(empty)
        return
    label_w, bar_w, value_w = 62.0, 70.0, WIDTH - 132.0
    for bar in bars:
        doc.room_for(7)
        y = doc.get_y()
        doc.font(9)
        doc.cell(label_w, 6, doc.text_of(bar.label))
        if bar.width:
            doc.set_fill_color(doc.color)
            doc.rect(MARGIN + label_w, y + 1.5, max(0.6, (bar_w - 4) * bar.width / 100), 3, style="F")
        doc.set_x(MARGIN + label_w + bar_w)
        doc.font(9, bold=True)
        doc.cell(14, 6, doc.text_of(bar.text), align="R")
        doc.set_text_color(102, 102, 102)
        doc.font(8)
        doc.cell(value_w - 14, 6, doc.text_of(f"  {bar.note}" if bar.note else ""))
        doc.set_text_color(34, 34, 34)
        doc.ln(6)


def _teams(doc: _Report, view: MonthlyView) -> None:
    doc.heading(_("Your teams"))
    if not view.teams:
        doc.note(_("Nothing was escalated to your teams this month."))
        return
    doc.font(8)
    with doc.table(
        col_widths=(34, 24, 26, 26, 18, 26, 26),
        width=WIDTH,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", size_pt=7, fill_color=GREY),
        line_height=4,
        padding=1,
    ) as table:
        header = table.row()
        for text in (
            _("Team"),
            _("Escalations"),
            _("Acknowledged in time"),
            _("Median time to acknowledge"),
            _("Resolved"),
            _("Resolved in time"),
            _("Median time to resolve"),
        ):
            header.cell(doc.text_of(text))
        for team in view.teams:
            row = table.row()
            row.cell(doc.text_of(team.name))
            row.cell(doc.text_of(f"{team.escalations}\n{team.previous_escalations}"))
            for text in (
                team.acknowledged_in_time,
                team.ack_median,
                team.resolved,
                team.resolved_in_time,
                team.fix_median,
            ):
                row.cell(doc.text_of(text))
    doc.note(_("Times count in each team’s business hours, as its targets do."))


def render(view: MonthlyView, *, unicode_font: bool | None = None) -> bytes:
    """The PDF bytes of a monthly report; texts in the view's language."""
    doc = _Report(unicode_font_available() if unicode_font is None else unicode_font, view.brand_color)
    doc.set_title(doc.text_of(f"{view.client}: {view.title}"))
    doc.set_lang(view.language)
    doc.add_page()
    with force_locale(view.language):
        _band(doc, view)
        if view.empty:
            doc.note(_("No contacts reached the desk in either month."))
        _kpis(doc, view)
        _chart(doc, view)
        _bars(doc, _("Top categories"), view.categories, _("No tickets this month."))
        _bars(doc, _("Channels"), view.channels, _("No tickets this month."))
        _teams(doc, view)
        _bars(doc, _("Customer satisfaction"), view.csat, view.csat_summary)
        doc.note(view.csat_summary)
    return bytes(doc.output())
