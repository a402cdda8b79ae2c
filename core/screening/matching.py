"""The built-in screener's matcher: which entries of a list a case subject may be.

Pure Python, no database, no I/O. A list is indexed once (`ScreeningIndex.build`); each
screening asks the index about one subject (`ScreeningIndex.match`) and gets `Candidate`s,
best first, each with a score 0-100 and the fields that matched. docs/SCREENING.md ("How
names are matched") explains the scoring for a reviewer; core/screening/names.py reads the
names (rigour).

How a screening avoids scanning the list: the index keeps, for every distinct word of the
list's names, the names holding it (an inverted index), and, per word, its sound (metaphone)
and the given names it stands for in any script. A screened word finds the list's words it
could be — itself, the same sound, the same name in another script, a spelling within a
typo, the initial — and through them the names holding them. Those names are ranked by how
many of the screened words they hold, rare words counting more than common ones
("mohammed", "trading"), and only the best few hundred get the full comparison.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from rigour.territories import lookup_territory, territories_intersect

from core.screening.names import (
    ORGANIZATION,
    OTHER,
    PERSON,
    ROLE_BUSINESS,
    ROLE_LEGAL,
    ROLE_NAME,
    ROLE_NUMBER,
    ROLE_PARTICLE,
    NameComparison,
    WordFacts,
    consonants,
    is_initial,
    query_word_facts,
    read_name,
    word_facts,
)

DEFAULT_THRESHOLD: int = 85

# Evidence beside the name (docs/SCREENING.md, "How names are matched"); the name score
# itself is core/screening/names.py's `NameComparison`.
BIRTH_DATE_SAME_DAY = 10   # points added for the same full birth date
BIRTH_DATE_SAME_MONTH = 7  # ... the same year and month, where one side knows no day
BIRTH_DATE_SAME_YEAR = 5   # ... the same year, where one side knows only the year
BIRTH_DATE_SAME_YEAR_OTHER_DAY = -5   # the same year, another month or day
BIRTH_DATE_OTHER_YEAR = -30           # another year: not the same person
COUNTRY_SAME = 4           # points added when a country agrees (no penalty otherwise)
EVIDENCE_NAME_FLOOR = 70   # birth date and country raise only names scoring at least this
_MOST_RAISED = BIRTH_DATE_SAME_DAY + COUNTRY_SAME

# Retrieval.
SCORED_NAMES = 300         # names given the full comparison per screening, at most
FUZZY_MIN = 75             # a screened word reaches list words at least this alike (0-100)
REACHED_ALIKE = 0.8        # rank weight of a word reached by likeness, not as written

_SCHEMAS = {PERSON: 0, ORGANIZATION: 1, OTHER: 2}
_RANK_ROLE = {ROLE_NAME: 1.0, ROLE_PARTICLE: 0.2, ROLE_LEGAL: 0.1, ROLE_BUSINESS: 0.4,
              ROLE_NUMBER: 0.6}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


@dataclass(frozen=True)
class ListEntry:
    key: int                      # the entry's row id (screening_entries.id)
    list_name: str                # e.g. "demo-sanctions"
    dataset: str                  # the list's title, shown on a hit
    entry_id: str                 # the list's own id for the entry
    schema: str                   # "person" | "organization" | "other"
    name: str
    aliases: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()   # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    countries: tuple[str, ...] = ()     # ISO 3166-1 alpha-2, upper case (or a name as written)
    programme: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Query:
    name: str
    birth_date: str = ""          # "YYYY-MM-DD" or "" (Docket's UBO date of birth)
    country: str = ""             # ISO alpha-2 upper case or ""
    schema: str | None = None     # "person" (a UBO) | "organization" (the entity) | None


@dataclass(frozen=True)
class Candidate:
    entry: ListEntry
    score: int                    # 0-100, the final score (name + evidence)
    name_score: int               # 0-100, the name alone
    matched_name: str             # which of the entry's names matched best (name or an alias)
    matched_fields: tuple[str, ...]  # from "name", "alias", "birth_date", "country"


@dataclass(frozen=True)
class MatchStats:
    """What the last `match` did, for tests and the benchmark: names reached through the
    index, and names given the full comparison (never the whole list)."""
    reached_names: int
    scored_names: int


class ScreeningIndex:
    """A list's entries, indexed by the words of their names (and aliases)."""

    def __init__(self, entries: list[ListEntry], words: _Words, names: _Names) -> None:
        self._entries = entries
        self._words = words
        self._names = names
        self.last_stats = MatchStats(0, 0)

    @classmethod
    def build(cls, entries: Iterable[ListEntry]) -> "ScreeningIndex":
        entries = list(entries)
        word_ids: dict[str, int] = {}
        sources: list[set[str]] = []
        name_words: list[tuple[int, ...]] = []
        name_entry: list[int] = []
        name_slot: list[int] = []
        for position, entry in enumerate(entries):
            schema = entry.schema if entry.schema in _SCHEMAS else OTHER
            seen: set[tuple[int, ...]] = set()
            for slot, text in enumerate((entry.name, *entry.aliases)):
                ids = []
                for token in read_name(text, schema):
                    word = word_ids.get(token.form)
                    if word is None:
                        word = word_ids[token.form] = len(sources)
                        sources.append(set())
                    sources[word].add(token.source)
                    ids.append(word)
                if ids and tuple(ids) not in seen:
                    seen.add(tuple(ids))
                    name_words.append(tuple(ids))
                    name_entry.append(position)
                    name_slot.append(slot)
        facts = [word_facts(form, sources[word]) for form, word in word_ids.items()]
        words = _Words(word_ids, facts)
        schemas = np.array([_SCHEMAS.get(entry.schema, 2) for entry in entries], dtype=np.int8)
        names = _Names(name_words, np.array(name_entry, dtype=np.int32),
                       np.array(name_slot, dtype=np.int32), schemas, words)
        return cls(entries, words, names)

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, query: Query, *, threshold: int = DEFAULT_THRESHOLD,
              limit: int = 50) -> list[Candidate]:
        """The entries the query may be, best first: at most `limit`, each scoring at least
        `threshold`. A person is compared with persons; an organisation with organisations
        and other entries (vessels, aircraft); a query without schema with all."""
        if limit <= 0:
            return []
        people = (PERSON, (_SCHEMAS[PERSON],))
        others = (ORGANIZATION, (_SCHEMAS[ORGANIZATION], _SCHEMAS[OTHER]))
        readings = [people] if query.schema == PERSON else [others] \
            if query.schema == ORGANIZATION else [people, others]
        best: dict[int, tuple[int, int, int]] = {}   # entry position -> (name score, -slot, name)
        reached = scored = 0
        for schema, allowed in readings:
            facts = [query_word_facts(token) for token in read_name(query.name, schema)]
            if not facts:
                continue
            nids, reached_here = self._names.retrieve(facts, allowed)
            reached += reached_here
            scored += len(nids)
            comparison = NameComparison(facts, self._words.facts, schema)
            for nid in nids:
                name_score = comparison.score(self._names.words[nid])
                position = int(self._names.entry[nid])
                held = best.get(position)
                if held is None or (name_score, -self._names.slot[nid]) > held:
                    best[position] = (name_score, -int(self._names.slot[nid]), nid)
        self.last_stats = MatchStats(reached, scored)
        found = []
        for position, (name_score, _, nid) in best.items():
            if name_score + _MOST_RAISED < threshold:
                continue
            entry = self._entries[position]
            raise_by, fields = _evidence(entry, query, name_score)
            score = max(0, min(100, name_score + raise_by))
            if score < threshold:
                continue
            slot = int(self._names.slot[nid])
            matched = entry.name if slot == 0 else entry.aliases[slot - 1]
            found.append(((-score, -(name_score + raise_by), -name_score, entry.key),
                          Candidate(entry, score, name_score, matched,
                                    ("name" if slot == 0 else "alias", *fields))))
        found.sort(key=lambda item: item[0])   # at 100, more evidence first
        return [candidate for _, candidate in found[:limit]]


