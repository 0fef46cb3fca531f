"""The public help center of a client: what its customers may read, in which language.

Only published, public articles of the one tenant in the URL are ever shown; anything else
(internal, draft, archived, another client's) is "not found", never "forbidden". The visitor's
language is one of the client's languages; a text missing in it is shown in the client's default
language, marked as such.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import nh3
from babel import Locale, UnknownLocaleError
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import NotFound
from core.extensions import db
from core.i18n import LANGUAGE_NAMES
from knowledge import files, gaps, markdown, search
from knowledge.models import (
    Article,
    ArticleFile,
    ArticleStatus,
    ArticleTranslation,
    KbCategory,
    SearchSource,
    Visibility,
)
from knowledge.services import text_for
from tenants.models import Tenant

MAX_QUERY = gaps.MAX_QUERY
MAX_RESULTS = 20
MAX_ARTICLES = 500
SHORT_LIST = 5


def is_public(article: Article) -> bool:
    return article.status == ArticleStatus.PUBLISHED.value and article.visibility == Visibility.PUBLIC.value


def public_article(tenant: Tenant, article_id: int) -> Article:
    """The article if the help center of `tenant` may show it; any other id is not found."""
    article = db.session.scalar(
        select(Article).where(
            Article.id == article_id,
            Article.tenant_id == tenant.id,
            Article.status == ArticleStatus.PUBLISHED.value,
            Article.visibility == Visibility.PUBLIC.value,
        )
    )
    if article is None or article.tenant_id != tenant.id or not is_public(article):
        raise NotFound(_("Not found."))
    return article


# --- language ---------------------------------------------------------------------------------


def pick_language(tenant: Tenant, *candidates: str | None) -> str:
    """The first candidate the client serves its customers in, else its default language."""
    for code in candidates:
        if code and code in tenant.languages:
            return code
    return tenant.default_language


def native_name(code: str) -> str:
    """A language by its own name ("Deutsch", "Français"), as a switcher lists it."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


# --- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """An article in a list: its title in the visitor's language, or in the fallback one."""

    article: Article
    title: str
    language: str


@dataclass
class CategoryNode:
    category: KbCategory
    name: str
    articles: list[Item] = field(default_factory=list)
    children: list[CategoryNode] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.articles and all(child.empty for child in self.children)


@dataclass(frozen=True)
class Home:
    categories: list[CategoryNode]
    uncategorised: list[Item]
    most_helpful: list[Item]
    recent: list[Item]

    @property
    def empty(self) -> bool:
        return not self.recent


def _items(tenant: Tenant, articles: Iterable[Article], language: str) -> list[Item]:
    articles = list(articles)
    if not articles:
        return []
    texts: dict[int, dict[str, str]] = {}
    for article_id, lang, title in db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.language, ArticleTranslation.title).where(
            ArticleTranslation.tenant_id == tenant.id,
            ArticleTranslation.article_id.in_([a.id for a in articles]),
        )
    ):
        texts.setdefault(article_id, {})[lang] = title
    items = []
    for article in articles:
        have = texts.get(article.id, {})
        shown = next((code for code in (language, tenant.default_language) if code in have), None)
        shown = shown or next(iter(sorted(have)), None)
        if shown is not None:
            items.append(Item(article, have[shown], shown))
    return items


def category_name(category: KbCategory, tenant: Tenant, language: str) -> str:
    names = category.names or {}
    return names.get(language) or names.get(tenant.default_language) or next(iter(names.values()), "")


