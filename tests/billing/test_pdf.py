"""The invoice PDF, read back with poppler's pdftotext: what a client sees in the file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from billing import accounts, documents, invoices, pdf
from billing.invoice_run import lines_of, run_month
from billing.models import Invoice, UsageKind
from core.extensions import db
from tests.billing.helpers import MIDDAY, NIGHT, NOV, add_usage, make_plan
from tests.factories import World

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


def text_of(data: bytes, tmp_path: Path) -> str:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(data)
    result = subprocess.run(  # noqa: S603
        ["pdftotext", "-layout", str(source), "-"],
        capture_output=True,
        check=True,
        text=True,  # noqa: S607
    )
    return spaced(result.stdout)


def spaced(text: str) -> str:
    """Babel's no-break and narrow spaces as plain ones (pdftotext writes either)."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def built(world: World, tenant_slug: str) -> tuple[Invoice, documents.InvoiceView]:
    tenant = getattr(world, tenant_slug)
    make_plan(tenant, base_fee="1234.50")
    accounts.save_account(
        tenant.id, accounts.AccountInput("billing@example.com", "Bahnhofstrasse 1\n8001 Zürich", "14")
    )
    add_usage(tenant, UsageKind.CONTACT, at=MIDDAY)
    add_usage(tenant, UsageKind.CALL, 125, at=NIGHT, out_of_hours=True)
    run_month(NOV, [tenant.id])
    invoice = db.session.scalar(select(Invoice).where(Invoice.tenant_id == tenant.id))
    invoices.finalize(invoice)
    view = documents.present(invoice, lines_of(invoice), tenant, accounts.account_for(tenant.id), "en")
    return invoice, view


@pytest.mark.parametrize("unicode_font", [True, False])
def test_swiss_invoice_pdf_shows_its_lines_in_francs(
    app: Flask, world: World, system: None, tmp_path: Path, unicode_font: bool
) -> None:
    if unicode_font and not pdf.unicode_font_available():
        pytest.skip("DejaVu Sans is not installed")
    invoice, view = built(world, "alpha")
    with app.test_request_context():
        text = text_of(pdf.render(view, "Firstline", unicode_font=unicode_font), tmp_path)
    assert "Invoice ALPHA-2025-11" in text
    assert "Zürich" in text  # umlauts survive either font
    assert "Monthly base fee" in text
    assert "Phone call minutes" in text
    assert "Surcharge for contacts outside business hours" in text
    separator = "’" if unicode_font else "'"
    assert f"CHF 1{separator}234.50" in text
    assert "VAT 8.1 %" in text
    assert spaced(view.total).replace("’", separator) in text


@pytest.mark.parametrize("unicode_font", [True, False])
def test_euro_invoice_pdf(app: Flask, world: World, system: None, tmp_path: Path, unicode_font: bool) -> None:
    if unicode_font and not pdf.unicode_font_available():
        pytest.skip("DejaVu Sans is not installed")
    _invoice, view = built(world, "beta")
    with app.test_request_context():
        text = text_of(pdf.render(view, "Firstline", unicode_font=unicode_font), tmp_path)
    assert "Invoice BETA-2025-11" in text
    assert ("€" if unicode_font else "EUR") in text
    assert "234,50" in text  # French decimals
