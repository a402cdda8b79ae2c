"""The import file format: its limits, field names and patterns, and reading the raw file.

This module is the format's single definition: the checks (`checks.py`), the writing
(`importer.py`), the outside events (`events.py`) and the CSV import all read these names, and
docs/INTAKE.md documents them ("Limits at a glance" names `MAX_*` here). `parse_import` turns
the raw file into JSON, refusing it on size, encoding or syntax before anything is checked.
"""
from __future__ import annotations

import json
import re
from typing import Any

from core import config
from core.errors import InvalidInput

# --- limits of the import format (docs/INTAKE.md lists them) ------------------------------
MAX_CASES_PER_FILE = 10_000
MAX_STRING_CHARS = 10_000          # any string anywhere, except file contents
MAX_KEY_CHARS = 100
MAX_NESTING_DEPTH = 5              # registry_data, enriched_data, KYC results
MAX_DATA_CHARS = 200_000           # one of those objects, as JSON text
MAX_FIELDS = 500                   # keys of user_data / document properties
MAX_TAGS = 50
MAX_TAG_CHARS = 50
MAX_DOCUMENTS = 100                # per case, and per UBO
MAX_UBOS = 50
MAX_PROCESSES = 50
MAX_NAME_CHARS = 300
MAX_EMAIL_CHARS = 254
MAX_PHONE_CHARS = 40
MAX_REGISTRATION_CHARS = 64
MAX_PROCESS_NAME_CHARS = 64
MAX_DOCUMENT_TYPE_CHARS = 64
MAX_ACTOR_CHARS = 64
FORMAT_VERSION = 1

CASE_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DOCUMENT_TYPE_PATTERN = re.compile(r"[a-z0-9_]{1,64}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

ENTITY_TYPES = ("business", "person")
PROCESS_STATES = ("pending", "completed", "failed")
KYC_STATES = ("not_sent", "sent", "completed")

TOP_LEVEL_FIELDS = {"format_version", "description", "cases"}
CASE_FIELDS = {"id", "workflow", "entity", "collection_completed", "created_at", "risk_score",
               "tags", "user_data", "registry_data", "enriched_data", "processes", "documents",
               "ubos"}
ENTITY_FIELDS = {"type", "name", "email", "phone", "country", "registration_number"}
PROCESS_FIELDS = {"name", "state", "detail"}
DOCUMENT_FIELDS = {"type", "properties", "file"}
FILE_FIELDS = {"filename", "content_base64"}
UBO_FIELDS = {"full_name", "email", "date_of_birth", "nationality", "ownership_percent", "kyc",
              "documents"}
KYC_FIELDS = {"state", "result"}

REFUSED = "the import file was refused; nothing was imported"


class _RefusedConstant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _RefusedConstant(f"{name} is not a number JSON allows")


# --- reading the file ---------------------------------------------------------------------

def parse_import(source: bytes | str | dict) -> Any:
    """The JSON value of an import file; InvalidInput (size, encoding, syntax) otherwise."""
    limit = config.max_import_bytes()
    if isinstance(source, str):
        size = len(source.encode("utf-8", "surrogatepass"))
        text = source
    elif isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        size = len(raw)
        if size > limit:
            raise InvalidInput(REFUSED, [f"the file is {size:,} bytes; the limit is {limit:,} "
                                         "bytes (DOCKET_MAX_IMPORT_BYTES)"])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(REFUSED, [f"the file is not UTF-8 text (bad byte at offset "
                                         f"{exc.start})"]) from None
    else:
        return source  # already parsed: the checks report a wrong shape
    if size > limit:
        raise InvalidInput(REFUSED, [f"the file is {size:,} bytes; the limit is {limit:,} bytes "
                                     "(DOCKET_MAX_IMPORT_BYTES)"])
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(REFUSED, [f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                                     f"{exc.msg}"]) from None
    except _RefusedConstant as exc:
        raise InvalidInput(REFUSED, [f"malformed JSON: {exc}"]) from None
    except RecursionError:
        raise InvalidInput(REFUSED, ["malformed JSON: nested too deeply"]) from None
