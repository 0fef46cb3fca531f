"""Articles as the rest of the app finds them: loading an article and its texts per language, the
listing, and who may do what with them.

Who may do what follows the business: the client's own staff (client_admin, client_expert) write
and approve their company's answers; the provider's admins may write (onboarding a client's
FAQ) but not approve; the desk (agents, supervisors) proposes: a new article of theirs waits in
review, an edit of theirs is a proposal the client accepts or rejects (`knowledge.proposals`).
Writing a text is `knowledge.editing`, the review workflow `knowledge.lifecycle`, a text's
versions `knowledge.text_history`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.auth.roles import CLIENT_ROLES, Role
from core.errors import NotFound, PermissionDenied
from core.extensions import db
from knowledge.models import Article, ArticleStatus, ArticleTranslation
from tenants.models import Tenant

WRITERS = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.PROVIDER_ADMIN})
APPROVERS = CLIENT_ROLES


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


def require(allowed: bool) -> None:
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


def get_tenant(tenant_id: int) -> Tenant:
    """A tenant of the scope. A query, not `session.get`: an object already in the session is
    returned by `get` without asking the database, so without the tenancy criteria (CLI, jobs)."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise NotFound(_("Not found."))
    return tenant


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
