"""Knowledge-base search latency on a big knowledge base: one tenant's texts among 50 tenants.

Generated articles (`kb_corpus.Generator`: FAQ sentences in English and Swedish, this project's
German and French answers, Zipf-distributed product names and codes), 1-2 languages per article,
85 % published, 70 % public. The searched tenant has `--translations` texts; the other tenants
share `--others` more (default: as many). Queries are customer questions of the same languages,
most naming a product or code; 80 % search the ticket's language, 20 % all four of the tenant's.
Timed: `knowledge.search.search()` in-process (stemming, SQL, snippets), one transaction each.

SQLite by default, PostgreSQL when DATABASE_URL / MIGRATE_DATABASE_URL are set (as kernel.py).
Prints the build time, the index size and p50/p95/p99.

    .venv/bin/python bench/kb_search.py [--translations 20000] [--tenants 50] [--queries 1000]

The issue's size is `--translations 100000` (about 3 minutes to build on 2 cores).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import kb_corpus  # noqa: E402
import world  # noqa: E402  (sets the path and the instance folder)
from sqlalchemy import text

LANGUAGES = ["en", "sv", "de", "fr"]
BATCH = 2000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(tenant_id: int, count: int, gen: kb_corpus.Generator, rng: random.Random) -> None:
    """`count` texts of one tenant, inserted in bulk (this measures reading, not the editor)."""
    from sqlalchemy import insert

    from core.extensions import db
    from knowledge.models import Article, ArticleTranslation

    made = 0
    while made < count:
        plans = []
        while made < count and len(plans) < BATCH:
            languages = rng.sample(LANGUAGES, 2 if rng.random() < 0.3 and count - made > 1 else 1)
            plans.append(languages)
            made += len(languages)
        article_ids = db.session.scalars(
            insert(Article).returning(Article.id),
            [
                {
                    "tenant_id": tenant_id,
                    "status": "published" if rng.random() < 0.85 else rng.choice(["draft", "archived"]),
                    "visibility": "public" if rng.random() < 0.7 else "internal",
                    "tags": [],
                }
                for _ in plans
            ],
            execution_options={"sort_by_parameter_order": True},
        ).all()
        rows = []
        for article_id, languages in zip(article_ids, plans, strict=True):
            for language in languages:
                article = gen.article(language)
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "article_id": article_id,
                        "language": language,
                        "title": article.title,
                        "body": article.body,
                    }
                )
        # One multi-row INSERT per 500 (an executemany would be one statement per row, and the
        # PostgreSQL statistics trigger would run once per row).
        for start in range(0, len(rows), 500):
            db.session.execute(insert(ArticleTranslation).values(rows[start : start + 500]))
        db.session.commit()


def index_size(app: Any) -> str:
    from core.extensions import db

    if db.engine.dialect.name == "sqlite":
        sizes = {}
        for table, expression in (
            ("kb_fts_data", "sum(length(block))"),
            ("kb_fts_idx", "sum(length(term)) + 16 * count(*)"),
            ("kb_fts_content", "sum(length(c0) + length(c1))"),
            ("kb_fts_docsize", "sum(length(sz)) + 8 * count(*)"),
        ):
            sql = f"SELECT {expression} FROM {table}"  # noqa: S608 (the constants above)
            sizes[table] = db.session.execute(text(sql)).scalar() or 0
        index = sizes["kb_fts_data"] + sizes["kb_fts_idx"] + sizes["kb_fts_docsize"]
        return (
            f"FTS5 index {index / 1e6:.1f} MB + its copy of the stemmed text "
            f"{sizes['kb_fts_content'] / 1e6:.1f} MB (payload bytes, before page overhead)"
        )
    row = db.session.execute(
        text(
            "SELECT pg_relation_size('ix_article_translations_tenant_id_language_search_vector'), "
            "pg_relation_size('ix_article_translations_tenant_id_title_trgm'), "
            "(SELECT sum(pg_column_size(search_vector)) FROM article_translations), "
            "pg_total_relation_size('article_translations')"
        )
    ).one()
    return (
        f"GIN (tenant_id, language, search_vector) {row[0] / 1e6:.1f} MB, "
        f"GIN trigram titles {row[1] / 1e6:.1f} MB, "
        f"tsvector column {row[2] / 1e6:.1f} MB; article_translations in all {row[3] / 1e6:.1f} MB"
    )


def rebuild_postgres_indexes(app: Any) -> float:
    """Drop and build the search indexes again after the bulk load (as the owner): their build
    time, and the state a bulk import would leave."""
    from sqlalchemy import create_engine

    engine = create_engine(app.config["MIGRATE_DATABASE_URL"])
    names = [
        "ix_article_translations_tenant_id_language_search_vector",
        "ix_article_translations_tenant_id_title_trgm",
    ]
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        definitions = [
            conn.execute(text("SELECT pg_get_indexdef(CAST(:n AS regclass))"), {"n": n}).scalar()
            for n in names
        ]
        for name in names:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        t0 = time.perf_counter()
        for definition in definitions:
            conn.execute(text(definition))
        took = time.perf_counter() - t0
    engine.dispose()
    return took


def build(args: argparse.Namespace) -> tuple[Any, int]:
    """A fresh database with the generated knowledge bases; the app and the searched tenant."""
    from sqlalchemy import update

    from core import tenancy
    from core.extensions import db
    from knowledge import search
    from tenants.models import Tenant

    others = args.translations if args.others is None else args.others
    app, ids = world.build(args.tenants, assigned=0)
    print(
        f"translations: searched tenant {args.translations}, the {args.tenants - 1} others {others}",
        flush=True,
    )
    rng = random.Random(11)
    gen = kb_corpus.Generator(seed=11)
    with app.app_context():
        with tenancy.system_scope():
            db.session.execute(update(Tenant).values(languages=LANGUAGES))
            db.session.commit()
            t0 = time.perf_counter()
            load(ids[0], args.translations, gen, rng)
            for n, tenant_id in enumerate(ids[1:]):
                share = others // (len(ids) - 1) + (1 if n < others % (len(ids) - 1) else 0)
                load(tenant_id, share, gen, rng)
            loaded = time.perf_counter() - t0
            t0 = time.perf_counter()
            if db.engine.dialect.name == "sqlite":
                search.reindex_all()
                db.session.commit()
                built = f"FTS5 index (Python stemming + insert) {time.perf_counter() - t0:.1f} s"
            else:
                took = rebuild_postgres_indexes(app)
                built = f"GIN indexes {took:.1f} s (tsvectors and term statistics while inserting)"
        kb_corpus.analyze(app)
        print(f"generated and inserted in {loaded:.1f} s; built {built}", flush=True)
    return app, ids[0]


def measure(app: Any, tenant_id: int, count: int) -> None:
    """`count` searches of one tenant (after 50 to warm up), each in its own transaction."""
    from core import tenancy
    from core.extensions import db
    from knowledge import search
    from knowledge.search import plan

    rng = random.Random(5)
    gen = kb_corpus.Generator(seed=5)
    queries = []
    for _ in range(count + 50):
        language, query = gen.query()
        queries.append((query, [language] if rng.random() < 0.8 else None))
    modes: list[str] = []
    original = plan.plan

    def recording(counts: list[int], candidates: int | None = None) -> plan.Plan:
        result = original(counts, candidates)
        modes.append(result.mode.value + ("/capped" if result.capped else ""))
        return result

    times: list[float] = []
    by_mode: dict[str, list[float]] = {}
    hits = Counter[int]()
    plan.plan = recording  # type: ignore[assignment]
    try:
        with app.app_context(), tenancy.only(tenant_id):
            texts = db.session.execute(
                text("SELECT count(*) FROM article_translations WHERE tenant_id = :t"), {"t": tenant_id}
            ).scalar()
            db.session.rollback()
            for n, (query, languages) in enumerate(queries):
                modes.clear()
                t0 = time.perf_counter()
                found = search.search(tenant_id, query, languages=languages)
                took = (time.perf_counter() - t0) * 1000
                db.session.rollback()
                if n < 50:  # warm-up
                    continue
                times.append(took)
                hits[len(found)] += 1
                by_mode.setdefault(modes[0] if modes else "no terms", []).append(took)
    finally:
        plan.plan = original  # type: ignore[assignment]
    print(
        f"search (one tenant, {texts} texts, limit 10, snippets): n={len(times)} "
        f"p50={statistics.median(times):.1f} ms p95={percentile(times, 0.95):.1f} ms "
        f"p99={percentile(times, 0.99):.1f} ms max={max(times):.1f} ms"
    )
    for mode, values in sorted(by_mode.items()):
        print(
            f"  plan {mode:<11} {len(values):>5} queries  p50={statistics.median(values):.1f} ms "
            f"p95={percentile(values, 0.95):.1f} ms"
        )
    zero = hits[0] / len(times)
    mean = sum(k * v for k, v in hits.items()) / len(times)
    print(f"  queries without a hit: {zero:.1%}; mean hits {mean:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--translations", type=int, default=20_000, help="texts of the searched tenant")
    parser.add_argument("--others", type=int, default=None, help="texts of the other tenants (all)")
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database a previous run built (PostgreSQL)"
    )
    args = parser.parse_args()

    from core import create_app, tenancy
    from core.extensions import db

    if args.reuse:
        app, tenant_id = create_app({}), 1
    else:
        app, tenant_id = build(args)
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    with app.app_context(), tenancy.system_scope():
        print(f"backend={backend} python={sys.version.split()[0]}; index size: {index_size(app)}", flush=True)
        db.session.rollback()
    measure(app, tenant_id, args.queries)


if __name__ == "__main__":
    main()
