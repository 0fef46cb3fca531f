"""Offboarding a client: an archive of everything it has with us, then, after the retention
period, the deletion of all of it, the audit log excepted.

The archive is a ZIP in the instance folder (`exports/<tenant id>/`), built by a job: one JSON
Lines file per table (every column of every row, read in batches), the files of the tickets and
of the knowledge base themselves, and `manifest.json` with each file's row count and SHA-256.
The purge is a periodic sweep in the system scope: it deletes the tenant row (every tenant table
cascades from it), then the tenant's folders. `AuditEvent.tenant_id` is a plain column, so the
audit log survives, closed by a last `tenant.purged` event. Until the purge, offboarding can be
cancelled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import inspect, select

from core import audit, scheduler
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.jobs import job
from core.models_base import utcnow
from knowledge.models import Article, ArticleFile, ArticleTranslation, ArticleVersion, KbCategory
from tenants.models import ExportStatus, Tenant, TenantExport
from tickets import attachments
from tickets.models import Attachment, Call, Contact, Message, Organization, Ticket, TicketEvent

log = logging.getLogger(__name__)

EXPORT_FORMAT = "firstline-tenant-export"
BATCH = 500
# The archive's tables, in an order a reader can load them (what is referred to comes first).
TABLES: tuple[tuple[str, type[Any]], ...] = (
    ("organizations", Organization),
    ("contacts", Contact),
    ("tickets", Ticket),
    ("messages", Message),
    ("ticket_events", TicketEvent),
    ("calls", Call),
    ("attachments", Attachment),
    ("kb_categories", KbCategory),
    ("kb_articles", Article),
    ("kb_translations", ArticleTranslation),
    ("kb_versions", ArticleVersion),
    ("kb_files", ArticleFile),
)
# Tables whose rows are files: the file goes into the archive beside its row.
FILE_TABLES = ("attachments", "kb_files")
# The tenant's folders under the instance folder, removed by the purge.
TENANT_FOLDERS = ("attachments", "kb", "exports")


def _instance() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]).resolve()


# --- offboarding and cancelling ---------------------------------------------------------------


def offboard(
    tenant: Tenant, confirm: str, *, requested_by_id: int | None, now: datetime | None = None
) -> TenantExport:
    """Start the export and the retention period; `confirm` must repeat the slug."""
    if confirm.strip() != tenant.slug:
        raise ValidationFailed(
            fields={"confirm": _("Type the client's slug, %(slug)s, to confirm.", slug=tenant.slug)}
        )
    if tenant.offboarded_at is not None:
        raise Conflict(_("This client is being offboarded already."))
    now = now or utcnow()
    tenant.offboarded_at = now
    tenant.purge_after = now + timedelta(days=int(current_app.config["TENANT_RETENTION_DAYS"]))
    export = request_export(tenant, requested_by_id=requested_by_id)
    audit.record(
        "tenant.offboarded",
        tenant_id=tenant.id,
        target=tenant,
        data={"purge_after": tenant.purge_after.isoformat(), "export_id": export.id},
    )
    return export


def cancel(tenant: Tenant) -> None:
    """Keep the client after all; archives built meanwhile stay downloadable."""
    if tenant.offboarded_at is None:
        raise Conflict(_("This client is not being offboarded."))
    tenant.offboarded_at = None
    tenant.purge_after = None
    audit.record("tenant.offboarding_cancelled", tenant_id=tenant.id, target=tenant)


# --- the archive ------------------------------------------------------------------------------


def request_export(tenant: Tenant, *, requested_by_id: int | None) -> TenantExport:
    export = TenantExport(tenant_id=tenant.id, requested_by_id=requested_by_id)
    db.session.add(export)
    db.session.flush()
    audit.record("tenant.export_requested", tenant_id=tenant.id, target=export)
    build_export.enqueue(tenant.id, export.id)
    return export


def exports_of(tenant_id: int) -> list[TenantExport]:
    return list(
        db.session.scalars(
            select(TenantExport)
            .where(TenantExport.tenant_id == tenant_id)
            .order_by(TenantExport.created_at.desc(), TenantExport.id.desc())
        )
    )


def ready_export(tenant_id: int, export_id: int) -> tuple[TenantExport, Path]:
    """A finished archive of this tenant and its file; anything else is not found."""
    export = db.session.scalar(
        select(TenantExport).where(TenantExport.tenant_id == tenant_id, TenantExport.id == export_id)
    )
    if export is None or export.status != ExportStatus.READY.value:
        raise NotFound()
    path = (_instance() / export.path).resolve()
    if not path.is_relative_to(_instance() / "exports") or not path.is_file():
        raise NotFound()
    return export, path


@job("default", retries=0)
def build_export(tenant_id: int, export_id: int) -> str:
    """Runs in the tenant's scope. A failure is kept on the row (the admin sees it and asks for a
    new archive), never half an archive on disk."""
    export = db.session.get(TenantExport, export_id)
    if export is None or export.status != ExportStatus.PENDING.value:
        return "skipped"
    tenant = db.session.get_one(Tenant, tenant_id)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    relative = Path("exports") / str(tenant_id) / f"{tenant.slug}-{export.id}-{stamp}.zip"
    target = _instance() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        _write_archive(partial, tenant)
        partial.replace(target)
    except Exception as exc:
        log.exception("export %s of tenant %s failed", export_id, tenant_id)
        partial.unlink(missing_ok=True)
        export.status = ExportStatus.FAILED.value
        export.error = str(exc)[:2000]
        export.finished_at = utcnow()
        return "failed"
    export.path = relative.as_posix()
    export.size = target.stat().st_size
    export.sha256 = _sha256_file(target)
    export.status = ExportStatus.READY.value
    export.finished_at = utcnow()
    audit.record("tenant.export_ready", tenant_id=tenant_id, target=export, data={"sha256": export.sha256})
    return "ready"


def _write_archive(path: Path, tenant: Tenant) -> None:
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "exported_at": utcnow().isoformat(),
        "tenant": _tenant(tenant),
        "tables": {},
        "files": [],
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, model in TABLES:
            digest = hashlib.sha256()
            count = 0
            stored = []  # a ZIP takes one member at a time: the files follow their table
            with archive.open(_member(f"{name}.jsonl"), "w") as member:
                for row in _rows(model, tenant.id):
                    line = (json.dumps(_row(row), ensure_ascii=False, sort_keys=True) + "\n").encode()
                    member.write(line)
                    digest.update(line)
                    count += 1
                    if name in FILE_TABLES:
                        stored.append(row)
            manifest["tables"][name] = {"file": f"{name}.jsonl", "rows": count, "sha256": digest.hexdigest()}
            manifest["files"] += [_add_file(archive, name, row) for row in stored]
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))


def _member(name: str) -> zipfile.ZipInfo:
    """A streamed member, compressed and dated now (ZipInfo's default date is 1980)."""
    info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _rows(model: type[Any], tenant_id: int) -> Iterator[Any]:
    """Every row of the tenant as plain column values (not ORM objects, which the session would
    keep), by id, a batch at a time."""
    columns = [attr.class_attribute for attr in inspect(model).column_attrs]
    last = 0
    while True:
        batch = list(
            db.session.execute(
                select(*columns)
                .where(model.tenant_id == tenant_id, model.id > last)
                .order_by(model.id)
                .limit(BATCH)
            )
        )
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].id