def home(tenant: Tenant, language: str) -> Home:
    """The help center's front page: the category tree with its articles, the most helpful and
    the newest answers."""
    articles = list(
        db.session.scalars(
            select(Article)
            .where(
                Article.tenant_id == tenant.id,
                Article.status == ArticleStatus.PUBLISHED.value,
                Article.visibility == Visibility.PUBLIC.value,
            )
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(MAX_ARTICLES)
        )
    )
    items = _items(tenant, articles, language)
    categories = list(
        db.session.scalars(
            select(KbCategory)
            .where(KbCategory.tenant_id == tenant.id)
            .order_by(KbCategory.position, KbCategory.id)
        )
    )
    nodes = {c.id: CategoryNode(c, category_name(c, tenant, language)) for c in categories}
    roots: list[CategoryNode] = []
    for category in categories:
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent.children if parent is not None and category.parent_id != category.id else roots).append(
            nodes[category.id]
        )
    uncategorised = []
    for item in sorted(items, key=lambda i: i.title.casefold()):
        node = nodes.get(item.article.category_id) if item.article.category_id else None
        (node.articles if node is not None else uncategorised).append(item)
    helpful = sorted(
        (i for i in items if i.article.helpful_votes > 0),
        key=lambda i: (-(i.article.helpful_votes - i.article.unhelpful_votes), -i.article.helpful_votes),
    )
    return Home(
        categories=[node for node in roots if not node.empty],
        uncategorised=uncategorised,
        most_helpful=helpful[:SHORT_LIST],
        recent=items[:SHORT_LIST],
    )


@dataclass(frozen=True)
class Result:
    article_id: int
    title: str
    language: str
    snippet: str  # HTML: text with the matches in <mark>, nothing else


def clean_query(query: str | None) -> str:
    return " ".join((query or "").split())[:MAX_QUERY]


def find(tenant: Tenant, query: str, language: str) -> list[Result]:
    """Search the client's public answers in the visitor's language, and log the search (with
    how many it found, so that the client sees what its customers look for in vain)."""
    query = clean_query(query)
    if not query:
        return []
    hits = search.search(tenant.id, query, languages=[language], public_only=True, limit=MAX_RESULTS)
    gaps.log_search(tenant.id, query, language, SearchSource.HELP_CENTER.value, len(hits))
    # The backend promises safe HTML; keep only its highlighting whatever it returns.
    return [
        Result(hit.article_id, hit.title, hit.language, nh3.clean(hit.snippet, tags={"mark"}, attributes={}))
        for hit in hits
    ]


@dataclass(frozen=True)
class Page:
    article: Article
    title: str
    html: str
    language: str
    fallback: bool  # not available in the visitor's language: shown in another one


def page(article: Article, language: str, file_url: Callable[[int], str]) -> Page:
    """The article's text for the visitor; its images and attachments point at `file_url(id)`,
    a reference to a file the article does not have goes nowhere."""
    text, fallback = text_for(article, language)
    if text is None:
        raise NotFound(_("Not found."))
    own = {item.id for item in files.of(article)}
    html = markdown.with_file_urls(
        text.body_html, lambda file_id: file_url(file_id) if file_id in own else None
    )
    return Page(article, text.title, html, text.language, fallback and text.language != language)


def public_file(tenant: Tenant, file_id: int) -> ArticleFile:
    """A file of one of the client's public, published articles; any other id is not found."""
    item = db.session.scalar(
        select(ArticleFile)
        .join(Article, Article.id == ArticleFile.article_id)
        .where(
            ArticleFile.id == file_id,
            ArticleFile.tenant_id == tenant.id,
            Article.tenant_id == tenant.id,
            Article.status == ArticleStatus.PUBLISHED.value,
            Article.visibility == Visibility.PUBLIC.value,
        )
    )
    if item is None or item.tenant_id != tenant.id:
        raise NotFound(_("Not found."))
    return item


SLUG_DROP = re.compile(r"[^a-z0-9]+")


def title_slug(title: str) -> str:
    """A readable URL suffix: `12-how-to-reset-the-router`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return SLUG_DROP.sub("-", ascii_title.lower()).strip("-")[:60].strip("-")


def voter_key(secret: str | bytes, tenant_id: int, visitor: str) -> str:
    """The keyed hash of a visitor's session that stands for them in the votes: 64 hex chars,
    the same for the same visitor and client, and not the visitor's address or session."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"kb-vote:{tenant_id}:{visitor}".encode(), hashlib.sha256).hexdigest()
