"""Knowledge-base search behind one interface, whatever the database.

Services call `index` after they change a text and `search` to find articles; the backend is
chosen by the database dialect. Every search is for exactly one tenant, and the results are
loaded back through the ORM, so the tenancy criteria apply on top of the backend's own filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from core.extensions import db
from knowledge.models import Article, ArticleStatus, ArticleTranslation, Visibility


@dataclass(frozen=True)
class Hit:
    article_id: int
    translation_id: int
    language: str
    title: str
    snippet: str  # HTML: escaped text with the matches in <mark>
    score: float


def index(translation_ids: Iterable[int]) -> None:
    """Bring the index up to date for these texts (after a save, in the same transaction)."""


def unindex(translation_ids: Iterable[int]) -> None:
    """Forget these texts (before they are deleted)."""


def search(
    tenant_id: int,
    query: str,
    *,
    languages: Sequence[str] | None = None,
    public_only: bool = False,
    statuses: Sequence[str] = (ArticleStatus.PUBLISHED.value,),
    limit: int = 10,
) -> list[Hit]:
    """The best matches of one tenant for a free-text query (placeholder: substring match)."""
    words = [w for w in query.split() if len(w) > 2][:8]
    if not words:
        return []
    stmt = (
        select(ArticleTranslation)
        .join(Article, Article.id == ArticleTranslation.article_id)
        .where(ArticleTranslation.tenant_id == tenant_id, Article.status.in_(list(statuses)))
        .where(
            or_(
                *[ArticleTranslation.title.ilike(f"%{w}%") for w in words],
                *[ArticleTranslation.body.ilike(f"%{w}%") for w in words],
            )
        )
        .limit(limit)
    )
    if languages:
        stmt = stmt.where(ArticleTranslation.language.in_(list(languages)))
    if public_only:
        stmt = stmt.where(Article.visibility == Visibility.PUBLIC.value)
    return [Hit(t.article_id, t.id, t.language, t.title, t.body[:200], 1.0) for t in db.session.scalars(stmt)]
