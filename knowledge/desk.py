"""The knowledge base at the desk: suggestions for a ticket, answers inserted into replies, and the
way back up, where an expert's resolution of an escalation becomes a draft article.

A ticket records which articles were consulted and which one's answer went out; resolving it
afterwards is a knowledge-base resolution (`Ticket.kb_resolution`, set by tickets.services).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.errors import NotFound
from core.extensions import db
from knowledge import editing, gaps, markdown, search
from knowledge import services as articles
from knowledge.models import Article, ArticleStatus, ArticleTranslation, ArticleUse, SearchSource, UseKind
from tenants.models import Tenant
from tickets import macros
from tickets import services as tickets
from tickets.models import Message, MessageKind, Ticket

QUERY_CHARS = 600  # subject and the start of the first message say what it is about


@dataclass(frozen=True)
class Suggestion:
    article: Article
    text: ArticleTranslation
    fallback: bool  # not in the ticket's language: shown in the client's default language
    snippet: str
    used: bool


def _first_words(ticket: Ticket) -> str:
    first = db.session.scalar(
        select(Message.body)
        .where(
            Message.tenant_id == ticket.tenant_id,
            Message.ticket_id == ticket.id,
            Message.kind.in_([MessageKind.INBOUND.value, MessageKind.CHAT_TRANSCRIPT.value]),
        )
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    return f"{ticket.subject}\n{first or ''}"[:QUERY_CHARS]


def suggestions(ticket: Ticket, limit: int = 5, text: str | None = None) -> list[Suggestion]:
    """The client's published articles that best match the ticket (or the agent's own words)."""
    used = set(
        db.session.scalars(
            select(ArticleUse.article_id).where(
                ArticleUse.tenant_id == ticket.tenant_id, ArticleUse.ticket_id == ticket.id
            )
        )
    )
    query = text if text is not None else _first_words(ticket)
    return suggest(ticket.tenant_id, ticket.language, query, limit=limit, used=used, typed=text is not None)


def suggest(
    tenant_id: int,
    language: str,
    query: str,
    *,
    limit: int = 5,
    used: set[int] | frozenset[int] = frozenset(),
    typed: bool = False,
) -> list[Suggestion]:
    """Best matches in `language` first; when fewer are found, the client's default language
    fills up (marked as such: the agent answers in the customer's language from it).

    A search the agent `typed` is logged like a help-center search: what the desk looked for
    and did not find is a content gap the client should fill. Suggestions made from the ticket's
    own words are not searches and are not logged."""
    tenant = db.session.get_one(Tenant, tenant_id)
    languages = [language]
    if tenant.default_language != language:
        languages.append(tenant.default_language)
    hits = search.search(tenant.id, query, languages=languages, limit=limit * 2)
    seen: dict[int, Suggestion] = {}
    for hit in sorted(hits, key=lambda h: (h.language != language, -h.score)):
        if hit.article_id in seen or len(seen) >= limit:
            continue
        article = db.session.get(Article, hit.article_id)
        text_row = db.session.get(ArticleTranslation, hit.translation_id)
        if article is None or text_row is None:
            continue
        seen[hit.article_id] = Suggestion(
            article, text_row, hit.language != language, hit.snippet, hit.article_id in used
        )
    if typed:
        gaps.log_search(tenant.id, query, language, SearchSource.DESK.value, len(seen))
    return list(seen.values())


def answer(ticket: Ticket, article: Article, agent_name: str) -> tuple[str, bool]:
    """The article's text for the reply, in the ticket's language when there is one, with the
    ticket's placeholders filled: the client's answer in the client's voice."""
    _published(ticket.tenant_id, article)
    return answer_text(article, ticket.language, macros.values_for(ticket, agent_name))


def answer_text(article: Article, language: str, values: Mapping[str, str]) -> tuple[str, bool]:
    text_row, fallback = articles.text_for(article, language)
    if text_row is None:
        return "", False
    return macros.fill(markdown.to_text(text_row.body), values), fallback


def _published(tenant_id: int, article: Article) -> None:
    if article.tenant_id != tenant_id or article.status != ArticleStatus.PUBLISHED.value:
        raise NotFound(_("Not found."))


def record_use(ticket: Ticket, article: Article, kind: UseKind, user_id: int | None) -> ArticleUse:
    """Consulted or used on this ticket. An inserted answer makes the ticket's resolution a
    knowledge-base resolution, and appears in its history."""
    _published(ticket.tenant_id, article)
    text_row, _fallback = articles.text_for(article, ticket.language)
    use = ArticleUse(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        article_id=article.id,
        user_id=user_id,
        kind=kind.value,
        language=text_row.language if text_row else ticket.language,
    )
    db.session.add(use)
    if kind is UseKind.INSERTED:
        ticket.kb_article_id = article.id
        tickets.record_event(
            ticket, "kb_article", article_id=article.id, title=text_row.title if text_row else ""
        )
    db.session.flush()
    return use


def uses_of(ticket: Ticket) -> list[tuple[ArticleUse, str]]:
    rows = db.session.execute(
        select(ArticleUse, ArticleTranslation.title)
        .join(
            ArticleTranslation,
            (ArticleTranslation.article_id == ArticleUse.article_id)
            & (ArticleTranslation.language == ArticleUse.language),
            isouter=True,
        )
        .where(ArticleUse.tenant_id == ticket.tenant_id, ArticleUse.ticket_id == ticket.id)
        .order_by(ArticleUse.created_at)
    )
    return [(use, title or "") for use, title in rows]


def draft_from_ticket(ticket: Ticket, actor: User, resolution: str) -> Article:
    """One step from a resolved escalation to a draft article: the customer's question (from the
    first message), the resolution as the answer. It then goes through the client's review."""
    question = _first_words(ticket).split("\n", 1)[-1].strip() or ticket.subject
    body = "\n\n".join(
        [
            f"**{_('Question')}:** {_quote(question)}",
            f"**{_('Answer')}:**",
            resolution.strip() or _("(write the answer here)"),
        ]
    )
    return editing.create(
        editing.ArticleInput(
            tenant_id=ticket.tenant_id,
            language=ticket.language,
            title=ticket.subject[: editing.MAX_TITLE] or _("Untitled"),
            body=body,
        ),
        actor,
        source_ticket_id=ticket.id,
        note=_("From the resolution of ticket %(number)s", number=_ticket_number(ticket)),
    )


def _quote(text: str) -> str:
    return " ".join(text.split())[:1000]


def _ticket_number(ticket: Ticket) -> str:
    return tickets.display_number(db.session.get_one(Tenant, ticket.tenant_id), ticket)
