"""Article bodies: Markdown as the client writes it, sanitized HTML as everyone reads it.

Raw HTML in the Markdown is escaped by the parser and the result is cleaned again with nh3, so
an article can never carry script into the help center or the agents' workspace. Files of the
article are referenced as `kbfile:<id>` (`![plan](kbfile:12)`) and turned into the URL of the
page that shows them (the desk and the help center serve them from different addresses).
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
SCHEMES = {"http", "https", "mailto", "kbfile"}
LIST_GAP = re.compile(r"(?m)^(- [^\n]*)\n\s*\n(?=- )")
FILE_REF = re.compile(r'(src|href)="kbfile:(\d+)"')


def to_html(body: str) -> str:
    """Markdown to the sanitized HTML that is stored beside it."""
    return nh3.clean(
        _md.render(body),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def with_file_urls(html: str, url_for_file: Callable[[int], str | None]) -> str:
    """Point `kbfile:` references at a URL; a reference to a file the article lacks goes nowhere."""

    def replace(match: re.Match[str]) -> str:
        url = url_for_file(int(match.group(2)))
        return f'{match.group(1)}="{url}"' if url else f'{match.group(1)}="#"'

    return FILE_REF.sub(replace, html)


def to_text(body: str) -> str:
    """The answer as plain text, for a reply that goes out by e-mail."""
    html = _md.render(body)
    html = re.sub(r"<li>", "- ", html)
    html = re.sub(r"</(p|h[1-6]|li|tr|pre|blockquote)>", "\n", html)
    text = nh3.clean(html, tags=set())
    text = LIST_GAP.sub(r"\1\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return html_module.unescape(text).strip()
