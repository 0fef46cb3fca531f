"""The knowledge base over the JSON API: articles and their texts, the review workflow, search,
the agents' feed, and the export.

Everyone signed in reads the articles of the clients in their scope (an id of another client is
a 404, like any record the scope hides); what each role may change is decided by the services:
the client's staff write and approve, the provider's admins write, the desk proposes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import exists, select

from core import tenancy
from core.api import ApiError, Schema, cursor_id, dump, endpoint, page, page_params
from core.auth.roles import Role
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from knowledge import editing, feed, lifecycle, search, services, text_history
from knowledge import export as kb_export
from knowledge.models import Article, ArticleStatus, ArticleTranslation, Visibility
from tenants.models import Tenant
from tickets.api import tenant_in_scope

bp = Blueprint("kb_api", __name__, url_prefix="/api/v1/kb")
TAG = "knowledge"
READERS = tuple(Role)
EXPORTERS = (Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.PROVIDER_ADMIN)
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-zA-Z]{2,4})?$")
MAX_QUERY = 200


# --- shapes -----------------------------------------------------------------------------------


class ArticleOut(BaseModel):
    id: int
    tenant_id: int
    category_id: int | None
    status: str
    visibility: str
    tags: list[str]
    title: str = Field(description="In the language asked for, else the client's default, else any.")
    language: str = Field(description="The language of `title`.")
    languages: list[str]
    missing_languages: list[str] = Field(description="Languages the client serves that have no text yet.")
    source_ticket_id: int | None
    created_by_id: int | None
    proposed_by_id: int | None
    reviewer_id: int | None
    approved_by_id: int | None
    approved_at: datetime | None
    published_at: datetime | None
    helpful_votes: int
    unhelpful_votes: int
    created_at: datetime
    updated_at: datetime


class TextSummary(BaseModel):
    language: str
    title: str
    revision: int
    updated_by_id: int | None
    updated_at: datetime


class ArticleDetail(ArticleOut):
    translations: list[TextSummary]


class TranslationOut(BaseModel):
    article_id: int
    language: str
    title: str
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="Sanitized HTML, as shown.")
    revision: int = Field(description="Send it back as `base_revision` with the next change.")
    updated_by_id: int | None
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    number: int
    title: str
    body: str
    note: str
    author_id: int | None
    created_at: datetime


class ArticleIn(Schema):
    tenant_id: int
    language: str = Field(min_length=2, max_length=8)
    title: str = Field(min_length=1, max_length=editing.MAX_TITLE)
    body: str = Field(min_length=1, max_length=editing.MAX_BODY)
    category_id: int | None = None
    visibility: Visibility = Visibility.INTERNAL
    tags: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=300)


class ArticlePatch(Schema):
    category_id: int | None = None
    visibility: Visibility | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class TextIn(Schema):
    title: str = Field(min_length=1, max_length=editing.MAX_TITLE)
    body: str = Field(min_length=1, max_length=editing.MAX_BODY)
    base_revision: int | None = Field(
        default=None, ge=1, description="The revision the change is based on; required when the text exists."
    )
    note: str = Field(default="", max_length=300)
    notify: bool = Field(default=True, description="Tell the desk in its feed (published articles).")


class RestoreIn(Schema):
    base_revision: int = Field(ge=1)


class SubmitIn(Schema):
    reviewer_id: int | None = None


class SendBackIn(Schema):
    comment: str = Field(default="", max_length=500)


class HitOut(BaseModel):
    article_id: int
    translation_id: int
    language: str
    title: str
    snippet: str = Field(description="HTML: the text escaped, the matches in <mark>.")
    score: float


class FeedEntryOut(BaseModel):
    id: int
    tenant_id: int
    article_id: int
    kind: str
    title: str
    summary: str
    languages: list[str]
    actor_id: int | None
    acknowledged: bool
    created_at: datetime


class AckOut(BaseModel):
    change_id: int
    acknowledged: bool
    new: bool = Field(description="False when it had been acknowledged before.")


# --- helpers ----------------------------------------------------------------------------------


def _not_found(field: str) -> ApiError:
    return ApiError(404, "not_found", _("Not found."), {field: _("Not found.")})


def _bad_filter(field: str, message: object | None = None) -> ApiError:
    return ApiError(400, "invalid_filter", _("Invalid value."), {field: message or _("Invalid value.")})


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isdigit():
        raise _bad_filter(name, _("Must be a whole number."))
    return int(raw)


def _language_arg(name: str) -> str | None:
    raw = request.args.get(name, "").strip()
    if raw and not LANGUAGE.match(raw):
        raise _bad_filter(name)
    return raw or None


def _one_tenant() -> Tenant:
    """`?tenant_id=`, or the caller's only client when they have one."""
    tenant_id = _int_arg("tenant_id")
    if tenant_id is None:
        scope = tenancy.require()
        if scope.all_tenants or len(scope.tenant_ids) != 1:
            raise ValidationFailed(fields={"tenant_id": _("Choose a client.")})
        tenant_id = next(iter(scope.tenant_ids))
    return tenant_in_scope(tenant_id)


