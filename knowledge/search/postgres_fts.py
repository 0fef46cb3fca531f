"""The PostgreSQL backend: full-text search with each language's own configuration.

`article_translations.search_vector` is a stored generated column (see the migration): the title
with weight A and the body with weight B, through `kb_search_config(language)`, which picks
`kb_german`, `kb_english`, `kb_french`, `kb_italian` or `kb_simple`: copies of PostgreSQL's
configurations that drop the accented stopwords, fold accents (unaccent) and then stem. A GIN index
on `(tenant_id, language, search_vector)` (btree_gin) finds a tenant's texts in a language for a
word without touching other tenants' rows or other languages' (a word two languages share, stemmed
alike, would otherwise be tested on the heap); a trigram index on `(tenant_id, title)` serves the
typo fallback.

Under row-level security the application role cannot use those indexes for `@@` (the operator is
not leakproof), so candidates are found and scored by `kb_search_rank()`, which returns ids and
scores of the tenant's matching texts after the policy's own tenant test; the texts are then read
by id, under the policy. See the migration.

Ranking: `ts_rank` weighs title and body and saturates repeated words, but has no inverse
document frequency: a question's general words would count as much as its specific ones. So the
score is BM25-like, the sum over the query's words of idf(word) x ts_rank(word alone). The
document frequencies, for the idf and for `plan.py`'s choice of the words that select, come from
`kb_terms`, which triggers keep current (see the migration): counting them from the index would
cost a heap visit per text.

SQL: driver SQL with psycopg's `%(name)s` parameters; the statements interpolate only generated
parameter names and numbers computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from knowledge.models import Visibility
from knowledge.search import plan as planning
from knowledge.search import text as textmod
from knowledge.search.plan import BODY_WEIGHT, TITLE_WEIGHT, Found, Mode, Plan

CONFIGS: dict[str, str] = {"de": "kb_german", "en": "kb_english", "fr": "kb_french", "it": "kb_italian"}
DEFAULT_CONFIG = "kb_simple"
# ts_rank's weights are {D, C, B, A}; titles are A, bodies B.
WEIGHTS = f"{{0, 0, {BODY_WEIGHT / TITLE_WEIGHT:.4f}, 1}}"
# 1: divide by 1 + log(length): long texts do not win by repeating a word.
NORMALIZATION = 1
# pg_trgm's word_similarity() a misspelt word must reach against a title word.
TYPO_SIMILARITY = 0.5


def candidates() -> int:
    """PostgreSQL ranks fewer candidates than SQLite: each costs a heap visit (about 5 µs) where
    FTS5 reads its own compact document lists (about 1 µs)."""
    return max(1, planning.CANDIDATES // 2)


def config(language: str) -> str:
    return CONFIGS.get(textmod.base_language(language), DEFAULT_CONFIG)


@dataclass(frozen=True)
class Term:
    language: str
    query: str  # the lexeme as a tsquery
    count: int  # texts of the tenant in that language that have it
    texts: int  # texts of the tenant in that language


# The lexemes of each word in its language's configuration, with the tenant's statistics: how
# many of its texts in that language have the lexeme, and how many texts there are (lexeme '').
# Subqueries, not joins: each is one primary-key lookup (a join let the planner read the tenant's
# whole statistics range for the '' row).
_COUNT_SQL = """
    WITH w AS MATERIALIZED (
        SELECT u.ord, u.language, l.lexeme
        FROM unnest(CAST(%(languages)s AS text[]), CAST(%(configs)s AS text[]), CAST(%(words)s AS text[]))
                 WITH ORDINALITY AS u(language, config, word, ord),
             unnest(tsvector_to_array(to_tsvector(CAST(u.config AS regconfig), u.word))) AS l(lexeme)
    )
    SELECT w.language, w.lexeme,
           coalesce((SELECT k.texts FROM kb_terms k
                     WHERE k.tenant_id = %(tenant)s AND k.language = w.language AND k.lexeme = w.lexeme), 0),
           coalesce((SELECT k.texts FROM kb_terms k
                     WHERE k.tenant_id = %(tenant)s AND k.language = w.language AND k.lexeme = ''), 0)
    FROM w
    ORDER BY w.ord
