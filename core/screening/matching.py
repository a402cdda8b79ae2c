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
import threading
from dataclasses import dataclass
from typing import AbstractSet, Iterable

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.screening.delta import MatchMemo, Retrieval, worth_comparing
from core.screening.evidence import MOST_RAISED, evidence
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
from core.workflows.admin import DEFAULT_SCREENING_THRESHOLD as DEFAULT_THRESHOLD

# Retrieval.
SCORED_NAMES = 300         # names given the full comparison per screening, at most
FUZZY_MIN = 75             # a screened word reaches list words at least this alike (0-100)
REACHED_ALIKE = 0.8        # rank weight of a word reached by likeness, not as written
CACHED_WORDS = 50_000      # screened words whose reachable list words an index remembers

_SCHEMAS = {PERSON: 0, ORGANIZATION: 1, OTHER: 2}
_RANK_ROLE = {ROLE_NAME: 1.0, ROLE_PARTICLE: 0.2, ROLE_LEGAL: 0.1, ROLE_BUSINESS: 0.4,
              ROLE_NUMBER: 0.6}


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
        self.last_memo: MatchMemo | None = None
        self._keys: np.ndarray | None = None

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
        keys = np.array([entry.key for entry in entries], dtype=np.int64)
        names.tie = keys[names.entry] * 2**20 + np.minimum(names.slot, 2**20 - 1) \
            if len(names.entry) else np.zeros(0, dtype=np.int64)
        return cls(entries, words, names)

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, query: Query, *, threshold: int = DEFAULT_THRESHOLD, limit: int = 50,
              before: MatchMemo | None = None,
              changed: AbstractSet[int] = frozenset()) -> list[Candidate]:
        """`remembering`'s candidates; its stats and memo are kept as `last_stats` and
        `last_memo` (tests, the benchmark)."""
        found, self.last_memo, self.last_stats = self.remembering(
            query, threshold=threshold, limit=limit, before=before, changed=changed)
        return found

    def remembering(self, query: Query, *, threshold: int = DEFAULT_THRESHOLD,
                    limit: int = 50, before: MatchMemo | None = None,
                    changed: AbstractSet[int] = frozenset()
                    ) -> tuple[list[Candidate], MatchMemo, MatchStats]:
        """The entries the query may be, best first: at most `limit`, each scoring at least
        `threshold`. A person is compared with persons; an organisation with organisations
        and other entries (vessels, aircraft); a query without schema with all.

        `before`: what the same query's screening against an earlier version of the lists
        found (`last_memo` then), with the same threshold and limit; `changed`: the keys of
        this index's entries added or changed since, or holding a word whose facts changed
        (`changed_since`). Then only the names that could answer otherwise are compared:
        the candidates are chosen as always (the whole index's word statistics), and of them
        a name is compared when its entry changed, was found before, or was not among the
        names compared before (its rank under the earlier statistics, recomputed from
        `before`, did not clear the earlier cut). Every other candidate is an unchanged
        entry compared before with the same words and facts that did not score the
        threshold: it does not now either. The answer is the same as without `before`."""
        if limit <= 0:
            return [], MatchMemo({}, frozenset(), True), MatchStats(0, 0)
        people = (PERSON, (_SCHEMAS[PERSON],))
        others = (ORGANIZATION, (_SCHEMAS[ORGANIZATION], _SCHEMAS[OTHER]))
        readings = [people] if query.schema == PERSON else [others] \
            if query.schema == ORGANIZATION else [people, others]
        best: dict[int, tuple[int, int, int]] = {}   # entry position -> (name score, -slot, name)
        reached = scored = 0
        retrievals: dict[str, Retrieval] = {}
        for schema, allowed in readings:
            facts = [query_word_facts(token) for token in read_name(query.name, schema)]
            if not facts:
                continue
            nids, reached_here, retrieval, reach = self._names.retrieve(facts, allowed)
            retrievals[schema] = retrieval
            reached += reached_here
            if before is not None:
                nids = worth_comparing(
                    self._names, nids, facts, allowed, reach, before.retrievals.get(schema),
                    self._entry_keys, changed | before.found)
            scored += len(nids)
            comparison = NameComparison(facts, self._words.facts, schema)
            for nid in nids:
                name_score = comparison.score(self._names.words[nid])
                position = int(self._names.entry[nid])
                held = best.get(position)
                if held is None or (name_score, -self._names.slot[nid]) > held:
                    best[position] = (name_score, -int(self._names.slot[nid]), nid)
        found = []
        for position, (name_score, _, nid) in best.items():
            if name_score + MOST_RAISED < threshold:
                continue
            entry = self._entries[position]
            raise_by, fields = evidence(entry, query, name_score)
            score = max(0, min(100, name_score + raise_by))
            if score < threshold:
                continue
            slot = int(self._names.slot[nid])
            matched = entry.name if slot == 0 else entry.aliases[slot - 1]
            found.append(((-score, -(name_score + raise_by), -name_score, entry.key),
                          Candidate(entry, score, name_score, matched,
                                    ("name" if slot == 0 else "alias", *fields))))
        found.sort(key=lambda item: item[0])   # at 100, more evidence first
        memo = MatchMemo(retrievals, frozenset(c.entry.key for _, c in found), len(found) <= limit)
        return [candidate for _, candidate in found[:limit]], memo, MatchStats(reached, scored)

    @property
    def _entry_keys(self) -> np.ndarray:
        if self._keys is None:
            self._keys = np.array([e.key for e in self._entries], dtype=np.int64)
        return self._keys

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
        self._reachable: dict[WordFacts, set[int]] = {}
        self._compounds: dict[tuple[WordFacts, ...], list[tuple[str, set[int]]]] = {}
        self.buckets = {key: ([facts[w].form for w in ids_], ids_)
                        for key, ids_ in buckets.items()}

    def reachable(self, fact: WordFacts) -> set[int]:
        """The list's words a screened word could be written as (remembered per word: a
        worker screens the same given names and surnames over and over)."""
        found = self._reachable.get(fact)
        if found is None:
            if len(self._reachable) > CACHED_WORDS:
                self._reachable.clear()
            found = self._reachable[fact] = self._reach(fact)
        return found

    def _reach(self, fact: WordFacts) -> set[int]:
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

    def compounds(self, facts: list[WordFacts]) -> list[tuple[str, set[int]]]:
        """The list's words two neighbouring screened words spell together ("abdul rahman":
        abdulrahman), and those a screened word splits into ("almaktoum": al, maktoum); each
        with a probe id naming the words and the cut (remembered per name, like
        `reachable`)."""
        key = tuple(facts)
        found = self._compounds.get(key)
        if found is None:
            if len(self._compounds) > CACHED_WORDS:
                self._compounds.clear()
            found = self._compounds[key] = self._compound(facts)
        return found

    def _compound(self, facts: list[WordFacts]) -> list[tuple[str, set[int]]]:
        reached = []
        for at, (left, right) in enumerate(zip(facts, facts[1:])):
            joined = left.form + right.form
            words = self.spelt_alike(joined, left.abjad or right.abjad, consonants(joined))
            if words:
                reached.append((f"j{at}", words))
        for at, fact in enumerate(facts):
            for cut in range(2, len(fact.form) - 1):
                head, tail = self.ids.get(fact.form[:cut]), self.ids.get(fact.form[cut:])
                if head is not None and tail is not None:
                    reached.append((f"s{at}.{cut}", {head, tail}))
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
        self.tie = np.zeros(0, dtype=np.int64)   # set by ScreeningIndex.build
        self._scratch = threading.local()
        self.initial_counts = np.array([np.count_nonzero(initials & (1 << bit))
                                        for bit in range(26)])

    def retrieve(self, facts: list[WordFacts], allowed: tuple[int, ...]
                 ) -> tuple[list[int], int, Retrieval, list]:
        """The names worth a full comparison with a screened name (its words' facts), at most
        SCORED_NAMES; how many names its words reached; the weights and cut that chose them
        (`Retrieval`); and each probe's postings (for `worth_comparing`). Ranked like a
        search engine: each screened word adds its rarity (idf) to the names holding it as
        written, and REACHED_ALIKE of the rarity of all it reaches to the names holding only
        a word like it; the sum is multiplied by the share of the name's words so reached
        (an initial counts for a word starting with it), so that names made of the screened
        words come first. Only names the postings lead to are touched (one array slot per
        name)."""
        total = max(len(self.words), 1)
        vocabulary = self._vocabulary
        probes = [(f"w{at}", vocabulary.ids.get(f.form), vocabulary.reachable(f),
                   _RANK_ROLE.get(f.role, 1.0)) for at, f in enumerate(facts)]
        probes += [(pid, None, words, 1.0) for pid, words in vocabulary.compounds(facts)]
        weights: dict[str, tuple[float, float]] = {}
        holdings = []
        for pid, own, words, role_weight in probes:
            if not words:
                continue
            holding = np.concatenate([self.postings[self.offsets[w]:self.offsets[w + 1]]
                                      for w in words])
            if not len(holding):
                continue
            alike = math.log(1 + total / len(holding)) * role_weight * REACHED_ALIKE
            exact, extra = None, 0.0
            if own is not None:
                exact = self.postings[self.offsets[own]:self.offsets[own + 1]]
                extra = math.log(1 + total / max(len(exact), 1)) * role_weight - alike
            weights[pid] = (alike, extra)
            holdings.append((pid, holding, exact))
        initials = {f.form: math.log(1 + total / max(int(self.initial_counts[ord(f.form) - 97]),
                                                     1))
                    for f in facts if is_initial(f.form) and "a" <= f.form <= "z"}
        reach = self._reach(holdings, total)
        ranked, scores = self.ranked(facts, allowed, reach, weights, initials)
        if ranked is None:
            return [], 0, Retrieval(weights, initials, None), reach
        names, reached, cut = ranked[0], len(ranked[1]), None
        if len(names) > SCORED_NAMES:
            names, cut = self._best(names, scores)
        return names.tolist(), reached, Retrieval(weights, initials, cut), reach

    def _reach(self, holdings: list, total: int) -> tuple[np.ndarray, list]:
        """Every name the probes reach (sorted) and each probe's names as positions in it:
        the ranks are summed over those names only. Two arrays of the list's size are kept
        per thread and reused (only the slots written are read or cleared)."""
        if not holdings:
            return np.zeros(0, dtype=np.int64), []
        arrays = getattr(self._scratch, "arrays", None)
        if arrays is None:
            arrays = self._scratch.arrays = (np.zeros(total, dtype=bool),
                                             np.zeros(total, dtype=np.int64))
        seen, position = arrays
        every = np.concatenate([holding for _, holding, _ in holdings])
        seen[every] = True
        union = np.flatnonzero(seen)
        seen[union] = False
        position[union] = np.arange(len(union))
        return union, [(pid, position[holding], None if exact is None else position[exact])
                       for pid, holding, exact in holdings]

    def _best(self, names: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, tuple]:
        """The SCORED_NAMES best ranked names, equal ranks in the order of their entries'
        keys (then name slot), so the choice does not depend on where a name sits in this
        build; and the cut: (rank, tie key) of the best name left out."""
        last = -np.partition(-scores, SCORED_NAMES - 1)[SCORED_NAMES - 1]
        above = np.flatnonzero(scores > last)
        tied = np.flatnonzero(scores == last)
        tied = tied[np.argsort(self.tie[names[tied]], kind="stable")]
        needed = SCORED_NAMES - len(above)
        chosen = names[np.concatenate((above, tied[:needed]))]
        if len(tied) > needed:
            return chosen, (float(last), int(self.tie[names[tied[needed]]]))
        below = np.flatnonzero(scores < last)
        top = scores[below].max()
        left = names[below[scores[below] == top]]
        return chosen, (float(top), int(self.tie[left].min()))

    def ranked(self, facts: list[WordFacts], allowed: tuple[int, ...], reach: tuple,
                weights: dict[str, tuple[float, float]], initials: dict[str, float]):
        """((the names reached of the allowed schemas, every name reached), their ranks)
        under `weights` and `initials` — the same float32 arithmetic, name by name, for the
        current statistics and for an earlier screening's (`worth_comparing`), so a rank
        recomputed is the rank that was. A probe without a weight is left out; (None, None)
        when nothing is reached."""
        union, probes = reach
        rank = np.zeros(len(union), dtype=np.float32)
        hits = np.zeros(len(union), dtype=np.float32)
        touched = False
        for pid, at, exact in probes:
            weight = weights.get(pid)
            if weight is None:
                continue
            touched = True
            # a name holding two of the words counts once: `+=` through repeated indices
            # adds once
            rank[at] += weight[0]
            hits[at] += 1
            if exact is not None:
                rank[exact] += weight[1]
        if not touched:
            return None, None
        reached = hits > 0
        names = union[reached]
        scores, held = rank[reached], hits[reached]
        for fact in facts:   # an initial counts for the names the other words reached
            if is_initial(fact.form) and "a" <= fact.form <= "z":
                with_it = (self.initials[names] & (1 << (ord(fact.form) - 97))) != 0
                scores += with_it * initials.get(fact.form, 0.0)
                held += with_it
        keep = np.zeros(3, dtype=bool)
        keep[list(allowed)] = True
        keep = keep[self.schema[names]]
        every, names = names, names[keep]
        return (names, every), scores[keep] * np.minimum(held[keep] / self.sizes[names], 1.0)


def changed_since(index: ScreeningIndex, earlier: ScreeningIndex) -> frozenset[int]:
    """The keys of `index`'s entries that a screening against `earlier` cannot vouch for:
    entries not in it or not the same there, and entries holding a word whose facts (sound,
    name symbols, role, script) differ, because another entry brought or took a spelling
    of it."""
    before = {e.key: e for e in earlier._entries}
    changed = {e.key for e in index._entries if before.get(e.key) != e}
    old_facts = dict(zip(earlier._words.ids, earlier._words.facts))
    facts, names = index._words.facts, index._names
    for form, word in index._words.ids.items():
        if old_facts.get(form, facts[word]) != facts[word]:
            holding = names.postings[names.offsets[word]:names.offsets[word + 1]]
            changed.update(int(k) for k in index._entry_keys[names.entry[holding]])
    return frozenset(changed)