def _listed(items: Sequence[Any], serialize: Callable[[Any], Mapping[str, Any]]) -> dict[str, Any]:
    return {"data": [serialize(item) for item in items], "next_cursor": None}


def _article(article_id: int) -> Article:
    return services.get(article_id)


def _text(article: Article, language: str) -> ArticleTranslation:
    found = services.translation(article, language) if LANGUAGE.match(language) else None
    if found is None:
        raise NotFound(_("This article has no text in that language yet."))
    return found


def _summaries(articles: Sequence[Article], language: str | None) -> list[dict[str, Any]]:
    """Each article with its title in `language` (else the client's default, else any) and the
    languages it has and lacks: two queries for a whole page."""
    if not articles:
        return []
    texts: dict[int, dict[str, tuple[str, int, int | None, datetime]]] = {}
    for article_id, lang, title, revision, by, at in db.session.execute(
        select(
            ArticleTranslation.article_id,
            ArticleTranslation.language,
            ArticleTranslation.title,
            ArticleTranslation.revision,
            ArticleTranslation.updated_by_id,
            ArticleTranslation.updated_at,
        ).where(ArticleTranslation.article_id.in_([a.id for a in articles]))
    ):
        texts.setdefault(article_id, {})[lang] = (title, revision, by, at)
    tenants = {
        t.id: t
        for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({a.tenant_id for a in articles})))
    }
    rows = []
    for article in articles:
        have = texts.get(article.id, {})
        tenant = tenants[article.tenant_id]
        shown = language if language in have else tenant.default_language
        if shown not in have:
            shown = next(iter(sorted(have)), "")
        row = {
            name: getattr(article, name)
            for name in ArticleOut.model_fields
            if name not in {"title", "language", "languages", "missing_languages"}
        }
        row.update(
            title=have[shown][0] if shown else "",
            language=shown,
            languages=sorted(have),
            missing_languages=[lang for lang in tenant.languages if lang not in have],
            translations=[
                {"language": lang, "title": t, "revision": r, "updated_by_id": by, "updated_at": at}
                for lang, (t, r, by, at) in sorted(have.items())
            ],
        )
        rows.append(row)
    return rows


def _detail(article: Article) -> dict[str, Any]:
    return dump(ArticleDetail, _summaries([article], request.args.get("language"))[0])


# --- articles ---------------------------------------------------------------------------------


@endpoint(
    bp,
    "/articles",
    methods=["GET"],
    summary=_l("Knowledge-base articles of the clients you serve, newest first"),
    tag=TAG,
    response=ArticleOut,
    roles=READERS,
    paginated=True,
    query={
        "tenant_id": "one client",
        "status": "draft, review, published or archived",
        "language": "only articles with a text in this language (and their title in it)",
        "missing_language": "only articles that still lack a text in this language of their client",
        "category_id": "one category",
    },
)
def list_articles() -> dict[str, Any]:
    limit, cursor = page_params()
    query = select(Article).order_by(Article.id.desc()).limit(limit + 1)
    before = cursor_id(cursor)
    if before is not None:
        query = query.where(Article.id < before)
    tenant_id = _int_arg("tenant_id")
    if tenant_id is not None:
        query = query.where(Article.tenant_id == tenant_id)
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in ArticleStatus}:
            raise _bad_filter("status")
        query = query.where(Article.status == status)
    category_id = _int_arg("category_id")
    if category_id is not None:
        query = query.where(Article.category_id == category_id)

    def has_text(language: str) -> Any:
        return exists().where(
            ArticleTranslation.tenant_id == Article.tenant_id,
            ArticleTranslation.article_id == Article.id,
            ArticleTranslation.language == language,
        )

    language = _language_arg("language")
    if language:
        query = query.where(has_text(language))
    missing = _language_arg("missing_language")
    if missing:
        # Missing only where the client serves the language at all.
        serving = [t.id for t in db.session.scalars(select(Tenant)) if missing in t.languages]
        query = query.where(Article.tenant_id.in_(serving), ~has_text(missing))
    rows = list(db.session.scalars(query))
    shown = {row["id"]: row for row in _summaries(rows[:limit], language)}
    return page(rows, limit, lambda a: {"id": a.id}, lambda a: dump(ArticleOut, shown[a.id]))


