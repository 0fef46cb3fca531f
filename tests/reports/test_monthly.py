"""The monthly client report: March 2026 of the hand-made set against February, its mailing to
the client's admins in their languages, the sweep that sends it once the month has turned, the
PDF, and the portal pages."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from core import jobs
from core.auth.roles import Role
from core.extensions import db
from core.outbox import OutboxMessage
from reports import jobs as report_jobs
from reports import monthly, monthly_pdf
from reports.models import MonthlyReport, ReportDaily
from reports.monthly_present import present
from tests.conftest import sign_in
from tests.factories import World, make_user
from tests.reports import handmade
from tests.reports.handmade import at

MARCH, FEBRUARY = date(2026, 3, 1), date(2026, 2, 1)
# 07:00 in Zurich on 1 April 2026: March is over and settled.
APRIL_FIRST = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)


@pytest.fixture
def gamma(system: None, world: Any) -> Any:
    tenant = handmade.build()
    tenant.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    db.session.flush()
    return tenant


def _admins(gamma: Any) -> dict[str, Any]:
    return {
        "de": make_user("chefin@gamma.example", Role.CLIENT_ADMIN, tenant=gamma, locale="de"),
        "en": make_user("boss@gamma.example", Role.CLIENT_ADMIN, tenant=gamma, locale="en"),
        "fr": make_user("patronne@gamma.example", Role.CLIENT_ADMIN, tenant=gamma, locale="fr"),
        # No language of their own: the client's (German).
        "default": make_user("leitung@gamma.example", Role.CLIENT_ADMIN, tenant=gamma),
    }


def _monthly_mails() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "email", OutboxMessage.dedupe_key.like("monthly:%"))
            .order_by(OutboxMessage.id)
        )
    )


def _february_ticket(gamma: Any) -> None:
    """One ticket in February, solved at first contact: February's FCR is 100 %."""
    day = date(2026, 2, 10)
    handmade._ticket(
        gamma, 6, channel="phone", language="de", status="resolved", category="order",
        created_at=at(day, "09:00"), first_response_at=at(day, "09:02"), resolved_at=at(day, "09:20"),
        first_contact_resolution=True,
    )  # fmt: skip


# --- the figures -------------------------------------------------------------------------------


def test_march_against_an_empty_february(gamma: Any) -> None:
    figures = monthly.month_report(gamma, MARCH)
    fcr = figures.kpi("fcr_rate")
    assert (fcr.this_month, fcr.previous_month, fcr.direction) == (0.25, None, "none")
    created = figures.kpi("created")
    assert (created.this_month, created.previous_month, created.direction) == (5, 0, "up")
    assert figures.kpi("res_compliance").this_month == 0.75
    assert figures.kpi("csat_average").this_month == 3.5
    assert [(c.key, c.this_month) for c in figures.categories] == [("usage_question", 4), ("fault", 1)]
    assert {c.key: c.this_month for c in figures.channels} == {"email": 3, "phone": 1, "chat": 1}
    assert [(t.name, t.escalations, t.acknowledged, t.resolved) for t in figures.teams] == [
        ("Second level", 2, 2, 1),
        ("IT", 1, 1, 1),
    ]
    assert figures.ratings == [0, 1, 0, 0, 1]
    assert [d.created for d in figures.daily if d.created] == [5]
    assert len(figures.daily) == 31
    # The mailing rebuilt the rollups; the pages read them back without writing: the same figures.
    stored = db.session.scalars(select(ReportDaily.day).where(ReportDaily.tenant_id == gamma.id)).all()
    assert date(2026, 3, 2) in stored
    raw = monthly.month_report(gamma, MARCH, rebuild=False).as_dict()
    assert {**raw, "built_at": None, "totals": None} == {
        **figures.as_dict(),
        "built_at": None,
        "totals": None,
    }


def test_changes_are_said_in_words_with_the_arrow_beside(gamma: Any, app: Flask) -> None:
    _february_ticket(gamma)
    figures = monthly.month_report(gamma, MARCH)
    fcr = figures.kpi("fcr_rate")
    assert (fcr.previous_month, fcr.direction, fcr.verdict) == (1.0, "down", "worse")
    lines = {line.key: line for line in present(figures, "en").kpis}
    assert lines["fcr_rate"].this_month == "25%"
    assert lines["fcr_rate"].previous_month == "100%"
    assert (lines["fcr_rate"].arrow, lines["fcr_rate"].change) == ("▼", "down 75.0 percentage points, worse")
    assert lines["created"].change == "up 400%"
    assert lines["l3_rate"].change == "up 25.0 percentage points, worse"
    german = {line.key: line for line in present(figures, "de").kpis}
    assert german["fcr_rate"].this_month == "25%"  # de_CH: the client bills in francs
    assert present(figures, "de").month_title == "März 2026"
    assert present(figures, "fr").previous_title == "février 2026"


