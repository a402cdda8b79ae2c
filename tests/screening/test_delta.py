"""The matcher's delta screening (core/screening/delta.py): a subject matched with the memo
of its last screening and the entries changed since gives exactly what a full screening
of the new index gives — across reloads that add, change, rename and remove entries, bring a
word's spelling in another script, and skip versions. The candidate cut (SCORED_NAMES) is
made small here so that most screenings leave names out and ties at the cut are common."""
from __future__ import annotations

import json
from dataclasses import replace
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.screening import matching
from core.screening.delta import memo_from_json, memo_to_json
from core.screening.matching import ListEntry, Query, ScreeningIndex, changed_since

GIVEN = ["Ivan", "Ivanna", "John", "Jon", "Maria", "Marta", "Mohammed", "Muhammad", "Wang",
         "Li", "Anna", "Hassan", "Mhmd", "J.", "Иван", "محمد", "王"]
FAMILY = ["Petrov", "Petrova", "Smith", "Smyth", "Ivanov", "Al Hassan", "Alhassan", "Karimi",
          "Wei", "Petrenko", "Смит"]
COMPANY = ["Golden", "Star", "Sun", "Trading", "Lotus", "Locus", "Petrov"]
LEGAL = ["Ltd", "LLC", "GmbH", ""]
DATES = ["", "1970", "1970-03-01", "1971-03-01", "1970-04"]
COUNTRIES = ["", "RU", "IR", "CN"]

person = st.builds(
    lambda g, f, alias, dob, country: ("person", f"{g} {f}", (alias,) if alias else (),
                                       (dob,) if dob else (), (country,) if country else ()),
    st.sampled_from(GIVEN), st.sampled_from(FAMILY),
    st.one_of(st.just(""), st.builds(lambda a, b: f"{a} {b}", st.sampled_from(FAMILY),
                                     st.sampled_from(GIVEN))),
    st.sampled_from(DATES), st.sampled_from(COUNTRIES))
company = st.builds(
    lambda a, b, legal, country: ("organization", f"{a} {b} {legal}".strip(), (), (),
                                  (country,) if country else ()),
    st.sampled_from(COMPANY), st.sampled_from(COMPANY), st.sampled_from(LEGAL),
    st.sampled_from(COUNTRIES))
content = st.one_of(person, person, company)
# one reload: entries added (content), entries changed (index into the list, new content or
# a new programme only), entries removed (index)
reload = st.tuples(st.lists(content, max_size=4),
                   st.lists(st.tuples(st.integers(0, 99), st.one_of(content, st.none())),
                            max_size=4),
                   st.lists(st.integers(0, 99), max_size=3))

QUERIES = [Query("Ivan Petrov", "1970-03-01", "RU", "person"), Query("John Smith"),
           Query("Muhammad Al Hassan", "", "IR", "person"), Query("Wang Wei", "", "", "person"),
           Query("Maria Petrova", "1970", "", "person"), Query("J Smyth", "", "", "person"),
           Query("Golden Star Trading LLC", "", "", "organization"),
           Query("Lotus Sun Ltd", "", "CN", "organization"), Query("Mhmd Karimi")]


def entry(key: int, made: tuple, programme: str = "P1") -> ListEntry:
    schema, name, aliases, dates, countries = made
    return ListEntry(key, "test", "Test", f"e-{key}", schema, name, aliases, dates, countries,
                     programme)


def reloaded(entries: list[ListEntry], change: tuple, next_key: int) -> tuple[list, int]:
    added, changed, removed = change
    entries = list(entries)
    for at, made in changed:
        if entries:
            old = entries[at % len(entries)]
            entries[at % len(entries)] = replace(old, programme="P2") if made is None else \
                entry(old.key, made)
    for at in removed:
        if entries:
            entries.pop(at % len(entries))
    for made in added:
        entries.append(entry(next_key, made))
        next_key += 1
    return entries, next_key


def answer(candidates) -> list[tuple]:
    return [(c.entry.key, c.score, c.name_score, c.matched_name, c.matched_fields)
            for c in candidates]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(content, min_size=3, max_size=30),
       reloads=st.lists(reload, min_size=1, max_size=4), cut=st.sampled_from([2, 4, 300]),
       threshold=st.sampled_from([60, 85]))
def test_a_delta_screening_answers_what_a_full_screening_answers(first, reloads, cut,
                                                                 threshold):
    with patch.object(matching, "SCORED_NAMES", cut):
        entries = [entry(key, made) for key, made in enumerate(first, start=1)]
        next_key = len(entries) + 1
        index = ScreeningIndex.build(entries)
        # per query: the memo of its last screening and the entries changed since
        memos = {q: (index.remembering(q, threshold=threshold, limit=200)[1], frozenset())
                 for q in QUERIES}
        for change in reloads:
            entries, next_key = reloaded(entries, change, next_key)
            newer = ScreeningIndex.build(entries)
            step = changed_since(newer, index)
            for query in QUERIES:
                full, full_memo, _ = newer.remembering(query, threshold=threshold, limit=200)
                memo, changed = memos[query]
                memo = memo_from_json(json.loads(json.dumps(memo_to_json(memo))))
                delta, delta_memo, _ = newer.remembering(
                    query, threshold=threshold, limit=200, before=memo, changed=changed | step)
                assert answer(delta) == answer(full), query
                assert delta_memo.found == full_memo.found
                assert delta_memo.retrievals == full_memo.retrievals
                # every other query skips this version: its memo stays, the changes add up
                memos[query] = (delta_memo, frozenset()) if hash(query) % 2 else \
                    (memo, changed | step)
            index = newer


def test_a_delta_screening_compares_only_what_changed():
    people = [entry(key, ("person", f"{g} {f}", (), (), ()))
              for key, (g, f) in enumerate(((g, f) for g in GIVEN for f in FAMILY), start=1)]
    with patch.object(matching, "SCORED_NAMES", 20):
        index = ScreeningIndex.build(people)
        query = Query("Ivan Petrov", "", "", "person")
        _, memo, stats = index.remembering(query, threshold=85)
        assert stats.scored_names == 20   # more names reached than the cut: some left out
        renamed = replace(people[5], name="Ivan Petrov")
        newer = ScreeningIndex.build([p if p.key != renamed.key else renamed for p in people])
        changed = changed_since(newer, index)
        assert changed == {renamed.key}
        full, _, full_stats = newer.remembering(query, threshold=85)
        delta, _, delta_stats = newer.remembering(query, threshold=85, before=memo,
                                                  changed=changed)
        assert answer(delta) == answer(full) and renamed.key in [c.entry.key for c in delta]
        assert delta_stats.scored_names < full_stats.scored_names


def test_a_spelling_in_another_script_changes_the_entries_sharing_its_word():
    latin = entry(1, ("person", "Mhmd Karimi", (), (), ()))
    other = entry(2, ("person", "Reza Tehrani", (), (), ()))
    index = ScreeningIndex.build([latin, other])
    newer = ScreeningIndex.build([latin, other, entry(3, ("person", "محمد", (), (), ()))])
    # the Arabic spelling makes the word "mhmd" one written without short vowels: the
    # unchanged entry that holds it may now score otherwise, so it is compared again
    assert changed_since(newer, index) == {1, 3}
