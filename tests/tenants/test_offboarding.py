"""Offboarding: an archive of everything of the client, downloadable by the provider admin; after
the retention period the client's data and files are deleted, the other client's are not, and
the audit log stays. Until then the offboarding can be cancelled."""

from __future__ import annotations

import hashlib
import html
import io
import json
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core import jobs, tenancy
from core.audit import AuditEvent
from core.auth.models import User
from core.extensions import db
from core.models_base import utcnow
from tenants import offboarding
from tenants.models import ExportStatus, Tenant, TenantExport
from tests.conftest import csrf_token, sign_in
from tests.factories import World
from tickets import attachments
from tickets.models import Contact, Message, Ticket

PURGE = "tenants.offboarding.purge_sweep"


def _admin(client: FlaskClient) -> str:
    sign_in(client, "admin@provider.example")
    return csrf_token(client, "/profile")


def _offboard(client: FlaskClient, tenant: Tenant, confirm: str) -> Any:
    token = _admin(client)
    return client.post(f"/admin/tenants/{tenant.id}/offboard", data={"csrf_token": token, "confirm": confirm})


def _export(tenant_id: int) -> TenantExport:
    with tenancy.system_scope():
        [export] = offboarding.exports_of(tenant_id)
        db.session.refresh(export)
        return export


def test_offboarding_asks_for_the_slug(client: FlaskClient, world: World) -> None:
    refused = _offboard(client, world.beta, "alpha")
    assert refused.status_code == 422
    assert "Type the client's slug, beta, to confirm." in html.unescape(refused.get_data(as_text=True))
    with tenancy.system_scope():
        tenant = db.session.get_one(Tenant, world.beta.id)
        db.session.refresh(tenant)
        assert tenant.offboarded_at is None
        assert offboarding.exports_of(world.beta.id) == []


def test_the_archive_holds_everything_of_the_client_and_nothing_else(
    app: Flask, client: FlaskClient, world: World
) -> None:
    assert _offboard(client, world.beta, "beta").status_code == 302
    export = _export(world.beta.id)
    assert export.status == ExportStatus.READY.value
    with tenancy.system_scope():
        tenant = db.session.get_one(Tenant, world.beta.id)
        db.session.refresh(tenant)
        days = app.config["TENANT_RETENTION_DAYS"]
        assert abs(tenant.purge_after - tenant.offboarded_at - timedelta(days=days)) < timedelta(seconds=1)
    page = client.get(f"/admin/tenants/{world.beta.id}").get_data(as_text=True)
    assert f"/admin/tenants/{world.beta.id}/exports/{export.id}" in page
    download = client.get(f"/admin/tenants/{world.beta.id}/exports/{export.id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(download.data).hexdigest() == export.sha256
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tenant"]["slug"] == "beta"
    assert "webhook_secret" not in manifest["tenant"]
    with tenancy.only(world.beta.id):
        expected = {
            "tickets": db.session.scalar(select(db.func.count()).select_from(Ticket)),
            "messages": db.session.scalar(select(db.func.count()).select_from(Message)),
            "contacts": db.session.scalar(select(db.func.count()).select_from(Contact)),
        }
    for name, table in manifest["tables"].items():
        raw = archive.read(table["file"])
        assert hashlib.sha256(raw).hexdigest() == table["sha256"], name
        rows = [json.loads(line) for line in raw.decode().splitlines()]
        assert len(rows) == table["rows"], name
        assert {row["tenant_id"] for row in rows} <= {world.beta.id}, name
        if name in expected:
            assert table["rows"] == expected[name], name
    for name in ("organizations", "attachments", "kb_articles", "kb_translations", "kb_files"):
        assert manifest["tables"][name]["rows"] >= 1, name
    tickets = [json.loads(line) for line in archive.read("tickets.jsonl").decode().splitlines()]
    assert "Facture incorrecte" in {t["subject"] for t in tickets}
    translations = archive.read("kb_translations.jsonl").decode()
    assert "Corriger une facture" in translations
    files = {entry["path"]: entry for entry in manifest["files"]}
    invoice = f"files/attachments/{world.beta_attachment.id}-facture.pdf"
    assert archive.read(invoice) == b"%PDF-1.4 facture"
    assert files[invoice]["sha256"] == hashlib.sha256(b"%PDF-1.4 facture").hexdigest()
    assert archive.read(f"files/kb_files/{world.beta_article_file.id}-plan.png") == b"\x89PNG beta"
    assert "Printer on fire" not in archive.read("tickets.jsonl").decode()  # alpha's ticket


def test_another_clients_archive_is_not_found_under_this_client(client: FlaskClient, world: World) -> None:
    _offboard(client, world.beta, "beta")
    export = _export(world.beta.id)
    assert client.get(f"/admin/tenants/{world.alpha.id}/exports/{export.id}").status_code == 404
    assert client.get(f"/admin/tenants/{world.beta.id}/exports/{export.id + 999}").status_code == 404


def test_a_failed_archive_is_recorded_and_leaves_no_file(
    client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []

    def broken(path: Path, tenant: Tenant) -> None:
        path.write_bytes(b"half")
        written.append(path)
        raise OSError("disk full")

    monkeypatch.setattr(offboarding, "_write_archive", broken)
    # Other tests' archives of the same (rolled back, so reused) export id live in this folder.
    shutil.rmtree(Path(client.application.config["INSTANCE_PATH"]) / "exports", ignore_errors=True)
    _offboard(client, world.beta, "beta")
    export = _export(world.beta.id)
    assert export.status == ExportStatus.FAILED.value
    assert "disk full" in export.error
    assert "Failed: disk full" in client.get(f"/admin/tenants/{world.beta.id}").get_data(as_text=True)
    [partial] = written
    assert not partial.exists()
    assert not partial.with_suffix(".zip").exists()


def _tenant_tables() -> list[str]:
    return sorted(
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, tenancy.TenantScoped | tenancy.SharedOrTenantScoped)
        and mapper.class_ is not AuditEvent
    )


def _rows_of(tenant_id: int) -> dict[str, int]:
    """Rows per tenant table, counted with raw SQL (under RLS as the app role on PostgreSQL)."""
    counts = {}
    for table in _tenant_tables():
        counts[table] = db.session.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),  # noqa: S608  (table names from the models)
            {"t": tenant_id},
        ).scalar()
    return counts