def test_only_months_that_are_over_are_reportable(gamma: Any) -> None:
    assert monthly.is_reportable(gamma, MARCH, APRIL_FIRST)
    assert not monthly.is_reportable(gamma, date(2026, 4, 1), APRIL_FIRST)
    assert monthly.months_of(gamma, APRIL_FIRST) == [MARCH]
    assert monthly.months_of(gamma, datetime(2028, 11, 1, tzinfo=UTC))[-1] == date(2026, 11, 1)
    assert len(monthly.months_of(gamma, datetime(2028, 11, 1, tzinfo=UTC))) == monthly.MONTHS_LISTED
    assert monthly.parse_report_month("2026-13") is None
    assert monthly.parse_report_month("2026-03-01") is None
    assert monthly.parse_report_month("2026-03") == MARCH


# --- the mailing -------------------------------------------------------------------------------


def test_each_client_admin_gets_the_report_in_their_language_with_the_pdf(gamma: Any, app: Flask) -> None:
    people = _admins(gamma)
    make_user("off@gamma.example", Role.CLIENT_ADMIN, tenant=gamma).is_active = False
    make_user("expert@gamma.example", Role.CLIENT_EXPERT, tenant=gamma)
    row = monthly.send_month(gamma.id, MARCH, APRIL_FIRST)
    assert row is not None
    jobs.commit()
    mails = {mail.payload["to"][0]: mail for mail in _monthly_mails()}
    assert set(mails) == {person.email for person in people.values()}
    assert sorted(row.recipients) == sorted(mails)
    assert "März 2026" in mails["chefin@gamma.example"].payload["subject"]
    assert "März 2026" in mails["leitung@gamma.example"].payload["subject"]
    assert "March 2026" in mails["boss@gamma.example"].payload["subject"]
    assert "mars 2026" in mails["patronne@gamma.example"].payload["subject"]
    english = mails["boss@gamma.example"].payload
    assert "Solved at first contact" in english["html"]
    assert "25%" in english["html"]
    assert "no comparison" in english["html"]
    assert "February 2026" in english["html"]
    assert "/portal/reports/monthly/2026-03" in english["text"]
    instance = Path(app.config["INSTANCE_PATH"])
    for mail in mails.values():
        assert mail.status == "sent", mail.last_error
        [attached] = mail.payload["attachments"]
        assert (attached["filename"], attached["content_type"]) == ("gamma-2026-03.pdf", "application/pdf")
        assert (instance / attached["path"]).read_bytes().startswith(b"%PDF")
    assert row.data["month"] == "2026-03"
    assert row.data["kpis"][2]["key"] == "fcr_rate"
    assert row.data["kpis"][2]["this_month"] == 0.25
    assert row.sent_at == APRIL_FIRST


def test_a_second_send_is_a_no_op_and_force_sends_again(gamma: Any) -> None:
    _admins(gamma)
    assert monthly.send_month(gamma.id, MARCH, APRIL_FIRST) is not None
    jobs.commit()
    assert len(_monthly_mails()) == 4
    assert monthly.send_month(gamma.id, MARCH, APRIL_FIRST + timedelta(hours=1)) is None
    jobs.commit()
    assert len(_monthly_mails()) == 4
    again = monthly.send_month(gamma.id, MARCH, APRIL_FIRST + timedelta(days=2), force=True)
    jobs.commit()
    assert again is not None
    assert again.sent_at == APRIL_FIRST + timedelta(days=2)
    assert len(_monthly_mails()) == 8
    rows = db.session.scalars(select(MonthlyReport).where(MonthlyReport.tenant_id == gamma.id)).all()
    assert len(rows) == 1


def test_a_client_without_admins_is_recorded_so_the_sweep_does_not_try_forever(gamma: Any) -> None:
    row = monthly.send_month(gamma.id, MARCH, APRIL_FIRST)
    assert row is not None
    assert row.recipients == []
    assert report_jobs.months_due(APRIL_FIRST + timedelta(hours=1)) == []


# --- the sweep ---------------------------------------------------------------------------------


