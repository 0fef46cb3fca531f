"""An article's life: draft, review, published, archived, and back to draft.

Only the client's own staff publish (they approve the content for their company); publishing and
archiving a published article tell the desk's agents through their feed, submitting tells the
client's reviewers by e-mail.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from knowledge import feed, review_mail
from knowledge.labels import STATUS, label
from knowledge.models import Article, ArticleStatus, ChangeKind
from knowledge.services import APPROVERS, may_approve, may_write, require, translations

TRANSITIONS: dict[ArticleStatus, set[ArticleStatus]] = {
    ArticleStatus.DRAFT: {ArticleStatus.REVIEW, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED},
    ArticleStatus.REVIEW: {ArticleStatus.DRAFT, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED},
    ArticleStatus.PUBLISHED: {ArticleStatus.ARCHIVED},
    ArticleStatus.ARCHIVED: {ArticleStatus.DRAFT},
}


def reviewers(tenant_id: int) -> list[User]:
    """The client's own staff, who may review and approve."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.tenant_id == tenant_id, User.role.in_(list(APPROVERS)), User.is_active.is_(True))
            .order_by(User.name)
        )
    )


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
    require(may_write(actor, article))
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
    require(may_approve(actor) and actor.tenant_id == article.tenant_id)
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
    require(may_approve(actor) and actor.tenant_id == article.tenant_id)
    _move(article, ArticleStatus.DRAFT)
    db.session.flush()
    audit.record(
        "article.sent_back", tenant_id=article.tenant_id, target=article, data={"comment": comment[:500]}
    )
    return article


def archive(article: Article, actor: User) -> Article:
    require(may_approve(actor) and actor.tenant_id == article.tenant_id or actor.role == Role.PROVIDER_ADMIN)
    was = _move(article, ArticleStatus.ARCHIVED)
    db.session.flush()
    if was is ArticleStatus.PUBLISHED:
        feed.record_change(article, ChangeKind.ARCHIVED, actor_id=actor.id)
    audit.record("article.archived", tenant_id=article.tenant_id, target=article)
    return article


def reopen(article: Article, actor: User) -> Article:
    require(may_write(actor, article))
    _move(article, ArticleStatus.DRAFT)
    db.session.flush()
    audit.record("article.reopened", tenant_id=article.tenant_id, target=article)
    return article


def status_label(value: str) -> str:
    return label(STATUS, value)