@endpoint(
    bp,
    "/articles",
    methods=["POST"],
    summary=_l("Write a new article (from the desk: a proposal that waits in review)"),
    tag=TAG,
    body=ArticleIn,
    response=ArticleDetail,
    roles=READERS,
    status=201,
)
def create_article(body: ArticleIn) -> dict[str, Any]:
    tenant = tenant_in_scope(body.tenant_id)
    article = editing.create(
        editing.ArticleInput(
            tenant_id=tenant.id,
            language=body.language,
            title=body.title,
            body=body.body,
            category_id=body.category_id,
            visibility=body.visibility.value,
            tags=body.tags,
        ),
        current_user,
        note=body.note,
    )
    return _detail(article)


@endpoint(
    bp,
    "/articles/<int:article_id>",
    methods=["GET"],
    summary=_l("One article with the state of its texts"),
    tag=TAG,
    response=ArticleDetail,
    roles=READERS,
    query={"language": "the language of the title shown"},
)
def get_article(article_id: int) -> dict[str, Any]:
    return _detail(_article(article_id))


@endpoint(
    bp,
    "/articles/<int:article_id>",
    methods=["PATCH"],
    summary=_l("Change an article's category, visibility or tags"),
    tag=TAG,
    body=ArticlePatch,
    response=ArticleDetail,
    roles=READERS,
)
def patch_article(article_id: int, body: ArticlePatch) -> dict[str, Any]:
    article = _article(article_id)
    given = body.model_fields_set
    editing.set_properties(
        article,
        current_user,
        category_id=body.category_id if "category_id" in given else article.category_id,
        visibility=body.visibility.value if body.visibility is not None else article.visibility,
        tags=body.tags if body.tags is not None else list(article.tags or []),
    )
    return _detail(article)


# --- texts and their history ------------------------------------------------------------------


@endpoint(
    bp,
    "/articles/<int:article_id>/translations/<language>",
    methods=["GET"],
    summary=_l("An article's text in one language"),
    tag=TAG,
    response=TranslationOut,
    roles=READERS,
)
def get_translation(article_id: int, language: str) -> dict[str, Any]:
    return dump(TranslationOut, _text(_article(article_id), language))


@endpoint(
    bp,
    "/articles/<int:article_id>/translations/<language>",
    methods=["PUT"],
    summary=_l("Write an article's text in one language; a change based on an old revision is a 409"),
    tag=TAG,
    body=TextIn,
    response=TranslationOut,
    roles=READERS,
)
def put_translation(article_id: int, language: str, body: TextIn) -> dict[str, Any]:
    article = _article(article_id)
    if not LANGUAGE.match(language):
        raise ValidationFailed(fields={"language": _("Invalid value.")})
    if body.base_revision is None and services.translation(article, language) is not None:
        raise ValidationFailed(
            fields={"base_revision": _("The text exists: send the revision your change is based on.")}
        )
    text = editing.save_text(
        article,
        language,
        title=body.title,
        body=body.body,
        base_revision=body.base_revision,
        actor=current_user,
        note=body.note,
        notify=body.notify,
    )
    return dump(TranslationOut, text)


@endpoint(
    bp,
    "/articles/<int:article_id>/translations/<language>/versions",
    methods=["GET"],
    summary=_l("Every saved version of a text, newest first"),
    tag=TAG,
    response=VersionOut,
    roles=READERS,
)
def list_versions(article_id: int, language: str) -> dict[str, Any]:
    article = _article(article_id)
    _text(article, language)
    return _listed(text_history.versions(article, language), lambda v: dump(VersionOut, v))


@endpoint(
    bp,
    "/articles/<int:article_id>/translations/<language>/versions/<int:number>/restore",
    methods=["POST"],
    summary=_l("Make an old version the current text again (as a new version)"),
    tag=TAG,
    body=RestoreIn,
    response=TranslationOut,
    roles=READERS,
)
def restore_version(article_id: int, language: str, number: int, body: RestoreIn) -> dict[str, Any]:
    article = _article(article_id)
    _text(article, language)
    return dump(
        TranslationOut, text_history.restore(article, language, number, current_user, body.base_revision)
    )


# --- workflow ---------------------------------------------------------------------------------


@endpoint(
    bp,
    "/articles/<int:article_id>/submit",
    methods=["POST"],
    summary=_l("Ask the client to review an article"),
    tag=TAG,
    body=SubmitIn,
    response=ArticleDetail,
    roles=READERS,
)
def submit(article_id: int, body: SubmitIn) -> dict[str, Any]:
    article = _article(article_id)
    lifecycle.submit(article, current_user, reviewer_id=body.reviewer_id)
    return _detail(article)


@endpoint(
    bp,
    "/articles/<int:article_id>/approve",
    methods=["POST"],
    summary=_l("Publish an article (the client's staff): all its texts go live"),
    tag=TAG,
    response=ArticleDetail,
    roles=READERS,
)
def approve(article_id: int) -> dict[str, Any]:
    article = _article(article_id)
    lifecycle.approve(article, current_user)
    return _detail(article)


