"""The public help center of each client (`/t/<slug>/help`): its public answers, searchable, in
the client's languages, with "was this helpful?" votes and the way to the contact form."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from core.boundary import enter_tenant
from core.errors import ValidationFailed
from core.extensions import limiter
from knowledge import files, gaps
from knowledge import help_center as center
from knowledge.models import Article
from tenants import services as tenants
from tenants.models import Tenant
from tickets import attachments

bp = Blueprint("help", __name__, template_folder="templates")

LANGUAGE_KEY = "help_language"  # {tenant id: language}, the visitor's choice per client
VISITOR_KEY = "help_visitor"  # a random id, hashed per client into the votes


def _enter(slug: str) -> tuple[Tenant, str]:
    """The client of the URL, and the visitor's language: the one asked for (`?lang=`), else the
    one chosen before for this client, else the browser's, else the client's default."""
    tenant = tenants.public_tenant(slug)
    chosen: dict[str, str] = session.get(LANGUAGE_KEY) or {}
    requested = request.args.get("lang", "")
    language = center.pick_language(
        tenant,
        requested,
        chosen.get(str(tenant.id)),
        request.accept_languages.best_match(tenant.languages),
    )
    if requested == language and chosen.get(str(tenant.id)) != language:
        session[LANGUAGE_KEY] = {**chosen, str(tenant.id): language}
    enter_tenant(tenant.id, locale=language, timezone=tenant.timezone)
    return tenant, language


def _voter(tenant: Tenant, *, create: bool) -> str | None:
    visitor = session.get(VISITOR_KEY)
    if not visitor and create:
        visitor = session[VISITOR_KEY] = secrets.token_urlsafe(24)
    return center.voter_key(current_app.config["SECRET_KEY"], tenant.id, visitor) if visitor else None


def _article_url(tenant: Tenant, article_id: int, title: str, language: str, **anchor: Any) -> str:
    return url_for(
        "help.article",
        slug=tenant.slug,
        article_id=article_id,
        title_slug=center.title_slug(title) or None,
        lang=language,
        **anchor,
    )


def _file_url(tenant: Tenant) -> Callable[[int], str]:
    return lambda file_id: url_for("help.file", slug=tenant.slug, file_id=file_id)


def _render(template: str, tenant: Tenant, language: str, **context: Any) -> str:
    # The same page in each of the client's languages, by the language's own name.
    endpoint, here = request.endpoint or "help.home", {**request.args.to_dict(), **(request.view_args or {})}
    switch = [
        (code, center.native_name(code), url_for(endpoint, **{**here, "lang": code}))
        for code in tenant.languages
    ]
    return render_template(
        f"knowledge/help/{template}",
        tenant=tenant,
        language=language,
        switch=switch,
        query=context.pop("query", ""),
        article_url=lambda article_id, title: _article_url(tenant, article_id, title, language),
        contact_url=url_for("webform.contact", slug=tenant.slug, lang=language),
        **context,
    )


@bp.route("/t/<slug>/help")
def home(slug: str) -> str:
    tenant, language = _enter(slug)
    return _render("home.html", tenant, language, home=center.home(tenant, language))


@bp.route("/t/<slug>/help/search")
def search(slug: str) -> str:
    tenant, language = _enter(slug)
    query = center.clean_query(request.args.get("q"))
    results = center.find(tenant, query, language)
    return _render(
        "search.html",
        tenant,
        language,
        query=query,
        results=results,
        ask_url=url_for("webform.contact", slug=tenant.slug, lang=language, q=query or None),
    )


@bp.route("/t/<slug>/help/articles/<int:article_id>")
@bp.route("/t/<slug>/help/articles/<int:article_id>-<title_slug>")
def article(slug: str, article_id: int, title_slug: str | None = None) -> str:
    tenant, language = _enter(slug)
    found: Article = center.public_article(tenant, article_id)
    page = center.page(found, language, _file_url(tenant))
    return _render(
        "article.html",
        tenant,
        language,
        page=page,
        my_vote=gaps.vote_of(found, _voter(tenant, create=False)),
    )


@bp.route("/t/<slug>/help/articles/<int:article_id>/vote", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_CHAT"], methods=["POST"])
def vote(slug: str, article_id: int) -> Response:
    """One answer per visitor and article (a second one replaces the first); CSRF-protected like
    every form posted with the visitor's session cookie."""
    tenant, language = _enter(slug)
    found = center.public_article(tenant, article_id)
    answer = request.form.get("helpful", "")
    if answer not in ("yes", "no"):
        raise ValidationFailed(fields={"helpful": _("Invalid value.")})
    page = center.page(found, language, _file_url(tenant))
    gaps.vote(found, page.language, answer == "yes", _voter(tenant, create=True) or "")
    flash(_("Thank you for your feedback."), "success")
    return redirect(_article_url(tenant, found.id, page.title, language, _anchor="feedback"))


@bp.route("/t/<slug>/help/files/<int:file_id>")
def file(slug: str, file_id: int) -> Response:
    """An image or attachment of a public article, served like the desk serves it: sandboxed."""
    tenant = tenants.public_tenant(slug)
    enter_tenant(tenant.id, locale=tenant.default_language, timezone=tenant.timezone)
    item = center.public_file(tenant, file_id)
    return attachments.download(files.path_of(item), item.content_type, item.filename)
