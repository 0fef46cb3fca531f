"""Knowledge-base search relevance: MRR@10 and recall@5 on real question/answer sets.

Only the answers are indexed (as article bodies, with empty titles: a text that contains its own
question would measure nothing); each question is the query, and its answer is the one relevant
text. Sets: the zaragoza-construction-faq package (503 pairs in English and Swedish; Swedish is
one of "the other languages": accent folding, no stemmer), and the German and French sets of
`kb_corpus.py` (paraphrased questions, other inflections).

SQLite by default, PostgreSQL when DATABASE_URL / MIGRATE_DATABASE_URL are set (as kernel.py).

    .venv/bin/python bench/kb_relevance.py [--variant NAME ...] [--show-misses 5]

Variants switch one ranking choice off, to see what it is worth: `and` (every word required),
`no-idf` (PostgreSQL: plain ts_rank, no inverse document frequency), `no-stopwords` and `no-stem`
(SQLite: the index is rebuilt without them; PostgreSQL's are in its configurations), `norm0`,
`norm2`, `norm8`, `norm32` (PostgreSQL: ts_rank's length normalisation; 1 is the default).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import kb_corpus  # noqa: E402
import world  # noqa: E402  (sets the path and the instance folder)


def sets() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    return {
        "faq-en": ("en", kb_corpus.faq("en")),
        "faq-sv": ("sv", kb_corpus.faq("sv")),
        "own-de": ("de", kb_corpus.GERMAN),
        "own-fr": ("fr", kb_corpus.FRENCH),
    }


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Switch one ranking choice off for the duration (monkeypatching the modules)."""
    from knowledge.search import plan, postgres_fts, text

    saved: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, attr: str, value: Any) -> None:
        saved.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, value)

    if name == "and":
        patch(
            plan,
            "plan",
            lambda counts, candidates=None: (
                plan.Plan(plan.Mode.ALL, tuple(i for i, n in enumerate(counts) if n))
                if any(counts)
                else plan.Plan(plan.Mode.TYPO, ())
            ),
        )
        patch(plan, "widened", lambda current: current)
    elif name == "no-idf":
        patch(postgres_fts, "_idf", lambda count, total: 1.0)
    elif name == "no-stopwords":
        patch(text, "stopwords", lambda language: frozenset())
    elif name == "no-stem":
        patch(text, "_stemmer", lambda language: None)
    elif name in ("norm0", "norm2", "norm8", "norm32"):
        patch(postgres_fts, "NORMALIZATION", int(name[4:]))
    elif name != "default":
        raise SystemExit(f"unknown variant {name}")
    try:
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)


def evaluate(tenant_id: int, language: str, pairs: list[tuple[str, str]], ids: list[int], misses: int) -> str:
    from core import tenancy
    from knowledge import search

    relevant: dict[str, set[int]] = {}
    for (question, _), translation_id in zip(pairs, ids, strict=True):
        relevant.setdefault(question, set()).add(translation_id)
    reciprocal, recalled, shown = 0.0, 0, 0
    times = []
    with tenancy.only(tenant_id):
        for question, wanted in relevant.items():
            t0 = time.perf_counter()
            hits = search.search(tenant_id, question, languages=[language], limit=10)
            times.append((time.perf_counter() - t0) * 1000)
            found = [hit.translation_id for hit in hits]
            rank = next((i for i, tid in enumerate(found, 1) if tid in wanted), None)
            if rank is not None:
                reciprocal += 1.0 / rank
                recalled += rank <= 5
            elif shown < misses:
                shown += 1
                print(f"    miss: {question!r}")
    n = len(relevant)
    times.sort()
    return f"MRR@10={reciprocal / n:.3f} recall@5={recalled / n:.3f} queries={n} p50={times[n // 2]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()

    from sqlalchemy import insert

    from core import tenancy
    from core.extensions import db
    from knowledge import search
    from knowledge.models import Article, ArticleTranslation

    data = sets()
    app, tenant_ids = world.build(len(data), assigned=0)
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"backend={backend} python={sys.version.split()[0]}")
    indexed: dict[str, list[int]] = {}
    with app.app_context():
        for (name, (language, pairs)), tenant_id in zip(data.items(), tenant_ids, strict=True):
            with tenancy.only(tenant_id):
                articles = db.session.scalars(
                    insert(Article).returning(Article.id),
                    [
                        {"tenant_id": tenant_id, "status": "published", "visibility": "public", "tags": []}
                        for _ in pairs
                    ],
                    execution_options={"sort_by_parameter_order": True},
                ).all()
                ids = db.session.scalars(
                    insert(ArticleTranslation).returning(ArticleTranslation.id),
                    [
                        {
                            "tenant_id": tenant_id,
                            "article_id": article_id,
                            "language": language,
                            "title": "",
                            "body": answer,
                        }
                        for article_id, (_, answer) in zip(articles, pairs, strict=True)
                    ],
                    execution_options={"sort_by_parameter_order": True},
                ).all()
                search.reindex_tenant(tenant_id)
                db.session.commit()
                indexed[name] = list(ids)
        kb_corpus.analyze(app)
        for name in args.variant or ["default"]:
            with variant(name):
                print(f"variant={name}")
                if backend.startswith("sqlite"):  # the variant's stemming and stopwords in the index too
                    with tenancy.system_scope():
                        search.reindex_all()
                        db.session.commit()
                for (set_name, (language, pairs)), tenant_id in zip(data.items(), tenant_ids, strict=True):
                    result = evaluate(tenant_id, language, pairs, indexed[set_name], args.show_misses)
                    print(f"  {set_name:<7} ({language}) {result}")
                    db.session.rollback()
            if backend.startswith("sqlite") and name != "default":
                with tenancy.system_scope():
                    search.reindex_all()
                    db.session.commit()


if __name__ == "__main__":
    main()
