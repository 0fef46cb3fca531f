"""A client's whole knowledge base as one JSON document: categories, articles with every text and
its full history. Streamed in batches, so a large base never sits in memory at once."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select

from core.extensions import db
from core.models_base import utcnow
from knowledge.models import Article, ArticleTranslation, ArticleVersion, KbCategory
from knowledge.services import get_tenant

EXPORT_FORMAT = "firstline-kb"
EXPORT_BATCH = 200


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _category_tree(tenant_id: int) -> list[dict[str, Any]]:
    nodes = list(
        db.session.scalars(
            select(KbCategory)
            .where(KbCategory.tenant_id == tenant_id)
            .order_by(KbCategory.position, KbCategory.id)
        )
    )
    children: dict[int | None, list[KbCategory]] = {}
    known = {n.id for n in nodes}
    for node in nodes:
        children.setdefault(node.parent_id if node.parent_id in known else None, []).append(node)

    def build(parent: int | None, depth: int) -> list[dict[str, Any]]:
        if depth > 50:
            return []
        return [
            {
                "id": n.id,
                "names": dict(sorted((n.names or {}).items())),
                "position": n.position,
                "children": build(n.id, depth + 1),
            }
            for n in children.get(parent, [])
        ]

    return build(None, 0)


def export_json(tenant_id: int) -> Iterator[str]:
    """The tenant's whole knowledge base as one JSON document, in chunks (articles are read in
    batches, never all at once): categories as a tree, then every article with its texts and
    their full history. Keys are sorted and lists ordered by id, so two exports diff cleanly."""
    tenant = get_tenant(tenant_id)
    head = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "exported_at": utcnow().isoformat(),
        "tenant": {
            "id": tenant.id,
            "slug": tenant.slug,
            "name": tenant.name,
            "languages": list(tenant.languages),
            "default_language": tenant.default_language,
        },
        "categories": _category_tree(tenant.id),
    }
    yield json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1] + ', "articles": ['
    last, first = 0, True
    while True:
        batch = list(
            db.session.scalars(
                select(Article)
                .where(Article.tenant_id == tenant.id, Article.id > last)
                .order_by(Article.id)
                .limit(EXPORT_BATCH)
            )
        )
        if not batch:
            break
        last = batch[-1].id
        ids = [a.id for a in batch]
        texts: dict[int, dict[str, ArticleTranslation]] = {}
        for tr in db.session.scalars(
            select(ArticleTranslation).where(
                ArticleTranslation.tenant_id == tenant.id, ArticleTranslation.article_id.in_(ids)
            )
        ):
            texts.setdefault(tr.article_id, {})[tr.language] = tr
        history: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for v in db.session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.tenant_id == tenant.id, ArticleVersion.article_id.in_(ids))
            .order_by(ArticleVersion.article_id, ArticleVersion.language, ArticleVersion.number)
        ):
            history.setdefault((v.article_id, v.language), []).append(
                {
                    "number": v.number,
                    "title": v.title,
                    "body": v.body,
                    "note": v.note,
                    "author_id": v.author_id,
                    "created_at": _time(v.created_at),
                }
            )
        for article in batch:
            item = _article_dict(article, texts.get(article.id, {}), history)
            yield ("" if first else ",") + "\n" + json.dumps(item, ensure_ascii=False, sort_keys=True)
            first = False
    yield "\n]}\n"


def _article_dict(
    article: Article,
    texts: dict[str, ArticleTranslation],
    history: dict[tuple[int, str], list[dict[str, Any]]],
) -> dict[str, Any]:
    return {
        "id": article.id,
        "status": article.status,
        "visibility": article.visibility,
        "tags": list(article.tags or []),
        "category_id": article.category_id,
        "source_ticket_id": article.source_ticket_id,
        "created_by_id": article.created_by_id,
        "proposed_by_id": article.proposed_by_id,
        "approved_by_id": article.approved_by_id,
        "approved_at": _time(article.approved_at),
        "published_at": _time(article.published_at),
        "created_at": _time(article.created_at),
        "updated_at": _time(article.updated_at),
        "helpful_votes": article.helpful_votes,
        "unhelpful_votes": article.unhelpful_votes,
        "translations": {
            language: {
                "title": tr.title,
                "body": tr.body,
                "revision": tr.revision,
                "updated_by_id": tr.updated_by_id,
                "created_at": _time(tr.created_at),
                "updated_at": _time(tr.updated_at),
                "versions": history.get((article.id, language), []),
            }
            for language, tr in sorted(texts.items())
        },
    }


def export_file(tenant_id: int) -> IO[bytes]:
    """The export spooled to a temporary file (on disk once large), ready to be sent."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    for chunk in export_json(tenant_id):
        spool.write(chunk.encode("utf-8"))
    spool.seek(0)
    return spool


def export_download(tenant_id: int) -> tuple[str, IO[bytes]]:
    """A file name for the download, and the export spooled to a temporary file."""
    tenant = get_tenant(tenant_id)
    return f"kb-{tenant.slug}-{utcnow():%Y%m%d}.json", export_file(tenant.id)
