"""What the knowledge base is missing: searches that found nothing, answers that do not solve.

Every help-center (and desk) search is logged with how many articles it found; the ones that
found nothing, grouped by their normalised text, are questions the client has not answered yet.
Articles the desk consults often without the ticket then being resolved with them, and public
articles that readers mark as not helpful, are answers that need work. The help center's
"was this helpful?" votes are kept here too: one per visitor and article, changeable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTranslation,
    ArticleUse,
    ArticleVote,
    KbSearch,
    SearchSource,
    UseKind,
    Visibility,
)
from tenants.models import Tenant
from tickets.models import Ticket

MAX_QUERY = 200
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SOURCES = frozenset(s.value for s in SearchSource)
# An article is "often consulted" from this many uses in the period, and "rarely resolving"
# when fewer than this share of the tickets it was consulted on were resolved with it.
MIN_USES = 3
MAX_RESOLUTION_RATE = 0.5
# A public article is "not helpful" from this many such votes, outnumbering the helpful ones.
MIN_UNHELPFUL = 3


def normalise_query(query: str | None) -> str:
    """One spelling per question: Unicode-normalised, control characters dropped, whitespace
    collapsed, lower case, at most MAX_QUERY characters."""
    text = unicodedata.normalize("NFKC", query or "")
    text = " ".join(CONTROL.sub(" ", text).split()).lower()
    return text[:MAX_QUERY].rstrip()


def log_search(tenant_id: int, query: str, language: str, source: str, hits: int) -> KbSearch | None:
    """Record one search and how many articles it found; an empty query is not a search."""
    text = normalise_query(query)
    if not text:
        return None
    if source not in SOURCES:
        raise ValueError(f"unknown search source {source!r}")
    row = KbSearch(
        tenant_id=tenant_id,
        query=text,
        language=(language or "")[:8],
        source=source,
        hits=max(0, int(hits)),
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- votes ------------------------------------------------------------------------------------


def vote(article: Article, language: str, helpful: bool, voter_key: str) -> ArticleVote:
    """A visitor's "was this helpful?" answer. One per visitor and article: a second answer
    replaces the first, and the article's counters move with it."""
    if article.status != ArticleStatus.PUBLISHED.value or article.visibility != Visibility.PUBLIC.value:
        raise NotFound(_("Not found."))
    if not voter_key or len(voter_key) > 64:
        raise ValidationFailed(fields={"voter": _("Invalid value.")})
    existing = _vote_of(article, voter_key)
    if existing is None:
        existing = ArticleVote(
            tenant_id=article.tenant_id,
            article_id=article.id,
            language=(language or "")[:8],
            helpful=helpful,
            voter=voter_key,
        )
        try:
            with db.session.begin_nested():
                db.session.add(existing)
        except IntegrityError:
            # The same visitor's other request won the race: change that vote instead.
            existing = _vote_of(article, voter_key)
            if existing is None:
                raise
        else:
            _count(article, helpful=1 if helpful else 0, unhelpful=0 if helpful else 1)
            return existing
    if existing.helpful != helpful:
        existing.helpful = helpful
        existing.language = (language or "")[:8]
        existing.created_at = utcnow()
        step = 1 if helpful else -1
        _count(article, helpful=step, unhelpful=-step)
    return existing


def _vote_of(article: Article, voter_key: str) -> ArticleVote | None:
    return db.session.scalar(
        select(ArticleVote).where(
            ArticleVote.tenant_id == article.tenant_id,
            ArticleVote.article_id == article.id,
            ArticleVote.voter == voter_key,
        )
    )