class _Words:
    """The list's vocabulary: each distinct word's facts, and the ways to reach a word from a
    screened one (by form, sound, name symbol, consonants, first letter and length)."""

    def __init__(self, ids: dict[str, int], facts: list[WordFacts]) -> None:
        self.ids = ids
        self.facts = facts
        self.by_sound: dict[str, list[int]] = {}
        self.by_symbol: dict[str, list[int]] = {}
        self.by_consonants: dict[str, list[int]] = {}
        self.abjad_by_consonants: dict[str, list[int]] = {}
        self.initials: dict[str, int] = {}
        buckets: dict[tuple[str, int], list[int]] = {}
        for word, fact in enumerate(facts):
            if len(fact.sound) >= 2 and fact.role in (ROLE_NAME, ROLE_PARTICLE):
                self.by_sound.setdefault(fact.sound, []).append(word)
            if fact.role != ROLE_LEGAL:
                for symbol in fact.names:
                    self.by_symbol.setdefault(symbol, []).append(word)
            if len(fact.skeleton) >= 2:
                self.by_consonants.setdefault(fact.skeleton, []).append(word)
                if fact.abjad:
                    self.abjad_by_consonants.setdefault(fact.skeleton, []).append(word)
            if is_initial(fact.form):
                self.initials[fact.form] = word
            elif len(fact.form) >= 3:
                buckets.setdefault((fact.form[0], len(fact.form)), []).append(word)
        self.buckets = {key: ([facts[w].form for w in ids_], ids_)
                        for key, ids_ in buckets.items()}

    def reachable(self, fact: WordFacts) -> set[int]:
        """The list's words a screened word could be written as."""
        found = self.spelt_alike(fact.form, fact.abjad, fact.skeleton)
        if is_initial(fact.form):
            return found
        if len(fact.sound) >= 2:
            found.update(self.by_sound.get(fact.sound, ()))
        if fact.role != ROLE_LEGAL:
            for symbol in fact.names:
                found.update(self.by_symbol.get(symbol, ()))
        initial = self.initials.get(fact.form[0])
        if initial is not None:
            found.add(initial)
        return found

    def spelt_alike(self, form: str, abjad: bool, skeleton: str) -> set[int]:
        """The list's words spelt `form`, within a typo of it, or (for a word of an abjad, or
        a Latin word against the list's abjad words) with its consonants."""
        found: set[int] = set()
        own = self.ids.get(form)
        if own is not None:
            found.add(own)
        if len(skeleton) >= 2:
            found.update((self.by_consonants if abjad else self.abjad_by_consonants)
                         .get(skeleton, ()))
        size = len(form)
        if size >= 4:
            for length in range(size - 1 - (size >= 8), size + 2 + (size >= 8)):
                bucket = self.buckets.get((form[0], length))
                if bucket is None:
                    continue
                for _, _, index in process.extract(
                        form, bucket[0], scorer=OSA.normalized_similarity, processor=None,
                        score_cutoff=FUZZY_MIN / 100, limit=None):
                    found.add(bucket[1][index])
        return found

    def compounds(self, facts: list[WordFacts]) -> list[set[int]]:
        """The list's words two neighbouring screened words spell together ("abdul rahman":
        abdulrahman), and those a screened word splits into ("almaktoum": al, maktoum)."""
        reached = []
        for left, right in zip(facts, facts[1:]):
            joined = left.form + right.form
            words = self.spelt_alike(joined, left.abjad or right.abjad, consonants(joined))
            if words:
                reached.append(words)
        for fact in facts:
            for cut in range(2, len(fact.form) - 1):
                head, tail = self.ids.get(fact.form[:cut]), self.ids.get(fact.form[cut:])
                if head is not None and tail is not None:
                    reached.append({head, tail})
        return reached


