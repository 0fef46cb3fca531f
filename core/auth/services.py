"""Accounts: passwords, sign-in, profiles, API tokens, password reset, and each user's scope."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update

from core import audit, tenancy
from core.auth.models import ApiToken, User, new_session_token
from core.auth.roles import (
    CLIENT_ROLES,
    Role,
    assigned_tenant_ids,
    assigned_tenants_column,
    parse_tenant_list,
)
from core.errors import ValidationFailed
from core.extensions import db
from core.i18n import locale_of
from core.mail import send_email
from core.models_base import utcnow

MIN_PASSWORD_LENGTH = 10
_TIMEZONES: frozenset[str] | None = None


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _check_password(user: User, password: str) -> bool:
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def scope_for(user: User) -> tenancy.Scope:
    """The tenants a user may touch: provider admins all, staff their assignments, clients theirs."""
    role = user.role_enum
    if role is Role.PROVIDER_ADMIN:
        return tenancy.SYSTEM
    if role in CLIENT_ROLES:
        return tenancy.tenants([user.tenant_id] if user.tenant_id else [])
    loaded = user.__dict__.get(_ASSIGNED)
    if loaded is not None:
        return tenancy.tenants(loaded)
    with tenancy.system_scope():
        return tenancy.tenants(assigned_tenant_ids(user.id))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    with tenancy.system_scope():
        return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the id carries the session token, so rotating it signs out."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    with tenancy.system_scope():
        # populate_existing: load every attribute now, inside the scope, not lazily later.
        row = db.session.execute(
            _user_with_tenants(), {"user_id": int(user_id)}, execution_options={"populate_existing": True}
        ).first()
    user = row[0] if row is not None else None
    if user is None or not user.is_active or not secrets.compare_digest(user.session_token, token):
        return None
    if len(row) > 1:  # type: ignore[arg-type]
        user.__dict__[_ASSIGNED] = parse_tenant_list(row[1])  # type: ignore[index]
    return user


# The tenants of a signed-in member of the provider's staff, loaded with the user by `load_user`
# for `scope_for` (a plain attribute of the instance, for this request only): two queries on
# every request of an agent were one too many (bench/chat.py, a line from the console).
_ASSIGNED = "_firstline_assigned_tenants"


@functools.cache
def _user_with_tenants() -> Any:
    tenants_column = assigned_tenants_column(User.id)
    columns = [User] if tenants_column is None else [User, tenants_column]
    return select(*columns).where(User.id == bindparam("user_id"))


_DUMMY_HASH: str | None = None


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None; as slow for unknown e-mails as for known ones."""
    global _DUMMY_HASH
    user = find_by_email(email)
    if user is None or not user.is_active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_urlsafe(12))
        with contextlib.suppress(VerificationError):
            _hasher().verify(_DUMMY_HASH, password)
        return None
    with tenancy.system_scope():
        if not _check_password(user, password):
            audit.record("auth.sign_in_failed", tenant_id=user.tenant_id, target=user)
            db.session.flush()
            return None
        user.last_login_at = utcnow()
        with _as(user):
            audit.record("auth.sign_in", tenant_id=user.tenant_id, target=user)
        db.session.flush()
    return user


def _as(user: User) -> Any:
    """Audit what a user does at the moment they prove who they are."""
    return audit.acting_as(audit.Actor(user.id, user.email, audit.current_actor().ip))


