"""The desk's proposed edits of published answers, for the client to accept or reject.

A proposal keeps the text's revision it was written against: when the client accepts it after
the text has changed, the proposal is refused like any stale save, so nobody's change is lost
silently; the client sees both and decides.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.auth.models import User
from core.errors import Conflict, NotFound, PermissionDenied
from core.extensions import db
from core.models_base import utcnow
from knowledge import editing, text_history
from knowledge import services as articles
from knowledge.models import Article, ArticleProposal, ArticleTranslation, ArticleVersion, ProposalStatus


def propose(
    article: Article, language: str, *, title: str, body: str, note: str, actor: User
) -> ArticleProposal:
    tenant = articles.tenant_of(article)
    title, body = editing.clean_text(tenant, language, title, body)
    current = articles.translation(article, language)
    proposal = ArticleProposal(
        tenant_id=article.tenant_id,
        article_id=article.id,
        language=language,
        title=title,
        body=body,
        note=(note or "").strip()[:2000],
        base_revision=current.revision if current else 0,
        proposed_by_id=actor.id,
    )
    db.session.add(proposal)
    db.session.flush()
    audit.record("article.proposal", tenant_id=article.tenant_id, target=article, data={"language": language})
    return proposal


def get(proposal_id: int) -> ArticleProposal:
    proposal = db.session.get(ArticleProposal, proposal_id)
    if proposal is None:
        raise NotFound(_("Not found."))
    return proposal


def open_proposals(tenant_ids: list[int] | None = None) -> list[ArticleProposal]:
    stmt = (
        select(ArticleProposal)
        .where(ArticleProposal.status == ProposalStatus.OPEN.value)
        .order_by(ArticleProposal.created_at)
    )
    if tenant_ids is not None:
        stmt = stmt.where(ArticleProposal.tenant_id.in_(tenant_ids))
    return list(db.session.scalars(stmt))


def diff_of(proposal: ArticleProposal, current: ArticleTranslation | None) -> list[text_history.DiffLine]:
    """The proposal against the text as it is now (which may have moved on since)."""
    before = ArticleVersion(title=current.title if current else "", body=current.body if current else "")
    after = ArticleVersion(title=proposal.title, body=proposal.body)
    return text_history.diff(before, after)


def _decide(proposal: ArticleProposal, actor: User, status: ProposalStatus) -> None:
    if not (articles.may_approve(actor) and actor.tenant_id == proposal.tenant_id):
        raise PermissionDenied()
    if proposal.status != ProposalStatus.OPEN.value:
        raise Conflict(_("This proposal has already been decided."))
    proposal.status = status.value
    proposal.decided_by_id, proposal.decided_at = actor.id, utcnow()


def accept(proposal: ArticleProposal, actor: User) -> None:
    """Apply the proposed text as a new version, unless the text changed since it was proposed."""
    _decide(proposal, actor, ProposalStatus.ACCEPTED)
    article = articles.get(proposal.article_id)
    current = articles.translation(article, proposal.language)
    base = current.revision if current else None
    if current is not None and proposal.base_revision != current.revision:
        raise Conflict(
            _(
                "The text has changed since this proposal was made. Compare it with the current "
                "text and apply what is still needed by editing the article."
            )
        )
    editing.save_text(
        article,
        proposal.language,
        title=proposal.title,
        body=proposal.body,
        base_revision=base,
        actor=actor,
        note=_("Proposal accepted: %(note)s", note=proposal.note[:200])
        if proposal.note
        else _("Proposal accepted"),
    )
    audit.record("article.proposal_accepted", tenant_id=article.tenant_id, target=article)


def reject(proposal: ArticleProposal, actor: User) -> None:
    _decide(proposal, actor, ProposalStatus.REJECTED)
    db.session.flush()
    audit.record(
        "article.proposal_rejected",
        tenant_id=proposal.tenant_id,
        target_type="articles",
        target_id=proposal.article_id,
    )
