"""Bringing a client's existing FAQ into its knowledge base, and taking the whole base out again.

Imports are all or nothing: the file is read and checked completely first (streaming, so a large
CSV never sits in memory), every problem is reported with its line (or file) and nothing is
created; only a clean file is created, inside a savepoint, through the same services as the
editor (so every text gets its first version and its search entry). A problem that only shows
while creating rolls the savepoint back: never half an import.

A CSV has the columns `title`, `body`, `language` and optionally `category` (a path such as
`Billing/Invoices`, named in the row's language), `tags`, `visibility` and `key`: rows that share
a key are the languages of one article; its first row gives the category, visibility and tags.

A ZIP holds a folder of Markdown or HTML files, one text each: the language comes from a
language folder (`de/faq.md`) or suffix (`faq.de.md`), other folders are categories, the title
comes from front matter, the first heading, or the file name; the same file name in several
language folders makes one article in several languages.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import PurePosixPath
from typing import IO, Any, NamedTuple

import nh3
from babel import localedata
from flask_babel import gettext as _
from flask_babel import ngettext

from core.auth.models import User
from core.errors import PermissionDenied, ServiceError, ValidationFailed
from core.extensions import db
from knowledge import categories, services
from knowledge.html_markdown import html_to_markdown
from knowledge.models import (
    Article,
    KbCategory,
    Visibility,
)
from tenants.models import Tenant
from tickets import services as tickets

MAX_REPORTED = 100  # errors listed; the rest are counted
FIELD_LIMIT = 1024 * 1024  # characters in one CSV field: above any article, below a runaway quote
MAX_KEY = 200
MAX_CATEGORY_NAME = 120
MAX_CATEGORY_DEPTH = categories.MAX_DEPTH
MAX_TAGS_FIELD = 1000
# A ZIP is read member by member, but its declared sizes are checked before anything is read.
MAX_ZIP_FILES = 5000
MAX_ZIP_TOTAL = 100 * 1024 * 1024
MAX_ZIP_MEMBER = 2 * 1024 * 1024
TEXT_KINDS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
REQUIRED_COLUMNS = ("title", "body", "language")
OPTIONAL_COLUMNS = ("category", "tags", "visibility", "key")


class Problem(NamedTuple):
    """Where (a CSV line number, or a path in the ZIP; 0 for the whole file), which field, what."""

    line: int | str
    field: str
    message: str


@dataclass
class ImportReport:
    created: int = 0  # articles
    translations: int = 0  # texts, the first ones included
    published: bool = False
    errors: list[Problem] = field(default_factory=list)
    error_count: int = 0
    skipped: list[Problem] = field(default_factory=list)  # ignored, not blocking

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    def error(self, line: int | str, field_: str, message: object) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(Problem(line, field_, str(message)))

    def skip(self, line: int | str, field_: str, message: object) -> None:
        if len(self.skipped) < MAX_REPORTED:
            self.skipped.append(Problem(line, field_, str(message)))

    def lines(self) -> list[str]:
        """The report as plain text lines (the command line prints these)."""
        out = [describe(p) for p in self.errors]
        if self.more_errors:
            out.append(
                ngettext("... and %(num)d more error.", "... and %(num)d more errors.", self.more_errors)
            )
        return out


def describe(problem: Problem) -> str:
    """One problem as a line of text; the column (or field) is named as in the file."""
    line, name, message = problem
    if isinstance(line, int) and line:
        if name:
            return _("Line %(line)d, %(field)s: %(message)s", line=line, field=name, message=message)
        return _("Line %(line)d: %(message)s", line=line, message=message)
    if line:
        if name:
            return _("%(file)s, %(field)s: %(message)s", file=line, field=name, message=message)
        return _("%(file)s: %(message)s", file=line, message=message)
    if name:
        return _("%(field)s: %(message)s", field=name, message=message)
    return message


@dataclass
class _Text:
    """One text to create, checked: from a CSV row or a file of the ZIP."""

    where: int | str
    key: str | None
    language: str
    title: str
    body: str
    category: tuple[str, ...] = ()
    tags: list[str] = field(default_factory=list)
    visibility: str = Visibility.INTERNAL.value


class _Aborted(Exception):
    pass


# --- shared checks ----------------------------------------------------------------------------


def _start(tenant_id: int, actor: User, publish: bool, report: ImportReport) -> tuple[Tenant, bool]:
    """The tenant (through the scope), whether the actor may import, and whether they may publish:
    who may not approve gets drafts for the client to approve, and is told so."""
    tenant = services.get_tenant(tenant_id)
    if not services.may_write(actor):
        raise PermissionDenied()
    if publish and not (services.may_approve(actor) and actor.tenant_id == tenant.id):
        report.skip(0, "publish", _("Only the client's own staff publish: the articles arrive as drafts."))
        publish = False
    return tenant, publish


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


def _check_text(
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
    elif len(title) > services.MAX_TITLE:
        report.error(
            where, "title", _("The title is too long (at most %(max)d characters).", max=services.MAX_TITLE)
        )
        ok = False
    if not body:
        report.error(where, "body", _("The text is empty."))
        ok = False
    elif len(body) > services.MAX_BODY:
        report.error(
            where, "body", _("The text is too long (at most %(max)d characters).", max=services.MAX_BODY)
        )
        ok = False
    return ok


def _check_tags(report: ImportReport, where: int | str, raw: str) -> list[str] | None:
    if len(raw) > MAX_TAGS_FIELD:
        report.error(where, "tags", _("Too long (at most %(max)d characters).", max=MAX_TAGS_FIELD))
        return None
    try:
        return tickets.clean_tags(raw.replace(";", ","))
    except ValidationFailed as exc:
        report.error(where, "tags", exc.fields.get("tags", exc.message))
        return None


def _check_visibility(report: ImportReport, where: int | str, raw: str) -> str | None:
    value = raw.strip().lower() or Visibility.INTERNAL.value
    if value not in {v.value for v in Visibility}:
        report.error(where, "visibility", _("Use “public” or “internal”."))
        return None
    return value


def _check_category(report: ImportReport, where: int | str, raw: str) -> tuple[str, ...] | None:
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


class _Keys:
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


# --- creating ---------------------------------------------------------------------------------


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


def _create(tenant: Tenant, texts: Iterable[_Text], actor: User, publish: bool, report: ImportReport) -> None:
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
                        services.save_text(
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
                        article = services.create(
                            services.ArticleInput(
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
                    services.approve(services.get(article_id), actor)
    except _Aborted:
        return
    report.created, report.translations, report.published = len(created), translations, publish


# --- CSV --------------------------------------------------------------------------------------


def _spooled(stream: IO[Any]) -> IO[bytes]:
    """A seekable binary stream at the start of the data: the file is read twice."""
    probe = stream.read(0)
    if isinstance(probe, bytes) and getattr(stream, "seekable", lambda: False)():
        return stream
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    while chunk := stream.read(1024 * 1024):
        spool.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    spool.seek(0)
    return spool


def _delimiter(raw: IO[bytes]) -> str:
    """Comma, or the semicolon (or tab) that spreadsheets of some locales write instead."""
    start = raw.tell()
    head = raw.read(64 * 1024)
    raw.seek(start)
    first = codecs.decode(head, "utf-8", errors="ignore").split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def _csv_texts(raw: IO[bytes], tenant: Tenant, report: ImportReport) -> Iterator[_Text]:
    """The valid rows as texts, one at a time; the invalid ones go into the report."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    delimiter = _delimiter(raw)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    line = 1
    try:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            report.error(0, "", _("The file is empty."))
            return
        columns = _columns(header, report)
        if columns is None:
            return
        keys = _Keys()
        line = reader.line_num
        for row in reader:
            where, line = line + 1, reader.line_num
            if not any(value.strip() for value in row):
                continue
            item = _csv_row(row, columns, len(header), where, tenant, keys, report)
            if item is not None:
                yield item
    except csv.Error:
        report.error(
            line + 1,
            "",
            _(
                "This line could not be read (a quote that is never closed, or a field of more than "
                "%(max)d characters); nothing after it was checked.",
                max=FIELD_LIMIT,
            ),
        )
    except UnicodeDecodeError:
        report.error(
            line + 1, "", _("The file is not UTF-8 text. Save it as “CSV UTF-8” and import it again.")
        )
    finally:
        text.detach()


