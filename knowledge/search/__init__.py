"""Knowledge-base search behind one interface, whatever the database.

Services call `index` after they change a text and `search` to find articles; the backend is
chosen by the database dialect: SQLite FTS5 (`sqlite_fts`) or PostgreSQL full-text search
(`postgres_fts`). Both stem per language (`text`), weigh titles above bodies, rank with BM25's
inverse document frequency over the query's words (OR), choose the words that select candidates
by the same rules (`plan`), and fall back to a typo-tolerant lookup when no word is known.

Every search is for exactly one tenant, which the current tenancy scope must allow (checked
here, before any SQL): the backends filter by it explicitly, in the index and on both joined
tables, and PostgreSQL's row-level security applies on top. The backends' SQL is driver SQL,
which the ORM's tenancy criteria do not see; that is why the scope check comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import tenancy
from core.extensions import db
from knowledge.models import ArticleStatus
from knowledge.search import postgres_fts, sqlite_fts
from knowledge.search import text as textmod
from knowledge.search.plan import Found
from tenants import services as tenants


@dataclass(frozen=True)
class Hit:
    article_id: int
    translation_id: int
    language: str
    title: str
    snippet: str  # HTML: escaped text with the matches in <mark>
    score: float  # higher is better; comparable within one search only


def _session() -> Session:
    return db.session  # type: ignore[return-value]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def index(translation_ids: Iterable[int]) -> None:
    """Bring the index up to date for these texts (after a save, in the same transaction).

    On PostgreSQL there is nothing to do: the search vector is a generated column and the term
    statistics are kept by triggers, whoever writes the row.
    """
    session = _session()
    if _sqlite(session):
        session.flush()
        sqlite_fts.index(session, list(translation_ids))


def unindex(translation_ids: Iterable[int]) -> None:
    """Forget these texts (before they are deleted; deleting them removes them as well)."""
    session = _session()
    if _sqlite(session):
        sqlite_fts.unindex(session, list(translation_ids))


def reindex_tenant(tenant_id: int) -> int:
    """Rebuild one tenant's index (SQLite) or term statistics (PostgreSQL): after a bulk import
    that bypassed `index`, or a change of the stemming. Returns the number of texts."""
    return _reindex(tenant_id)


def reindex_all() -> int:
    """Rebuild the index of every tenant, in a scope that allows them all."""
    return _reindex(None)


def _reindex(tenant_id: int | None) -> int:
    session = _session()
    session.flush()
    if _sqlite(session):
        return sqlite_fts.reindex(session, tenant_id)
    return postgres_fts.reindex(session, tenant_id)


def search(
    tenant_id: int,
    query: str,
    *,
    languages: Sequence[str] | None = None,
    public_only: bool = False,
    statuses: Sequence[str] = (ArticleStatus.PUBLISHED.value,),
    limit: int = 10,
) -> list[Hit]:
    """The best matches of one tenant for a free-text query, best first.

    `languages`: the texts' languages to search, the query stemmed for each by its own rules
    (default: the tenant's languages). `public_only`: leave out internal articles (the help
    center). Any text is a valid query: it is reduced to words, never passed on as syntax.
    """
    scope = tenancy.require()
    if not scope.allows(tenant_id):
        raise tenancy.TenancyViolation(f"search in tenant {tenant_id} outside scope")
    if not query or not query.strip() or limit <= 0 or not statuses:
        return []
    session = _session()
    wanted = list(dict.fromkeys(languages)) if languages else list(tenants.get_tenant(tenant_id).languages)
    backend = sqlite_fts if _sqlite(session) else postgres_fts
    found, fuzzy = backend.search(
        session, tenant_id, query, wanted, public_only=public_only, statuses=list(statuses), limit=limit
    )
    prefixes = _typo_prefixes(query, wanted) if fuzzy else ()
    return _hits(query, found, prefixes)


def _typo_prefixes(query: str, languages: Sequence[str]) -> tuple[str, ...]:
    """What the snippets mark after the typo fallback: the misspelt words' first letters."""
    found = (textmod.typo_prefix(t) for lang in languages for t in textmod.query_terms(query, lang))
    return tuple(p for p in found if p)


def _hits(query: str, found: list[Found], prefixes: tuple[str, ...]) -> list[Hit]:
    """The hits with their snippets (the backends have checked tenant, status and visibility)."""
    terms: dict[str, frozenset[str]] = {}
    hits = []
    for row in found:
        if row.language not in terms:
            terms[row.language] = frozenset(textmod.query_terms(query, row.language))
        snippet = textmod.snippet(row.body, terms[row.language], row.language, prefixes=prefixes)
        hits.append(
            Hit(row.article_id, row.translation_id, row.language, row.title, snippet, float(row.score))
        )
    return hits
