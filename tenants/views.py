"""Pages about client companies: the staff's list, and each client's public landing page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, url_for

from core.auth.access import roles_required
from core.auth.roles import PROVIDER_ROLES
from core.boundary import enter_tenant
from core.models_base import utcnow
from tenants import services

bp = Blueprint("tenants", __name__, template_folder="templates")


def local_time(timezone: str, now: datetime | None = None) -> datetime:
    return (now or utcnow()).astimezone(ZoneInfo(timezone))


@bp.route("/tenants")
@roles_required(*PROVIDER_ROLES)
def index() -> str:
    tenants = services.visible_tenants()
    return render_template("tenants/index.html", tenants=tenants, local_time=local_time)


@bp.route("/t/<slug>/")
def public_home(slug: str) -> str:
    tenant = services.public_tenant(slug)
    enter_tenant(tenant.id, locale=tenant.default_language, timezone=tenant.timezone)
    channels = [c for c in services.channels_of(tenant.id) if c.kind in ("email", "phone")]
    key = services.chat_key(tenant.id)
    # The client's own pages embed the chat the same way: one script tag with the widget key.
    widget = url_for("chat.loader", key=key) if key else None
    return render_template("tenants/public_home.html", tenant=tenant, channels=channels, chat_widget=widget)
