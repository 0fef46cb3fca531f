"""The onboarding wizard's one file, the first KB import, kept between the wizard's steps.

The file waits in the instance folder (`onboarding/`) under a random name that the wizard's
signed draft carries; it is deleted when the client is created, when the admin drops it, or by a
sweep once a day has passed (a wizard left half-way).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from core import scheduler
from core.errors import ValidationFailed

KB_SUFFIXES = (".csv", ".zip")
KEEP = timedelta(days=1)


def _uploads() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "onboarding"


def upload_path(token: str) -> Path | None:
    """Where an upload of the wizard is kept; None for a token that is not one of ours."""
    name, _dot, suffix = token.partition(".")
    if not (name.isalnum() and len(name) == 32 and f".{suffix}" in KB_SUFFIXES):
        return None
    return _uploads() / token


def store_upload(filename: str, data: bytes) -> str:
    """Keep the KB file until the client is created; returns the token the draft carries."""
    suffix = Path(filename.lower()).suffix
    if suffix not in KB_SUFFIXES:
        raise ValidationFailed(
            fields={"kb_file": _("Upload a .csv file or a .zip of Markdown or HTML files.")}
        )
    folder = _uploads()
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16) + suffix
    (folder / token).write_bytes(data)
    return token


def discard_upload(token: str) -> None:
    path = upload_path(token)
    if path is not None:
        path.unlink(missing_ok=True)


@scheduler.periodic("tenants.onboarding_uploads", every=timedelta(hours=6))
def forget_stale_uploads(tenant_id: None) -> int:
    """Delete the files of wizards left unfinished for a day."""
    cutoff = time.time() - KEEP.total_seconds()
    stale = [p for p in _uploads().glob("*") if p.is_file() and p.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