def test_the_purge_deletes_that_client_only_and_keeps_the_audit_log(
    client: FlaskClient, world: World
) -> None:
    _offboard(client, world.beta, "beta")
    instance = Path(client.application.config["INSTANCE_PATH"])
    with tenancy.system_scope():
        alpha_blob = attachments.write_blob(world.alpha.id, b"alpha's own file")
        before_alpha = _rows_of(world.alpha.id)
        assert _rows_of(world.beta.id)["tickets"] >= 1
        assert (instance / "attachments" / str(world.beta.id)).is_dir()
        # Not yet: the retention period runs.
        jobs.commit()
    assert jobs.execute(PURGE, None, ()) == 0
    with tenancy.system_scope():
        db.session.get_one(Tenant, world.beta.id).purge_after = utcnow() - timedelta(minutes=1)
        jobs.commit()
    assert jobs.execute(PURGE, None, ()) == 1
    with tenancy.system_scope():
        db.session.expire_all()
        assert (
            db.session.execute(
                text("SELECT count(*) FROM tenants WHERE id = :t"), {"t": world.beta.id}
            ).scalar()
            == 0
        )
        assert not any(_rows_of(world.beta.id).values()), _rows_of(world.beta.id)
        assert _rows_of(world.alpha.id) == before_alpha
        assert db.session.scalar(select(User.id).where(User.email == "admin@beta.example")) is None
        assert db.session.scalar(select(User.id).where(User.email == "admin@alpha.example")) is not None
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == world.beta.id))
        )
        assert {"tenant.created", "tenant.offboarded", "tenant.export_ready", "tenant.purged"} <= actions
    assert not (instance / "attachments" / str(world.beta.id)).exists()
    assert not (instance / "exports" / str(world.beta.id)).exists()
    assert attachments.blob_path(world.alpha.id, alpha_blob).read_bytes() == b"alpha's own file"
    # The provider admin's list no longer shows it; the audit log still does.
    admin = client.application.test_client()
    sign_in(admin, "admin@provider.example")
    assert "Beta AG" not in admin.get("/admin/tenants").get_data(as_text=True)
    assert "tenant.purged" in admin.get("/admin/audit?action=tenant.purged").get_data(as_text=True)


def test_cancelling_the_offboarding_keeps_the_client(client: FlaskClient, world: World) -> None:
    _offboard(client, world.beta, "beta")
    token = csrf_token(client, "/profile")
    assert "Offboarding" in client.get("/admin/tenants?status=offboarding").get_data(as_text=True)
    assert (
        client.post(f"/admin/tenants/{world.beta.id}/offboard/cancel", data={"csrf_token": token}).status_code
        == 302
    )
    again = client.post(f"/admin/tenants/{world.beta.id}/offboard/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    with tenancy.system_scope():
        tenant = db.session.get_one(Tenant, world.beta.id)
        db.session.refresh(tenant)
        assert tenant.purge_after is None
        jobs.commit()
    assert jobs.execute(PURGE, None, ()) == 0
    with tenancy.system_scope():
        assert db.session.get(Tenant, world.beta.id) is not None
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "tenant.offboarding_cancelled")
        )
    # The archive built meanwhile stays downloadable.
    export = _export(world.beta.id)
    assert client.get(f"/admin/tenants/{world.beta.id}/exports/{export.id}").status_code == 200
