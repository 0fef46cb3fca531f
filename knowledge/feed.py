"""The "what's new" feed: how first-level agents learn what the client changed.

Every publication, change and withdrawal of an article is an entry for the agents assigned to
that client. An agent acknowledges an entry once read; supervisors see, per entry, who has not.
Only agents acknowledge: the client's own staff and the provider's admins read without a trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from agents.models import AgentAssignment
from core.auth.models import User
from core.auth.roles import Role
from core.errors import NotFound
from core.extensions import db
from knowledge.models import Article, ArticleAck, ArticleChange, ArticleTranslation, ChangeKind

# Who is expected to acknowledge: the desk.
READERS = (Role.AGENT.value, Role.SUPERVISOR.value)


def record_change(
    article: Article,
    kind: ChangeKind,
    *,
    actor_id: int | None,
    languages: Iterable[str] = (),
    summary: str = "",
) -> ArticleChange:
    change = ArticleChange(
        tenant_id=article.tenant_id,
        article_id=article.id,
        kind=kind.value,
        summary=(summary or "")[:500],
        languages=sorted(set(languages)),
        actor_id=actor_id,
    )
    db.session.add(change)
    db.session.flush()
    return change


@dataclass(frozen=True)
class Entry:
    change: ArticleChange
    title: str
    acknowledged: bool


def _titles(changes: Sequence[ArticleChange], language: str | None) -> dict[int, str]:
    """Each article's title in the reader's language when it has one, else any of its titles."""
    titles: dict[int, str] = {}
    ids = {c.article_id for c in changes}
    if not ids:
        return titles
    rows = db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.language, ArticleTranslation.title).where(
            ArticleTranslation.article_id.in_(ids)
        )
    )
    for article_id, lang, title in rows:
        if article_id not in titles or lang == language:
            titles[article_id] = title
    return titles


def entries(
    user: User, tenant_ids: Sequence[int] | None = None, *, unread_only: bool = False, limit: int = 100
) -> list[Entry]:
    acked = exists().where(
        ArticleAck.tenant_id == ArticleChange.tenant_id,
        ArticleAck.change_id == ArticleChange.id,
        ArticleAck.user_id == user.id,
    )
    stmt = (
        select(ArticleChange, acked.label("acked"))
        .order_by(ArticleChange.created_at.desc(), ArticleChange.id.desc())
        .limit(limit)
    )
    if tenant_ids is not None:
        stmt = stmt.where(ArticleChange.tenant_id.in_(list(tenant_ids)))
    if unread_only:
        stmt = stmt.where(~acked)
    rows = db.session.execute(stmt).all()
    titles = _titles([row[0] for row in rows], user.locale)
    return [Entry(change, titles.get(change.article_id, ""), bool(ack)) for change, ack in rows]


def unread_count(user: User, tenant_ids: Sequence[int] | None = None) -> int:
    if user.role not in READERS:
        return 0
    acked = exists().where(
        ArticleAck.tenant_id == ArticleChange.tenant_id,
        ArticleAck.change_id == ArticleChange.id,
        ArticleAck.user_id == user.id,
    )
    stmt = (
        select(func.count())
        .select_from(ArticleChange)
        .where(~acked, ArticleChange.created_at >= user.created_at)
    )
    if tenant_ids is not None:
        stmt = stmt.where(ArticleChange.tenant_id.in_(list(tenant_ids)))
    return db.session.scalar(stmt) or 0


def get_change(change_id: int) -> ArticleChange:
    change = db.session.get(ArticleChange, change_id)
    if change is None:
        raise NotFound(_("Not found."))
    return change


def acknowledge(change: ArticleChange, user: User) -> bool:
    """Mark read; a second acknowledgement (another tab, a double click) changes nothing."""
    already = db.session.scalar(
        select(ArticleAck.id).where(
            ArticleAck.tenant_id == change.tenant_id,
            ArticleAck.change_id == change.id,
            ArticleAck.user_id == user.id,
        )
    )
    if already is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ArticleAck(tenant_id=change.tenant_id, change_id=change.id, user_id=user.id))
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class Readers:
    read: list[tuple[User, ArticleAck]]
    unread: list[User]


def readers(change: ArticleChange) -> Readers:
    """The client's assigned agents who have read this entry, and those who have not yet."""
    assigned = list(
        db.session.scalars(
            select(User)
            .join(AgentAssignment, AgentAssignment.user_id == User.id)
            .where(
                AgentAssignment.tenant_id == change.tenant_id,
                User.role.in_(READERS),
                User.is_active.is_(True),
            )
            .order_by(User.name)
        )
    )
    acks = {
        ack.user_id: ack
        for ack in db.session.scalars(
            select(ArticleAck).where(
                ArticleAck.tenant_id == change.tenant_id, ArticleAck.change_id == change.id
            )
        )
    }
    return Readers(
        read=[(user, acks[user.id]) for user in assigned if user.id in acks],
        unread=[user for user in assigned if user.id not in acks],
    )


def unread_by_change(changes: Sequence[ArticleChange]) -> dict[int, int]:
    """How many assigned agents have not acknowledged each entry, for the supervisors' list:
    two queries for the whole page, not two per entry."""
    if not changes:
        return {}
    tenant_ids = {c.tenant_id for c in changes}
    readers_of: dict[int, set[int]] = {}
    for tenant_id, user_id in db.session.execute(
        select(AgentAssignment.tenant_id, AgentAssignment.user_id)
        .join(User, User.id == AgentAssignment.user_id)
        .where(AgentAssignment.tenant_id.in_(tenant_ids), User.role.in_(READERS), User.is_active.is_(True))
    ):
        readers_of.setdefault(tenant_id, set()).add(user_id)
    acked: dict[int, set[int]] = {}
    for change_id, user_id in db.session.execute(
        select(ArticleAck.change_id, ArticleAck.user_id).where(
            ArticleAck.tenant_id.in_(tenant_ids), ArticleAck.change_id.in_([c.id for c in changes])
        )
    ):
        acked.setdefault(change_id, set()).add(user_id)
    return {c.id: len(readers_of.get(c.tenant_id, set()) - acked.get(c.id, set())) for c in changes}
