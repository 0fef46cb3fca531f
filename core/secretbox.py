"""Secrets we must store and read back (a client's IMAP password): encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`. The key is `ENCRYPTION_KEY` when set,
else derived from `SECRET_KEY` with HKDF, so the embedded demo needs no extra setting; rotating
`SECRET_KEY` without an `ENCRYPTION_KEY` makes stored secrets unreadable (they must be entered
again), which is why production should set both.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

__all__ = ["InvalidToken", "decrypt", "encrypt"]


def _fernet() -> Fernet:
    configured = current_app.config.get("ENCRYPTION_KEY")
    if configured:
        return Fernet(configured)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"firstline secretbox").derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