def test_the_sweep_waits_until_six_in_the_morning_on_the_first(
    gamma: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.session.add(MonthlyReport(tenant_id=gamma.id, month=FEBRUARY, recipients=[], data={}))
    db.session.flush()
    april = date(2026, 4, 1)
    # Alpha and beta were created after March: no report for a month they did not have.
    assert report_jobs.months_due(at(date(2026, 3, 31), "23:00")) == []
    assert report_jobs.months_due(at(april, "05:59")) == []
    assert report_jobs.months_due(at(april, "06:01")) == [(gamma.id, MARCH)]
    enqueued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(report_jobs.send_month_job, "enqueue", lambda *args: enqueued.append(args))
    assert report_jobs.monthly_sweep(None, at(april, "05:30")) == 0
    assert enqueued == []
    assert report_jobs.monthly_sweep(None, at(april, "07:00")) == 1
    assert enqueued == [(gamma.id, "2026-03-01")]


def test_the_sweep_skips_sent_months_and_clients_without_the_report(gamma: Any) -> None:
    later = at(date(2026, 4, 2), "10:00")
    assert report_jobs.months_due(later) == [(gamma.id, MARCH)]
    gamma.monthly_report = False
    db.session.flush()
    assert report_jobs.months_due(later) == []
    gamma.monthly_report = True
    gamma.offboarded_at = later
    db.session.flush()
    assert report_jobs.months_due(later) == []
    gamma.offboarded_at = None
    db.session.flush()
    assert report_jobs.send_month_job(gamma.id, "2026-03-01") is True
    assert report_jobs.send_month_job(gamma.id, "2026-03-01") is False
    assert report_jobs.months_due(later) == []


def test_the_sweep_is_scheduled() -> None:
    from core import scheduler

    assert scheduler.sweeps()["reports.monthly"].every == timedelta(hours=1)


# --- the PDF -----------------------------------------------------------------------------------


@pytest.mark.parametrize("unicode_font", [True, False])
def test_the_pdf_renders_and_page_one_converts_to_an_image(
    gamma: Any, app: Flask, tmp_path: Path, unicode_font: bool
) -> None:
    if unicode_font and not monthly_pdf.unicode_font_available():
        pytest.skip("DejaVu Sans is not installed")
    _february_ticket(gamma)
    view = present(monthly.month_report(gamma, MARCH), "de")
    data = monthly_pdf.render(view, unicode_font=unicode_font)
    assert data.startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed: the PDF was not converted")
    source = tmp_path / "report.pdf"
    source.write_bytes(data)
    subprocess.run(  # noqa: S603
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],  # noqa: S607
        check=True,
        capture_output=True,
    )
    [page] = list(tmp_path.glob("page*.png"))
    image = Image.open(io.BytesIO(page.read_bytes())).convert("RGB")
    width, height = image.size
    assert 300 < width < height  # A4 portrait
    counts = {color: count for count, color in image.getcolors(width * height) or []}
    brand = tuple(int(gamma.brand_color[i : i + 2], 16) for i in (1, 3, 5))
    assert counts.get(brand, 0) > width * height // 50  # the band and the bars
    assert width * height - counts.get((255, 255, 255), 0) > width * height // 10
    if shutil.which("pdftotext"):
        text = subprocess.run(  # noqa: S603
            ["pdftotext", "-layout", str(source), "-"],  # noqa: S607
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        assert "März 2026" in text
        assert "Gamma AG" in text


# --- the portal ----------------------------------------------------------------------------------


def _gamma_admin(gamma: Any) -> Any:
    person = make_user("chefin@gamma.example", Role.CLIENT_ADMIN, tenant=gamma, locale="en")
    jobs.commit()
    return person


def test_the_client_admin_lists_views_and_downloads_any_past_month(client: FlaskClient, gamma: Any) -> None:
    _gamma_admin(gamma)
    sign_in(client, "chefin@gamma.example")
    page = client.get("/portal/reports/monthly").get_data(as_text=True)
    assert "View the report for March 2026" in page
    assert "View the report for February 2026" not in page  # before the first ticket
    report = client.get("/portal/reports/monthly/2026-03")
    assert report.status_code == 200
    html = report.get_data(as_text=True)
    assert "Monthly report for March 2026" in html
    assert "Solved at first contact" in html
    assert "no comparison" in html
    pdf = client.get("/portal/reports/monthly/2026-03/pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    # Nothing was sent, nothing was stored: the page is computed on demand.
    assert db.session.scalars(select(MonthlyReport)).all() == []


@pytest.mark.parametrize("month", ["2099-01", "2026-13", "march", "2026-03-01"])
def test_a_future_or_malformed_month_is_a_404(client: FlaskClient, gamma: Any, month: str) -> None:
    _gamma_admin(gamma)
    sign_in(client, "chefin@gamma.example")
    assert client.get(f"/portal/reports/monthly/{month}").status_code == 404
    assert client.get(f"/portal/reports/monthly/{month}/pdf").status_code == 404


def test_the_provider_admin_picks_the_client(client: FlaskClient, gamma: Any, world: World) -> None:
    sign_in(client, "admin@provider.example")
    chooser = client.get("/portal/reports/monthly").get_data(as_text=True)
    assert "Gamma AG" in chooser
    assert f"tenant={gamma.id}" in chooser
    page = client.get(f"/portal/reports/monthly?tenant={gamma.id}").get_data(as_text=True)
    assert f"/portal/reports/monthly/2026-03?tenant={gamma.id}" in page
    assert client.get(f"/portal/reports/monthly/2026-03?tenant={gamma.id}").status_code == 200
    assert client.get("/portal/reports/monthly/2026-03").status_code == 404
    assert client.get("/portal/reports/monthly/2026-03?tenant=x").status_code == 404


def test_other_roles_are_refused(client: FlaskClient, world: World) -> None:
    for email in ("expert@alpha.example", "agent.alpha@provider.example", "supervisor@provider.example"):
        fresh = client.application.test_client()
        sign_in(fresh, email)
        assert fresh.get("/portal/reports/monthly").status_code == 403, email


def test_a_client_admin_naming_another_client_gets_a_404(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    assert client.get(f"/portal/reports/monthly?tenant={world.beta.id}").status_code == 404
    assert client.get(f"/portal/reports/monthly?tenant={world.alpha.id}").status_code == 200
