"""A case's keys: the normalised values it may share with other cases (email, phone,
registration number, person, address, document file), and keeping them current.

Why it exists: "other applications with the same phone" must be an index lookup, not a scan
of a million JSON documents, and the same value written two ways ("+852 5555 0100",
"5555-0100") must meet. Each writer of a case's data calls in here in its own transaction:
`case_key_rows` for a new case (the importer's multi-row INSERTs, the demo loader),
`refresh_case_keys` after a reviewer's edit, `add_document_key` for an uploaded file. The
lookup is core/cases/related.py; docs/RELATED_CASES.md says what each normaliser does and
what is deliberately not linked.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.store.models import Case, CaseKey, Document, DocumentFile, Ubo

EMAIL, PHONE, REGISTRATION, PERSON, ADDRESS, DOCUMENT = (
    "email", "phone", "registration", "person", "address", "document")
KIND_LABELS = {EMAIL: "Email", PHONE: "Phone", REGISTRATION: "Registration number",
               PERSON: "Person (name and birth date)", ADDRESS: "Address",
               DOCUMENT: "Document file"}
MAX_STORED_CHARS = 64  # a longer normalised value is stored as its SHA-256
MAX_SHOWN_CHARS = 300

# The fields read, besides the entity's own columns and the UBOs (docs/RELATED_CASES.md).
USER_DATA_FIELDS = {EMAIL: ("email",), PHONE: ("phone",),
                    REGISTRATION: ("registration_number",),
                    ADDRESS: ("address", "registered_address")}
REGISTRY_DATA_FIELDS = {REGISTRATION: ("registration_number",),
                        ADDRESS: ("registered_address",)}

# Country calling codes (ITU E.164) for national phone numbers written without one.
CALLING_CODES = dict(pair.split(":") for pair in (
    "AE:971 AR:54 AT:43 AU:61 BD:880 BE:32 BG:359 BH:973 BM:1 BR:55 BS:1 CA:1 CH:41 CL:56 "
    "CN:86 CO:57 CR:506 CY:357 CZ:420 DE:49 DK:45 EE:372 EG:20 ES:34 FI:358 FR:33 GB:44 "
    "GG:44 GH:233 GI:350 GR:30 HK:852 HR:385 HU:36 ID:62 IE:353 IL:972 IM:44 IN:91 IS:354 "
    "IT:39 JE:44 JO:962 JP:81 KE:254 KR:82 KW:965 KY:1 LB:961 LI:423 LK:94 LT:370 LU:352 "
    "LV:371 MA:212 MC:377 MO:853 MT:356 MU:230 MX:52 MY:60 NG:234 NL:31 NO:47 NP:977 NZ:64 "
    "OM:968 PA:507 PE:51 PH:63 PK:92 PL:48 PR:1 PT:351 QA:974 RO:40 RS:381 SA:966 SC:248 "
    "SE:46 SG:65 SI:386 SK:421 SM:378 TH:66 TR:90 TW:886 UA:380 US:1 UY:598 VA:39 VE:58 "
    "VG:1 VN:84 ZA:27").split())
KEEPS_TRUNK_ZERO = frozenset({"IT", "SM", "VA"})  # the leading 0 is part of the number there
MIN_PHONE_DIGITS = 6
MIN_REGISTRATION_CHARS = 3
MIN_ADDRESS_CHARS = 8
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Address words written several ways, each read as one (after case folding and accents).
ADDRESS_WORDS = {
    "street": "st", "str": "strasse", "road": "rd", "avenue": "ave", "av": "ave",
    "boulevard": "blvd", "lane": "ln", "drive": "dr", "place": "pl", "square": "sq",
    "building": "bldg", "bldg": "bldg", "floor": "fl", "flr": "fl", "flat": "unit",
    "apartment": "unit", "apt": "unit", "suite": "unit", "ste": "unit", "room": "unit",
    "rm": "unit", "number": "no", "nr": "no",
}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|x|#|;|,).*$")
_NOT_DIGIT = re.compile(r"\D")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ASCII_WORD = re.compile(r"[0-9a-z]+")
_WORD = re.compile(r"[^\W_]+")  # letters and digits (str.isalnum), any script
_NOT_ASCII_ALNUM = re.compile(r"[^0-9A-Za-z]")


# --- normalisers: a raw value -> its key value, or None (nothing to link on) --------------

def _folded_words(text: str) -> list[str]:
    """Compatibility-decomposed, accents dropped, case-folded, cut into letters-and-digits
    words: "Müller-Lüdenscheidt  GmbH" -> ["muller", "ludenscheidt", "gmbh"]."""
    if text.isascii():  # most values: the same answer, much faster (a backfill reads 1M)
        return _ASCII_WORD.findall(text.lower())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _WORD.findall(text)


def email_value(raw: Any) -> str | None:
    """Lower-case and trimmed; "+tag" dropped from the local part (any provider); dots
    dropped from a Gmail local part (Gmail ignores them), googlemail.com read as gmail.com."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if not _EMAIL.fullmatch(text):
        return None
    local, domain = text.rsplit("@", 1)
    domain = domain.rstrip(".")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def phone_value(raw: Any, country: str = "") -> str | None:
    """"+" and the digits of the international number: a number written with + or 00 is
    international already; a national one gets the country's calling code, without its
    trunk 0 (kept in Italy). A national number of a country without a known calling code
    stays national ("XX:digits"). An extension is cut; fewer than 6 digits link nothing."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    text = _PHONE_EXTENSION.sub("", str(raw).strip().replace("(0)", ""))
    digits = _NOT_DIGIT.sub("", text)
    international = text.startswith("+")
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    if international:
        return "+" + digits
    country = (country or "").upper()
    code = CALLING_CODES.get(country)
    if code is None:
        return f"{country or '??'}:{digits}"
    if code == "1" and len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]  # North America: 1 is the trunk prefix and the country code
    elif digits.startswith("0") and country not in KEEPS_TRUNK_ZERO:
        digits = digits[1:]
    return f"+{code}{digits}"


def registration_value(raw: Any, country: str = "") -> str | None:
    """The entity's country, ":", then the number's letters and digits upper-cased
    ("hrb 12345" in DE -> "DE:HRB12345"), so the same number in two registries does not
    link. The country's own code written before digits is dropped ("HK-3141592" in HK ->
    "HK:3141592")."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    text = str(raw)
    if text.isascii():
        number = _NOT_ASCII_ALNUM.sub("", text).upper()
    else:
        number = "".join(c for c in unicodedata.normalize("NFKC", text).upper() if c.isalnum())
    country = (country or "").upper()
    if country and number.startswith(country) and number[len(country):].isdigit():
        number = number[len(country):]
    if len(number) < MIN_REGISTRATION_CHARS:
        return None
    return f"{country or '??'}:{number}"


