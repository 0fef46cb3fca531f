"""What both formats check before anything is created: who may import and publish, and each
text's fields. The upload is read twice (checked, then created), so it is spooled first."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from html import unescape
from typing import IO, Any

import nh3
from flask_babel import gettext as _

from core.auth.models import User
from core.errors import PermissionDenied, ValidationFailed
from knowledge import categories, editing, services
from knowledge.importing.report import ImportReport
from knowledge.models import Visibility
from tenants.models import Tenant
from tickets import services as tickets

MAX_CATEGORY_NAME = 120
MAX_CATEGORY_DEPTH = categories.MAX_DEPTH
MAX_TAGS_FIELD = 1000


@dataclass
class ImportText:
    """One text to create, checked: from a CSV row or a file of the ZIP."""

    where: int | str
    key: str | None
    language: str
    title: str
    body: str
    category: tuple[str, ...] = ()
    tags: list[str] = field(default_factory=list)
    visibility: str = Visibility.INTERNAL.value


def check_actor(tenant_id: int, actor: User, publish: bool, report: ImportReport) -> tuple[Tenant, bool]:
    """The tenant (through the scope), whether the actor may import, and whether they may publish:
    who may not approve gets drafts for the client to approve, and is told so."""
    tenant = services.get_tenant(tenant_id)
    if not services.may_write(actor):
        raise PermissionDenied()
    if publish and not (services.may_approve(actor) and actor.tenant_id == tenant.id):
        report.skip(0, "publish", _("Only the client's own staff publish: the articles arrive as drafts."))
        publish = False
    return tenant, publish


def spooled(stream: IO[Any]) -> IO[bytes]:
    """A seekable binary stream at the start of the data: the file is read twice."""
    probe = stream.read(0)
    if isinstance(probe, bytes) and getattr(stream, "seekable", lambda: False)():
        return stream
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    while chunk := stream.read(1024 * 1024):
        spool.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    spool.seek(0)
    return spool


ACTIVE_TAGS = ("script", "style", "iframe", "object", "embed", "noscript", "template")
ACTIVE_OPEN = re.compile("<(" + "|".join(ACTIVE_TAGS) + r")\b[^>]{0,2000}>?", re.IGNORECASE)


def clean_markdown(body: str) -> str:
    """Markdown as written, without the active content some exports carry (script and style
    blocks). What remains is rendered with raw HTML escaped and sanitized by `markdown.to_html`.

    One pass over the text, whatever it holds: each closing tag is looked for once per tag name
    from where the last one was found, so a text full of unclosed tags costs no more than a clean one.
    """
    text = body.replace("\r\n", "\n").replace("\x00", "")
    lowered = text.lower()
    unclosed: set[str] = set()
    out: list[str] = []
    position = 0
    for match in ACTIVE_OPEN.finditer(text):
        if match.start() < position:
            continue
        out.append(text[position : match.start()])
        name = match.group(1).lower()
        position = match.end()
        if name not in unclosed:
            close = lowered.find(f"</{name}", position)
            if close < 0:
                unclosed.add(name)
            else:
                end = lowered.find(">", close)
                position = len(text) if end < 0 else end + 1
    out.append(text[position:])
    return "".join(out).strip()


def clean_title(title: str) -> str:
    """Titles are plain text: tags (and whatever a script tag held) go, entities become text."""
    return " ".join(unescape(nh3.clean(title or "", tags=set())).split())


def check_text(
    report: ImportReport, where: int | str, tenant: Tenant, language: str, title: str, body: str
) -> bool:
    ok = True
    if language not in tenant.languages:
        report.error(
            where,
            "language",
            _(
                "This client does not serve customers in “%(language)s”; use one of: %(languages)s.",
                language=language[:20],
                languages=", ".join(tenant.languages),
            ),
        )
        ok = False
    if not title:
        report.error(where, "title", _("The title is empty."))
        ok = False
    elif len(title) > editing.MAX_TITLE:
        report.error(
            where, "title", _("The title is too long (at most %(max)d characters).", max=editing.MAX_TITLE)
        )
        ok = False
    if not body:
        report.error(where, "body", _("The text is empty."))
        ok = False
    elif len(body) > editing.MAX_BODY:
        report.error(
            where, "body", _("The text is too long (at most %(max)d characters).", max=editing.MAX_BODY)
        )
        ok = False
    return ok


def check_tags(report: ImportReport, where: int | str, raw: str) -> list[str] | None:
    if len(raw) > MAX_TAGS_FIELD:
        report.error(where, "tags", _("Too long (at most %(max)d characters).", max=MAX_TAGS_FIELD))
        return None
    try:
        return tickets.clean_tags(raw.replace(";", ","))
    except ValidationFailed as exc:
        report.error(where, "tags", exc.fields.get("tags", exc.message))
        return None


def check_visibility(report: ImportReport, where: int | str, raw: str) -> str | None:
    value = raw.strip().lower() or Visibility.INTERNAL.value
    if value not in {v.value for v in Visibility}:
        report.error(where, "visibility", _("Use “public” or “internal”."))
        return None
    return value


def check_category(report: ImportReport, where: int | str, raw: str) -> tuple[str, ...] | None:
    path = tuple(" ".join(part.split()) for part in raw.replace("\\", "/").split("/"))
    path = tuple(part for part in path if part)
    if len(path) > MAX_CATEGORY_DEPTH:
        report.error(where, "category", _("At most %(max)d levels of categories.", max=MAX_CATEGORY_DEPTH))
        return None
    if any(len(part) > MAX_CATEGORY_NAME for part in path):
        report.error(
            where,
            "category",
            _("A category name has at most %(max)d characters.", max=MAX_CATEGORY_NAME),
        )
        return None
    return path


class Keys:
    """Which key and language each text claimed first, to refuse a second text for the same."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int | str] = {}

    def claim(self, report: ImportReport, where: int | str, key: str, language: str) -> bool:
        first = self.seen.setdefault((key, language), where)
        if first == where:
            return True
        if isinstance(first, int):
            message = _("Line %(line)d already has the text in this language for this key.", line=first)
        else:
            message = _("%(file)s already has the text in this language for this article.", file=first)
        report.error(where, "key" if isinstance(where, int) else "language", message)
        return False
