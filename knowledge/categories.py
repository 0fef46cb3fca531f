"""The client's category tree: names per language, nested, ordered by hand."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from core import audit
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from knowledge.models import Article, KbCategory
from tenants.models import Tenant

MAX_DEPTH = 4


def of_tenant(tenant_id: int) -> list[KbCategory]:
    return list(
        db.session.scalars(
            select(KbCategory)
            .where(KbCategory.tenant_id == tenant_id)
            .order_by(KbCategory.position, KbCategory.id)
        )
    )


def label(category: KbCategory, language: str | None) -> str:
    names = category.names or {}
    return names.get(language or "") or next(iter(names.values()), "") or "?"


def flat(tenant_id: int, language: str | None) -> list[tuple[KbCategory, int, str]]:
    """The tree depth-first, each node with its depth and name in `language` (or another one)."""
    rows = of_tenant(tenant_id)
    children: dict[int | None, list[KbCategory]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[tuple[KbCategory, int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            out.append((node, depth, label(node, language)))
            if depth < MAX_DEPTH:
                walk(node.id, depth + 1)

    walk(None, 0)
    return out


def name_of(category_id: int | None, language: str | None) -> str:
    if category_id is None:
        return ""
    category = db.session.get(KbCategory, category_id)
    return label(category, language) if category else ""


def get(category_id: int) -> KbCategory:
    category = db.session.get(KbCategory, category_id)
    if category is None:
        raise NotFound(_("Not found."))
    return category


def _names(tenant: Tenant, names: dict[str, str]) -> dict[str, str]:
    clean = {lang: " ".join(value.split())[:120] for lang, value in names.items() if lang in tenant.languages}
    clean = {lang: value for lang, value in clean.items() if value}
    if not clean:
        raise ValidationFailed(fields={"names": _("Give the category a name in at least one language.")})
    return clean


def _depth(category_id: int | None) -> int:
    depth = 0
    while category_id is not None and depth <= MAX_DEPTH + 1:
        parent = db.session.get(KbCategory, category_id)
        category_id = parent.parent_id if parent else None
        depth += 1
    return depth


def save(
    tenant_id: int, names: dict[str, str], parent_id: int | None, category: KbCategory | None = None
) -> KbCategory:
    tenant = db.session.get_one(Tenant, tenant_id)
    clean = _names(tenant, names)
    if parent_id is not None:
        parent = db.session.get(KbCategory, parent_id)
        if parent is None or parent.tenant_id != tenant_id:
            raise ValidationFailed(fields={"parent_id": _("Choose one of this client's categories.")})
        ancestor: int | None = parent_id
        while ancestor is not None:
            if category is not None and ancestor == category.id:
                raise ValidationFailed(fields={"parent_id": _("A category cannot be inside itself.")})
            ancestor = db.session.get_one(KbCategory, ancestor).parent_id
        if _depth(parent_id) >= MAX_DEPTH:
            raise ValidationFailed(
                fields={"parent_id": _("Categories nest at most %(num)d deep.", num=MAX_DEPTH)}
            )
    if category is None:
        position = db.session.scalar(
            select(func.coalesce(func.max(KbCategory.position), 0)).where(KbCategory.tenant_id == tenant_id)
        )
        category = KbCategory(tenant_id=tenant_id, position=(position or 0) + 1)
        db.session.add(category)
    category.names, category.parent_id = clean, parent_id
    db.session.flush()
    audit.record("kb_category.saved", tenant_id=tenant_id, target=category)
    return category


def delete(category: KbCategory) -> None:
    """Its articles and subcategories move up to its parent; nothing is lost with a category."""
    db.session.execute(
        update(Article)
        .where(Article.tenant_id == category.tenant_id, Article.category_id == category.id)
        .values(category_id=category.parent_id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(KbCategory)
        .where(KbCategory.tenant_id == category.tenant_id, KbCategory.parent_id == category.id)
        .values(parent_id=category.parent_id)
        .execution_options(synchronize_session=False)
    )
    audit.record("kb_category.deleted", tenant_id=category.tenant_id, target=category)
    db.session.delete(category)
    db.session.flush()
