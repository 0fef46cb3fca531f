"""The platform health page (/admin/health) and its retry buttons, for provider admins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from babel.units import format_unit
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from admin import health
from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import Conflict, NotFound
from sla.labels import duration
from tenants import services as tenants

bp = Blueprint("health", __name__, url_prefix="/admin/health", template_folder="templates")
admins = roles_required(Role.PROVIDER_ADMIN)

WARNINGS = {
    "redis_unreachable": _l("Redis cannot be reached: queued jobs wait until it is back."),
    "failed_jobs": _l("Some jobs failed for good; retry them once the cause is fixed."),
    "failed_inbound": _l("Some contacts could not become tickets."),
    "stuck_inbound": _l("Some contacts have waited for processing for more than five minutes."),
    "dead_outbox": _l("Some outgoing messages were given up on."),
    "failed_webhooks": _l("Some webhooks to the clients' systems failed."),
    "scheduler_stale": _l("The scheduler has not run recently: no sweep (SLA, outbox relay, retries) runs."),
    "sweep_overdue": _l("A periodic sweep is overdue."),
}


def span(delta: timedelta) -> str:
    """'45 s' under a minute (heartbeats, the relay's 30 s), else sla's '1 hr, 25 min'."""
    if delta < timedelta(minutes=1):
        return format_unit(int(delta.total_seconds()), "duration-second", length="short", locale=get_locale())
    return duration(delta)


@bp.route("")
@admins
def page() -> str:
    return render_template(
        "admin/health.html",
        health=health.check(),
        warnings=WARNINGS,
        tenants={t.id: t.name for t in tenants.visible_tenants()},
        span=span,
    )


def _retried(action: Callable[[], object], done: str) -> Response:
    try:
        action()
    except (Conflict, NotFound) as exc:
        flash(str(exc.message), "error")
    else:
        flash(done, "success")
    return redirect(url_for("health.page"))


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
@admins
def retry_job(job_id: str) -> Response:
    return _retried(lambda: health.retry_job(job_id), _("The job is queued again."))


@bp.route("/outbox/<int:outbox_id>/retry", methods=["POST"])
@admins
def retry_outbox(outbox_id: int) -> Response:
    return _retried(lambda: health.retry_outbox(outbox_id), _("The message is being sent again."))


@bp.route("/webhooks/<int:delivery_id>/retry", methods=["POST"])
@admins
def retry_webhook(delivery_id: int) -> Response:
    return _retried(lambda: health.retry_webhook(delivery_id), _("The webhook is being delivered again."))