def person_value(name: Any, date_of_birth: Any) -> str | None:
    """A person's name and birth date: the name's words folded (accents dropped, case
    folded) and sorted, so "CHAN Tai Man" and "Tai Man Chan" meet; "|", the date
    (YYYY-MM-DD). No birth date, no key: a name alone is not a person."""
    if not isinstance(name, str) or not isinstance(date_of_birth, str):
        return None
    born, words = date_of_birth.strip(), person_words(name)
    if not words or not _DATE.fullmatch(born):
        return None
    return f"{words}|{born}"


def person_words(name: str) -> str:
    """A name's words folded and sorted (`person_value` without the birth date)."""
    return " ".join(sorted(_folded_words(name)))


def address_value(raw: Any) -> str | None:
    """The address's words folded, in their order, with common words read one way
    ("Road" and "Rd." -> "rd", "Flat"/"Unit"/"Suite" -> "unit"). An address without a
    number, or shorter than 8 characters, is too vague to link ("Central, Hong Kong")."""
    if not isinstance(raw, str):
        return None
    value = address_words(raw)
    if len(value) < MIN_ADDRESS_CHARS or not any(c.isnumeric() for c in value):
        return None
    return value


def address_words(text: str) -> str:
    """An address's words folded, common words read one way (`address_value` without its
    checks). Word by word, so the words of "A, B" are those of A, then those of B."""
    return " ".join(ADDRESS_WORDS.get(w, w) for w in _folded_words(text))


def document_value(sha256: Any) -> str | None:
    """The SHA-256 of the file's bytes: only a byte-for-byte copy links."""
    if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256.lower()):
        return None
    return sha256.lower()


def stored(value: str) -> str:
    """The value as stored: itself, or its SHA-256 (hex) when longer than 64 characters."""
    if len(value) <= MAX_STORED_CHARS:
        return value
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- a case's keys -------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyValue:
    kind: str
    value: str  # normalised, as stored
    shown: str  # as this case has it


@dataclass(frozen=True)
class CaseSources:
    """What a case's keys are computed from."""
    entity_kind: str = ""
    entity_name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    registration_number: str = ""
    user_data: Any = None
    registry_data: Any = None
    ubos: list[tuple[Any, Any]] = field(default_factory=list)   # (full name, birth date)
    files: list[tuple[str, str]] = field(default_factory=list)  # (sha256, file name)


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def _shown(value: Any) -> str:
    return " ".join(str(value).split())[:MAX_SHOWN_CHARS]