def _columns(header: list[str], report: ImportReport) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in columns:
            report.error(1, name, _("This column appears twice."))
        elif name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
            columns[name] = position
        elif name:
            report.skip(1, name[:40], _("Unknown column, ignored."))
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            report.error(1, name, _("This column is missing."))
    return None if report.error_count else columns


def _csv_row(
    row: list[str],
    columns: dict[str, int],
    width: int,
    where: int,
    tenant: Tenant,
    keys: _Keys,
    report: ImportReport,
) -> _Text | None:
    before = report.error_count
    if len(row) > width and any(v.strip() for v in row[width:]):
        report.error(where, "", _("This line has more fields than the header."))

    def value(name: str) -> str | None:
        position = columns.get(name)
        if position is None:
            return ""
        return row[position] if position < len(row) else None

    for name in REQUIRED_COLUMNS:
        if value(name) is None:
            report.error(where, name, _("This line has no value for this column."))
    if report.error_count > before:
        return None
    language = (value("language") or "").strip().lower()
    title = clean_title(value("title") or "")
    body = clean_markdown(value("body") or "")
    _check_text(report, where, tenant, language, title, body)
    key = (value("key") or "").strip() or None
    if key is not None and len(key) > MAX_KEY:
        report.error(where, "key", _("Too long (at most %(max)d characters).", max=MAX_KEY))
    category = _check_category(report, where, value("category") or "")
    tags = _check_tags(report, where, value("tags") or "")
    visibility = _check_visibility(report, where, value("visibility") or "")
    if report.error_count > before:
        return None
    if key is not None and not keys.claim(report, where, key, language):
        return None
    return _Text(where, key, language, title, body, category or (), tags or [], visibility or "internal")


