"""The invoice as a PDF (fpdf2), from the same `InvoiceView` as the HTML page.

Babel's amounts carry characters outside Latin-1 (the Swiss ’ thousands separator, French narrow
no-break spaces, €), so Debian's DejaVu Sans is embedded when it is installed; on a machine
without it the PDF falls back to the core Helvetica font and those characters are replaced by
their closest Latin-1 equivalents (' , space, EUR), which keeps umlauts and accents intact.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF

from billing.documents import InvoiceView, issuer_name

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
LATIN1 = str.maketrans({"\u2019": "'", "\u202f": " ", "\u00a0": " ", "\u2009": " ", "€": "EUR", "–": "-"})
# Column widths in mm (A4 minus 2 x 18 mm margins = 174 mm).
WIDTHS = (78, 20, 20, 28, 28)


class _Document(FPDF):
    def __init__(self, unicode_font: bool) -> None:
        super().__init__(format="A4")
        self.unicode_font = unicode_font
        if unicode_font:
            self.add_font("body", "", str(REGULAR))
            self.add_font("body", "B", str(BOLD))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, 18)

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font("body" if self.unicode_font else "helvetica", "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        if self.unicode_font:
            return value
        return value.translate(LATIN1).encode("latin-1", "replace").decode("latin-1")

    def row(self, cells: tuple[str, ...], *, bold: bool = False, size: float = 9) -> None:
        for width, text, align in zip(WIDTHS, cells, ("L", "R", "L", "R", "R"), strict=True):
            self.fitted(width, self.text_of(text), size, bold, align)
        self.ln(6)

    def fitted(self, width: float, text: str, size: float, bold: bool, align: str) -> None:
        """One cell on one line: a long translation is set smaller rather than overflowing."""
        self.font(size, bold)
        while size > 6 and self.get_string_width(text) > width - 1:
            size -= 0.5
            self.font(size, bold)
        self.cell(width, 6, text, align=align)


def unicode_font_available() -> bool:
    return REGULAR.is_file() and BOLD.is_file()


def render(view: InvoiceView, issuer: str, *, unicode_font: bool | None = None) -> bytes:
    """The PDF bytes of an invoice; texts in the view's language."""
    doc = _Document(unicode_font_available() if unicode_font is None else unicode_font)
    doc.set_title(doc.text_of(view.number))
    doc.add_page()
    with force_locale(view.language):
        doc.font(10, bold=True)
        doc.cell(0, 6, doc.text_of(issuer), new_x="LMARGIN", new_y="NEXT")
        doc.ln(4)
        doc.font(10)
        doc.multi_cell(90, 5, doc.text_of("\n".join(filter(None, [view.client, view.address]))))
        doc.ln(6)
        doc.font(16, bold=True)
        doc.cell(
            0, 9, doc.text_of(_("Invoice %(number)s", number=view.number)), new_x="LMARGIN", new_y="NEXT"
        )
        doc.font(10)
        facts = [
            (_("Period"), view.period),
            (_("Invoice date"), view.issued),
            (_("Due date"), view.due),
            (_("Status"), view.status_label),
        ]
        for label, value in facts:
            if value:
                doc.cell(40, 5, doc.text_of(label))
                doc.cell(0, 5, doc.text_of(value), new_x="LMARGIN", new_y="NEXT")
        doc.ln(5)
        doc.row((_("Description"), _("Quantity"), _("Unit"), _("Unit price"), _("Amount")), bold=True)
        doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
        for line in view.lines:
            doc.row((line.title, line.quantity, line.unit, line.unit_price, line.amount))
            doc.font(8)
            for detail in line.details:
                doc.set_x(doc.l_margin + 3)
                doc.multi_cell(WIDTHS[0] - 3, 4, doc.text_of(detail), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
        doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
        for label, value, bold in (
            (_("Subtotal"), view.subtotal, False),
            (view.vat_label, view.vat, False),
            (_("Total"), view.total, True),
        ):
            doc.font(10, bold)
            doc.cell(sum(WIDTHS[:-1]) - 4, 6, doc.text_of(label), align="R")
            doc.cell(4, 6, "")
            doc.cell(WIDTHS[-1], 6, doc.text_of(value), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def pdf_response(view: InvoiceView) -> Response:
    response = Response(render(view, issuer_name()), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{view.number}.pdf"'
    return response
