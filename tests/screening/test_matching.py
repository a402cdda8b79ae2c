"""The built-in screener's matcher (core/screening/matching.py, core/screening/names.py): each
kind of name difference it must see through, the evidence beside the name, the limit and the
threshold, odd input, and that a screening reaches entries through the index instead of
comparing the whole list."""
from __future__ import annotations

import random

import pytest

from core.screening import names as names_module
from core.screening.matching import (
    DEFAULT_THRESHOLD,
    SCORED_NAMES,
    Candidate,
    ListEntry,
    Query,
    ScreeningIndex,
)


def entry(key: int, name: str, schema: str = "person", **fields) -> ListEntry:
    return ListEntry(key, "demo-sanctions", "Demo sanctions", f"E-{key}", schema, name,
                     **fields)


def best(index: ScreeningIndex, query: Query) -> Candidate | None:
    found = index.match(query, threshold=0)
    return found[0] if found else None


def score(list_name: str, query_name: str, schema: str = "person", **fields) -> int:
    """The score of one list entry against one screened name (0 when not a candidate)."""
    found = best(ScreeningIndex.build([entry(1, list_name, schema, **fields)]),
                 Query(query_name, schema=schema))
    return found.score if found else 0


@pytest.mark.parametrize("list_name, query_name", [
    ("Мухаммад Али", "Muhammad Ali"),
    ("محمد علي حسن", "Mohammed Ali Hassan"),
    ("يوسف خالد القحطاني", "Youssef Khaled Al-Qahtani"),
    ("王伟", "Wang Wei"),
    ("Γεώργιος Παπαδόπουλος", "Georgios Papadopoulos"),
    ("Sergey Kuznetsov", "Sergei Kouznetsov"),
    ("Aleksandr Vasilyev", "Alexander Vasiliev"),
])
def test_transliterations_and_spellings_match(list_name, query_name):
    assert score(list_name, query_name) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("query_name", ["SMITH, John", "Smith John", "john smith",
                                        "JOHN  SMITH"])
def test_word_order_case_and_punctuation_do_not_matter(query_name):
    assert score("John Smith", query_name) >= 98


def test_missing_middle_name_or_patronymic_still_matches():
    assert score("John Robert Smith", "John Smith") >= DEFAULT_THRESHOLD
    assert score("Andrey Viktorovich Korolyov", "Andrei Korolyov") >= DEFAULT_THRESHOLD
    assert score("José Muñoz García", "Jose Munoz") >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("query_name", ["J. Smith", "J Smith", "Smith J.", "John R. Smith",
                                        "J.R. Smith"])
def test_initials_match(query_name):
    assert score("John Robert Smith", query_name) >= DEFAULT_THRESHOLD


def test_one_shared_word_is_not_a_person_match():
    assert score("John Smith", "Smith") < DEFAULT_THRESHOLD
    assert score("Smith", "Maria Smith") < DEFAULT_THRESHOLD
    assert score("Maria Smith", "John Smith") < DEFAULT_THRESHOLD
    assert score("Suharto", "Suharto") == 100   # a one-word name against itself


@pytest.mark.parametrize("list_name, query_name", [
    ("José Muñoz", "Jose Munoz"), ("Łukasz Wiśniewski", "Lukasz Wisniewski"),
    ("Nguyễn Văn An", "NGUYEN VAN AN"), ("Şahin Öztürk", "Sahin Ozturk"),
])
def test_diacritics_do_not_matter(list_name, query_name):
    assert score(list_name, query_name) == 100


def test_umlauts_written_out_match():
    assert score("Jürgen Müller", "Juergen Mueller") >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("query_name", ["Mr John Smith", "Dr. John Smith",
                                        "His Excellency John Smith", "General John Smith"])
def test_honorifics_are_dropped(query_name):
    assert score("John Smith", query_name) >= 95


def test_a_typo_still_matches():
    assert score("Alexander Kuznetsov", "Alexander Kuznetsvo") >= DEFAULT_THRESHOLD
    assert score("Muhammad Smith", "Muhmmad Smith") >= DEFAULT_THRESHOLD