def keys_of(src: CaseSources) -> list[KeyValue]:
    """The case's keys, each (kind, value) once (the first source's spelling is kept)."""
    found: dict[tuple[str, str], KeyValue] = {}

    def add(kind: str, value: str | None, shown: Any) -> None:
        if value is not None:
            value = stored(value)
            if (kind, value) not in found:
                found[(kind, value)] = KeyValue(kind, value, _shown(shown))

    ud, rd = src.user_data, src.registry_data
    for raw in (src.email, *(_field(ud, f) for f in USER_DATA_FIELDS[EMAIL])):
        add(EMAIL, email_value(raw), raw)
    for raw in (src.phone, *(_field(ud, f) for f in USER_DATA_FIELDS[PHONE])):
        add(PHONE, phone_value(raw, src.country), raw)
    for raw in (src.registration_number,
                *(_field(ud, f) for f in USER_DATA_FIELDS[REGISTRATION]),
                *(_field(rd, f) for f in REGISTRY_DATA_FIELDS[REGISTRATION])):
        add(REGISTRATION, registration_value(raw, src.country), raw)
    people = list(src.ubos)
    if src.entity_kind == "person":
        people.insert(0, (src.entity_name, _field(ud, "date_of_birth")))
    for name, born in people:
        add(PERSON, person_value(name, born), f"{name}, born {born}")
    for raw in (*(_field(ud, f) for f in USER_DATA_FIELDS[ADDRESS]),
                *(_field(rd, f) for f in REGISTRY_DATA_FIELDS[ADDRESS])):
        add(ADDRESS, address_value(raw), raw)
    for sha256, filename in src.files:
        add(DOCUMENT, document_value(sha256), f"{filename} (SHA-256 {str(sha256)[:12]}…)")
    return list(found.values())


def case_key_rows(case_id: str, src: CaseSources) -> list[dict[str, str]]:
    """The `case_keys` rows of a new case, for a multi-row INSERT."""
    return [{"case_id": case_id, "kind": k.kind, "value": k.value, "shown": k.shown}
            for k in keys_of(src)]


# --- keeping a stored case's keys current --------------------------------------------------

def sources_of(session: Session, case_id: str) -> CaseSources:
    """The case's sources as this session sees them (its pending changes too)."""
    case = session.get(Case, case_id)
    entity = case.entity
    ubos = session.execute(select(Ubo.full_name, Ubo.date_of_birth)
                           .where(Ubo.case_id == case_id).order_by(Ubo.id)).all()
    files = session.execute(select(DocumentFile.blob_sha256, DocumentFile.filename)
                            .join(Document, Document.id == DocumentFile.document_id)
                            .where(Document.case_id == case_id)
                            .order_by(DocumentFile.id)).all()
    return CaseSources(entity.kind, entity.name, entity.email, entity.phone, entity.country,
                       entity.registration_number, case.user_data, case.registry_data,
                       [tuple(u) for u in ubos], [tuple(f) for f in files])


def _matching(case_id: str, pairs: Iterable[tuple[str, str]]):
    return and_(CaseKey.case_id == case_id,
                or_(*(and_(CaseKey.kind == kind, CaseKey.value == value)
                      for kind, value in pairs)))


def refresh_case_keys(session: Session, case_id: str) -> None:
    """Makes the stored keys of the case what its data gives now, in the caller's
    transaction: keys no longer given are deleted, new ones inserted."""
    wanted = {(k.kind, k.value): k for k in keys_of(sources_of(session, case_id))}
    have = {(kind, value): shown for kind, value, shown in session.execute(
        select(CaseKey.kind, CaseKey.value, CaseKey.shown).where(CaseKey.case_id == case_id))}
    gone = [pair for pair in have if pair not in wanted]
    if gone:
        session.execute(delete(CaseKey).where(_matching(case_id, gone)))
    for pair, key in wanted.items():
        if pair in have and have[pair] != key.shown:
            session.execute(update(CaseKey).where(_matching(case_id, [pair]))
                            .values(shown=key.shown))
    new = [{"case_id": case_id, "kind": k.kind, "value": k.value, "shown": k.shown}
           for pair, k in wanted.items() if pair not in have]
    if new:
        session.execute(insert(CaseKey), new)


def add_document_key(session: Session, case_id: str, sha256: str, filename: str) -> None:
    """An uploaded file's key (every version of a document is kept, so is its key)."""
    value = document_value(sha256)
    if value is None or session.scalar(select(CaseKey.case_id).where(
            _matching(case_id, [(DOCUMENT, value)]))) is not None:
        return
    key = keys_of(CaseSources(files=[(sha256, filename)]))[0]
    session.execute(insert(CaseKey).values(case_id=case_id, kind=key.kind, value=key.value,
                                           shown=key.shown))
