"""A hook source's mapping: which case event a vendor's callback payload means.

Small and declarative (JSON or YAML), checked whole when an admin saves it:

    {"case_id": "externalUserId",
     "rules": [{"when": {"type": "applicantReviewed", "reviewResult.reviewAnswer": "GREEN"},
                "event": "kyc_completed",
                "params": {"ubo_id": {"path": "externalUserId", "split": ":", "part": 1},
                           "result": "$"}}]}

Rules are tried in order; the first whose `when` holds gives the event. A value is a dotted
path into the payload (`"data.items.0.id"`; `"$"` is the whole payload), `{"path": ...,
"split": SEP, "part": N}` (the Nth piece of a text), or `{"const": VALUE}`. A `when` compares
paths with JSON values (a list means "one of"). docs/API.md ("Vendor callbacks") documents it.

A rule may map a screening vendor's results into screening hits instead of an event:

    {"when": {...}, "screening": {
        "subject": {"path": "client_ref", "split": ":", "part": 1},   # "entity" or a UBO id
        "hits": "data.hits",                                        # the list of hits
        "hit": {"entry_id": "doc.id", "name": "doc.name",            # each hit's fields,
                "aliases": {"path": "doc.aka", "pluck": "name"},     # paths inside one hit
                "dataset": {"path": "doc.sources", "join": ", "}}}}

Inside `hit`, a value may also pluck a key from a list of objects (`"pluck"`, keeping only the
objects whose keys hold `"where"`'s values) and join a list of texts into one (`"join"`). The
hits are checked by core/screening (every problem named) when the callback is applied; the
planned event is then "screening", handed to the screening handler `core.intake.hooks`
is given (docs/SCREENING.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import InvalidInput
from core.intake.events import EVENTS
from core.intake.format import CASE_ID_PATTERN
from core.intake.values import unstorable

MAX_RULES = 50
MAX_CONDITIONS = 20
MAX_PATH_CHARS = 200
MAX_SPLIT_CHARS = 10
MAX_MAPPING_CHARS = 20_000
# The events a callback may report, with their parameters. A document upload carries a file,
# which comes through POST /cases/{id}/events, not a vendor's JSON.
MAPPABLE_EVENTS: dict[str, tuple[str, ...]] = {
    name: kind.params for name, kind in EVENTS.items() if name != "document_uploaded"}
OPTIONAL_PARAMS = frozenset({"detail"})
SCREENING = "screening"  # the planned "event" of a screening rule
# A screening hit's fields (core/screening/inputs.py HIT_FIELDS; tests/intake keeps them
# equal: intake and screening stand side by side and do not import each other).
HIT_FIELDS = ("entry_id", "dataset", "name", "aliases", "birth_dates", "countries",
              "programme", "url", "score", "matched_fields")
HIT_VALUE_KEYS = frozenset({"path", "pluck", "where", "join"})
WHOLE_PAYLOAD = "$"
_MISSING = object()
_SCALARS = (str, int, float, bool, type(None))


# --- checking a mapping ------------------------------------------------------------------

def _check_path(path: Any, where: str, problems: list[str]) -> None:
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS or unstorable(path):
        problems.append(f"{where}: a path is text of 1 to {MAX_PATH_CHARS} characters")
    elif path != WHOLE_PAYLOAD and "" in path.split("."):
        problems.append(f"{where}: {path!r} has an empty step (paths are like data.status)")


def _check_value(spec: Any, where: str, problems: list[str]) -> None:
    if isinstance(spec, str):
        _check_path(spec, where, problems)
    elif isinstance(spec, dict) and set(spec) == {"const"}:
        pass
    elif isinstance(spec, dict) and set(spec) == {"path", "split", "part"}:
        _check_path(spec["path"], f"{where}.path", problems)
        if not isinstance(spec["split"], str) or not 1 <= len(spec["split"]) <= MAX_SPLIT_CHARS:
            problems.append(f"{where}.split: the separator is 1 to {MAX_SPLIT_CHARS} characters")
        if (not isinstance(spec["part"], int) or isinstance(spec["part"], bool)
                or spec["part"] < 0):
            problems.append(f"{where}.part: a piece's index is a whole number from 0")
    else:
        problems.append(f"{where}: a value is a path (\"data.status\"), "
                        "{\"path\": ..., \"split\": \":\", \"part\": 0} or {\"const\": ...}")


def _check_when(when: Any, where: str, problems: list[str]) -> None:
    if not isinstance(when, dict) or len(when) > MAX_CONDITIONS:
        problems.append(f"{where}: an object of at most {MAX_CONDITIONS} path: value conditions "
                        "({} matches every payload)")
        return
    for path, expected in when.items():
        _check_path(path, f"{where}.{path}", problems)
        options = expected if isinstance(expected, list) else [expected]
        if not options or not all(isinstance(o, _SCALARS) for o in options):
            problems.append(f"{where}.{path}: compare with text, a number, true, false, null "
                            "or a non-empty list of them (one of)")


def _check_hit_value(spec: Any, where: str, problems: list[str]) -> None:
    if not (isinstance(spec, dict) and ("pluck" in spec or "join" in spec)):
        _check_value(spec, where, problems)
        return
    if not set(spec) <= HIT_VALUE_KEYS or "path" not in spec:
        problems.append(f"{where}: a list value is {{\"path\": ..., \"pluck\": KEY, "
                        "\"where\": {KEY: VALUE}, \"join\": SEP} (a path, with pluck or join)")
        return
    _check_path(spec["path"], f"{where}.path", problems)
    if "pluck" in spec and (not isinstance(spec["pluck"], str) or not spec["pluck"]
                            or len(spec["pluck"]) > MAX_PATH_CHARS):
        problems.append(f"{where}.pluck: the key to take from each object of the list")
    if "where" in spec:
        if "pluck" not in spec:
            problems.append(f"{where}.where: goes with pluck")
        _check_when(spec["where"], f"{where}.where", problems)
    if "join" in spec and (not isinstance(spec["join"], str)
                           or not 1 <= len(spec["join"]) <= MAX_SPLIT_CHARS):
        problems.append(f"{where}.join: the separator is 1 to {MAX_SPLIT_CHARS} characters")


def _check_screening(spec: Any, where: str, problems: list[str]) -> None:
    if not isinstance(spec, dict) or set(spec) != {"subject", "hits", "hit"}:
        problems.append(f"{where}: an object with subject, hits and hit")
        return
    _check_value(spec["subject"], f"{where}.subject", problems)
    _check_path(spec["hits"], f"{where}.hits", problems)
    fields = spec["hit"]
    if not isinstance(fields, dict):
        problems.append(f"{where}.hit: an object of hit field: value")
        return
    for name, value in fields.items():
        if name not in HIT_FIELDS:
            problems.append(f"{where}.hit.{str(name)[:40]}: not a hit field (fields: "
                            f"{', '.join(HIT_FIELDS)})")
        else:
            _check_hit_value(value, f"{where}.hit.{name}", problems)
    for name in ("entry_id", "dataset", "name"):
        if name not in fields:
            problems.append(f"{where}.hit.{name}: a hit needs it")


def _check_rule(rule: Any, where: str, has_case_id: bool, problems: list[str]) -> None:
    if not isinstance(rule, dict):
        problems.append(f"{where}: a rule is an object with when, event and params")
        return
    unknown = sorted(set(rule) - {"when", "event", "case_id", "params", SCREENING})
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)} "
                        "(a rule has when, event, case_id, params; or when, case_id, "
                        "screening)")
    _check_when(rule.get("when"), f"{where}.when", problems)
    if "case_id" in rule:
        _check_value(rule["case_id"], f"{where}.case_id", problems)
    elif not has_case_id:
        problems.append(f"{where}.case_id: needed, as the mapping has no case_id of its own")
    if SCREENING in rule:
        if "event" in rule or "params" in rule:
            problems.append(f"{where}: a screening rule has no event or params")
        _check_screening(rule[SCREENING], f"{where}.{SCREENING}", problems)
        return
    event = rule.get("event")
    if event not in MAPPABLE_EVENTS:
        problems.append(f"{where}.event: {event!r} is not an event a callback may report; "
                        f"events: {', '.join(MAPPABLE_EVENTS)}")
        return
    params = rule.get("params", {})
    if not isinstance(params, dict):
        problems.append(f"{where}.params: an object of parameter: value")
        return
    allowed = MAPPABLE_EVENTS[event]
    for name, spec in params.items():
        if name not in allowed:
            problems.append(f"{where}.params.{name}: {event} takes "
                            f"{', '.join(allowed) or 'no parameters'}")
        else:
            _check_value(spec, f"{where}.params.{name}", problems)
    for name in allowed:
        if name not in params and name not in OPTIONAL_PARAMS:
            problems.append(f"{where}.params.{name}: {event} needs it")


def validate_mapping(mapping: Any) -> dict[str, Any]:
    """The mapping, checked whole: InvalidInput names every problem as "where: what"."""
    if not isinstance(mapping, dict):
        raise InvalidInput("a mapping is an object with rules (and usually case_id)")
    try:
        size = len(json.dumps(mapping, allow_nan=False))
    except (TypeError, ValueError):
        raise InvalidInput("a mapping is plain JSON: objects, lists, text, numbers, true, false "
                           "and null") from None
    if size > MAX_MAPPING_CHARS:
        raise InvalidInput(f"the mapping is {size:,} characters as JSON; at most "
                           f"{MAX_MAPPING_CHARS:,}")
    problems: list[str] = []
    unknown = sorted(set(mapping) - {"case_id", "rules"})
    if unknown:
        problems.append(f"mapping: unknown keys {', '.join(unknown)} (it has case_id and rules)")
    if "case_id" in mapping:
        _check_value(mapping["case_id"], "case_id", problems)
    rules = mapping.get("rules")
    if not isinstance(rules, list) or not 1 <= len(rules) <= MAX_RULES:
        problems.append(f"rules: a list of 1 to {MAX_RULES} rules")
        rules = []
    for i, rule in enumerate(rules):
        _check_rule(rule, f"rules[{i}]", "case_id" in mapping, problems)
    if problems:
        raise InvalidInput("the mapping was refused", problems)
    return json.loads(json.dumps(mapping))


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A mapping from a .json, .yaml or .yml file, checked (YAML anchors and aliases refused)."""
    file = Path(path)
    kind = file.suffix.lower()
    if kind not in (".json", ".yaml", ".yml"):
        raise InvalidInput(f"a mapping file ends in .json, .yaml or .yml, not {file.name!r}")
    if not file.is_file():
        raise InvalidInput(f"no file at {str(path)!r}")
    if file.stat().st_size > 4 * MAX_MAPPING_CHARS:
        raise InvalidInput(f"{file.name} is {file.stat().st_size:,} bytes; at most "
                           f"{4 * MAX_MAPPING_CHARS:,}")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file.name} is not UTF-8 text (bad byte at {exc.start})") from None
    if kind == ".json":
        try:
            return validate_mapping(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{file.name} is not JSON: {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}") from None
    try:
        if any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)
               for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise InvalidInput(f"{file.name}: YAML anchors and aliases (& and *) are not allowed")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{file.name} is not YAML: "
                           f"{getattr(exc, 'problem', None) or 'not valid'}{where}") from None
    return validate_mapping(data)