def import_csv(tenant_id: int, stream: IO[Any], actor: User, *, publish: bool = False) -> ImportReport:
    """Check the whole file, then create all of it or nothing; the report says which."""
    report = ImportReport()
    tenant, publish = _start(tenant_id, actor, publish, report)
    raw = _spooled(stream)
    start = raw.tell()
    for _text in _csv_texts(raw, tenant, report):
        pass
    if not report.ok:
        return report
    raw.seek(start)
    again = ImportReport()
    _create(tenant, _csv_texts(raw, tenant, again), actor, publish, report)
    return report


# --- a folder of Markdown and HTML, zipped ----------------------------------------------------

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
MD_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][a-zA-Z]{2,4})?$")


def _is_language(code: str) -> bool:
    return bool(LANGUAGE_CODE.match(code)) and localedata.exists(code.replace("-", "_"))


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    values: dict[str, str] = {}
    for line in match.group(1).splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            values[name.strip().lower()] = value.strip().strip("\"'")
    return values, text[match.end() :]


@dataclass
class _Member:
    info: zipfile.ZipInfo
    path: tuple[str, ...]  # below the common root, the language folder included
    kind: str


def _safe_path(name: str) -> tuple[str, ...] | None:
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = tuple(part for part in name.split("/") if part)
    if any(part in {".", ".."} for part in parts):
        return None
    return parts


def _members(zf: zipfile.ZipFile, report: ImportReport) -> list[_Member] | None:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_ZIP_FILES:
        report.error(0, "", _("The archive has more than %(max)d files.", max=MAX_ZIP_FILES))
        return None
    if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
        report.error(
            0,
            "",
            _(
                "Unpacked, the archive would be larger than %(max)d MB; import it in parts.",
                max=MAX_ZIP_TOTAL // (1024 * 1024),
            ),
        )
        return None
    members: list[_Member] = []
    for info in infos:
        path = _safe_path(info.filename)
        if path is None:
            report.skip(info.filename[:200], "", _("Unsafe path (absolute or with “..”), ignored."))
            continue
        if not path or path[0] == "__MACOSX" or any(part.startswith(".") for part in path):
            continue
        kind = TEXT_KINDS.get(PurePosixPath(path[-1]).suffix.lower())
        if kind is None:
            report.skip("/".join(path), "", _("Not a Markdown or HTML file, ignored."))
            continue
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            report.skip("/".join(path), "", _("A symbolic link, ignored."))
            continue
        members.append(_Member(info, path, kind))
    # A folder zipped as a whole has one top folder around everything: it is not a category.
    tops = {m.path[0] for m in members}
    if len(tops) == 1 and all(len(m.path) > 1 for m in members) and not _is_language(next(iter(tops))):
        members = [_Member(m.info, m.path[1:], m.kind) for m in members]
    members.sort(key=lambda m: m.path)
    return members