class _Names:
    """Every indexed name (an entry's name or alias): its words, its entry, and the
    inverted index word -> names (one array, sliced per word)."""

    def __init__(self, words_of: list[tuple[int, ...]], entry: np.ndarray, slot: np.ndarray,
                 entry_schema: np.ndarray, words: _Words) -> None:
        self.words = words_of
        self.entry = entry
        self.slot = slot
        self.schema = entry_schema[entry] if len(entry) else np.zeros(0, dtype=np.int8)
        self._vocabulary = words
        sizes = np.fromiter((len(set(w)) for w in words_of), dtype=np.int64,
                            count=len(words_of))
        pair_word = np.fromiter((w for ws in words_of for w in sorted(set(ws))),
                                dtype=np.int32, count=int(sizes.sum()))
        pair_name = np.repeat(np.arange(len(words_of), dtype=np.int32), sizes)
        order = np.argsort(pair_word, kind="stable")
        self.postings = pair_name[order]
        counts = np.bincount(pair_word, minlength=len(words.facts))
        self.offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.sizes = np.maximum(sizes, 1).astype(np.float32)
        initials = np.zeros(len(words_of), dtype=np.int32)
        for nid, ws in enumerate(words_of):
            for w in ws:
                first = words.facts[w].form[0]
                if "a" <= first <= "z":
                    initials[nid] |= 1 << (ord(first) - 97)
        self.initials = initials
        self.initial_counts = np.array([np.count_nonzero(initials & (1 << bit))
                                        for bit in range(26)])

    def retrieve(self, facts: list[WordFacts], allowed: tuple[int, ...]) -> tuple[list[int], int]:
        """The names worth a full comparison with a screened name (its words' facts), at most
        SCORED_NAMES, and how many names its words reached. Ranked like a search engine:
        each screened word adds its rarity (idf) to the names holding it as written, and
        REACHED_ALIKE of the rarity of all it reaches to the names holding only a word like
        it; the sum is multiplied by the share of the name's words so reached (an initial
        counts for a word starting with it), so that names made of the screened words come
        first. Only names the postings lead to are touched (one array slot per name)."""
        total = max(len(self.words), 1)
        rank = np.zeros(total, dtype=np.float32)
        hits = np.zeros(total, dtype=np.float32)
        touched = False
        vocabulary = self._vocabulary
        probes = [(vocabulary.ids.get(f.form), vocabulary.reachable(f),
                   _RANK_ROLE.get(f.role, 1.0)) for f in facts]
        probes += [(None, words, 1.0) for words in vocabulary.compounds(facts)]
        for own, words, role_weight in probes:
            if not words:
                continue
            holding = np.concatenate([self.postings[self.offsets[w]:self.offsets[w + 1]]
                                      for w in words])
            if not len(holding):
                continue
            touched = True
            # a name holding two of the words counts once: `+=` through repeated indices
            # adds once
            alike = math.log(1 + total / len(holding)) * role_weight * REACHED_ALIKE
            rank[holding] += alike
            hits[holding] += 1
            if own is not None:
                exact = self.postings[self.offsets[own]:self.offsets[own + 1]]
                rank[exact] += math.log(1 + total / max(len(exact), 1)) * role_weight - alike
        if not touched:
            return [], 0
        names = np.flatnonzero(hits)
        reached = len(names)
        scores, held = rank[names], hits[names]
        for fact in facts:   # an initial counts for the names the other words reached
            if is_initial(fact.form) and "a" <= fact.form <= "z":
                bit = ord(fact.form) - 97
                with_it = (self.initials[names] & (1 << bit)) != 0
                scores += with_it * math.log(1 + total / max(int(self.initial_counts[bit]), 1))
                held += with_it
        keep = np.zeros(3, dtype=bool)
        keep[list(allowed)] = True
        keep = keep[self.schema[names]]
        names = names[keep]
        scores = scores[keep] * np.minimum(held[keep] / self.sizes[names], 1.0)
        if len(names) > SCORED_NAMES:
            names = names[np.argpartition(-scores, SCORED_NAMES)[:SCORED_NAMES]]
        return names.tolist(), reached


