"""Each client's knowledge base: articles and their texts per language, the history of every
text, the loop that tells L1 agents what changed, and what the desk and the public did with it.

The workflow state is the article's, not each translation's: a client approves an answer, and
all its languages go live together. Texts carry a `revision` so that two editors saving the same
text cannot silently overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(StrEnum):
    PUBLIC = "public"  # the help center, and the desk
    INTERNAL = "internal"  # agents and the client's staff only


class KbCategory(TenantScoped, db.Model):
    """A node of the client's category tree; names per language like the articles."""

    __tablename__ = "kb_categories"
    __table_args__ = (Index("ix_kb_categories_tenant_id_parent_id", "tenant_id", "parent_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(TenantScoped, db.Model):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_tenant_id_status_updated_at", "tenant_id", "status", "updated_at"),
        Index("ix_articles_tenant_id_category_id", "tenant_id", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=ArticleStatus.DRAFT.value)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.INTERNAL.value)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Agents propose; the client's staff review and approve.
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    # The escalated ticket whose resolution this article was written from.
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    helpful_votes: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful_votes: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleTranslation(TenantScoped, db.Model):
    """The article's text in one language: Markdown as written, sanitized HTML as shown."""

    __tablename__ = "article_translations"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "article_id",
            "language",
            name="uq_article_translations_tenant_id_article_id_language",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every save; a save based on an older revision is refused, not merged.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVersion(TenantScoped, db.Model):
    """Every saved text, kept: the history shows diffs between these and restores any of them."""

    __tablename__ = "article_versions"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "article_id",
            "language",
            "number",
            name="uq_article_versions_tenant_id_article_id_language_number",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleFile(TenantScoped, db.Model):
    """An attachment or image of an article, under instance/kb/<tenant id>/; served through its row."""

    __tablename__ = "article_files"
    __table_args__ = (Index("ix_article_files_tenant_id_article_id", "tenant_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeKind(StrEnum):
    PUBLISHED = "published"
    UPDATED = "updated"
    ARCHIVED = "archived"


class ArticleChange(TenantScoped, db.Model):
    """One entry of the agents' "what's new" feed: an article went live, changed or was withdrawn."""

    __tablename__ = "article_changes"
    __table_args__ = (Index("ix_article_changes_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(500), default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleAck(TenantScoped, db.Model):
    """An agent confirmed having read a change: how L1 is trained on the client's news."""

    __tablename__ = "article_acks"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "change_id", "user_id", name="uq_article_acks_tenant_id_change_id_user_id"
        ),
        Index("ix_article_acks_tenant_id_user_id", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("article_changes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UseKind(StrEnum):
    VIEWED = "viewed"  # opened from a ticket: consulted
    INSERTED = "inserted"  # its answer went into the reply


class ArticleUse(TenantScoped, db.Model):
    """An article consulted or used on a ticket: the ticket's record, and the content-gap figures."""

    __tablename__ = "article_uses"
    __table_args__ = (
        Index("ix_article_uses_tenant_id_ticket_id", "tenant_id", "ticket_id"),
        Index("ix_article_uses_tenant_id_article_id_created_at", "tenant_id", "article_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVote(TenantScoped, db.Model):
    """A "was this helpful?" answer from the help center; one per visitor and article."""

    __tablename__ = "article_votes"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "article_id", "voter", name="uq_article_votes_tenant_id_article_id_voter"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    helpful: Mapped[bool] = mapped_column(Boolean)
    # A keyed hash of the visitor's session, never their address.
    voter: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchSource(StrEnum):
    HELP_CENTER = "help_center"
    DESK = "desk"


class KbSearch(TenantScoped, db.Model):
    """A search and how many results it found; the ones that found nothing are content gaps."""

    __tablename__ = "kb_searches"
    __table_args__ = (Index("ix_kb_searches_tenant_id_hits_created_at", "tenant_id", "hits", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(12))
    hits: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ArticleProposal(TenantScoped, db.Model):
    """An agent's suggested change to a published text, for the client to accept or reject.

    New articles that agents propose are drafts in review instead; an edit of a live answer must
    not go live, or vanish, before the client decides.
    """

    __tablename__ = "article_proposals"
    __table_args__ = (Index("ix_article_proposals_tenant_id_status", "tenant_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    # The text's revision the proposal was written against, to warn when it has moved on.
    base_revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ProposalStatus.OPEN.value)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
