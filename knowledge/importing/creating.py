"""Creating what an import checked: all of it in one savepoint, through the same services as the
editor, growing the client's category tree as the texts' paths need it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from flask_babel import gettext as _

from core.auth.models import User
from core.errors import ServiceError
from core.extensions import db
from knowledge import categories, editing, lifecycle, services
from knowledge.importing.checks import MAX_CATEGORY_DEPTH, ImportText
from knowledge.importing.report import ImportReport
from knowledge.models import Article, KbCategory
from tenants.models import Tenant


class _Aborted(Exception):
    pass


class _Categories:
    """The tenant's category tree, found by name per language and grown (through the categories
    service) as the paths need it."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self.nodes = {c.id: c for c in categories.of_tenant(tenant_id)}
        self.index: dict[tuple[int | None, str, str], int] = {}
        for node in self.nodes.values():
            for language, name in (node.names or {}).items():
                self.index.setdefault((node.parent_id, language, name.casefold()), node.id)

    def resolve(self, path: tuple[str, ...], language: str) -> int | None:
        """The category at `path` (named in `language`), made where missing. A node with the same
        name in another language and none in this one is the same folder: it gets this name."""
        parent: int | None = None
        for name in path:
            found = self.index.get((parent, language, name.casefold()))
            if found is None:
                found = next(
                    (
                        n.id
                        for n in self.nodes.values()
                        if n.parent_id == parent
                        and language not in (n.names or {})
                        and name.casefold() in {v.casefold() for v in (n.names or {}).values()}
                    ),
                    None,
                )
                if found is not None:
                    self._add_name(self.nodes[found], language, name)
            if found is None:
                node = categories.save(self.tenant_id, {language: name}, parent)
                self.nodes[node.id] = node
                self.index[(parent, language, name.casefold())] = found = node.id
            parent = found
        return parent

    def _add_name(self, node: KbCategory, language: str, name: str) -> None:
        categories.save(self.tenant_id, {**(node.names or {}), language: name}, node.parent_id, category=node)
        self.index.setdefault((node.parent_id, language, name.casefold()), node.id)

    def name(self, category_id: int | None, path: tuple[str, ...], language: str) -> None:
        """Another language's row of the same article names its category: where the tree has no
        name in that language yet, it gets this one."""
        chain: list[KbCategory] = []
        current = category_id
        while current is not None and current in self.nodes and len(chain) <= MAX_CATEGORY_DEPTH:
            chain.append(self.nodes[current])
            current = self.nodes[current].parent_id
        if not path or len(chain) != len(path):
            return
        for node, name in zip(reversed(chain), path, strict=True):
            if language not in (node.names or {}):
                self._add_name(node, language, name)


def create_all(
    tenant: Tenant, texts: Iterable[ImportText], actor: User, publish: bool, report: ImportReport
) -> None:
    """Create everything in one savepoint; a refusal by the services undoes all of it."""
    created: list[int] = []
    translations = 0
    note = _("Imported")
    try:
        with db.session.begin_nested():
            tree = _Categories(tenant.id)
            by_key: dict[str, int] = {}
            recent: OrderedDict[int, Article] = OrderedDict()  # the languages of one key are usually adjacent
            for text in texts:
                try:
                    if text.key is not None and text.key in by_key:
                        article = recent.get(by_key[text.key]) or services.get(by_key[text.key])
                        editing.save_text(
                            article,
                            text.language,
                            title=text.title,
                            body=text.body,
                            base_revision=None,
                            actor=actor,
                            note=note,
                            notify=False,
                        )
                        tree.name(article.category_id, text.category, text.language)
                    else:
                        article = editing.create(
                            editing.ArticleInput(
                                tenant_id=tenant.id,
                                language=text.language,
                                title=text.title,
                                body=text.body,
                                category_id=tree.resolve(text.category, text.language),
                                visibility=text.visibility,
                                tags=text.tags,
                            ),
                            actor,
                            note=note,
                        )
                        created.append(article.id)
                        if text.key is not None:
                            by_key[text.key] = article.id
                            recent[article.id] = article
                            if len(recent) > 256:
                                recent.popitem(last=False)
                    translations += 1
                except ServiceError as exc:
                    for name, message in exc.fields.items() or [("", exc.message)]:
                        report.error(text.where, name, message)
                    raise _Aborted() from exc
            if publish:
                for article_id in created:
                    lifecycle.approve(services.get(article_id), actor)
    except _Aborted:
        return
    report.created, report.translations, report.published = len(created), translations, publish
