"""The history of every text: one version per save, per article and language; what changed
between two of them; bringing an old one back (itself a save, so a new version)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.errors import NotFound
from core.extensions import db
from knowledge import editing
from knowledge.models import Article, ArticleTranslation, ArticleVersion


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
    return editing.save_text(
        article,
        language,
        title=old.title,
        body=old.body,
        base_revision=base_revision,
        actor=actor,
        note=_("Restored version %(number)d", number=number),
    )
