"""Writing an article: a new one with its first text, a language's text, its properties.

Every saved text gets a version (`knowledge.text_history` reads them) and its search entry. Two
people may edit the same text at once: each save names the revision it was based on, and the
second one based on an old revision is refused instead of silently overwriting the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.auth.models import User
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from knowledge import feed, markdown, search
from knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    ChangeKind,
    KbCategory,
    Visibility,
)
from knowledge.services import WRITERS, get_tenant, may_write, require, tenant_of, translation
from tenants.models import Tenant
from tickets import services as tickets

MAX_TITLE = 300
MAX_BODY = 200_000


@dataclass
class ArticleInput:
    tenant_id: int
    language: str
    title: str
    body: str
    category_id: int | None = None
    visibility: str = Visibility.INTERNAL.value
    tags: list[str] | str | None = None


# --- validation -------------------------------------------------------------------------------


def clean_text(tenant: Tenant, language: str, title: str, body: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if language not in tenant.languages:
        errors["language"] = _("This client does not serve customers in that language.")
    if not 1 <= len(title) <= MAX_TITLE:
        errors["title"] = _("Give a title of at most %(max)d characters.", max=MAX_TITLE)
    if not body:
        errors["body"] = _("Write something first.")
    elif len(body) > MAX_BODY:
        errors["body"] = _("The text is too long (at most %(max)d characters).", max=MAX_BODY)
    if errors:
        raise ValidationFailed(fields=errors)
    return title, body


def _clean_properties(
    tenant_id: int, category_id: int | None, visibility: str, tags: list[str] | str | None
) -> tuple[int | None, str, list[str]]:
    errors: dict[str, str] = {}
    if visibility not in {v.value for v in Visibility}:
        errors["visibility"] = _("Invalid value.")
    if category_id is not None:
        category = db.session.get(KbCategory, category_id)
        if category is None or category.tenant_id != tenant_id:
            errors["category_id"] = _("Choose one of this client's categories.")
    clean: list[str] = []
    try:
        clean = tickets.clean_tags(tags or [])
    except ValidationFailed as exc:
        errors["tags"] = str(exc.fields.get("tags", exc.message))
    if errors:
        raise ValidationFailed(fields=errors)
    return category_id, visibility, clean


# --- writing ----------------------------------------------------------------------------------


def _add_version(tr: ArticleTranslation, actor_id: int | None, note: str) -> ArticleVersion:
    number = (
        db.session.scalar(
            select(func.max(ArticleVersion.number)).where(
                ArticleVersion.tenant_id == tr.tenant_id,
                ArticleVersion.article_id == tr.article_id,
                ArticleVersion.language == tr.language,
            )
        )
        or 0
    ) + 1
    version = ArticleVersion(
        tenant_id=tr.tenant_id,
        article_id=tr.article_id,
        language=tr.language,
        number=number,
        title=tr.title,
        body=tr.body,
        note=note[:300],
        author_id=actor_id,
    )
    db.session.add(version)
    return version


def create(
    data: ArticleInput,
    actor: User,
    *,
    source_ticket_id: int | None = None,
    note: str = "",
) -> Article:
    """A new article with its first text. From the desk it is a proposal: it waits in review."""
    tenant = get_tenant(data.tenant_id)
    proposing = actor.role not in WRITERS
    title, body = clean_text(tenant, data.language, data.title, data.body)
    category_id, visibility, tags = _clean_properties(tenant.id, data.category_id, data.visibility, data.tags)
    now = utcnow()
    article = Article(
        tenant_id=tenant.id,
        category_id=category_id,
        visibility=visibility,
        tags=tags,
        status=(ArticleStatus.REVIEW if proposing else ArticleStatus.DRAFT).value,
        created_by_id=actor.id,
        proposed_by_id=actor.id if proposing else None,
        source_ticket_id=source_ticket_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(article)
    db.session.flush()
    tr = _first_text(article, data.language, title, body, actor, now)
    db.session.add(tr)
    db.session.flush()
    _add_version(tr, actor.id, note)
    search.index([tr.id])
    audit.record("article.created", tenant_id=tenant.id, target=article, data={"language": data.language})
    return article


def _first_text(
    article: Article, language: str, title: str, body: str, actor: User, now: datetime
) -> ArticleTranslation:
    """A language's first revision, not yet added to the session."""
    return ArticleTranslation(
        tenant_id=article.tenant_id,
        article_id=article.id,
        language=language,
        title=title,
        body=body,
        body_html=markdown.to_html(body),
        revision=1,
        updated_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )


def save_text(
    article: Article,
    language: str,
    *,
    title: str,
    body: str,
    base_revision: int | None,
    actor: User,
    note: str = "",
    notify: bool = True,
    check: bool = True,
) -> ArticleTranslation:
    """Save one language's text. A save based on an older revision than the stored one is refused:
    the second of two editors must see the first one's change, not overwrite it."""
    if check:
        require(may_write(actor, article))
    tenant = tenant_of(article)
    title, body = clean_text(tenant, language, title, body)
    now = utcnow()
    tr = translation(article, language)
    if tr is None:
        tr = _first_text(article, language, title, body, actor, now)
        try:
            with db.session.begin_nested():
                db.session.add(tr)
        except IntegrityError:
            raise _stale() from None
    else:
        if title == tr.title and body == tr.body:
            return tr
        if base_revision != tr.revision:
            raise _stale()
        changed = db.session.execute(
            update(ArticleTranslation)
            .where(ArticleTranslation.id == tr.id, ArticleTranslation.revision == base_revision)
            .values(
                title=title,
                body=body,
                body_html=markdown.to_html(body),
                revision=base_revision + 1,
                updated_by_id=actor.id,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise _stale()
        db.session.refresh(tr)
    _add_version(tr, actor.id, note)
    article.updated_at = now
    db.session.flush()
    search.index([tr.id])
    if notify and article.status == ArticleStatus.PUBLISHED.value:
        feed.record_change(article, ChangeKind.UPDATED, actor_id=actor.id, languages=[language], summary=note)
    audit.record(
        "article.text_saved", tenant_id=article.tenant_id, target=article, data={"language": language}
    )
    return tr


def _stale() -> Conflict:
    return Conflict(
        _(
            "Someone else saved this text while you were editing it. Your version was not saved: "
            "copy your changes, reload the page and apply them to the current text."
        )
    )


def set_properties(
    article: Article,
    actor: User,
    *,
    category_id: int | None,
    visibility: str,
    tags: list[str] | str | None,
) -> Article:
    require(may_write(actor, article))
    category_id, visibility, clean = _clean_properties(article.tenant_id, category_id, visibility, tags)
    article.category_id, article.visibility, article.tags = category_id, visibility, clean
    article.updated_at = utcnow()
    db.session.flush()
    audit.record("article.updated", tenant_id=article.tenant_id, target=article)
    return article