# --- applying a mapping to a payload -----------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """What a payload means: the event of the first matching rule (None: no rule matched),
    its case and parameters."""
    event: str | None
    case_id: str | None
    params: dict[str, Any] = field(default_factory=dict)
    rule: int | None = None  # the matching rule's index
    unfit: InvalidInput | None = None  # the rule matched, but a value it needs is not there


def _lookup(payload: Any, path: str) -> Any:
    if path == WHOLE_PAYLOAD:
        return payload
    value = payload
    for step in path.split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif (isinstance(value, list) and step.isascii() and step.isdigit()
              and int(step) < len(value)):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _holds(when: dict[str, Any], payload: Any) -> bool:
    for path, expected in when.items():
        value = _lookup(payload, path)
        options = expected if isinstance(expected, list) else [expected]
        if value is _MISSING or not any(_same(value, o) for o in options):
            return False
    return True


def _value(spec: Any, payload: Any, where: str) -> Any:
    if isinstance(spec, dict) and "const" in spec:
        return spec["const"]
    path = spec if isinstance(spec, str) else spec["path"]
    value = _lookup(payload, path)
    if value is _MISSING:
        raise InvalidInput("the callback does not fit its rule", [f"{where}: the payload has "
                                                                   f"no {path}"])
    if isinstance(spec, dict):
        pieces = value.split(spec["split"]) if isinstance(value, str) else []
        if spec["part"] >= len(pieces):
            raise InvalidInput("the callback does not fit its rule", [
                f"{where}: {path} ({str(value)[:80]!r}) has no piece {spec['part']} when split "
                f"at {spec['split']!r}"])
        value = pieces[spec["part"]]
    return value


def _case_id(spec: Any, payload: Any) -> str:
    value = _value(spec, payload, "case_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CASE_ID_PATTERN.fullmatch(value):
        raise InvalidInput("the callback does not fit its rule",
                           [f"case_id: {str(value)[:80]!r} is not a case id"])
    return value


def _hit_value(spec: Any, item: Any) -> Any:
    """One field of one hit: missing values are None (the screening's own check names what a
    hit lacks)."""
    if isinstance(spec, dict) and ("pluck" in spec or "join" in spec):
        value = _lookup(item, spec["path"])
        if value is _MISSING or not isinstance(value, list):
            return None
        if "pluck" in spec:
            value = [v.get(spec["pluck"]) for v in value if isinstance(v, dict)
                     and _holds(spec.get("where", {}), v) and spec["pluck"] in v]
        if "join" in spec:
            value = spec["join"].join(str(v) for v in value if isinstance(v, (str, int)))
            return value or None
        return value
    try:
        return _value(spec, item, "hit")
    except InvalidInput:
        return None


def _screening(spec: dict[str, Any], payload: Any) -> dict[str, Any]:
    subject = _value(spec["subject"], payload, "screening.subject")
    found = _lookup(payload, spec["hits"])
    if found is _MISSING or not isinstance(found, list):
        raise InvalidInput("the callback does not fit its rule", [
            f"screening.hits: the payload has no list at {spec['hits']}"])
    hits = [{name: _hit_value(value, item) for name, value in spec["hit"].items()}
            for item in found]
    return {"subject": subject, "hits": [{k: v for k, v in hit.items() if v is not None}
                                         for hit in hits]}


def plan(mapping: dict[str, Any], payload: Any) -> Planned:
    """The event a payload means by `mapping` (checked by validate_mapping); `unfit` says why
    when a rule matches but a value it needs is missing or unfit. A screening rule plans the
    event "screening" with `{"subject": ..., "hits": [...]}` as its parameters."""
    for index, rule in enumerate(mapping["rules"]):
        if _holds(rule["when"], payload):
            case_id = None
            event = SCREENING if SCREENING in rule else rule["event"]
            try:
                case_id = _case_id(rule.get("case_id", mapping.get("case_id")), payload)
                if event == SCREENING:
                    params = _screening(rule[SCREENING], payload)
                else:
                    params = {name: _value(spec, payload, f"params.{name}")
                              for name, spec in rule.get("params", {}).items()}
            except InvalidInput as unfit:
                return Planned(event, case_id, rule=index, unfit=unfit)
            return Planned(event, case_id, params, index)
    try:  # nothing to do; the case id (if the payload names one) is kept with the record
        case_id = _case_id(mapping["case_id"], payload) if "case_id" in mapping else None
    except InvalidInput:
        case_id = None
    return Planned(None, case_id)
