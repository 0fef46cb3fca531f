"""Language-aware text handling for the search: folding, words, stopwords, stems, and snippets.

Both backends see the same words: SQLite indexes the stems computed here, PostgreSQL computes
its own with text-search configurations that do the same steps in the same order (stopwords of
the accented word, then accent folding, then the Snowball stemmer). Folding *before* stemming
matters: "sécurité" and "securite" must give the same stem, and the stemmers do not agree with
themselves on accented and unaccented spellings.

User input never reaches a query language: a query is reduced to plain words here, and the
backends quote each word themselves, so quotes, FTS operators, `NEAR(`, `*`, `-`, parentheses
and HTML are just separators or words.
"""

from __future__ import annotations

import functools
import html
import re
import threading
import unicodedata
from collections.abc import Collection, Iterable
from importlib import resources

import Stemmer

# The languages with their own stemmer and stopwords; everything else is folded but not stemmed
# (PostgreSQL's `simple`), so both backends treat the other languages the same way.
STEMMERS: dict[str, str] = {"de": "german", "en": "english", "fr": "french", "it": "italian"}

MAX_QUERY_CHARS = 1000  # of the query text that is read at all
MAX_TERMS = 16  # distinct terms of one query
MAX_WORD_CHARS = 60  # longer "words" are base64, hashes or URLs: never indexed
SNIPPET_SOURCE_CHARS = 4000  # a snippet comes from the start of a long text

_WORD = re.compile(r"[^\W_]+")
# Combining marks left by NFKD: accents, umlaut dots, cedillas. A regex is ten times faster than
# a per-character category test on long texts.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD does not decompose; the same as PostgreSQL's unaccent rules. (A regex, not
# str.translate: translate looks every character of a non-ASCII text up in a dict.)
_LETTERS = {"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"}
_LETTER = re.compile("[æœøđðłþı]")
_TAG = re.compile(r"<[^>]{0,200}>")


@functools.lru_cache(maxsize=256)
def base_language(language: str) -> str:
    """`de` for `de`, `de-CH` or `de_CH`: the part that picks the stemmer."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def fold(text: str) -> str:
    """Lower case without accents: "Größe" -> "grosse", "Téléphone" -> "telephone"."""
    text = text.casefold()
    if text.isascii():
        return text
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _LETTER.sub(lambda m: _LETTERS[m.group()], folded) if _LETTER.search(folded) else folded


def words(text: str) -> list[str]:
    """The folded words of a text, in order (letters and digits; everything else separates)."""
    return [w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD_CHARS]


@functools.cache
def stopwords(language: str) -> frozenset[str]:
    """Snowball's stopword list of the language, folded (so "fur" is as stopped as "für")."""
    name = f"{base_language(language)}.txt"
    folder = resources.files("knowledge.search").joinpath("stopwords")
    source = folder.joinpath(name)
    if not source.is_file():
        return frozenset()
    lines = source.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line.split("|")[0].strip()) for line in lines if line.strip() and line[0] != "#")


_local = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer | None:
    """The Snowball stemmer of the language, one per thread (PyStemmer's are not thread-safe)."""
    algorithm = STEMMERS.get(base_language(language))
    if algorithm is None:
        return None
    cache: dict[str, Stemmer.Stemmer] = getattr(_local, "stemmers", None) or {}
    _local.stemmers = cache
    if algorithm not in cache:
        cache[algorithm] = Stemmer.Stemmer(algorithm)
    return cache[algorithm]


def stems(text: str, language: str) -> list[str]:
    """The indexed form of a text: folded words without stopwords, stemmed, in order."""
    stop = stopwords(language)
    kept = [w for w in words(text) if w not in stop]
    stemmer = _stemmer(language)
    return stemmer.stemWords(kept) if stemmer is not None else kept


def stem(word: str, language: str) -> str:
    """One folded word's stem."""
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer is not None else word


def clean_query(query: str) -> str:
    """The part of a query that is searched: bounded, without HTML tags."""
    return _TAG.sub(" ", query[:MAX_QUERY_CHARS])


def query_words(query: str, language: str) -> list[str]:
    """Distinct folded words of a query without stopwords, at most MAX_TERMS (PostgreSQL stems
    them itself)."""
    stop = stopwords(language)
    out: dict[str, None] = {}
    for word in words(clean_query(query)):
        if word not in stop:
            out[word] = None
            if len(out) == MAX_TERMS:
                break
    return list(out)


def query_terms(query: str, language: str) -> list[str]:
    """Distinct stems of a query, in the order typed, at most MAX_TERMS."""
    found = query_words(query, language)
    stemmer = _stemmer(language)
    stemmed = stemmer.stemWords(found) if stemmer is not None else found
    return list(dict.fromkeys(stemmed))


