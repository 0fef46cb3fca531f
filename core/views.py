"""Kernel pages: home, language switch, health check and the audit log."""

from __future__ import annotations

from datetime import datetime, time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_timezone
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from core import audit, nav
from core.auth import services as auth
from core.auth.access import roles_required
from core.auth.roles import Role
from core.extensions import db

bp = Blueprint("core", __name__, template_folder="templates")


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


def _day(value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    tz = get_timezone()
    moment = datetime.combine(day, time.max if end else time.min).replace(tzinfo=tz)
    return moment


@bp.route("/admin/audit")
@roles_required(Role.PROVIDER_ADMIN)
def audit_log() -> str:
    tenant_raw = request.args.get("tenant", "")
    flt = audit.AuditFilter(
        tenant_id=int(tenant_raw) if tenant_raw.isdigit() else None,
        action=request.args.get("action") or None,
        actor=request.args.get("actor") or None,
        since=_day(request.args.get("since")),
        until=_day(request.args.get("until"), end=True),
    )
    before = request.args.get("before", "")
    events = audit.search(flt, before_id=int(before) if before.isdigit() else None, limit=51)
    older_url = None
    if len(events) > 50:
        args = {k: v for k, v in request.args.items() if k != "before"}
        older_url = url_for("core.audit_log", before=events[49].id, **args)
    tenants = nav.tenant_choices()
    return render_template(
        "core/audit.html",
        events=events[:50],
        older_url=older_url,
        flt=flt,
        tenants=tenants,
        tenant_names=dict(tenants),
    )
