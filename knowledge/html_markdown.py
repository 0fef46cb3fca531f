"""HTML pages as Markdown, for imports of a client's existing FAQ: the structure a reader needs
survives (paragraphs, headings, lists, links, emphasis, code); scripts, styles and the rest of
what a web page carries do not. The result is sanitized again when it is rendered."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _HtmlToMarkdown(HTMLParser):
    """HTML as Markdown: paragraphs, headings, lists, links, emphasis and code survive; scripts,
    styles and everything else a page carries do not."""

    SKIP = frozenset({"script", "style", "head", "template", "noscript", "iframe", "object", "svg", "math"})
    BLOCK = frozenset(
        {"p", "div", "section", "article", "header", "footer", "main", "table", "blockquote", "dl", "tr"}
    )
    SCHEMES = ("http://", "https://", "mailto:")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.lists: list[list[int]] = []  # per open list: [ordered, counter]
        self.links: list[str | None] = []
        self.title = ""
        self.in_title = False
        self.h1: str | None = None
        self.heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            return
        if tag in self.SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        attributes = dict(attrs)
        if tag in self.BLOCK:
            self.out.append("\n\n")
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
            if tag == "h1" and self.h1 is None:
                self.heading = []
        elif tag in {"ul", "ol"}:
            if not self.lists:
                self.out.append("\n")
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            indent = "   " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.out.append(f"\n{indent}{self.lists[-1][1]}. ")
            else:
                self.out.append(f"\n{indent}- ")
        elif tag == "br":
            self.out.append("\\\n")
        elif tag == "hr":
            self.out.append("\n\n---\n\n")
        elif tag in {"strong", "b"}:
            self.out.append("**")
        elif tag in {"em", "i"}:
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre += 1
            self.out.append("\n\n```\n")
        elif tag == "a":
            href = (attributes.get("href") or "").strip()
            self.links.append(href if href.lower().startswith(self.SCHEMES) else None)
            if self.links[-1]:
                self.out.append("[")
        elif tag == "img":
            src = (attributes.get("src") or "").strip()
            if src.lower().startswith(self.SCHEMES[:2]):
                alt = _escape(attributes.get("alt") or "")
                self.out.append(f"![{alt}]({_url(src)})")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        if tag in self.BLOCK or tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            if tag == "h1" and self.heading is not None:
                self.h1, self.heading = " ".join("".join(self.heading).split()), None
            self.out.append("\n\n")
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self.out.append("\n\n")
        elif tag in {"strong", "b"}:
            self.out.append("**")
        elif tag in {"em", "i"}:
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.out.append("```\n\n" if "".join(self.out[-1:]).endswith("\n") else "\n```\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({_url(href)})")
        elif tag == "td" or tag == "th":
            self.out.append(" | ")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skipping:
            return
        if self.pre:
            self.out.append(data.replace("```", "'''"))
            return
        text = re.sub(r"\s+", " ", data)
        if not self.out or self.out[-1][-1:] in ("\n", " "):
            text = text.lstrip()
        if self.heading is not None:
            self.heading.append(text)
        self.out.append(_escape(text))

    def markdown(self) -> str:
        text = "".join(self.out)
        text = re.sub(r" +\n", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def _url(url: str) -> str:
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url


def html_to_markdown(html: str) -> tuple[str, str]:
    """(title, Markdown body) of an HTML page; the title from <title> or else the first <h1>,
    which then leaves the body (the article shows its title above it)."""
    parser = _HtmlToMarkdown()
    parser.feed(html)
    parser.close()
    body = parser.markdown()
    title = " ".join(parser.title.split())
    if not title and parser.h1:
        title = parser.h1
        body = re.sub(r"\A#[ \t]+[^\n]*\n*", "", body, count=1)
    return title, body