def test_compounds_written_apart_match():
    assert score("Abdulrahman Al-Qahtani", "Abdul Rahman Alqahtani") >= DEFAULT_THRESHOLD
    assert score("Kim Min-jun", "Kim Minjun") >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("list_name, query_name", [
    ("Acme Holdings Limited", "ACME HOLDINGS LTD"),
    ("Golden Star Trading LLC", "Golden Star Trading Limited Liability Company"),
    ("Siemens Aktiengesellschaft", "Siemens AG"),
    ("ООО «Ромашка»", "Romashka LLC"),
    ("Orion Shipping GmbH", "Orion Shipping"),
    ("The Saffron Holdings Company", "Saffron Holdings Co"),
])
def test_organisation_legal_forms_are_read_as_one(list_name, query_name):
    assert score(list_name, query_name, "organization") >= DEFAULT_THRESHOLD


def test_a_legal_form_or_business_word_alone_is_not_a_match():
    for query_name in ("LLC", "Trading LLC", "General Trading", "The Company"):
        assert score("Golden Star Trading LLC", query_name, "organization") <= 60
    assert score("Golden Star Trading LLC", "Golden Star", "organization") >= DEFAULT_THRESHOLD


def test_a_different_organisation_name_does_not_match():
    assert score("Golden Star Trading LLC", "Golden Sun Trading LLC",
                 "organization") < DEFAULT_THRESHOLD
    assert score("Orion Trading LLC", "Phoenix Trading LLC", "organization") < 60


def test_a_person_is_not_matched_with_a_company_sharing_a_word():
    index = ScreeningIndex.build([entry(1, "Hassan Trading LLC", "organization"),
                                  entry(2, "Ali Hassan")])
    found = index.match(Query("Ali Hassan", schema="person"), threshold=0)
    assert [c.entry.key for c in found] == [2]


def test_organisations_are_matched_with_vessels_and_a_query_without_schema_with_all():
    index = ScreeningIndex.build([entry(1, "MV Ocean Pearl", "other"),
                                  entry(2, "Ocean Pearl", "person"),
                                  entry(3, "Ocean Pearl Shipping Ltd", "organization")])
    as_company = index.match(Query("Ocean Pearl", schema="organization"), threshold=60)
    assert {c.entry.key for c in as_company} == {1, 3}
    anyone = index.match(Query("Ocean Pearl"), threshold=60)
    assert {c.entry.key for c in anyone} == {1, 2, 3}


def test_same_birth_date_raises_and_another_year_lowers():
    index = ScreeningIndex.build([
        entry(1, "Ivan Petrov", birth_dates=("1970-03-01",)),
        entry(2, "Ivan Petrov", birth_dates=("1970",)),
        entry(3, "Ivan Petrov", birth_dates=("1982-03-01",)),
        entry(4, "Ivan Petrov"),
        entry(5, "Ivan Petrova", birth_dates=("1970-03-01",))])
    found = {c.entry.key: c for c in index.match(
        Query("Ivan Petrov", birth_date="1970-03-01", schema="person"), threshold=0)}
    name_only = found[4].score
    assert found[1].name_score == found[3].name_score == name_only
    assert "birth_date" in found[1].matched_fields and "birth_date" in found[2].matched_fields
    assert "birth_date" not in found[3].matched_fields + found[4].matched_fields
    # the same name and another birth year: not the same person
    assert found[3].score < DEFAULT_THRESHOLD <= name_only
    # a near name with the same full birth date rises above it without one
    near_alone = best(ScreeningIndex.build([entry(5, "Ivan Petrova")]),
                      Query("Ivan Petrov", schema="person"))
    assert found[5].score > near_alone.score
    assert found[5].score == min(100, found[5].name_score + 10)


def test_birth_dates_compare_as_far_as_both_are_known():
    dates = {1: ("1970-03",), 2: ("1970-04-02",), 3: ("1969", "1970"), 4: ("1970-03-01",),
             5: ()}
    index = ScreeningIndex.build([entry(key, "Iwan Petrowa", birth_dates=listed)
                                  for key, listed in dates.items()])
    found = {c.entry.key: c for c in index.match(
        Query("Ivan Petrov", birth_date="1970-03-01", schema="person"), threshold=0)}
    plain = found[5].score
    assert 70 <= plain <= 90   # a near name: room to rise
    assert [found[k].score - plain for k in (1, 2, 3, 4)] == [7, -5, 5, 10]
    assert [("birth_date" in found[k].matched_fields) for k in (1, 2, 3, 4)] == \
        [True, False, True, True]


