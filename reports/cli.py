"""`flask --app wsgi reports ...`: rebuild rollups, send or re-send monthly reports, write a PDF.

Every command works inside the system tenancy scope, like the sweeps, and commits once at the end
(the mails leave through the outbox after that commit).
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core import jobs, tenancy
from core.extensions import db
from reports import monthly, monthly_pdf, rollup
from reports.monthly_present import present
from tenants.models import Tenant

group = click.Group("reports", help="Report rollups and the monthly client reports.")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        _fail(f"Unknown client: {slug}")
    assert tenant is not None  # noqa: S101 - _fail exits
    return tenant


def _tenants(slug: str) -> list[Tenant]:
    if slug == "all":
        return list(
            db.session.scalars(select(Tenant).where(Tenant.offboarded_at.is_(None)).order_by(Tenant.slug))
        )
    return [_tenant(slug)]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} is YYYY-MM-DD, such as 2026-03-01.")
        raise  # pragma: no cover - _fail exits


def _month(text: str) -> date:
    month = monthly.parse_report_month(text)
    if month is None:
        _fail("--month is YYYY-MM, such as 2026-03.")
    assert month is not None  # noqa: S101 - _fail exits
    return month


@group.command("rebuild")
@click.option("--tenant", "slug", required=True, help="The client's slug, or 'all'.")
@click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last local day, YYYY-MM-DD.")
@with_appcontext
def rebuild_command(slug: str, first: str, last: str) -> None:
    """Rebuild the daily rollups of a range (safe to repeat: rows are replaced)."""
    start, end = _day(first, "--from"), _day(last, "--to")
    if end < start:
        _fail("--to must not be before --from.")
    with tenancy.system_scope():
        started = time.perf_counter()
        rows = sum(rollup.rebuild(tenant.id, start, end) for tenant in _tenants(slug))
        jobs.commit()
    click.echo(f"{rows} rows rebuilt from {start} to {end} ({time.perf_counter() - started:.1f} s)")


@group.command("send-monthly")
@click.option("--month", "text", required=True, help="The month, YYYY-MM.")
@click.option("--tenant", "slug", default=None, help="Only this client (its slug).")
@click.option("--force", is_flag=True, help="Send again even when the month was sent already.")
@with_appcontext
def send_monthly_command(text: str, slug: str | None, force: bool) -> None:
    """Send the monthly report of MONTH to each client's admins (clients with the report on, or
    the one named); a month already sent is skipped unless --force."""
    month = _month(text)
    with tenancy.system_scope():
        chosen = [_tenant(slug)] if slug else [t for t in _tenants("all") if t.monthly_report]
        early = [tenant.slug for tenant in chosen if not monthly.is_reportable(tenant, month)]
        if early:
            _fail(f"{month:%Y-%m} is not over yet for {', '.join(early)}.")
        lines = []
        for tenant in chosen:
            row = monthly.send_month(tenant.id, month, force=force)
            if row is None:
                lines.append(f"{tenant.slug}: already sent (use --force to send again)")
            else:
                lines.append(f"{tenant.slug}: sent to {len(row.recipients)} recipient(s)")
        jobs.commit()
    click.echo("\n".join(lines) if lines else "No client has the monthly report on.")


@group.command("monthly-pdf")
@click.option("--tenant", "slug", required=True, help="The client's slug.")
@click.option("--month", "text", required=True, help="The month, YYYY-MM.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--language", default=None, help="Language of the texts (default: the client's).")
@with_appcontext
def monthly_pdf_command(slug: str, text: str, out: Path, language: str | None) -> None:
    """Write the monthly report of MONTH as a PDF file (nothing is sent or stored)."""
    month = _month(text)
    if language is not None and language not in current_app.config["LANGUAGES"]:
        _fail(f"--language is one of {', '.join(current_app.config['LANGUAGES'])}.")
    with tenancy.system_scope():
        tenant = _tenant(slug)
        figures = monthly.month_report(tenant, month, rebuild=False)
        data = monthly_pdf.render(present(figures, language or tenant.default_language))
    out.write_bytes(data)
    click.echo(f"{out}: {len(data)} bytes")