"""


def _tsquery(lexeme: str) -> str:
    """A lexeme as tsquery input: quoted, so that nothing in it is an operator."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


_REINDEX_SQL = (
    "DELETE FROM kb_terms WHERE CAST(%(tenant)s AS integer) IS NULL OR tenant_id = %(tenant)s",
    "INSERT INTO kb_terms (tenant_id, language, lexeme, texts) "
    "SELECT t.tenant_id, t.language, l.lexeme, count(*) FROM article_translations t, "
    "unnest(array_append(tsvector_to_array(t.search_vector), '')) AS l(lexeme) "
    "WHERE CAST(%(tenant)s AS integer) IS NULL OR t.tenant_id = %(tenant)s GROUP BY 1, 2, 3",
)


def reindex(session: Session, tenant_id: int | None) -> int:
    """Rebuild the term statistics of one tenant (or of all in scope) from the texts: after a
    bulk load with the triggers disabled, or to drop what a bug left. Returns the texts seen."""
    connection = session.connection()
    params = {"tenant": tenant_id}
    for statement in _REINDEX_SQL:
        connection.exec_driver_sql(statement, params)
    count = connection.exec_driver_sql(
        "SELECT count(*) FROM article_translations "
        "WHERE CAST(%(tenant)s AS integer) IS NULL OR tenant_id = %(tenant)s",
        params,
    ).scalar()
    return int(count or 0)


def search(
    session: Session,
    tenant_id: int,
    query: str,
    languages: Sequence[str],
    *,
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
) -> tuple[list[Found], bool]:
    """The texts best first, and whether they come from the typo fallback."""
    pairs = [(lang, word) for lang in languages for word in textmod.query_words(query, lang)]
    if not pairs or limit <= 0:
        return [], False
    # Driver SQL: SQLAlchemy's statement handling would cost more than PostgreSQL takes to answer.
    rows = (
        session.connection()
        .exec_driver_sql(
            _COUNT_SQL,
            {
                "tenant": tenant_id,
                "languages": [lang for lang, _ in pairs],
                "configs": [config(lang) for lang, _ in pairs],
                "words": [word for _, word in pairs],
            },
        )
        .all()
    )
    terms: list[Term] = []
    seen: set[tuple[str, str]] = set()
    for language, lexeme, count, texts in rows:
        if (language, lexeme) not in seen and len(seen) < textmod.MAX_TERMS * len(languages):
            seen.add((language, lexeme))
            terms.append(Term(language, _tsquery(lexeme), int(count), int(texts)))
    if not terms:
        return [], False
    current = planning.plan([t.count for t in terms], candidates())
    if current.mode is Mode.TYPO:
        return _typo_fallback(session, tenant_id, pairs, languages, public_only, statuses, limit), True
    found = _ranked(session, tenant_id, terms, current, public_only, statuses, limit)
    if not found and current.mode is Mode.ALL:
        widened = planning.widened(current)
        found = _ranked(session, tenant_id, terms, widened, public_only, statuses, limit)
    return found, False


def _idf(count: int, total: float) -> float:
    """BM25's inverse document frequency (the always-positive variant)."""
    total = max(total, count)
    return math.log(1.0 + (total - count + 0.5) / (count + 0.5))


