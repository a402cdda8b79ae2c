"""Reading list files (core/screening/list_files.py): OpenSanctions' targets.simple.csv and
OFAC's sdn.csv read into entries, and bad files — wrong columns, huge rows, bad encoding,
formula cells, empty or repeated ids — refused whole with the lines named."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.screening import list_files
from core.screening.list_files import OS_COLUMNS, parse_list_file
from core.screening.ofac_remarks import birth_dates, read

LISTS = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"
OS_HEADER = ",".join(OS_COLUMNS)


def os_file(*rows: dict, columns=OS_COLUMNS) -> bytes:
    """An OpenSanctions file: the header, then one row per dict (missing cells empty)."""
    out = io.StringIO()
    w = csv.writer(out, dialect=csv.unix_dialect)
    w.writerow(columns)
    for row in rows:
        w.writerow([row.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


def sdn_row(num="1", name="ACME LTD", kind="-0- ", program="SDGT", remarks="-0-",
            **cells) -> list[str]:
    row = [num, name, kind, program] + ["-0- "] * 7 + [remarks]
    for i, column in enumerate(list_files.SDN_COLUMNS):
        if column in cells:
            row[i] = cells[column]
    return row


def sdn_file(*rows: list[str], end: str = "\x1a") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return (out.getvalue() + end).encode("utf-8")


def problems(data: bytes, fmt: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        parse_list_file(data, fmt)
    assert str(refused.value).startswith("the list file was refused")
    return refused.value.problems


# --- the sample files -------------------------------------------------------------------------

def test_the_demo_opensanctions_file_reads_whole():
    entries = parse_list_file((LISTS / "demo_sanctions.csv").read_bytes(), "opensanctions")
    assert len(entries) == 40
    kinds = {e.schema for e in entries}
    assert kinds == {"person", "organization", "other"}
    by_id = {e.entry_id: e for e in entries}
    chan = by_id["demo-p-001"]
    assert chan.name == "Chan Ka Wai" and "陳家偉" in chan.aliases
    assert chan.birth_dates == ("1968-09-14",) and set(chan.countries) == {"HK", "CN"}
    assert chan.programme == "DEMO-FIN-HK"
    assert any("Александр" in a for a in by_id["demo-p-006"].aliases)      # Cyrillic
    assert any("محمد" in a for a in by_id["demo-p-002"].aliases)           # Arabic
    assert by_id["demo-o-015"].schema == "organization"                     # PublicBody
    assert by_id["demo-v-001"].schema == "other"                            # Vessel
    assert set(by_id["demo-p-019"].countries) == {"UA-CRI", "RU"}          # a code kept


def test_the_demo_sdn_file_reads_whole():
    entries = parse_list_file((LISTS / "demo_sdn.csv").read_bytes(), "ofac_sdn")
    assert len(entries) == 20
    by_id = {e.entry_id: e for e in entries}
    assert by_id["90101"].aliases[:1] == ("Daniel NGUYEN",)
    assert by_id["90102"].programme == "DEMO-DPRK; DEMO-PROLIF"
    assert by_id["90109"].schema == "other" and by_id["90111"].schema == "other"
    assert by_id["90104"].schema == "organization" and by_id["90104"].countries == ("AE",)


# --- OpenSanctions -----------------------------------------------------------------------------

def test_opensanctions_values_are_split_mapped_and_cased():
    data = os_file({"id": "NK-1", "schema": "Person", "name": "Ivan Petrov",
                    "aliases": 'Иван Петров;"Petrov; Ivan";Ivan Petrov', "birth_date":
                    "1960-01-02;1961", "countries": "ru;ua-cri", "addresses": "1 Road\nTown",
                    "phones": "+7 495 000", "program_ids": "US-OFAC-SDN;EU-RUS"},
                   {"id": "NK-2", "schema": "LegalEntity", "name": "Acme", "countries": "Iran",
                    "sanctions": "Some programme - a reason"},
                   {"id": "NK-3", "schema": "Airplane", "name": "EP-ABC"})
    one, two, three = parse_list_file(data, "opensanctions")
    assert one.aliases == ("Иван Петров", "Petrov; Ivan")  # quoted ';' kept, the name dropped
    assert one.birth_dates == ("1960-01-02", "1961") and one.countries == ("RU", "UA-CRI")
    assert one.programme == "US-OFAC-SDN; EU-RUS" and one.schema == "person"
    assert (two.schema, two.countries, two.programme) == ("organization", ("IR",),
                                                          "Some programme - a reason")
    assert three.schema == "other"
    assert three.line == 5  # the address of NK-1 spans two lines


def test_a_file_without_program_ids_is_read_too():
    columns = tuple(c for c in OS_COLUMNS if c != "program_ids")
    (entry,) = parse_list_file(os_file({"id": "x", "name": "X", "schema": "Person"},
                                       columns=columns), "opensanctions")
    assert entry.name == "X"


def test_the_header_names_missing_and_unknown_columns():
    columns = tuple(c for c in OS_COLUMNS if c not in ("name", "aliases")) + ("nickname",)
    (problem,) = problems(os_file({"id": "x"}, columns=columns), "opensanctions")
    assert problem.startswith("line 1: not the header of OpenSanctions' targets.simple.csv")
    assert "missing: name, aliases" in problem and "unknown: 'nickname'" in problem


def test_an_ofac_file_read_as_opensanctions_is_named():
    data = sdn_file(sdn_row("90101", "NGUYEN, Daniel"))
    assert problems(data, "opensanctions") == [
        "line 1: this looks like OFAC's sdn.csv (no header, 12 cells, a number first): load "
        "it with the OFAC SDN format"]


def test_a_bad_birth_date_is_refused_with_its_line():
    data = os_file({"id": "a", "name": "A"}, {"id": "b", "name": "B", "birth_date": "1960;02/03/1961"})
    assert problems(data, "opensanctions") == [
        "line 3: birth_date: '02/03/1961' is not a date as YYYY, YYYY-MM or YYYY-MM-DD"]


def test_phone_numbers_and_other_ignored_cells_are_not_refused():
    (entry,) = parse_list_file(os_file({"id": "a", "name": "A", "phones": "+44 20 7946 0000",
                                        "addresses": "=not read", "emails": "@x"}),
                               "opensanctions")
    assert entry.entry_id == "a"


# --- OFAC ----------------------------------------------------------------------------------------

def test_sdn_rows_read_names_types_programmes_and_remarks():
    data = sdn_file(
        sdn_row("10", "PETROV, Ivan Sergeyevich", "individual", "SDGT] [IRAN",
                "DOB 12 Jan 1960; alt. DOB circa 1961; nationality Russia; citizen Atlantis; "
                "a.k.a. 'VANYA'; f.k.a. 'O'BRIEN, Sean'; Gender Male."),
        sdn_row("11", "SEA BREEZE", "vessel", remarks="Nationality of Registration Panama."),
        sdn_row("12", "ACME TRADING LLC"))
    person, vessel, company = parse_list_file(data, "ofac_sdn")
    assert person.schema == "person" and person.name == "PETROV, Ivan Sergeyevich"
    assert person.aliases == ("Ivan Sergeyevich PETROV", "VANYA", "O'BRIEN, Sean")
    assert person.birth_dates == ("1960-01-12", "1961")
    assert person.countries == ("RU", "Atlantis")  # unknown: kept as written
    assert person.programme == "SDGT; IRAN"
    assert (vessel.schema, vessel.countries) == ("other", ("PA",))
    assert (company.schema, company.programme, company.aliases) == ("organization", "SDGT", ())


@pytest.mark.parametrize("text, dates", [
    ("12 Jan 1960", ["1960-01-12"]), ("Jan 1960", ["1960-01"]), ("1960", ["1960"]),
    ("circa 1960", ["1960"]), ("1959 to 1961", ["1959", "1960", "1961"]),
    ("01 Jan 1955 to 31 Dec 1957", ["1955", "1956", "1957"]),
    ("1900 to 1990", ["1900", "1990"]), ("05 Sept 1971", ["1971-09-05"]),
    ("sometime in the sixties", []), ("32 Jan 1960", []),
])
def test_ofac_birth_dates(text, dates):
    assert birth_dates(text) == dates


def test_ofac_remarks_read_registration_and_aliases():
    said = read("a.k.a. 'X CO'; Nationality of Registration Korea, North; n.k.a. 'Y CO'.")
    assert said.aliases == ("X CO", "Y CO") and said.countries == ("KP",)


def test_ofac_empty_values_bom_header_row_and_closing_sub_are_accepted():
    header = ["ent_num", *list_files.SDN_COLUMNS[1:]]
    data = b"\xef\xbb\xbf" + sdn_file(header, sdn_row("7", "-0-X CORP", title="-0- "),
                                      end="\x1a\r\n")
    (entry,) = parse_list_file(data, "ofac-sdn")
    assert entry.entry_id == "7" and entry.line == 2


def test_ofac_ids_must_be_numbers_and_rows_have_12_cells():
    data = sdn_file(sdn_row("A1"), ["2", "ACME", "-0-"])
    assert problems(data, "ofac_sdn") == [
        "line 1: ent_num: 'A1' is not a whole number",
        f"line 2: 12 cells expected (an OFAC sdn.csv row: {', '.join(list_files.SDN_COLUMNS)}), "
        "found 3"]


# --- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+2", "+cmd", "@SUM(A1)", "\t=1", "-cmd", " =1", "-=1"])
def test_formula_cells_are_refused(cell):
    (problem,) = problems(sdn_file(sdn_row("1", cell)), "ofac_sdn")
    assert problem.startswith("line 1: SDN_Name: ") and "spreadsheet formula" in problem


@pytest.mark.parametrize("cell", ["-0-", "-1 ACME", "- ACME", "-", "ACME -x"])
def test_cells_that_only_look_like_formulas_pass(cell):
    entries = parse_list_file(sdn_file(sdn_row("1", "ACME", remarks=cell)), "ofac_sdn")
    assert len(entries) == 1


def test_formulas_in_an_alias_are_refused():
    data = os_file({"id": "a", "name": "A", "aliases": "B;=HYPERLINK(\"x\")"})
    (problem,) = problems(data, "opensanctions")
    assert problem.startswith("line 2: aliases: ")


def test_empty_and_repeated_ids_and_empty_names_are_refused():
    data = os_file({"id": "a", "name": "A"}, {"id": "", "name": "B"}, {"id": "c", "name": " "},
                   {"id": "a", "name": "A again"})
    assert problems(data, "opensanctions") == [
        "line 3: id: empty; every entry needs one",
        "line 4: name: empty; every entry needs one",
        "line 5: id 'a' appears twice (also line 2)"]


def test_control_characters_are_refused():
    data = os_file({"id": "a", "name": "A\x07B"}, {"id": "b", "name": "B\u2028C"})
    assert [p.split(":")[0] for p in problems(data, "opensanctions")] == ["line 2", "line 3"]


def test_wrong_number_of_cells_is_refused():
    data = OS_HEADER.encode() + b"\na,Person,A\n"
    assert problems(data, "opensanctions") == [
        f"line 2: {len(OS_COLUMNS)} cells expected (one per column of the header), found 3"]


def test_a_huge_row_is_refused_with_its_line():
    data = sdn_file(sdn_row("1"), sdn_row("2", remarks="x" * 70_000), sdn_row("3"))
    found = problems(data, "ofac_sdn")
    assert found[0] == "line 2: the line has 68 KiB; at most 64 KiB"


def test_bad_encoding_is_refused_with_each_line():
    data = sdn_file(sdn_row("1"), sdn_row("2", "CAF\u00c9"), sdn_row("3", "ZÜRICH AG"))
    data = data.replace("CAF\u00c9".encode(), b"CAF\xc9")   # Latin-1, not UTF-8
    data = data.replace("ZÜRICH".encode(), b"Z\xdcRICH")
    assert problems(data, "ofac_sdn") == [
        "line 2: not UTF-8 text (byte 0xC9); save the file as UTF-8",
        "line 3: not UTF-8 text (byte 0xDC); save the file as UTF-8"]


def test_at_most_50_problems_are_listed():
    data = sdn_file(*(sdn_row(str(i), "=X") for i in range(1, 121)))
    found = problems(data, "ofac_sdn")
    assert len(found) == 51 and found[-1] == "... and 70 more"
    assert found[0].startswith("line 1: ") and found[49].startswith("line 50: ")


def test_empty_files_and_unknown_formats_are_refused():
    assert problems(b"", "opensanctions") == [
        "line 1: the file is empty (an OpenSanctions file starts with its header)"]
    assert problems(OS_HEADER.encode() + b"\n", "opensanctions") == [
        "line 1: the file has no entries"]
    assert problems(b"\x1a", "ofac_sdn") == ["line 1: the file has no entries"]
    with pytest.raises(InvalidInput, match="format"):
        parse_list_file(b"x", "csv")


def test_size_and_entry_limits(monkeypatch):
    monkeypatch.setattr(list_files, "MAX_FILE_BYTES", 100)
    assert problems(b"x" * 101, "ofac_sdn") == ["the file has 0 MB; at most 0 MB"]
    monkeypatch.setattr(list_files, "MAX_FILE_BYTES", 10**6)
    monkeypatch.setattr(list_files, "MAX_ENTRIES", 2)
    found = problems(sdn_file(sdn_row("1"), sdn_row("2"), sdn_row("3")), "ofac_sdn")
    assert found == ["line 3: more than 2 entries; split the list"]


def test_entry_hash_ignores_order_but_not_content():
    a = parse_list_file(os_file({"id": "a", "name": "A", "aliases": "X;Y"}), "opensanctions")[0]
    b = parse_list_file(os_file({"id": "a", "name": "A", "aliases": "Y;X"}), "opensanctions")[0]
    c = parse_list_file(os_file({"id": "a", "name": "A", "aliases": "Y;Z"}), "opensanctions")[0]
    assert a.entry_hash == b.entry_hash != c.entry_hash
