"""What a screening reports, checked whole before anything is written: the hits (list
entries) for one subject of a case from one source, and the hash that makes a decision stick.

Every way a hit comes in — `POST /cases/{id}/screening`, a vendor's signed callback mapped by
its hook source (core/intake/hook_mapping.py), the built-in screener to come — hands the same
plain values to `clean_hits`, which names every problem ("hits[2].score: a whole number from
0 to 100") and refuses the batch whole. `match_hash` is the SHA-256 of the canonical JSON of
the entry's fields and the subject's fields the screening matched against: the same hash
again is the same list entry for the same person, so a decision taken on it holds.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from core.store.models import Case

MAX_HITS = 500            # per screening of one subject from one source
MAX_ENTRY_ID = 200
MAX_DATASET = 100
MAX_NAME = 300
MAX_ALIASES = 200        # a well-known name has many transliterations
MAX_DATES = 50
MAX_COUNTRIES = 100
MAX_COUNTRY = 100         # a country as the list writes it: a code or a name
MAX_PROGRAMME = 300
MAX_URL = 1000
MAX_MATCHED = 20
MAX_MATCHED_FIELD = 60
SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,79}$")
SUBJECT = re.compile(r"^(entity|ubo:[1-9][0-9]{0,17})$")
BIRTH_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")  # YYYY, YYYY-MM, YYYY-MM-DD
ENTITY = "entity"
HIT_FIELDS = ("entry_id", "dataset", "name", "aliases", "birth_dates", "countries",
              "programme", "url", "score", "matched_fields")
REQUIRED_FIELDS = ("entry_id", "dataset", "name")


@dataclass(frozen=True)
class HitInput:
    """One list entry a screening returned for a subject, as checked."""
    entry_id: str
    dataset: str
    name: str
    aliases: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    programme: str | None = None
    url: str | None = None
    score: int | None = None          # 0-100; None when the source gives none
    matched_fields: tuple[str, ...] = ()

    def entry(self) -> dict[str, Any]:
        """The entry as stored on the hit (`screening_hits.entry`)."""
        return {"name": self.name, "aliases": list(self.aliases),
                "birth_dates": list(self.birth_dates), "countries": list(self.countries),
                "programme": self.programme, "url": self.url}


@dataclass(frozen=True)
class Subject:
    """Who was screened: the entity or a UBO of the case, with the fields a screening
    matches against (the hash reads them: a changed name, birth date or country re-opens)."""
    key: str            # "entity" | "ubo:<id>"
    name: str
    birth_date: str
    country: str

    def fields(self) -> dict[str, str]:
        return {"name": self.name, "birth_date": self.birth_date, "country": self.country}


def _bad_text(text: str) -> bool:
    """Control characters, line or paragraph separators, NUL, lone surrogates."""
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text(value: Any, where: str, limit: int, problems: list[str], *,
          required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: text of 1 to {limit} characters" if required else
                        f"{where}: text of 1 to {limit} characters, or null")
        return None
    value = value.strip()
    if len(value) > limit:
        problems.append(f"{where}: at most {limit} characters; this one has {len(value):,}")
    elif _bad_text(value):
        problems.append(f"{where}: cannot contain control characters or line breaks")
    else:
        return value
    return None


def _texts(value: Any, where: str, most: int, limit: int, problems: list[str],
           pattern: re.Pattern | None = None, shape: str = "") -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        problems.append(f"{where}: a list of texts")
        return ()
    if len(value) > most:
        problems.append(f"{where}: at most {most} items; this list has {len(value):,}")
        return ()
    found: list[str] = []
    for i, item in enumerate(value):
        text = _text(item, f"{where}[{i}]", limit, problems, required=True)
        if text is not None and pattern is not None and not pattern.match(text):
            problems.append(f"{where}[{i}]: {str(item)[:40]!r} is not {shape}")
        elif text is not None and text not in found:
            found.append(text)
    return tuple(found)


def _score(value: Any, where: str, problems: list[str]) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        problems.append(f"{where}: a whole number from 0 to 100, or null")
        return None
    return value


def _url(value: Any, where: str, problems: list[str]) -> str | None:
    url = _text(value, where, MAX_URL, problems)
    if url is not None and not url.lower().startswith(("https://", "http://")):
        problems.append(f"{where}: an http:// or https:// address")
        return None
    return url


def _one_hit(raw: Any, where: str, problems: list[str]) -> HitInput | None:
    if isinstance(raw, HitInput):
        raw = {**raw.entry(), "entry_id": raw.entry_id, "dataset": raw.dataset,
               "score": raw.score, "matched_fields": list(raw.matched_fields)}
    if not isinstance(raw, dict):
        problems.append(f"{where}: an object with {', '.join(REQUIRED_FIELDS)} and more")
        return None
    before = len(problems)
    unknown = sorted(str(k)[:40] for k in raw if k not in HIT_FIELDS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(HIT_FIELDS)})")
    hit = HitInput(
        entry_id=_text(raw.get("entry_id"), f"{where}.entry_id", MAX_ENTRY_ID, problems,
                       required=True) or "",
        dataset=_text(raw.get("dataset"), f"{where}.dataset", MAX_DATASET, problems,
                      required=True) or "",
        name=_text(raw.get("name"), f"{where}.name", MAX_NAME, problems, required=True) or "",
        aliases=_texts(raw.get("aliases"), f"{where}.aliases", MAX_ALIASES, MAX_NAME, problems),
        birth_dates=_texts(raw.get("birth_dates"), f"{where}.birth_dates", MAX_DATES, 10,
                           problems, BIRTH_DATE, "a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        countries=_texts(raw.get("countries"), f"{where}.countries", MAX_COUNTRIES,
                         MAX_COUNTRY, problems),
        programme=_text(raw.get("programme"), f"{where}.programme", MAX_PROGRAMME, problems),
        url=_url(raw.get("url"), f"{where}.url", problems),
        score=_score(raw.get("score"), f"{where}.score", problems),
        matched_fields=_texts(raw.get("matched_fields"), f"{where}.matched_fields",
                              MAX_MATCHED, MAX_MATCHED_FIELD, problems))
    return hit if len(problems) == before else None


def clean_hits(hits: Any) -> list[HitInput]:
    """The hits, checked whole: InvalidInput lists every problem, and nothing is written.
    An empty list is a screening that found nothing (every earlier hit is then gone)."""
    if not isinstance(hits, (list, tuple)):
        raise InvalidInput("the screening was refused", ["hits: a list of hits (may be empty)"])
    if len(hits) > MAX_HITS:
        raise InvalidInput("the screening was refused",
                           [f"hits: at most {MAX_HITS} per screening; this one has "
                            f"{len(hits):,}"])
    problems: list[str] = []
    found: list[HitInput] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(hits):
        hit = _one_hit(raw, f"hits[{i}]", problems)
        if hit is None:
            continue
        if hit.entry_id in seen:
            problems.append(f"hits[{i}].entry_id: {hit.entry_id[:60]!r} appears twice (also "
                            f"hits[{seen[hit.entry_id]}])")
            continue
        seen[hit.entry_id] = i
        found.append(hit)
    if problems:
        raise InvalidInput("the screening was refused", problems)
    return found


def clean_source(source: Any) -> str:
    if not isinstance(source, str) or not SOURCE.match(source.strip()):
        raise InvalidInput("the screening was refused", [
            "source: 1 to 80 characters a-z, 0-9, '_', '.', ':', '-', starting with a letter "
            "or digit (e.g. complyadvantage, builtin:un_sc)"])
    return source.strip()


def subject_key_of(value: Any) -> str:
    """"entity", "ubo:ID", or a UBO's id alone (a number, or its digits) as "ubo:ID"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return f"ubo:{value}"
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and text[:1] != "0":
        text = f"ubo:{text}"
    if not SUBJECT.match(text):
        raise InvalidInput("the screening was refused", [
            f"subject: {str(value)[:40]!r} is not a subject: \"entity\" or \"ubo:ID\" (the "
            "UBO's KYC block id)"])
    return text