def _count(article: Article, *, helpful: int, unhelpful: int) -> None:
    """Move the counters in the database (concurrent votes add up), then reload them."""
    db.session.execute(
        update(Article)
        .where(Article.id == article.id)
        .values(
            helpful_votes=Article.helpful_votes + helpful,
            unhelpful_votes=Article.unhelpful_votes + unhelpful,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.refresh(article, ["helpful_votes", "unhelpful_votes"])


def vote_of(article: Article, voter_key: str | None) -> ArticleVote | None:
    """The visitor's current answer, to show which button they pressed."""
    return _vote_of(article, voter_key) if voter_key else None


# --- content gaps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingAnswer:
    """A question searched for that found nothing."""

    query: str
    count: int
    last_seen: datetime
    languages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WeakArticle:
    """An article consulted on tickets that were rarely resolved with it."""

    article_id: int
    title: str
    status: str
    visibility: str
    uses: int
    tickets: int
    resolved: int

    @property
    def rate(self) -> float:
        return self.resolved / self.tickets if self.tickets else 0.0


@dataclass(frozen=True)
class UnhelpfulArticle:
    """A public article its readers mark as not helpful."""

    article_id: int
    title: str
    status: str
    helpful: int
    unhelpful: int


@dataclass(frozen=True)
class ContentGaps:
    since: datetime
    missing: list[MissingAnswer]
    weak: list[WeakArticle]
    unhelpful: list[UnhelpfulArticle]

    @property
    def empty(self) -> bool:
        return not (self.missing or self.weak or self.unhelpful)


def content_gaps(
    tenant_id: int,
    *,
    days: int = 30,
    limit: int = 50,
    language: str | None = None,
    now: datetime | None = None,
) -> ContentGaps:
    """The client's content gaps over the last `days`: questions without an answer, answers
    consulted without resolving, and public answers readers found unhelpful. Titles are given
    in `language` when the article has it, else in the client's default language."""
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(_("Not found."))
    since = (now or utcnow()) - timedelta(days=days)
    weak = _weak_articles(tenant_id, since, limit)
    unhelpful = _unhelpful_articles(tenant_id, since, limit)
    titles = _titles(tenant, [w[0].id for w in weak] + [u[0].id for u in unhelpful], language)
    return ContentGaps(
        since=since,
        missing=_missing_answers(tenant_id, since, limit),
        weak=[
            WeakArticle(a.id, titles.get(a.id, ""), a.status, a.visibility, uses, tickets, resolved)
            for a, uses, tickets, resolved in weak
        ],
        unhelpful=[
            UnhelpfulArticle(a.id, titles.get(a.id, ""), a.status, helpful, unhelpful_count)
            for a, helpful, unhelpful_count in unhelpful
        ],
    )


def _missing_answers(tenant_id: int, since: datetime, limit: int) -> list[MissingAnswer]:
    """Zero-hit searches by query, most asked first. A question that has since found an
    answer (a later search of it had hits) is no longer a gap."""
    rows = db.session.execute(
        select(KbSearch.query, KbSearch.language, func.count(), func.max(KbSearch.created_at))
        .where(KbSearch.tenant_id == tenant_id, KbSearch.hits == 0, KbSearch.created_at >= since)
        .group_by(KbSearch.query, KbSearch.language)
    ).all()
    counts: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    languages: dict[str, set[str]] = {}
    for query, language, count, last in rows:
        counts[query] = counts.get(query, 0) + int(count)
        last_seen[query] = max(last_seen.get(query, last), last)
        languages.setdefault(query, set()).add(language)
    if not counts:
        return []
    answered = dict(
        db.session.execute(
            select(KbSearch.query, func.max(KbSearch.created_at))
            .where(
                KbSearch.tenant_id == tenant_id,
                KbSearch.hits > 0,
                KbSearch.created_at >= since,
                KbSearch.query.in_(list(counts)),
            )
            .group_by(KbSearch.query)
        ).all()
    )
    found = [
        MissingAnswer(query, count, last_seen[query], sorted(languages[query]))
        for query, count in counts.items()
        if query not in answered or answered[query] < last_seen[query]
    ]
    found.sort(key=lambda m: (-m.count, -m.last_seen.timestamp(), m.query))
    return found[:limit]


def _weak_articles(tenant_id: int, since: datetime, limit: int) -> list[tuple[Article, int, int, int]]:
    kinds = [UseKind.VIEWED.value, UseKind.INSERTED.value]
    uses = (
        select(
            ArticleUse.article_id.label("article_id"),
            func.count().label("uses"),
            func.count(func.distinct(ArticleUse.ticket_id)).label("tickets"),
        )
        .where(
            ArticleUse.tenant_id == tenant_id,
            ArticleUse.kind.in_(kinds),
            ArticleUse.created_at >= since,
        )
        .group_by(ArticleUse.article_id)
        .having(func.count() >= MIN_USES)
        .subquery()
    )
    counted = {
        article_id: (int(n_uses), int(n_tickets))
        for article_id, n_uses, n_tickets in db.session.execute(
            select(uses.c.article_id, uses.c.uses, uses.c.tickets)
        )
    }
    if not counted:
        return []
    # Of the tickets it was consulted on in the period, those resolved with its answer.
    resolved = dict(
        db.session.execute(
            select(ArticleUse.article_id, func.count(func.distinct(Ticket.id)))
            .join(
                Ticket,
                and_(
                    Ticket.id == ArticleUse.ticket_id,
                    Ticket.kb_article_id == ArticleUse.article_id,
                    Ticket.kb_resolution.is_(True),
                ),
            )
            .where(
                ArticleUse.tenant_id == tenant_id,
                Ticket.tenant_id == tenant_id,
                ArticleUse.article_id.in_(list(counted)),
                ArticleUse.kind.in_(kinds),
                ArticleUse.created_at >= since,
            )
            .group_by(ArticleUse.article_id)
        ).all()
    )
    articles = {
        a.id: a
        for a in db.session.scalars(
            select(Article).where(Article.tenant_id == tenant_id, Article.id.in_(list(counted)))
        )
    }
    rows = []
    for article_id, (n_uses, n_tickets) in counted.items():
        n_resolved = int(resolved.get(article_id, 0))
        rate = n_resolved / n_tickets if n_tickets else 0.0
        if article_id in articles and rate < MAX_RESOLUTION_RATE:
            rows.append((articles[article_id], n_uses, n_tickets, n_resolved))
    rows.sort(key=lambda r: (-(r[2] - r[3]), -r[1], r[0].id))
    return rows[:limit]


def _unhelpful_articles(tenant_id: int, since: datetime, limit: int) -> list[tuple[Article, int, int]]:
    helpful = func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0))
    unhelpful = func.sum(case((ArticleVote.helpful.is_(True), 0), else_=1))
    rows = db.session.execute(
        select(Article, helpful, unhelpful)
        .join(ArticleVote, ArticleVote.article_id == Article.id)
        .where(
            Article.tenant_id == tenant_id,
            ArticleVote.tenant_id == tenant_id,
            Article.visibility == Visibility.PUBLIC.value,
            Article.status == ArticleStatus.PUBLISHED.value,
            ArticleVote.created_at >= since,
        )
        .group_by(Article.id)
        .having(and_(unhelpful >= MIN_UNHELPFUL, unhelpful > helpful))
        .order_by(unhelpful.desc(), Article.id)
        .limit(limit)
    ).all()
    return [(article, int(yes or 0), int(no or 0)) for article, yes, no in rows]


def _titles(tenant: Tenant, article_ids: list[int], language: str | None) -> dict[int, str]:
    if not article_ids:
        return {}
    texts: dict[int, dict[str, str]] = {}
    for article_id, lang, title in db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.language, ArticleTranslation.title).where(
            ArticleTranslation.tenant_id == tenant.id, ArticleTranslation.article_id.in_(article_ids)
        )
    ):
        texts.setdefault(article_id, {})[lang] = title
    titles = {}
    for article_id, have in texts.items():
        titles[article_id] = (
            have.get(language or "") or have.get(tenant.default_language) or next(iter(have.values()), "")
        )
    return titles