def typo_prefix(term: str) -> str | None:
    """The prefix a misspelt stem is looked up by: most typos are not in the first letters.

    "rechnng" -> "rechn" (finds "rechnung"); stems under five letters have no useful prefix.
    """
    if len(term) < 5:
        return None
    return term[: max(4, round(len(term) * 0.7))]


# --- snippets ---------------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}|>|[-*+]|\d+\.)[ \t]+", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"[*`~]+")


def plain_text(markdown: str) -> str:
    """The words of a Markdown text as a reader sees them: no link targets, emphasis or heading
    marks. HTML in it stays text (the snippet escapes it)."""
    text = _MD_LINK.sub(r"\1", markdown) if "](" in markdown else markdown
    text = _MD_EMPHASIS.sub("", _MD_LINE.sub("", text))
    return " ".join(text.split())


def snippet(
    text: str,
    terms: Collection[str],
    language: str,
    *,
    prefixes: Iterable[str] = (),
    width: int = 220,
) -> str:
    """HTML: the passage of `text` with the most matches, escaped, matches in <mark>.

    Built from the original text, so the reader sees the words as written; a word matches when its
    stem is one of `terms` (or starts with one of `prefixes`, for the typo fallback).
    """
    text = unicodedata.normalize("NFC", plain_text(text[:SNIPPET_SOURCE_CHARS]))
    prefixes = tuple(p for p in prefixes if p)
    spans = _matches(text, frozenset(terms), prefixes, language)
    start = _window(text, spans, width)
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start + width // 2 else end
    out: list[str] = ["…"] if start > 0 else []
    position = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        out.append(html.escape(text[position:span_start], quote=False))
        out.append(f"<mark>{html.escape(text[span_start:span_end], quote=False)}</mark>")
        position = span_end
    out.append(html.escape(text[position:end], quote=False))
    if end < len(text):
        out.append("…")
    return "".join(out)


def _matches(
    text: str, terms: frozenset[str], prefixes: tuple[str, ...], language: str
) -> list[tuple[int, int]]:
    """Where in `text` the words are whose stem is a term (or starts with a prefix).

    Stemming every word of a long text costs half a millisecond per snippet; Snowball changes
    only endings, so a word can only stem to a term if it starts with the term's first letters:
    a regex over a same-length folded copy finds those few candidates, and only they are stemmed.
    """
    heads = {t[:4] for t in terms if t} | {p[:4] for p in prefixes}
    if not heads:
        return []
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lower case is longer: no fast path
        lowered = text
    if not lowered.isascii():
        table = _same_length_table()
        lowered = _LATIN.sub(lambda m: table.get(m.group(), m.group()), lowered)
    found = _candidates(tuple(sorted(heads))).finditer(lowered)
    candidates = [(m.span(), fold(text[m.start() : m.end()])) for m in found]
    stop = stopwords(language)
    candidates = [(span, w) for span, w in candidates if w not in stop and len(w) <= MAX_WORD_CHARS]
    stemmer = _stemmer(language)
    words = [w for _, w in candidates]
    stemmed = stemmer.stemWords(words) if stemmer is not None else words
    return [
        span
        for (span, _), s in zip(candidates, stemmed, strict=True)
        if s in terms or (prefixes and s.startswith(prefixes))
    ]


@functools.lru_cache(maxsize=512)
def _candidates(heads: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(h) for h in sorted(heads, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*")


_LATIN = re.compile("[\u00c0-\u024f]")


@functools.cache
def _same_length_table() -> dict[str, str]:
    """Accented Latin letters to their base letter, one character for one (offsets stay valid)."""
    table: dict[str, str] = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFKD", chr(code).lower())
        base = _MARKS.sub("", decomposed)
        if len(base) == 1 and base != chr(code):
            table[chr(code)] = base
    # Letters that fold to two (ß -> ss): their first, enough to find the candidates.
    table.update({"ß": "s", "æ": "a", "œ": "o", "ø": "o", "ł": "l", "đ": "d"})
    return table


def _window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Where the snippet starts: a little before the densest run of matches, at a word."""
    if not spans or len(text) <= width:
        return 0
    best, best_count = spans[0][0], 0
    for i, (first, _) in enumerate(spans):
        count = sum(1 for s, e in spans[i:] if e <= first + width - 40)
        if count > best_count:
            best, best_count = first, count
    if best < 40:
        return 0
    start = text.rfind(" ", 0, best - 30)
    return start + 1 if start > 0 else 0
