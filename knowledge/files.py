"""Images and attachments of articles, kept with the tickets' files (per tenant, by content) and
served only through their row: the tenancy scope, or for the help center the article's being
public and published, decides who gets them."""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.auth.models import User
from core.errors import NotFound, PermissionDenied
from core.extensions import db
from knowledge import services as articles
from knowledge.models import Article, ArticleFile
from tickets import attachments

INLINE_TYPES = attachments.INLINE_TYPES


def add(article: Article, upload: attachments.Upload, actor: User) -> ArticleFile:
    if not articles.may_write(actor, article):
        raise PermissionDenied()
    attachments.check([upload])
    item = ArticleFile(
        tenant_id=article.tenant_id,
        article_id=article.id,
        filename=attachments.safe_name(upload.filename),
        content_type=attachments.content_type_of(upload),
        size=len(upload.data),
        sha256=attachments.write_blob(article.tenant_id, upload.data),
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "article.file_added", tenant_id=article.tenant_id, target=article, data={"file": item.filename}
    )
    return item


def of(article: Article) -> list[ArticleFile]:
    return list(
        db.session.scalars(
            select(ArticleFile)
            .where(ArticleFile.tenant_id == article.tenant_id, ArticleFile.article_id == article.id)
            .order_by(ArticleFile.id)
        )
    )


def get(file_id: int, article: Article | None = None) -> ArticleFile:
    item = db.session.get(ArticleFile, file_id)
    if item is None or (article is not None and item.article_id != article.id):
        raise NotFound(_("Not found."))
    return item


def remove(item: ArticleFile, actor: User) -> None:
    article = articles.get(item.article_id)
    if not articles.may_write(actor, article):
        raise PermissionDenied()
    audit.record(
        "article.file_removed", tenant_id=item.tenant_id, target=article, data={"file": item.filename}
    )
    db.session.delete(item)
    db.session.flush()


def path_of(item: ArticleFile) -> Path:
    return attachments.blob_path(item.tenant_id, item.sha256)
