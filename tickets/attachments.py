"""Files that arrive with contacts: size- and type-checked, stored per tenant, named by content."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import select

from core.database import assign_id
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tickets.models import Attachment, Message, Ticket

# Shown in the browser rather than downloaded: images that cannot carry script (no SVG).
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}

ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.ms-excel",
    "message/rfc822",
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _root() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "attachments"


def path_of(attachment: Attachment) -> Path:
    """Only reachable through an Attachment row, which the tenancy scope already filtered."""
    return blob_path(attachment.tenant_id, attachment.sha256)


def download(path: Path, content_type: str, filename: str) -> Response:
    """A stored file as a download (images inline): sandboxed, so a file can never act as a page
    of ours, and not cached."""
    response = send_file(
        path,
        mimetype=content_type,
        as_attachment=content_type not in INLINE_TYPES,
        download_name=filename,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def safe_name(name: str) -> str:
    name = Path(name.replace("\\", "/")).name.strip().replace("\x00", "")
    return name[:200] or "attachment"


def check(uploads: list[Upload]) -> None:
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    count = current_app.config["ATTACHMENT_MAX_FILES"]
    if len(uploads) > count:
        raise ValidationFailed(fields={"attachments": _("At most %(num)d files.", num=count)})
    for upload in uploads:
        if len(upload.data) > limit:
            raise ValidationFailed(
                fields={
                    "attachments": _(
                        "%(name)s is larger than %(size)d MB.",
                        name=safe_name(upload.filename),
                        size=limit // (1024 * 1024),
                    )
                }
            )
        guessed = mimetypes.guess_type(safe_name(upload.filename))[0] or upload.content_type
        if guessed not in ALLOWED_TYPES:
            raise ValidationFailed(
                fields={
                    "attachments": _(
                        "Files of this type are not accepted: %(name)s", name=safe_name(upload.filename)
                    )
                }
            )


def write_blob(tenant_id: int, data: bytes) -> str:
    """Keep the bytes in the tenant's folder, named by their SHA-256 (the same file is kept once)."""
    digest = hashlib.sha256(data).hexdigest()
    folder = _root() / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        temporary = target.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(target)
    return digest


def blob_path(tenant_id: int, digest: str) -> Path:
    return _root() / str(tenant_id) / digest


def content_type_of(upload: Upload) -> str:
    return mimetypes.guess_type(safe_name(upload.filename))[0] or upload.content_type


def store(tenant_id: int, upload: Upload, *, inbound_id: int | None = None) -> Attachment:
    digest = write_blob(tenant_id, upload.data)
    content_type = content_type_of(upload)
    attachment = Attachment(
        tenant_id=tenant_id,
        inbound_id=inbound_id,
        filename=safe_name(upload.filename),
        content_type=content_type,
        size=len(upload.data),
        sha256=digest,
    )
    db.session.add(attachment)
    assign_id(attachment)  # inside an intake batch: its id at once, its row with the batch's
    return attachment


def get(attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.message_id is None:
        raise NotFound(_("Not found."))
    return attachment


def by_message(ticket: Ticket) -> dict[int, list[Attachment]]:
    """A ticket's files grouped by the message they came with, for the timeline."""
    rows = db.session.scalars(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Attachment.tenant_id == ticket.tenant_id, Message.ticket_id == ticket.id)
        .order_by(Attachment.id)
    )
    grouped: dict[int, list[Attachment]] = {}
    for attachment in rows:
        grouped.setdefault(int(attachment.message_id or 0), []).append(attachment)
    return grouped
