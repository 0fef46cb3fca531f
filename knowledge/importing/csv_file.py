"""A CSV of texts, one row each: read as a stream (never whole in memory), checked, then created.
The columns are in `knowledge.importing`'s description."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from flask_babel import gettext as _

from core.auth.models import User
from knowledge.importing.checks import (
    ImportText,
    Keys,
    check_actor,
    check_category,
    check_tags,
    check_text,
    check_visibility,
    clean_markdown,
    clean_title,
    spooled,
)
from knowledge.importing.creating import create_all
from knowledge.importing.report import ImportReport
from tenants.models import Tenant

FIELD_LIMIT = 1024 * 1024  # characters in one CSV field: above any article, below a runaway quote
MAX_KEY = 200
REQUIRED_COLUMNS = ("title", "body", "language")
OPTIONAL_COLUMNS = ("category", "tags", "visibility", "key")


def _delimiter(raw: IO[bytes]) -> str:
    """Comma, or the semicolon (or tab) that spreadsheets of some locales write instead."""
    start = raw.tell()
    head = raw.read(64 * 1024)
    raw.seek(start)
    first = codecs.decode(head, "utf-8", errors="ignore").split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def _csv_texts(raw: IO[bytes], tenant: Tenant, report: ImportReport) -> Iterator[ImportText]:
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
        keys = Keys()
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
    keys: Keys,
    report: ImportReport,
) -> ImportText | None:
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
    check_text(report, where, tenant, language, title, body)
    key = (value("key") or "").strip() or None
    if key is not None and len(key) > MAX_KEY:
        report.error(where, "key", _("Too long (at most %(max)d characters).", max=MAX_KEY))
    category = check_category(report, where, value("category") or "")
    tags = check_tags(report, where, value("tags") or "")
    visibility = check_visibility(report, where, value("visibility") or "")
    if report.error_count > before:
        return None
    if key is not None and not keys.claim(report, where, key, language):
        return None
    return ImportText(where, key, language, title, body, category or (), tags or [], visibility or "internal")


def import_csv(tenant_id: int, stream: IO[Any], actor: User, *, publish: bool = False) -> ImportReport:
    """Check the whole file, then create all of it or nothing; the report says which."""
    report = ImportReport()
    tenant, publish = check_actor(tenant_id, actor, publish, report)
    raw = spooled(stream)
    start = raw.tell()
    for _text in _csv_texts(raw, tenant, report):
        pass
    if not report.ok:
        return report
    raw.seek(start)
    again = ImportReport()
    create_all(tenant, _csv_texts(raw, tenant, again), actor, publish, report)
    return report
