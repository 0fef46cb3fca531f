"""Invitations: the provider admin (or the onboarding wizard) creates an account and the person
chooses their own password from a link mailed to them. Nobody ever types a password for someone
else, and an unanswered invitation cannot sign in."""

from __future__ import annotations

import secrets

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import URLSafeTimedSerializer

from core import audit, tenancy
from core.auth import services
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="invitation")


def invite(
    *,
    email: str,
    name: str,
    role: Role,
    tenant_id: int | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    tenant_name: str = "",
) -> User:
    """Create the account with an unguessable password nobody knows, and mail the link."""
    user = services.create_user(
        email=email,
        name=name,
        role=role,
        password=secrets.token_urlsafe(32),
        tenant_id=tenant_id,
        locale=locale,
        timezone=timezone,
    )
    send_invitation(user, tenant_name=tenant_name)
    audit.record("user.invited", tenant_id=tenant_id, target=user, data={"role": role.value})
    return user


def send_invitation(user: User, *, tenant_name: str = "") -> None:
    """Mail (again) the link; a new link leaves older ones valid until one of them is used."""
    token = _serializer().dumps({"id": user.id, "st": user.session_token})
    url = absolute_url("auth.accept_invitation", token=token)
    days = current_app.config["INVITATION_TTL_SECONDS"] // 86400
    with force_locale(locale_of(user)):
        subject = _("You are invited to Firstline")
        text = render_template(
            "auth/email/invite.txt", user=user, url=url, days=days, tenant_name=tenant_name
        )
    send_email(
        to=user.email,
        subject=subject,
        text=text,
        tenant_id=user.tenant_id,
        headers={"Auto-Submitted": "auto-generated"},
    )


def accept(token: str, password: str) -> User:
    """Set the invitee's password; the link works once (it embeds the session token)."""
    with tenancy.system_scope():
        user = services.user_for_link(
            _serializer(),
            token,
            current_app.config["INVITATION_TTL_SECONDS"],
            _("This invitation has expired; ask for a new one."),
        )
        services.set_password(user, password)
        audit.record("user.invitation_accepted", tenant_id=user.tenant_id, target=user)
        db.session.flush()
    return user
