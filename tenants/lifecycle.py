"""A client's life on the platform: suspension and reactivation (and, built on them, offboarding).

A suspended tenant keeps receiving its customers' contacts, so none is lost; what stops is up to
the callers (the desk shows the reason, billing stops pushing). The reason is kept on the tenant
so that agents and the client's staff can be told why.
"""

from __future__ import annotations

from flask_babel import gettext as _

from core import audit
from core.errors import Conflict, ValidationFailed
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


def reactivate(tenant: Tenant, *, source: str = "admin") -> None:
    if not tenant.is_suspended:
        raise Conflict(_("This client is not suspended."))
    tenant.status = TenantStatus.ACTIVE.value
    tenant.status_reason = ""
    tenant.status_changed_at = utcnow()
    audit.record("tenant.reactivated", tenant_id=tenant.id, target=tenant, data={"source": source})