def _zip_texts(
    zf: zipfile.ZipFile, members: list[_Member], tenant: Tenant, report: ImportReport
) -> Iterator[_Text]:
    keys = _Keys()
    for member in members:
        where = member.info.filename  # as the client named it, their root folder included
        before = report.error_count
        folders, filename = list(member.path[:-1]), member.path[-1]
        stem = PurePosixPath(filename).stem
        language = None
        if folders and _is_language(folders[0].lower()):
            language = folders.pop(0).lower()
        suffix = PurePosixPath(stem).suffix
        if suffix and _is_language(suffix[1:].lower()):
            stem, language = stem[: -len(suffix)], language or suffix[1:].lower()
        raw = _read_member(zf, member, where, report)
        if raw is None:
            continue
        meta, text = _front_matter(raw) if member.kind == "markdown" else ({}, raw)
        if member.kind == "html":
            title, body = html_to_markdown(text)
        else:
            body = clean_markdown(text)
            heading = MD_HEADING.search(body)
            title = ""
            if heading and not body[: heading.start()].strip():
                title = heading.group(1)
                body = body[heading.end() :].strip()
        title = clean_title(meta.get("title") or title or stem.replace("_", " ").replace("-", " "))
        language = (meta.get("language") or language or tenant.default_language).lower()
        _check_text(report, where, tenant, language, title, body)
        category = _check_category(report, where, meta.get("category") or "/".join(folders))
        tags = _check_tags(report, where, meta.get("tags", "").strip("[]"))
        visibility = _check_visibility(report, where, meta.get("visibility", ""))
        key = "/".join([*folders, stem])
        if report.error_count > before or not keys.claim(report, where, key, language):
            continue
        yield _Text(where, key, language, title, body, category or (), tags or [], visibility or "internal")


def _read_member(zf: zipfile.ZipFile, member: _Member, where: str, report: ImportReport) -> str | None:
    if member.info.file_size > MAX_ZIP_MEMBER:
        report.error(where, "", _("The file is too large (at most %(max)d kB).", max=MAX_ZIP_MEMBER // 1024))
        return None
    try:
        with zf.open(member.info) as handle:
            data = handle.read(MAX_ZIP_MEMBER + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError):
        report.error(where, "", _("The file could not be unpacked (damaged or encrypted)."))
        return None
    if len(data) > MAX_ZIP_MEMBER:
        report.error(where, "", _("The file is too large (at most %(max)d kB).", max=MAX_ZIP_MEMBER // 1024))
        return None
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        report.error(where, "", _("The file is not UTF-8 text."))
        return None


def import_folder(
    tenant_id: int, zip_stream: IO[bytes], actor: User, *, publish: bool = False
) -> ImportReport:
    """A zipped folder of Markdown and HTML files, all or nothing like `import_csv`."""
    report = ImportReport()
    tenant, publish = _start(tenant_id, actor, publish, report)
    try:
        zf = zipfile.ZipFile(_spooled(zip_stream))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        report.error(0, "", _("This is not a ZIP archive."))
        return report
    with zf:
        members = _members(zf, report)
        if members is None:
            return report
        for _text in _zip_texts(zf, members, tenant, report):
            pass
        if not report.ok:
            return report
        if not members:
            report.error(0, "", _("The archive holds no Markdown or HTML files."))
            return report
        _create(tenant, _zip_texts(zf, members, tenant, ImportReport()), actor, publish, report)
    return report
