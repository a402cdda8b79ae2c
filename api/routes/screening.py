"""Screening results reported over HTTP: the hits a sanctions, PEP or watchlist screening
returned for one subject of a case (core/screening/; docs/SCREENING.md)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.deps import Db, Events, acting
from api.problems import PROBLEM_RESPONSES
from core.errors import InvalidInput
from core.screening import inputs
from core.screening.hits import record_screening

router = APIRouter(tags=["screening"], responses=PROBLEM_RESPONSES)

Name = Annotated[str, Field(min_length=1, max_length=inputs.MAX_NAME)]
BirthDate = Annotated[str, Field(pattern=inputs.BIRTH_DATE.pattern)]
Country = Annotated[str, Field(min_length=1, max_length=inputs.MAX_COUNTRY)]
Matched = Annotated[str, Field(min_length=1, max_length=inputs.MAX_MATCHED_FIELD)]
BUILTIN = "builtin:"  # the built-in screener's sources


class HitBody(BaseModel):
    """One list entry the screening returned for the subject."""
    model_config = ConfigDict(extra="forbid")  # a misspelt field is named, not ignored

    entry_id: str = Field(..., min_length=1, max_length=inputs.MAX_ENTRY_ID,
                          description="the entry's id on its list (stable across screenings)")
    dataset: str = Field(..., min_length=1, max_length=inputs.MAX_DATASET,
                         description="the list, e.g. \"OFAC SDN\"")
    name: Name = Field(..., description="the entry's name")
    aliases: list[Name] = Field([], max_length=inputs.MAX_ALIASES)
    birth_dates: list[BirthDate] = Field([], max_length=inputs.MAX_DATES,
                                         description="YYYY, YYYY-MM or YYYY-MM-DD")
    countries: list[Country] = Field([], max_length=inputs.MAX_COUNTRIES)
    programme: str | None = Field(None, min_length=1, max_length=inputs.MAX_PROGRAMME,
                                  description="the sanctions programme or list section")
    url: str | None = Field(None, min_length=1, max_length=inputs.MAX_URL,
                            description="the entry on the list's site (http or https)")
    score: StrictInt | None = Field(None, ge=0, le=100,
                                    description="how well it matched, a whole number 0-100")
    matched_fields: list[Matched] = Field([], max_length=inputs.MAX_MATCHED,
                                          description="which fields matched, e.g. name, "
                                                      "birth_date")


class ScreeningRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(..., pattern=inputs.SUBJECT.pattern,
                         description="\"entity\", or \"ubo:ID\" (the UBO's KYC block id)")
    source: str = Field(..., pattern=inputs.SOURCE.pattern,
                        description="who screened, e.g. complyadvantage: a later screening "
                                    "from the same source replaces this one's hits")
    hits: list[HitBody] = Field(..., max_length=inputs.MAX_HITS,
                                description="every hit of this screening (an empty list: "
                                            "none, so every earlier hit is gone)")
    expected_version: int | None = Field(None, ge=1, description="optional: the case version "
                                         "you screened; a stale one answers 409")


class ScreeningResult(BaseModel):
    """The hits by what the screening did to them (hit ids), the case's open hits after it,
    and its version."""
    case_id: str
    subject: str
    source: str
    version: int
    open_hits: int
    new: list[int]
    carried: list[int]
    reopened: list[int]
    updated: list[int]
    returned: list[int]
    unchanged: list[int]
    gone: list[int]


@router.post("/cases/{case_id}/screening", response_model=ScreeningResult,
             summary="Report a screening's hits for one subject of a case")
def post_screening(case_id: str, body: ScreeningRequest, p: Events, db: Db) -> ScreeningResult:
    if body.source.startswith(BUILTIN):
        raise InvalidInput("the request is not valid", [
            f"source: {BUILTIN}... is the built-in screener's; name your own source"])
    hits = [h.model_dump(exclude_none=True) for h in body.hits]
    with acting(p):
        summary = record_screening(db, case_id, body.subject, body.source, hits,
                                   actor=p.username, expected_version=body.expected_version)
    return ScreeningResult(case_id=summary.case_id, subject=summary.subject,
                           source=summary.source, version=summary.version,
                           open_hits=summary.open_hits, new=summary.new,
                           carried=summary.carried, reopened=summary.reopened,
                           updated=summary.updated, returned=summary.returned,
                           unchanged=summary.unchanged, gone=summary.gone)
