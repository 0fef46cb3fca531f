"""The public pages of the satisfaction survey (`/t/<slug>/rate/<token>`): a link in the mail
records its rating at once (one click) and shows the thank-you page, where the customer may
change the rating and add a comment. In the survey's language and the client's colours, like the
help center and the contact form.

The token in the URL is the customer's key; it is looked up only among the tenant's of the slug,
so another client's token under this slug is a 404. The comment form is CSRF-protected like
every form posted with a visitor's session cookie (the help center's votes).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from core.boundary import enter_tenant
from core.errors import NotFound, ValidationFailed
from core.extensions import db, limiter
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import satisfaction
from tickets.labels import RATING
from tickets.models import SatisfactionSurvey, Ticket
from tickets.services import display_number

bp = Blueprint("rating", __name__, template_folder="templates")
# A visitor's action, limited like the help center's votes; the click is a write, so GET counts.
visitor_limit = limiter.limit(lambda: current_app.config["RATELIMIT_CHAT"])


def _survey(slug: str, token: str) -> tuple[Tenant, SatisfactionSurvey]:
    """The client of the URL and its survey behind the token; the page speaks the survey's language."""
    tenant = tenants.public_tenant(slug)
    enter_tenant(tenant.id, locale=tenant.default_language, timezone=tenant.timezone)
    survey = satisfaction.by_token(tenant.id, token)
    enter_tenant(tenant.id, locale=survey.language, timezone=tenant.timezone)
    return tenant, survey


def _render(
    tenant: Tenant,
    survey: SatisfactionSurvey,
    *,
    errors: dict[str, object] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    ticket = db.session.get_one(Ticket, survey.ticket_id)
    form = request.form if errors else None
    return render_template(
        "tickets/rate.html",
        tenant=tenant,
        survey=survey,
        number=display_number(tenant, ticket),
        ticket=ticket,
        ratings=[(value, RATING[value]) for value in satisfaction.RATINGS],
        chosen=_posted_rating() if form else survey.rating,
        comment=form.get("comment", "") if form else (survey.comment or ""),
        errors=errors or {},
        max_comment=satisfaction.MAX_COMMENT,
        help_url=url_for("help.home", slug=tenant.slug, lang=survey.language),
    ), status


def _posted_rating() -> int | None:
    raw = request.form.get("rating", "")
    return int(raw) if raw.isdigit() and len(raw) < 3 else None


@bp.route("/t/<slug>/rate/<token>", methods=["GET", "POST"])
@visitor_limit
def page(slug: str, token: str) -> Response | tuple[str, int]:
    """Without a rating in the URL: the page to rate, change the rating and add a comment."""
    tenant, survey = _survey(slug, token)
    if request.method == "POST":
        try:
            satisfaction.answer(survey, _posted_rating(), request.form.get("comment", ""), utcnow())
        except ValidationFailed as exc:
            db.session.rollback()
            tenant, survey = _survey(slug, token)
            return _render(tenant, survey, errors=exc.fields, status=exc.status)
        flash(_("Thank you, your answer is saved."), "success")
        return redirect(url_for("rating.page", slug=tenant.slug, token=survey.token))
    return _render(tenant, survey)


@bp.route("/t/<slug>/rate/<token>/<int:rating>")
@visitor_limit
def rate(slug: str, token: str, rating: int) -> tuple[str, int]:
    """The one click from the mail: recorded at once, then the thank-you page."""
    tenant, survey = _survey(slug, token)
    if rating not in satisfaction.RATINGS:
        raise NotFound(_("Ratings go from 1 to 5."))
    if request.method == "GET":  # a link checker's HEAD request rates nothing
        satisfaction.answer(survey, rating, None, utcnow())
    return _render(tenant, survey)
