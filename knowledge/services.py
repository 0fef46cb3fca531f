"""Articles: their texts per language, the review workflow and the history of every text.

Who may do what follows the business: the client's own staff (client_admin, client_expert) write
and approve their company's answers; the provider's admins may write (onboarding a client's
FAQ) but not approve; the desk (agents, supervisors) proposes: a new article of theirs waits in
review, an edit of theirs is a proposal the client accepts or rejects (`knowledge.proposals`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.auth.models import User
from core.auth.roles import CLIENT_ROLES, Role
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from knowledge import feed, markdown, review_mail, search
from knowledge.labels import STATUS, label
from knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    ChangeKind,
    KbCategory,
    Visibility,
)
from tenants.models import Tenant
from tickets import services as tickets

MAX_TITLE = 300
MAX_BODY = 200_000
WRITERS = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.PROVIDER_ADMIN})
APPROVERS = CLIENT_ROLES
TRANSITIONS: dict[ArticleStatus, set[ArticleStatus]] = {
    ArticleStatus.DRAFT: {ArticleStatus.REVIEW, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED},
    ArticleStatus.REVIEW: {ArticleStatus.DRAFT, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED},
    ArticleStatus.PUBLISHED: {ArticleStatus.ARCHIVED},
    ArticleStatus.ARCHIVED: {ArticleStatus.DRAFT},
}


@dataclass
class ArticleInput:
    tenant_id: int
    language: str
    title: str
    body: str
    category_id: int | None = None
    visibility: str = Visibility.INTERNAL.value
    tags: list[str] | str | None = None


# --- permissions ------------------------------------------------------------------------------


def may_write(user: User, article: Article | None = None) -> bool:
    """Edit texts directly. The desk's own proposals stay editable by their author until decided."""
    if user.role in WRITERS:
        return True
    return (
        article is not None
        and article.proposed_by_id == user.id
        and article.status in (ArticleStatus.DRAFT.value, ArticleStatus.REVIEW.value)
    )


def may_approve(user: User) -> bool:
    return user.role in APPROVERS


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


# --- loading ----------------------------------------------------------------------------------