def subject_of(case: Case, key: str) -> Subject:
    """The case's subject named by `key` (subject_key_of's form); InvalidInput for a UBO the
    case does not have."""
    if key == ENTITY:
        e = case.entity
        return Subject(ENTITY, e.name, "", e.country or "")
    ubo_id = int(key.partition(":")[2])
    for u in case.ubos:
        if u.id == ubo_id:
            return Subject(key, u.full_name, u.date_of_birth or "", u.nationality or "")
    known = ", ".join(["entity", *(f"ubo:{u.id}" for u in case.ubos)])
    raise InvalidInput("the screening was refused",
                       [f"subject: case {case.id} has no UBO {ubo_id} (subjects: {known})"])


def match_hash(hit: HitInput, subject: Subject) -> str:
    """SHA-256 of the canonical JSON of the entry's fields (list, id, name, aliases, birth
    dates, countries, programme) and the subject's (name, birth date, country). Lists are
    compared as sets; score, url and the matched fields' names are left out (a vendor may
    re-score or re-word a match without anything about the person changing)."""
    seen = {"entry": {"dataset": hit.dataset, "entry_id": hit.entry_id, "name": hit.name,
                      "aliases": sorted(hit.aliases), "birth_dates": sorted(hit.birth_dates),
                      "countries": sorted(hit.countries), "programme": hit.programme},
            "subject": subject.fields()}
    text = json.dumps(seen, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