def _add_file(archive: zipfile.ZipFile, table: str, row: Any) -> dict[str, Any]:
    source = attachments.blob_path(row.tenant_id, row.sha256)
    arcname = f"files/{table}/{row.id}-{attachments.safe_name(row.filename)}"
    entry = {"path": arcname, "table": table, "id": row.id, "sha256": row.sha256, "size": row.size}
    if source.is_file():
        archive.write(source, arcname)
    else:
        entry["missing"] = True
    return entry


def _row(row: Any) -> dict[str, Any]:
    return {key: _json(value) for key, value in row._mapping.items()}


def _tenant(tenant: Tenant) -> dict[str, Any]:
    """The client's settings, without the secret that signs its webhooks."""
    return {
        attr.key: _json(getattr(tenant, attr.key))
        for attr in inspect(Tenant).column_attrs
        if attr.key != "webhook_secret"
    }


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the purge --------------------------------------------------------------------------------


def due_for_purge(now: datetime | None = None) -> list[int]:
    """Ids of the tenants whose retention has run out; needs the system scope."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Tenant.id)
            .where(Tenant.purge_after.is_not(None), Tenant.purge_after <= now)
            .order_by(Tenant.id)
        )
    )


def purge(tenant_id: int, now: datetime | None = None) -> bool:
    """Delete the tenant and everything of it; True if it was purged. Commits, then removes the
    files: a failed commit must not leave rows whose files are gone."""
    now = now or utcnow()
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or tenant.purge_after is None or tenant.purge_after > now:
        return False  # cancelled meanwhile, or purged by another run
    audit.record(
        "tenant.purged",
        tenant_id=tenant.id,
        target=tenant,
        data={
            "slug": tenant.slug,
            "name": tenant.name,
            "offboarded_at": tenant.offboarded_at.isoformat() if tenant.offboarded_at else None,
        },
    )
    db.session.delete(tenant)
    db.session.commit()
    for folder in TENANT_FOLDERS:
        shutil.rmtree(_instance() / folder / str(tenant_id), ignore_errors=True)
    return True


@scheduler.periodic("tenants.purge", every=timedelta(hours=1))
def purge_sweep(tenant_id: None) -> int:
    return sum(purge(due) for due in due_for_purge())
