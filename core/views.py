"""Kernel pages: home, language switch, health check and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from core import audit, nav
from core.auth import services as auth
from core.auth.access import roles_required
from core.auth.roles import Role
from core.extensions import db

bp = Blueprint("core", __name__, template_folder="templates")
PAGE = 50  # audit entries per page


@bp.route("/")
def home() -> str | Response:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("core/home.html", panels=nav.home_panels(current_user.role))


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            auth.set_locale(current_user, locale)
        else:
            session["locale"] = locale
    target = request.form.get("next") or request.referrer or url_for("core.home")
    if not target.startswith("/") or target.startswith("//"):
        # A full referrer URL (or anything else): keep its path only, never another host.
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return redirect(target)


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001
        database = "down"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status


def _day(value: str | None, errors: dict[str, str], field: str, *, end: bool = False) -> datetime | None:
    """The start of a day in the viewer's time zone (or of the next one, for an inclusive end)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Give a date such as 2026-03-31.")
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(str(get_timezone())))


@bp.route("/admin/audit")
@roles_required(Role.PROVIDER_ADMIN)
def audit_log() -> str:
    args = request.args
    errors: dict[str, str] = {}
    tenant_raw = args.get("tenant", "")
    flt = audit.AuditFilter(
        tenant_id=int(tenant_raw) if tenant_raw.isdigit() else None,
        action=args.get("action", "").strip() or None,
        actor=args.get("actor", "").strip() or None,
        since=_day(args.get("since"), errors, "since"),
        until=_day(args.get("until"), errors, "until", end=True),
    )
    before = args.get("before", "")
    events = audit.search(flt, before_id=int(before) if before.isdigit() else None, limit=PAGE + 1)
    filters = {k: v for k, v in args.items() if k != "before" and v}
    older_url = None
    if len(events) > PAGE:
        older_url = url_for("core.audit_log", before=events[PAGE - 1].id, **filters)
    tenants = nav.tenant_choices()
    return render_template(
        "core/audit.html",
        events=events[:PAGE],
        older_url=older_url,
        newest_url=url_for("core.audit_log", **filters) if before else None,
        flt=flt,
        errors=errors,
        tenants=tenants,
        tenant_names=dict(tenants),
    )
