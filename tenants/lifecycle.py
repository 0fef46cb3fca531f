"""A client's life on the platform: suspension and reactivation (offboarding is in
tenants.offboarding).

A suspended tenant keeps receiving its customers' contacts, so none is lost; what stops is up to
the callers (the desk shows the reason, billing stops pushing). The reason is kept on the tenant
so that agents and the client's staff can be told why: the desk and the portal show it, and the
client's admins get it by mail, each in their own language.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.i18n import locale_of
from core.mail import send_email
from core.models_base import utcnow
from tenants.models import Tenant, TenantStatus


def suspend(tenant: Tenant, reason: str, *, source: str = "admin") -> None:
    """`source` says who decided (admin, dunning): reactivation after payment only lifts a
    suspension that dunning imposed."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            fields={"reason": _("Say why the client is suspended; agents and the client see it.")}
        )
    if tenant.is_suspended:
        raise Conflict(_("This client is suspended already."))
    tenant.status = TenantStatus.SUSPENDED.value
    tenant.status_reason = reason[:2000]
    tenant.status_changed_at = utcnow()
    audit.record(
        "tenant.suspended", tenant_id=tenant.id, target=tenant, data={"reason": reason, "source": source}
    )
    _tell_client_admins(tenant, "suspended")


def reactivate(tenant: Tenant, *, source: str = "admin") -> None:
    if not tenant.is_suspended:
        raise Conflict(_("This client is not suspended."))
    tenant.status = TenantStatus.ACTIVE.value
    tenant.status_reason = ""
    tenant.status_changed_at = utcnow()
    audit.record("tenant.reactivated", tenant_id=tenant.id, target=tenant, data={"source": source})
    _tell_client_admins(tenant, "reactivated")


def client_admins(tenant_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.tenant_id == tenant_id,
                User.role == Role.CLIENT_ADMIN.value,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _tell_client_admins(tenant: Tenant, event: str) -> None:
    """One mail per admin of the client, in their language, through the outbox."""
    for admin in client_admins(tenant.id):
        with force_locale(locale_of(admin, tenant.default_language)):
            if event == "suspended":
                subject = _("%(client)s: service suspended", client=tenant.name)
            else:
                subject = _("%(client)s: service resumed", client=tenant.name)
            text = render_template(f"tenants/email/{event}.txt", tenant=tenant, user=admin)
        send_email(
            to=admin.email,
            subject=subject,
            text=text,
            tenant_id=tenant.id,
            headers={"Auto-Submitted": "auto-generated"},
        )
