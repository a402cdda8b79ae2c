"""Deliveries: every notification to every target, paged, and replaying one (integrations
admins only, checked in core). Endpoint URLs and secrets are never in an answer: a URL may
carry a token, and the endpoint's id names it."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import Actor, Db, Reader, acting, utc
from api.problems import PROBLEM_RESPONSES
from core.notifications.deliveries import STATES, delivery_page, replay_delivery
from core.notifications.fanout import CHANNELS

router = APIRouter(tags=["deliveries"], responses=PROBLEM_RESPONSES)
MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database


class DeliveryOut(BaseModel):
    id: int
    message_id: str
    case_id: str
    channel: str
    event_type: str
    target: str
    endpoint_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    total: int
    page: int
    page_size: int
    pages: int


class Replayed(BaseModel):
    delivery_id: int
    state: Literal["pending"]


@router.get("/deliveries", response_model=DeliveryList,
            summary="Notifications and their delivery state, newest first (admin)")
def get_deliveries(p: Reader, db: Db,
                   status: Literal[STATES] | None = None,  # type: ignore[valid-type]
                   case_id: str | None = Query(None, max_length=64),
                   channel: Literal[CHANNELS] | None = None,  # type: ignore[valid-type]
                   endpoint_id: int | None = Query(None, ge=1, le=MAX_ID),
                   page: int = Query(1, ge=1, le=1_000_000),
                   page_size: int = Query(50, ge=1, le=500)) -> DeliveryList:
    result = delivery_page(db, actor=p.username, status=status, endpoint_id=endpoint_id,
                           case_id=case_id, channel=channel, page=page, page_size=page_size)
    rows = [DeliveryOut(**{k: v for k, v in utc(d).items() if k != "endpoint_url"})
            for d in result.rows]
    return DeliveryList(deliveries=rows, total=result.total, page=result.page,
                        page_size=result.page_size, pages=result.pages)


@router.post("/deliveries/{delivery_id}/replay", response_model=Replayed, status_code=202,
             summary="Send a finished delivery again: same webhook-id, fresh retries (admin)")
def post_replay(p: Actor, db: Db,
                delivery_id: int = Path(..., ge=1, le=MAX_ID)) -> Replayed:
    with acting(p):
        replay_delivery(db, delivery_id, actor=p.username)
    return Replayed(delivery_id=delivery_id, state="pending")
