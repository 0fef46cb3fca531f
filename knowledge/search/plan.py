"""Which of a query's words select and score the candidates: the same rules on both backends.

Ranking costs per matching text (FTS5's bm25() about 1 µs, PostgreSQL's heap visit and ts_rank()
about 5 µs), and with OR semantics a word like "cost" or "Rechnung" matches a large share of a
big knowledge base: ranking all of those took 100 ms and more at 100,000 texts. So the words'
document counts come first (SQLite counts, stopping past the budget; PostgreSQL keeps them in
`kb_terms`), and with a budget of CANDIDATES texts (half of it on PostgreSQL):

- the rarest words whose texts fit into the budget together select and score (OR): a common
  word adds little under BM25's inverse document frequency, and the texts that have it and a
  rare word are found through the rare word;
- a query of only common words needs its ALL_OF rarest (AND), and if no text has those, any of
  them; both rank a budget's worth of the matching texts only (`capped`);
- a query whose words are all unknown is probably misspelt: the typo fallback.

Below the budget per word (every tenant of a normal size) this is plain OR over all words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

CANDIDATES = 2000
# A query of only common words needs its ALL_OF rarest: intersecting every common word's list
# (and, in FTS5's bm25(), counting each one's documents) cost more than it narrowed.
ALL_OF = 3
# Title above body: the same ratio for FTS5's bm25() column weights and PostgreSQL's A/B weights.
TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0


class Found(NamedTuple):
    """A ranked text, as both backends return it."""

    translation_id: int
    score: float  # higher is better
    article_id: int
    language: str
    title: str
    body: str


class Mode(StrEnum):
    ANY = "any"
    ALL = "all"
    TYPO = "typo"


@dataclass(frozen=True)
class Plan:
    mode: Mode
    terms: tuple[int, ...]  # indexes into the counted terms
    capped: bool = False


def plan(counts: list[int], candidates: int | None = None) -> Plan:
    """`counts`: each term's texts (SQLite counts up to CANDIDATES + 1); `candidates`: the
    backend's budget, CANDIDATES by default."""
    budget = CANDIDATES if candidates is None else candidates
    known = sorted((n, i) for i, n in enumerate(counts) if n > 0)
    if not known:
        return Plan(Mode.TYPO, ())
    chosen: list[int] = []
    total = 0
    for n, i in known:
        if total + n > budget:
            break
        chosen.append(i)
        total += n
    if chosen:
        return Plan(Mode.ANY, tuple(sorted(chosen)))
    return Plan(Mode.ALL, tuple(sorted(i for _, i in known[:ALL_OF])), capped=True)


def widened(current: Plan) -> Plan:
    """No text has all the common words: any of them will do."""
    return Plan(Mode.ANY, current.terms, capped=True)
