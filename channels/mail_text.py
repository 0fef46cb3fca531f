"""What an agent reads of an e-mail: HTML made into text or into inert HTML, and the new part
of a reply separated from the quoted history and the signature below it.

Customers' mail clients quote in many languages and styles; trimming errs on the side of
showing too much (an unrecognised quote stays visible) because the full text is always kept.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

# Tags whose content is never text (the parser skips them entirely).
_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_BLOCK = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "table", "ul", "ol", "hr", "section", "article", "header", "footer",
}  # fmt: skip

# What the sanitized HTML may keep; anything else (scripts, forms, event handlers, styles that
# could overlay the page, remote URLs other than links) is dropped by nh3 (ammonia).
_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}}


_QUOTE_OPEN, _QUOTE_CLOSE = "\x00>", "\x00<"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # Whatever was left open in the head (`<head>` without `</head>` is common), the
            # body is text.
            self._skipping = 0
        elif tag in _SKIP:
            self._skipping += 1
        elif tag == "blockquote":
            self.parts.append(f"\n{_QUOTE_OPEN}\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "blockquote":
            self.parts.append(f"\n{_QUOTE_CLOSE}\n")
        elif tag == "li":
            pass  # the next item starts its own line; a newline here would double-space lists
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")  # cells of a row stay apart: "Kundennummer K-9912"

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: blocks become lines, quotes become "> " lines."""
    html = html.replace("\x00", "")  # would collide with the quote markers
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient, but a pathological input must not lose the mail
        return re.sub(r"<[^>]*>", " ", unescape(html)).strip()
    lines: list[str] = []
    depth = 0
    for raw in "".join(parser.parts).splitlines():
        line = raw.strip()
        if line == _QUOTE_OPEN:
            depth += 1
        elif line == _QUOTE_CLOSE:
            depth = max(0, depth - 1)
        elif line or (lines and lines[-1]):
            # Quoted HTML becomes "> " lines, so the reply trimmer recognises it like plain text.
            lines.append(("> " * depth + line).rstrip() if depth else line)
    while lines and not lines[-1].strip("> "):
        lines.pop()  # the blank lines that closed a quote
    return "\n".join(lines).strip()


def sanitize_html(html: str) -> str:
    """HTML that is safe to show: no scripts, handlers, forms or remote resources but links."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style", "title", "template", "noscript"},
        strip_comments=True,
        attribute_filter=_no_remote_images,
    )


def _no_remote_images(tag: str, attribute: str, value: str) -> str | None:
    """Remote images are trackers (they tell the sender the mail was read); inline ones stay."""
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


# The line that introduces quoted history, in the languages the desk serves and the styles of
# common clients (Outlook's header block, Gmail's "On ... wrote:", Apple Mail, Thunderbird).
_QUOTE_HEADERS = [
    r"^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Messaggio originale)\s*-{2,}",
    r"^-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré|Messaggio inoltrato)",
    r"^On .{4,200}wrote:\s*$",
    r"^Am .{4,200}schrieb.{0,100}:\s*$",
    r"^Le .{4,200}a écrit\s*:\s*$",
    r"^Il giorno .{4,200}ha scritto:\s*$",
    r"^.{0,40}\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,120}(wrote|schrieb|a écrit|ha scritto)\s*:\s*$",
    r"^(From|Von|De|Da)\s*:\s.+$",  # Outlook: a header block (From/Sent/To/Subject) starts the quote
    r"^_{20,}\s*$",
]
_QUOTE_RE = re.compile("|".join(f"(?:{p})" for p in _QUOTE_HEADERS), re.IGNORECASE)
_OUTLOOK_FOLLOWERS = re.compile(r"^(Sent|Gesendet|Envoyé|Inviato|Date|Datum|To|An|À|A)\s*:", re.IGNORECASE)
# "On <date>, <name> <address> wrote:" as clients write it, often wrapped over two lines.
_ATTRIBUTION_RE = re.compile(
    r"^(On|Am|Le|Il giorno|Il) .{4,300}(wrote|schrieb|a écrit|ha scritto)[^\n:]{0,120}:\s*$", re.IGNORECASE
)
_SIGNATURE_RE = re.compile(
    r"^(-- ?|Sent from my \w+.*|Von meinem \w+ gesendet.*|Envoyé de mon \w+.*|Inviato da(l mio)? \w+.*)$",
    re.IGNORECASE,
)


def trim_reply(text: str) -> str:
    """The new part of a message: above quoted history and the signature; the whole text when
    trimming would leave nothing (a customer who only forwards still said something)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    at_quote = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _SIGNATURE_RE.match(line.rstrip()) and index > 0:
            cut = index
            break
        if stripped.startswith(">") and _rest_is_quoted(lines[index:]):
            cut, at_quote = index, True
            break
        if _QUOTE_RE.match(stripped):
            if stripped.lower().split(":")[0].strip() in {"from", "von", "de", "da"}:
                # A lone "From:" line is prose; Outlook's block has Sent/To lines right after it.
                following = [item.strip() for item in lines[index + 1 : index + 4]]
                if not any(_OUTLOOK_FOLLOWERS.match(item) for item in following):
                    continue
            cut, at_quote = index, True
            break
    kept = lines[:cut]
    while kept and not kept[-1].strip():
        kept.pop()
    if at_quote:
        # The attribution above a quote, when the client wrapped it over two lines.
        for size in (2, 1):
            if len(kept) >= size and _ATTRIBUTION_RE.match(" ".join(line.strip() for line in kept[-size:])):
                del kept[-size:]
                break
    visible = "\n".join(kept).strip()
    return visible or text.strip()


def _rest_is_quoted(lines: list[str]) -> bool:
    """A quote block, not a single ">" in prose: most of what follows is quoted or blank."""
    rest = [line.strip() for line in lines if line.strip()]
    quoted = sum(1 for line in rest if line.startswith(">"))
    return quoted >= max(1, int(len(rest) * 0.6))
