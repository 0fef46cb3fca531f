"""Telling the client that an article waits for its review: the named reviewer, or else the
client's admins. Without the mail, a draft sent for review waits until someone happens to open
the list, and the desk keeps answering without it."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from knowledge.models import Article, ArticleTranslation


def reviewers(article: Article) -> list[User]:
    if article.reviewer_id is not None:
        named = db.session.get(User, article.reviewer_id)
        if named is not None and named.is_active:
            return [named]
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.tenant_id == article.tenant_id,
                User.role == Role.CLIENT_ADMIN.value,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _title(article: Article, texts: dict[str, ArticleTranslation], language: str) -> str:
    text = texts.get(language) or next(iter(texts.values()), None)
    return text.title if text is not None else f"#{article.id}"


def tell_reviewers(article: Article, submitted_by: User, texts: dict[str, ArticleTranslation]) -> int:
    """One mail per reviewer, in their language, with the title in it when there is a text in it;
    returns how many were written (to the outbox, sent after commit)."""
    url = absolute_url("kb.article", article_id=article.id)
    people = [person for person in reviewers(article) if person.id != submitted_by.id]
    for person in people:
        language = locale_of(person)
        title = _title(article, texts, language)
        with force_locale(language):
            subject = _("Please review: %(title)s", title=title)
            text = render_template(
                "knowledge/email/review.txt",
                person=person,
                title=title,
                submitted_by=submitted_by,
                languages=sorted(texts),
                url=url,
            )
        send_email(
            to=person.email,
            subject=subject,
            text=text,
            tenant_id=article.tenant_id,
            headers={"Auto-Submitted": "auto-generated"},
        )
    return len(people)
