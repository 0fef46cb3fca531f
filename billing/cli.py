"""`flask --app wsgi billing ...`"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from billing.invoice_run import run_month
from billing.periods import parse_month
from core import jobs, tenancy
from core.extensions import db
from tenants.models import Tenant

group = click.Group("billing", help="Plans, usage and invoices.")


@group.command("run-month")
@click.argument("month")
@click.option("--tenant", "slugs", multiple=True, help="Only this client (its slug; repeatable).")
@with_appcontext
def run_month_command(month: str, slugs: tuple[str, ...]) -> None:
    """Build or rebuild the draft invoices of MONTH (YYYY-MM); finalized ones stay as they are."""
    period = parse_month(month)
    if period is None:
        click.echo("MONTH is YYYY-MM, such as 2026-11.", err=True)
        sys.exit(2)
    with tenancy.system_scope():
        tenant_ids = None
        if slugs:
            found = dict(
                db.session.execute(select(Tenant.slug, Tenant.id).where(Tenant.slug.in_(slugs))).all()
            )
            unknown = sorted(set(slugs) - set(found))
            if unknown:
                click.echo(f"Unknown client: {', '.join(unknown)}", err=True)
                sys.exit(2)
            tenant_ids = list(found.values())
        result = run_month(period, tenant_ids)
        jobs.commit()
    click.echo(
        f"{period:%Y-%m}: {len(result.created)} built, {len(result.rebuilt)} drafts rebuilt, "
        f"{len(result.left_alone)} left alone ({result.seconds:.1f} s)"
    )
