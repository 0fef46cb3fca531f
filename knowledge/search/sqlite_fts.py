"""The embedded backend: SQLite FTS5 over texts stemmed in Python.

`kb_fts` (created by the migration) has the stemmed title and body of each translation, its rowid
being the translation's id. FTS5 has no German, French or Italian stemmer, so the text is stemmed
here (`text.stems`) and FTS5 only splits on spaces.

Every indexed word is written as `<tenant id>_<language>_<stem>` ("12_de_rechnung"). That puts
the tenant and the language into the index itself: a term's document list holds only that
tenant's texts in that language, so a search never walks other tenants' postings, BM25's
document frequencies are the tenant's own, and a language filter costs nothing. The query is
stemmed per language with that language's stemmer and matches only texts of that language.

Ranking is FTS5's BM25 (`bm25()`, title weighted above body) over the query's words with OR
semantics: questions share few exact words with their answers. Which words select and score is
`plan.py`'s decision, from counts that stop at CANDIDATES: a search ranks at most that many
texts. A query whose words are all unknown falls back to prefixes of its words (typos are rarely
in the first letters): "rechnng" -> "rechn*".

SQL: the statements interpolate only the table's own column weights and generated placeholder
names (`:s0`, `:m1`); every value, the FTS5 expression included, is a bound parameter, and the
expression quotes every word, so nothing a user types is FTS5 syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.orm import Session

from knowledge.models import ArticleTranslation, Visibility
from knowledge.search import plan as planning
from knowledge.search import text as textmod
from knowledge.search.plan import BODY_WEIGHT, TITLE_WEIGHT, Found, Mode, Plan

BATCH = 500


def language_key(language: str) -> str:
    return re.sub(r"[^a-z0-9]", "", language.lower())[:8] or "x"


def prefixed(tenant_id: int, language: str, terms: Iterable[str]) -> str:
    key = f"{tenant_id}_{language_key(language)}_"
    return " ".join(key + term for term in terms)


# --- writing ----------------------------------------------------------------------------------


def index(session: Session, translation_ids: Sequence[int]) -> None:
    ids = list(translation_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = session.execute(
            select(
                ArticleTranslation.id,
                ArticleTranslation.tenant_id,
                ArticleTranslation.language,
                ArticleTranslation.title,
                ArticleTranslation.body,
            ).where(ArticleTranslation.id.in_(chunk))
        ).all()
        _delete(session, chunk)
        insert_rows(session, rows)


def unindex(session: Session, translation_ids: Sequence[int]) -> None:
    ids = list(translation_ids)
    for start in range(0, len(ids), BATCH):
        _delete(session, ids[start : start + BATCH])


def reindex(session: Session, tenant_id: int | None) -> int:
    """Rebuild the index of one tenant (or all): after a bulk import or a change of stemming."""
    query = select(
        ArticleTranslation.id,
        ArticleTranslation.tenant_id,
        ArticleTranslation.language,
        ArticleTranslation.title,
        ArticleTranslation.body,
    ).order_by(ArticleTranslation.id)
    if tenant_id is not None:
        query = query.where(ArticleTranslation.tenant_id == tenant_id)
        session.execute(
            text(
                "DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM article_translations WHERE tenant_id = :t)"
            ),
            {"t": tenant_id},
        )
    else:
        session.execute(text("DELETE FROM kb_fts"))
    count, batch = 0, []
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        batch.append(row)
        if len(batch) == BATCH:
            insert_rows(session, batch)
            count, batch = count + len(batch), []
    insert_rows(session, batch)
    return count + len(batch)


def _delete(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(
            text("DELETE FROM kb_fts WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": ids},
        )


def insert_rows(executor: Session | Connection, rows: Sequence[Any]) -> None:
    """Index (id, tenant id, language, title, body) rows not in the index yet (the migration
    backfills with this too)."""
    if not rows:
        return
    values = [
        {
            "id": row_id,
            "title": prefixed(tenant_id, language, textmod.stems(title, language)),
            "body": prefixed(tenant_id, language, textmod.stems(textmod.plain_text(body), language)),
        }
        for row_id, tenant_id, language, title, body in rows
    ]
    executor.execute(text("INSERT INTO kb_fts (rowid, title, body) VALUES (:id, :title, :body)"), values)


# --- searching --------------------------------------------------------------------------------


def _quoted(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


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
    # (token, language, stem) for every distinct term of the query in every language.
    terms: list[tuple[str, str, str]] = []
    for language in languages:
        key = f"{tenant_id}_{language_key(language)}_"
        terms.extend((key + stem, language, stem) for stem in textmod.query_terms(query, language))
    if not terms or limit <= 0:
        return [], False
    quoted = [_quoted(token) for token, _, _ in terms]
    counts = _counts(session, quoted)
    current = planning.plan(counts)
    if current.mode is Mode.TYPO:
        return _typo_fallback(session, tenant_id, terms, public_only, statuses, limit), True
    rows = _run(session, tenant_id, current, quoted, counts, public_only, statuses, limit)
    if not rows and current.mode is Mode.ALL:
        rows = _run(
            session, tenant_id, planning.widened(current), quoted, counts, public_only, statuses, limit
        )
    return rows, False


def _run(
    session: Session,
    tenant_id: int,
    current: Plan,
    quoted: list[str],
    counts: list[int],
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
) -> list[Found]:
    joiner = " AND " if current.mode is Mode.ALL else " OR "
    expression = joiner.join(quoted[i] for i in current.terms)
    matches = sum(counts[i] for i in current.terms)
    if current.capped:
        matches = min(matches, planning.CANDIDATES)
    return _ranked(
        session, tenant_id, expression, public_only, statuses, limit, matches=matches, capped=current.capped
    )


def _counts(session: Session, expressions: list[str]) -> list[int]:
    """How many texts match each expression, counting no further than CANDIDATES + 1."""
    # Placeholders only, see the module's docstring.
    parts = [
        f"(SELECT count(*) FROM (SELECT 1 FROM kb_fts WHERE kb_fts MATCH :m{i} LIMIT :cap))"  # noqa: S608
        for i in range(len(expressions))
    ]
    params: dict[str, object] = {f"m{i}": e for i, e in enumerate(expressions)}
    params["cap"] = planning.CANDIDATES + 1
    sql = "SELECT " + ", ".join(parts)
    row = session.connection().exec_driver_sql(sql, params).one()
    return [int(n) for n in row]


def _ranked(
    session: Session,
    tenant_id: int,
    expression: str,
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
    *,
    matches: int,
    capped: bool = False,
) -> list[Found]:
    """The best `limit` texts for an FTS5 expression that pass the article's status and visibility.

    BM25 is computed for every match anyway; joining every match to its translation and article
    before sorting cost three times as much as ranking (two lookups per row), so the best
    `limit * 4` are ranked first and only they are joined; should the filters leave fewer than
    `limit` of them, the next try takes eight times more (`matches`: at most how many there are).
    """
    # Driver SQL: this runs on every search, and SQLAlchemy's statement handling cost more than
    # FTS5 took to answer (1 ms against 0.3 ms on a small knowledge base).
    params: dict[str, object] = {
        "expression": expression,
        "tenant": tenant_id,
        "public": Visibility.PUBLIC.value,
        "limit": limit,
        "offset": planning.CANDIDATES - 1,
    }
    params.update({f"s{i}": status for i, status in enumerate(statuses)})
    in_statuses = ", ".join(f":s{i}" for i in range(len(statuses)))
    visibility = "AND a.visibility = :public" if public_only else ""
    # Capped: rank only the newest CANDIDATES matches (FTS5 walks rowids backwards cheaply).
    newest = (
        "AND rowid >= coalesce((SELECT rowid FROM kb_fts WHERE kb_fts MATCH :expression "
        "ORDER BY rowid DESC LIMIT 1 OFFSET :offset), 0) "
        if capped
        else ""
    )
    sql = (  # placeholders and constants only, see the module's docstring
        "SELECT f.rowid, f.rank, t.article_id, t.language, t.title, t.body "  # noqa: S608
        f"FROM (SELECT rowid, bm25(kb_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS rank FROM kb_fts "
        f"      WHERE kb_fts MATCH :expression {newest}ORDER BY rank, rowid DESC LIMIT :best) AS f "
        "JOIN article_translations t ON t.id = f.rowid "
        "JOIN articles a ON a.id = t.article_id "
        "WHERE t.tenant_id = :tenant AND a.tenant_id = :tenant "
        f"AND a.status IN ({in_statuses}) {visibility} "
        "ORDER BY f.rank, f.rowid DESC LIMIT :limit"
    )
    best = max(limit * 4, 40)
    while True:
        params["best"] = best
        rows = session.connection().exec_driver_sql(sql, params).all()
        if len(rows) >= limit or best >= matches:
            break
        best *= 8
    # bm25() is lower for better matches; scores are "higher is better" for callers.
    return [Found(row[0], -float(row[1]), *row[2:]) for row in rows]


def _typo_fallback(
    session: Session,
    tenant_id: int,
    terms: list[tuple[str, str, str]],
    public_only: bool,
    statuses: Sequence[str],
    limit: int,
) -> list[Found]:
    """Nothing matched: look the words up by their first letters ("rechnng" -> "rechn*")."""
    expressions: list[str] = []
    for token, _, stem in terms:
        prefix = textmod.typo_prefix(stem)
        if prefix is not None:
            expressions.append(_quoted(token[: len(token) - len(stem)] + prefix) + " *")
    if not expressions:
        return []
    rows = _ranked(
        session,
        tenant_id,
        " OR ".join(expressions),
        public_only,
        statuses,
        limit,
        matches=planning.CANDIDATES,
        capped=True,
    )
    # Below any exact match, should a caller merge the two.
    return [row._replace(score=row.score * 0.5) for row in rows]