def _validate_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(fields={field: _("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)})


def valid_timezone(name: str) -> bool:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return name in _TIMEZONES


def create_user(
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    tenant_id: int | None = None,
    locale: str | None = None,
    timezone: str | None = None,
) -> User:
    errors: dict[str, str] = {}
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors["email"] = _("Must be a valid e-mail address.")
    if not name.strip():
        errors["name"] = _("This field is required.")
    if role in CLIENT_ROLES and tenant_id is None:
        errors["tenant_id"] = _("Client users belong to a client company.")
    if role not in CLIENT_ROLES and tenant_id is not None:
        errors["tenant_id"] = _("Provider staff do not belong to a client company.")
    if locale is not None and locale not in current_app.config["LANGUAGES"]:
        errors["locale"] = _("This language is not available.")
    if timezone is not None and not valid_timezone(timezone):
        errors["timezone"] = _("Unknown time zone.")
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
    if "email" not in errors and find_by_email(email) is not None:
        errors["email"] = _("An account with this e-mail address exists already.")
    if errors:
        raise ValidationFailed(fields=errors)
    user = User(
        email=email,
        name=name.strip(),
        role=role.value,
        password_hash=hash_password(password),
        tenant_id=tenant_id,
        locale=locale,
        timezone=timezone,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", tenant_id=tenant_id, target=user, data={"role": role.value})
    return user


def update_profile(user: User, *, name: str, locale: str | None, timezone: str | None) -> User:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("This field is required.")
    if locale and locale not in current_app.config["LANGUAGES"]:
        errors["locale"] = _("This language is not available.")
    if timezone and not valid_timezone(timezone):
        errors["timezone"] = _("Unknown time zone.")
    if errors:
        raise ValidationFailed(fields=errors)
    user.name, user.locale, user.timezone = name.strip(), locale or None, timezone or None
    audit.record("user.profile_updated", tenant_id=user.tenant_id, target=user)
    return user


def set_locale(user: User, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationFailed(fields={"locale": _("This language is not available.")})
    user.locale = locale


def _sign_out_everywhere(user: User) -> None:
    user.session_token = new_session_token()
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def deactivate(user: User) -> None:
    """A deactivated account cannot sign in, and its sessions and API tokens end at once (the
    next request of any of them finds a different session token)."""
    user.is_active = False
    _sign_out_everywhere(user)


def change_password(user: User, *, current: str, new: str) -> None:
    """Also ends every other session and revokes every API token of the user."""
    if not _check_password(user, current):
        raise ValidationFailed(fields={"current_password": _("The current password is wrong.")})
    _validate_password(new, "new_password")
    user.password_hash = hash_password(new)
    _sign_out_everywhere(user)
    audit.record("auth.password_changed", tenant_id=user.tenant_id, target=user)


# --- password reset by e-mail -----------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def request_password_reset(email: str, reset_url_for: object) -> None:
    """Mail a reset link; says nothing about whether the address has an account."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        return
    token = _reset_serializer().dumps({"id": user.id, "st": user.session_token})
    url = reset_url_for(token)  # type: ignore[operator]
    with force_locale(locale_of(user)):
        subject = _("Reset your Firstline password")
        text = render_template("auth/email/reset.txt", user=user, url=url)
    with tenancy.system_scope():
        send_email(
            to=user.email,
            subject=subject,
            text=text,
            tenant_id=user.tenant_id,
            headers={"Auto-Submitted": "auto-generated"},
        )
        audit.record("auth.password_reset_requested", tenant_id=user.tenant_id, target=user)
        db.session.flush()


def user_for_link(serializer: URLSafeTimedSerializer, token: str, max_age: int, expired: str) -> User:
    """The user a mailed one-time link names (call inside a system scope). The token embeds the
    user's session token, so it works once and dies with a password change; `expired` is the
    message for a link that is too old."""
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationFailed(expired) from None
    except BadSignature:
        raise ValidationFailed(_("This link is not valid.")) from None
    user = db.session.get(User, int(data.get("id", 0)))
    if (
        user is None
        or not user.is_active
        or not secrets.compare_digest(user.session_token, str(data.get("st")))
    ):
        raise ValidationFailed(_("This link is not valid."))
    return user


def reset_password(token: str, new: str) -> User:
    with tenancy.system_scope():
        user = user_for_link(
            _reset_serializer(),
            token,
            current_app.config["PASSWORD_RESET_TTL_SECONDS"],
            _("This link has expired; ask for a new one."),
        )
        set_password(user, new)
        audit.record("auth.password_reset", tenant_id=user.tenant_id, target=user)
        db.session.flush()
    return user


# --- API tokens -------------------------------------------------------------------------------


def set_password(user: User, new: str) -> None:
    """A new password signs the user out everywhere (and kills every link that embeds the session)."""
    _validate_password(new)
    user.password_hash = hash_password(new)
    _sign_out_everywhere(user)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str = "api") -> tuple[str, ApiToken]:
    raw = "fl_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_digest(raw),
        name=name[:100] or "api",
        expires_at=utcnow() + timedelta(days=current_app.config["API_TOKEN_TTL_DAYS"]),
    )
    db.session.add(token)
    with tenancy.system_scope(), _as(user):
        audit.record("auth.token_issued", tenant_id=user.tenant_id, target=user)
        db.session.flush()
    return raw, token


# Built once: every API request runs it, and building the statement costs more than running it.
_TOKEN_LOOKUP = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    if not raw.startswith("fl_") or len(raw) > 100:
        return None
    now = utcnow()
    with tenancy.system_scope():
        row = db.session.execute(_TOKEN_LOOKUP, {"token_hash": _digest(raw)}).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or token.expires_at <= now or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return user, token


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = utcnow()
