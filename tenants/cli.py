"""`flask --app wsgi tenants ...`"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core import jobs, tenancy
from core.errors import NotFound, ValidationFailed
from tenants import offboarding, services
from tenants.models import ChannelKind

group = click.Group("tenants", help="Client companies.")


@group.command("list")
@with_appcontext
def list_tenants() -> None:
    with tenancy.system_scope():
        for tenant in services.visible_tenants():
            languages = ",".join(tenant.languages)
            click.echo(f"{tenant.id:>4}  {tenant.slug:<20} {tenant.status:<10} {languages:<12} {tenant.name}")


@group.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--languages", required=True, help="Comma-separated, e.g. de,en")
@click.option("--default-language", required=True)
@click.option("--timezone", required=True)
@click.option("--currency", required=True)
@click.option("--prefix", "ticket_prefix", required=True, help="Ticket number prefix, e.g. ACME")
@click.option("--email", "emails", multiple=True, help="Support e-mail address (repeatable).")
@with_appcontext
def create(
    slug: str,
    name: str,
    languages: str,
    default_language: str,
    timezone: str,
    currency: str,
    ticket_prefix: str,
    emails: tuple[str, ...],
) -> None:
    data = services.TenantInput(
        slug=slug,
        name=name,
        languages=[code.strip() for code in languages.split(",") if code.strip()],
        default_language=default_language,
        timezone=timezone,
        currency=currency.upper(),
        ticket_prefix=ticket_prefix.upper(),
        channels=[(ChannelKind.EMAIL, e) for e in emails],
    )
    with tenancy.system_scope():
        try:
            tenant = services.create_tenant(data)
        except ValidationFailed as exc:
            for field, message in exc.fields.items():
                click.echo(f"{field}: {message}", err=True)
            sys.exit(2)
        jobs.commit()
    click.echo(f"Created tenant {tenant.slug} (id {tenant.id}).")


@group.command("export")
@click.argument("slug")
@with_appcontext
def export(slug: str) -> None:
    """Build an archive of everything of one client now (as offboarding does, without a worker)."""
    with tenancy.system_scope():
        try:
            tenant = services.public_tenant(slug)
        except NotFound as exc:
            click.echo(str(exc.message), err=True)
            sys.exit(2)
        record = offboarding.request_export(tenant, requested_by_id=None)
        offboarding.build_export(tenant.id, record.id)  # the queued run then finds it built
        status, error = record.status, record.error
        done = f"{record.path} ({record.size} bytes, sha256 {record.sha256})"
        jobs.commit()
    if status != "ready":
        click.echo(f"The archive is {status}: {error}", err=True)
        sys.exit(1)
    click.echo(done)


@group.command("purge-due")
@with_appcontext
def purge_due() -> None:
    """Delete now the offboarded clients whose retention period is over (the hourly sweep)."""
    with tenancy.system_scope():
        purged = [tenant_id for tenant_id in offboarding.due_for_purge() if offboarding.purge(tenant_id)]
    click.echo(f"Purged {len(purged)} client(s).")