@endpoint(
    bp,
    "/articles/<int:article_id>/send-back",
    methods=["POST"],
    summary=_l("Send an article in review back to draft, with a comment"),
    tag=TAG,
    body=SendBackIn,
    response=ArticleDetail,
    roles=READERS,
)
def send_back(article_id: int, body: SendBackIn) -> dict[str, Any]:
    article = _article(article_id)
    lifecycle.send_back(article, current_user, body.comment)
    return _detail(article)


@endpoint(
    bp,
    "/articles/<int:article_id>/archive",
    methods=["POST"],
    summary=_l("Withdraw an article"),
    tag=TAG,
    response=ArticleDetail,
    roles=READERS,
)
def archive(article_id: int) -> dict[str, Any]:
    article = _article(article_id)
    lifecycle.archive(article, current_user)
    return _detail(article)


@endpoint(
    bp,
    "/articles/<int:article_id>/reopen",
    methods=["POST"],
    summary=_l("Take an archived article back to draft"),
    tag=TAG,
    response=ArticleDetail,
    roles=READERS,
)
def reopen(article_id: int) -> dict[str, Any]:
    article = _article(article_id)
    lifecycle.reopen(article, current_user)
    return _detail(article)


# --- search, feed, export ---------------------------------------------------------------------


@endpoint(
    bp,
    "/search",
    methods=["GET"],
    summary=_l("Search one client's published articles, internal ones included"),
    tag=TAG,
    response=HitOut,
    roles=READERS,
    query={
        "tenant_id": "the client (optional when you serve one)",
        "q": "the words to find",
        "language": "only texts in this language",
        "limit": "at most this many hits (1-50, default 10)",
    },
)
def search_articles() -> dict[str, Any]:
    tenant = _one_tenant()
    q = " ".join(request.args.get("q", "").split())
    if not q or len(q) > MAX_QUERY:
        raise ApiError(
            422,
            "validation_failed",
            _("Some fields are not valid."),
            {"q": _("Give between 1 and %(max)d characters.", max=MAX_QUERY)},
        )
    language = _language_arg("language")
    raw_limit = request.args.get("limit", "10")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 50:
        raise _bad_filter("limit", _("Must be between 1 and %(max)d.", max=50))
    hits = search.search(
        tenant.id,
        q,
        languages=[language] if language else None,
        public_only=False,
        limit=int(raw_limit),
    )
    return _listed(hits, lambda h: dump(HitOut, h))


@endpoint(
    bp,
    "/feed",
    methods=["GET"],
    summary=_l("What's new in the knowledge base: published, changed and withdrawn articles"),
    tag=TAG,
    response=FeedEntryOut,
    roles=READERS,
    query={
        "unread": "1: only what you have not acknowledged",
        "tenant_id": "one client",
        "limit": "at most this many entries (1-200, default 50)",
    },
)
def list_feed() -> dict[str, Any]:
    tenant_id = _int_arg("tenant_id")
    raw_limit = request.args.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
        raise _bad_filter("limit", _("Must be between 1 and %(max)d.", max=200))
    entries = feed.entries(
        current_user,
        [tenant_id] if tenant_id is not None else None,
        unread_only=request.args.get("unread", "") in {"1", "true", "yes"},
        limit=int(raw_limit),
    )

    def serialize(entry: feed.Entry) -> dict[str, Any]:
        change = entry.change
        return dump(
            FeedEntryOut,
            {
                "id": change.id,
                "tenant_id": change.tenant_id,
                "article_id": change.article_id,
                "kind": change.kind,
                "title": entry.title,
                "summary": change.summary,
                "languages": list(change.languages or []),
                "actor_id": change.actor_id,
                "acknowledged": entry.acknowledged,
                "created_at": change.created_at,
            },
        )

    return _listed(entries, serialize)


@endpoint(
    bp,
    "/feed/<int:change_id>/ack",
    methods=["POST"],
    summary=_l("Acknowledge having read a feed entry (agents and supervisors)"),
    tag=TAG,
    response=AckOut,
    roles=READERS,
)
def acknowledge(change_id: int) -> dict[str, Any]:
    change = feed.get_change(change_id)
    if current_user.role not in feed.READERS:
        raise PermissionDenied(_("Only the desk acknowledges the feed."))
    new = feed.acknowledge(change, current_user)
    return {"change_id": change.id, "acknowledged": True, "new": new}


@endpoint(
    bp,
    "/export",
    methods=["GET"],
    summary=_l("A client's whole knowledge base as JSON: categories, articles, texts and history"),
    tag=TAG,
    roles=EXPORTERS,
    query={"tenant_id": "the client (optional for its own staff)"},
)
def export() -> Response:
    filename, data = kb_export.export_download(_one_tenant().id)
    return send_file(data, mimetype="application/json", as_attachment=True, download_name=filename, max_age=0)