def test_country_is_supporting_evidence_only():
    index = ScreeningIndex.build([entry(1, "Ivan Petrova", countries=("RU",)),
                                  entry(2, "Ivan Petrova", countries=("Russia",)),
                                  entry(3, "Ivan Petrova", countries=("FR",)),
                                  entry(4, "Ivan Petrova")])
    found = {c.entry.key: c for c in index.match(
        Query("Ivan Petrov", country="RU", schema="person"), threshold=0)}
    assert found[1].score == found[2].score == found[4].score + 4
    assert "country" in found[1].matched_fields and "country" in found[2].matched_fields
    assert found[3].score == found[4].score   # another country: no penalty
    assert "country" not in found[3].matched_fields


def test_an_alias_match_names_the_alias():
    index = ScreeningIndex.build([entry(1, "Abu Hamza", aliases=("Mustafa Kamel Haddad",))])
    found = best(index, Query("Moustafa Kamel Hadad", schema="person"))
    assert found.matched_name == "Mustafa Kamel Haddad"
    assert found.matched_fields[0] == "alias"
    assert found.score >= DEFAULT_THRESHOLD


def test_results_best_first_within_the_limit_and_threshold():
    index = ScreeningIndex.build([entry(1, "John Smith"), entry(2, "Jon Smith"),
                                  entry(3, "John Smyth"), entry(4, "Joan Smithers"),
                                  entry(5, "John Smith", birth_dates=("1960",)),
                                  entry(6, "Mary Jones")])
    query = Query("John Smith", birth_date="1960-01-01", schema="person")
    everything = index.match(query, threshold=0)
    assert [c.score for c in everything] == sorted((c.score for c in everything), reverse=True)
    assert everything[0].entry.key == 5 and everything[0].score == 100
    assert all(isinstance(c.score, int) and 0 <= c.score <= 100 for c in everything)
    assert all(isinstance(c.name_score, int) for c in everything)
    assert [c.entry.key for c in index.match(query, threshold=0, limit=2)] == \
        [c.entry.key for c in everything[:2]]
    assert index.match(query, limit=0) == []
    strict = index.match(query, threshold=95)
    assert strict and all(c.score >= 95 for c in strict)
    assert len(strict) < len(everything)
    assert 6 not in {c.entry.key for c in index.match(query)}


@pytest.mark.parametrize("odd", ["", " ", "-", "—", "😀", "😀 😀", "...", "()", "x" * 300,
                                 "John " * 60, "\x00\t\n", "١٢٣"])
def test_odd_input_is_no_match_and_no_error(odd):
    index = ScreeningIndex.build([entry(1, "John Smith"), entry(2, odd or "-"),
                                  entry(3, "A" * 300, "organization")])
    assert len(index) == 3
    for schema in ("person", "organization", None):
        found = index.match(Query(odd, birth_date="not a date", country="??", schema=schema))
        assert all(c.entry.key != 1 for c in found)


def test_a_long_name_matches_itself():
    long_name = " ".join(random.Random(3).choice(["Abdul", "Rahman", "bin", "Khalid",
                                                  "Al", "Saud"]) for _ in range(50))
    index = ScreeningIndex.build([entry(1, long_name)])
    assert best(index, Query(long_name, schema="person")).score == 100


def test_entries_without_a_readable_name_are_counted_but_never_returned():
    index = ScreeningIndex.build([entry(1, "-"), entry(2, "😀", aliases=("",))])
    assert len(index) == 2
    assert index.match(Query("-"), threshold=0) == []


def synthetic_list(size: int) -> list[ListEntry]:
    rng = random.Random(7)
    syllables = ["ka", "ro", "mi", "ten", "sa", "vo", "lu", "dar", "ne", "bi", "zo", "fa"]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(3)).capitalize()
    return [entry(key, f"{word()} {word()}") for key in range(1, size + 1)]


def test_a_screening_compares_only_names_the_index_leads_to(monkeypatch):
    entries = synthetic_list(20_000)
    index = ScreeningIndex.build(entries)
    compared = []
    original = names_module.NameComparison.score

    def counting(self, words):
        compared.append(words)
        return original(self, words)
    monkeypatch.setattr(names_module.NameComparison, "score", counting)
    target = entries[12_345]
    found = index.match(Query(target.name.upper(), schema="person"))
    assert found[0].entry.key == target.key and found[0].score == 100
    assert 0 < len(compared) <= SCORED_NAMES
    assert len(compared) < len(index) / 20
    assert index.last_stats.scored_names == len(compared)
    assert index.last_stats.reached_names < len(index)
    compared.clear()
    index.match(Query("Qwxyz Vbnmk", schema="person"))
    assert compared == []