def get(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound(_("Not found."))
    return article


def tenant_of(article: Article) -> Tenant:
    return db.session.get_one(Tenant, article.tenant_id)


def translations(article: Article) -> dict[str, ArticleTranslation]:
    rows = db.session.scalars(
        select(ArticleTranslation).where(
            ArticleTranslation.tenant_id == article.tenant_id, ArticleTranslation.article_id == article.id
        )
    )
    return {row.language: row for row in rows}


def translation(article: Article, language: str) -> ArticleTranslation | None:
    return translations(article).get(language)


def text_for(article: Article, language: str) -> tuple[ArticleTranslation | None, bool]:
    """The text in `language` or else in the client's default language (then marked as fallback),
    or else any text at all."""
    texts = translations(article)
    if language in texts:
        return texts[language], False
    tenant = tenant_of(article)
    fallback = texts.get(tenant.default_language) or next(iter(texts.values()), None)
    return fallback, True


def reviewers(tenant_id: int) -> list[User]:
    """The client's own staff, who may review and approve."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.tenant_id == tenant_id, User.role.in_(list(APPROVERS)), User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def missing_languages(article: Article, tenant: Tenant | None = None) -> list[str]:
    tenant = tenant or tenant_of(article)
    have = translations(article)
    return [lang for lang in tenant.languages if lang not in have]


@dataclass(frozen=True)
class Row:
    article: Article
    title: str
    language: str
    languages: list[str]
    missing: list[str]


def listing(
    tenant_ids: Sequence[int] | None = None,
    *,
    status: str | None = None,
    category_id: int | None = None,
    missing_language: str | None = None,
    language: str | None = None,
    limit: int = 200,
) -> list[Row]:
    """Articles newest first, each with its title in `language` (or the first it has) and the
    tenant languages it still lacks."""
    stmt = select(Article).order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit)
    if tenant_ids is not None:
        stmt = stmt.where(Article.tenant_id.in_(list(tenant_ids)))
    if status:
        stmt = stmt.where(Article.status == status)
    if category_id:
        stmt = stmt.where(Article.category_id == category_id)
    if missing_language:
        stmt = stmt.where(
            ~select(ArticleTranslation.id)
            .where(
                ArticleTranslation.tenant_id == Article.tenant_id,
                ArticleTranslation.article_id == Article.id,
                ArticleTranslation.language == missing_language,
            )
            .exists()
        )
    articles = list(db.session.scalars(stmt))
    if not articles:
        return []
    texts: dict[int, dict[str, str]] = {}
    for article_id, lang, title in db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.language, ArticleTranslation.title).where(
            ArticleTranslation.article_id.in_([a.id for a in articles])
        )
    ):
        texts.setdefault(article_id, {})[lang] = title
    tenants = {
        t.id: t
        for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({a.tenant_id for a in articles})))
    }
    rows = []
    for article in articles:
        have = texts.get(article.id, {})
        missing = [lang for lang in tenants[article.tenant_id].languages if lang not in have]
        if missing_language and missing_language not in tenants[article.tenant_id].languages:
            continue  # not a language of this client: nothing is missing
        shown = language if language in have else tenants[article.tenant_id].default_language
        if shown not in have:
            shown = next(iter(have), "")
        rows.append(Row(article, have.get(shown, ""), shown, sorted(have), missing))
    return rows


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


def get_tenant(tenant_id: int) -> Tenant:
    """A tenant of the scope. A query, not `session.get`: an object already in the session is
    returned by `get` without asking the database, so without the tenancy criteria (CLI, jobs)."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise NotFound(_("Not found."))
    return tenant


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
    tr = ArticleTranslation(
        tenant_id=tenant.id,
        article_id=article.id,
        language=data.language,
        title=title,
        body=body,
        body_html=markdown.to_html(body),
        revision=1,
        updated_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(tr)
    db.session.flush()
    _add_version(tr, actor.id, note)
    search.index([tr.id])
    audit.record("article.created", tenant_id=tenant.id, target=article, data={"language": data.language})
    return article


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
        _require(may_write(actor, article))
    tenant = tenant_of(article)
    title, body = clean_text(tenant, language, title, body)
    now = utcnow()
    tr = translation(article, language)
    if tr is None:
        tr = ArticleTranslation(
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
    _require(may_write(actor, article))
    category_id, visibility, clean = _clean_properties(article.tenant_id, category_id, visibility, tags)
    article.category_id, article.visibility, article.tags = category_id, visibility, clean
    article.updated_at = utcnow()
    db.session.flush()
    audit.record("article.updated", tenant_id=article.tenant_id, target=article)
    return article


# --- workflow ---------------------------------------------------------------------------------


def _move(article: Article, target: ArticleStatus) -> ArticleStatus:
    current = ArticleStatus(article.status)
    if target not in TRANSITIONS[current]:
        raise Conflict(
            _(
                "An article that is %(old)s cannot become %(new)s.",
                old=status_label(current.value),
                new=status_label(target.value),
            )
        )
    article.status = target.value
    article.updated_at = utcnow()
    return current


def submit(article: Article, actor: User, reviewer_id: int | None = None) -> Article:
    """Ask the client to review. A reviewer, when named, must be one of the client's own staff."""
    _require(may_write(actor, article))
    if reviewer_id is not None:
        reviewer = db.session.get(User, reviewer_id)
        if reviewer is None or reviewer.tenant_id != article.tenant_id or reviewer.role not in APPROVERS:
            raise ValidationFailed(fields={"reviewer_id": _("Choose one of the client's staff.")})
        article.reviewer_id = reviewer_id
    _move(article, ArticleStatus.REVIEW)
    db.session.flush()
    audit.record("article.submitted", tenant_id=article.tenant_id, target=article)
    review_mail.tell_reviewers(article, actor, translations(article))
    return article


def approve(article: Article, actor: User) -> Article:
    """Publish: the client approves the content for their company. All its texts go live, and the
    desk's agents get it in their feed."""
    _require(may_approve(actor) and actor.tenant_id == article.tenant_id)
    _move(article, ArticleStatus.PUBLISHED)
    now = utcnow()
    article.approved_by_id, article.approved_at = actor.id, now
    article.published_at = article.published_at or now
    db.session.flush()
    feed.record_change(
        article, ChangeKind.PUBLISHED, actor_id=actor.id, languages=sorted(translations(article))
    )
    audit.record("article.published", tenant_id=article.tenant_id, target=article)
    return article


def send_back(article: Article, actor: User, comment: str = "") -> Article:
    _require(may_approve(actor) and actor.tenant_id == article.tenant_id)
    _move(article, ArticleStatus.DRAFT)
    db.session.flush()
    audit.record(
        "article.sent_back", tenant_id=article.tenant_id, target=article, data={"comment": comment[:500]}
    )
    return article


def archive(article: Article, actor: User) -> Article:
    _require(may_approve(actor) and actor.tenant_id == article.tenant_id or actor.role == Role.PROVIDER_ADMIN)
    was = _move(article, ArticleStatus.ARCHIVED)
    db.session.flush()
    if was is ArticleStatus.PUBLISHED:
        feed.record_change(article, ChangeKind.ARCHIVED, actor_id=actor.id)
    audit.record("article.archived", tenant_id=article.tenant_id, target=article)
    return article


def reopen(article: Article, actor: User) -> Article:
    _require(may_write(actor, article))
    _move(article, ArticleStatus.DRAFT)
    db.session.flush()
    audit.record("article.reopened", tenant_id=article.tenant_id, target=article)
    return article


# --- history ----------------------------------------------------------------------------------


def versions(article: Article, language: str) -> list[ArticleVersion]:
    return list(
        db.session.scalars(
            select(ArticleVersion)
            .where(
                ArticleVersion.tenant_id == article.tenant_id,
                ArticleVersion.article_id == article.id,
                ArticleVersion.language == language,
            )
            .order_by(ArticleVersion.number.desc())
        )
    )


def version(article: Article, language: str, number: int) -> ArticleVersion:
    found = db.session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.tenant_id == article.tenant_id,
            ArticleVersion.article_id == article.id,
            ArticleVersion.language == language,
            ArticleVersion.number == number,
        )
    )
    if found is None:
        raise NotFound(_("Not found."))
    return found


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


def diff(old: ArticleVersion, new: ArticleVersion) -> list[DiffLine]:
    """Line by line, the title first: what a reviewer needs to see what changed."""
    lines = []
    a = [f"# {old.title}", *old.body.splitlines()]
    b = [f"# {new.title}", *new.body.splitlines()]
    for line in difflib.ndiff(a, b):
        code, text = line[:2], line[2:]
        if code == "? ":
            continue
        lines.append(DiffLine({"  ": "same", "+ ": "added", "- ": "removed"}[code], text))
    return lines


def restore(
    article: Article, language: str, number: int, actor: User, base_revision: int
) -> ArticleTranslation:
    old = version(article, language, number)
    return save_text(
        article,
        language,
        title=old.title,
        body=old.body,
        base_revision=base_revision,
        actor=actor,
        note=_("Restored version %(number)d", number=number),
    )


def status_label(value: str) -> str:
    return label(STATUS, value)