def _ranked(
    session: Session,
    tenant_id: int,
    terms: list[Term],
    current: Plan,
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
) -> list[Found]:
    """The best `limit` texts whose article passes the status and visibility filters.

    `kb_search_rank()` scores the candidates and returns the best `best` of each language; only
    those are read and filtered (as the application role, under the policy). Should the filters
    leave fewer than `limit`, the next try takes eight times more.
    """
    params: dict[str, object] = {
        "tenant": tenant_id,
        "statuses": list(statuses),
        "public": Visibility.PUBLIC.value,
        "limit": limit,
        "weights": WEIGHTS,
        "normalization": NORMALIZATION,
        "candidates": candidates(),
    }
    sources: list[str] = []
    for index, language in enumerate(dict.fromkeys(terms[i].language for i in current.terms)):
        mine = [i for i in current.terms if terms[i].language == language]
        joiner = " & " if current.mode is Mode.ALL else " | "
        params[f"l{index}"] = language
        params[f"m{index}"] = joiner.join(terms[i].query for i in mine)
        params[f"t{index}"] = [terms[i].query for i in mine]
        params[f"i{index}"] = [_idf(terms[i].count, terms[i].texts) for i in mine]
        sources.append(  # generated parameter names only
            f"SELECT * FROM kb_search_rank("  # noqa: S608
            f"%(tenant)s, %(l{index})s, CAST(%(m{index})s AS tsquery), "
            f"CAST(%(t{index})s AS tsquery[]), CAST(%(i{index})s AS float8[]), CAST(%(weights)s AS real[]), "
            "%(normalization)s, %(candidates)s, %(best)s)"
        )
    visibility = "AND a.visibility = %(public)s" if public_only else ""
    sql = f"""
        SELECT t.id, r.score, t.article_id, t.language, t.title, t.body
        FROM ({" UNION ALL ".join(sources)}) AS r
        JOIN article_translations t ON t.id = r.id
        JOIN articles a ON a.id = t.article_id
        WHERE t.tenant_id = %(tenant)s AND a.tenant_id = %(tenant)s
          AND a.status = ANY(CAST(%(statuses)s AS text[])) {visibility}
        ORDER BY r.score DESC, t.id DESC
        LIMIT %(limit)s
    """  # noqa: S608 (generated parameter names only, see the module's docstring)
    matches = sum(terms[i].count for i in current.terms)
    if current.capped:
        matches = min(matches, candidates())
    best = max(limit * 4, 40)
    while True:
        params["best"] = best
        rows = session.connection().exec_driver_sql(sql, params).all()
        if len(rows) >= limit or best >= matches:
            return [Found(*row) for row in rows]
        best *= 8


def _typo_fallback(
    session: Session,
    tenant_id: int,
    pairs: list[tuple[str, str]],
    languages: Sequence[str],
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
) -> list[Found]:
    """Nothing matched: titles with a word similar to one of the query's (trigrams)."""
    typos = list(dict.fromkeys(word for _, word in pairs if len(word) >= 4))[:4]
    if not typos:
        return []
    params: dict[str, object] = {
        "tenant": tenant_id,
        "languages": list(languages),
        "statuses": list(statuses),
        "public": Visibility.PUBLIC.value,
        "limit": limit,
        "threshold": TYPO_SIMILARITY,
        "candidates": planning.CANDIDATES,
    }
    sources = []
    for i, word in enumerate(typos):
        params[f"w{i}"] = word
        sources.append(  # generated parameter names only
            f"SELECT * FROM kb_search_similar("  # noqa: S608
            f"%(tenant)s, CAST(%(languages)s AS text[]), %(w{i})s, "
            "CAST(%(threshold)s AS real), %(candidates)s)"
        )
    visibility = "AND a.visibility = %(public)s" if public_only else ""
    sql = f"""
        SELECT t.id, max(m.similarity) * 0.5 AS score, t.article_id, t.language, t.title, t.body
        FROM ({" UNION ALL ".join(sources)}) AS m
        JOIN article_translations t ON t.id = m.id
        JOIN articles a ON a.id = t.article_id
        WHERE t.tenant_id = %(tenant)s AND a.tenant_id = %(tenant)s
          AND a.status = ANY(CAST(%(statuses)s AS text[])) {visibility}
        GROUP BY t.id
        ORDER BY score DESC, t.id DESC
        LIMIT %(limit)s
    """  # noqa: S608 (generated parameter names only)
    return [Found(*row) for row in session.connection().exec_driver_sql(sql, params)]