def _parse_date(text: str) -> tuple[int, int | None, int | None] | None:
    found = _DATE.match(text.strip()) if text else None
    if not found:
        return None
    year, month, day = found.groups()
    return int(year), int(month) if month else None, int(day) if day else None


def _date_points(listed: tuple, wanted: tuple) -> int | None:
    """Points for one birth date of the list against the subject's, compared as far as both
    are known: None for another year; the same year, month or day as far as both know it:
    BIRTH_DATE_SAME_YEAR, _MONTH or _DAY; a known month or day that differs:
    BIRTH_DATE_SAME_YEAR_OTHER_DAY."""
    if listed[0] != wanted[0]:
        return None
    known = 1
    for mine, theirs in zip(listed[1:], wanted[1:]):
        if mine is None or theirs is None:
            break
        if mine != theirs:
            return BIRTH_DATE_SAME_YEAR_OTHER_DAY
        known += 1
    return (BIRTH_DATE_SAME_YEAR, BIRTH_DATE_SAME_MONTH, BIRTH_DATE_SAME_DAY)[known - 1]


def _territories(values: Iterable[str]) -> set[str]:
    codes = set()
    for value in values:
        territory = lookup_territory(value.strip()) if value and value.strip() else None
        if territory is not None:
            codes.add(territory.code)
    return codes


def _evidence(entry: ListEntry, query: Query, name_score: int) -> tuple[int, tuple[str, ...]]:
    """Points added to (or taken from) a name score by birth date and country, and which of
    them matched."""
    points, fields = 0, []
    wanted = _parse_date(query.birth_date)
    listed = [d for d in (_parse_date(text) for text in entry.birth_dates) if d]
    if wanted and listed:
        agreements = [_date_points(date, wanted) for date in listed]
        best = max((p for p in agreements if p is not None), default=None)
        if best is None:
            points += BIRTH_DATE_OTHER_YEAR
        elif best > 0:
            fields.append("birth_date")
            points += best if name_score >= EVIDENCE_NAME_FLOOR else 0
        else:
            points += best
    if query.country and entry.countries:
        if territories_intersect(_territories([query.country]), _territories(entry.countries)):
            fields.append("country")
            points += COUNTRY_SAME if name_score >= EVIDENCE_NAME_FLOOR else 0
    return points, tuple(fields)
