"""A zipped folder of Markdown and HTML files, one text each: where a file sits and what it is
called give its language, category and title. The archive's declared sizes are checked before
anything is read, and it is read member by member."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from babel import localedata
from flask_babel import gettext as _

from core.auth.models import User
from knowledge.html_markdown import html_to_markdown
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

MAX_ZIP_FILES = 5000
MAX_ZIP_TOTAL = 100 * 1024 * 1024
MAX_ZIP_MEMBER = 2 * 1024 * 1024
TEXT_KINDS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}

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
) -> Iterator[ImportText]:
    keys = Keys()
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
        check_text(report, where, tenant, language, title, body)
        category = check_category(report, where, meta.get("category") or "/".join(folders))
        tags = check_tags(report, where, meta.get("tags", "").strip("[]"))
        visibility = check_visibility(report, where, meta.get("visibility", ""))
        key = "/".join([*folders, stem])
        if report.error_count > before or not keys.claim(report, where, key, language):
            continue
        yield ImportText(
            where, key, language, title, body, category or (), tags or [], visibility or "internal"
        )


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
    tenant, publish = check_actor(tenant_id, actor, publish, report)
    try:
        zf = zipfile.ZipFile(spooled(zip_stream))
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
        create_all(tenant, _zip_texts(zf, members, tenant, ImportReport()), actor, publish, report)
    return report
