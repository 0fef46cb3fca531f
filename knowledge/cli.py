"""`flask kb ...`: import a client's FAQ, export its knowledge base, rebuild the search index."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core import audit, jobs, tenancy
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from knowledge import export as kb_export
from knowledge import search
from knowledge.importing import csv_file, folder
from knowledge.importing.report import describe
from knowledge.models import ArticleTranslation
from tenants.models import Tenant

group = click.Group("kb", help="Knowledge bases: import, export, search index.")


@dataclass(frozen=True)
class Operator:
    """Whoever runs the command acts with the client's authority (they hold the database anyway);
    the records name no user, and the audit log says "cli"."""

    tenant_id: int
    id: None = None
    role: Role = Role.CLIENT_ADMIN
    name: str = "cli"
    email: str = "cli"


def _tenant(slug: str) -> Tenant:
    with tenancy.system_scope():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"no client with the slug {slug!r}")
    return tenant


@group.command("import")
@click.option("--tenant", "slug", required=True, help="The client's slug.")
@click.option("--publish", is_flag=True, help="Publish at once instead of importing drafts.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(slug: str, publish: bool, path: Path) -> None:
    """Import a CSV file or a ZIP of Markdown/HTML files (by extension); all of it or nothing."""
    tenant = _tenant(slug)
    importer = folder.import_folder if path.suffix.lower() == ".zip" else csv_file.import_csv
    actor = cast(User, Operator(tenant.id))
    with tenancy.only(tenant.id), audit.acting_as(audit.Actor(None, "cli")), path.open("rb") as handle:
        report = importer(tenant.id, handle, actor, publish=publish)
        if report.ok:  # otherwise nothing was created
            jobs.commit()
    for problem in report.skipped:
        click.echo(f"ignored: {describe(problem)}")
    if not report.ok:
        for line in report.lines():
            click.echo(line, err=True)
        click.echo(f"{report.error_count} problem(s); nothing was imported.", err=True)
        sys.exit(1)
    state = "published" if report.published else "drafts"
    click.echo(f"Imported {report.created} article(s), {report.translations} text(s), as {state}.")


@group.command("export")
@click.option("--tenant", "slug", required=True, help="The client's slug.")
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout)."
)
@with_appcontext
def export_command(slug: str, output: Any) -> None:
    """Write the client's whole knowledge base as JSON."""
    tenant = _tenant(slug)
    with tenancy.only(tenant.id):
        for chunk in kb_export.export_json(tenant.id):
            output.write(chunk)


@group.command("reindex")
@click.option("--tenant", "slug", default=None, help="Only this client (default: all).")
@with_appcontext
def reindex_command(slug: str | None) -> None:
    """Rebuild the search index from the stored texts (after a bulk import or a stemming change)."""
    reindex_tenant = getattr(search, "reindex_tenant", None)
    reindex_all = getattr(search, "reindex_all", None)
    if slug is None and reindex_all is not None:
        with tenancy.system_scope():
            count = reindex_all()
            jobs.commit()
        click.echo(f"all clients: {count} text(s) reindexed")
        return
    if slug:
        tenants = [_tenant(slug)]
    else:
        with tenancy.system_scope():
            tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    for tenant in tenants:
        with tenancy.only(tenant.id):
            if reindex_tenant is not None:
                count = reindex_tenant(tenant.id)
            else:
                ids = list(
                    db.session.scalars(
                        select(ArticleTranslation.id).where(ArticleTranslation.tenant_id == tenant.id)
                    )
                )
                for start in range(0, len(ids), 500):
                    search.index(ids[start : start + 500])
                count = len(ids)
            jobs.commit()
        click.echo(f"{tenant.slug}: {count} text(s) reindexed")
