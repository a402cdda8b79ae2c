"""The case store: SQLAlchemy 2 tables of Docket.

Facts are stored; the case status is derived from them by `core.cases.status` and kept in
`cases.case_status` only so lists and counts can be indexed. The schema itself is owned by
the Alembic migrations in `core/store/migrations/` (these classes must match them; a test checks).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Base and utcnow live in core.store.base so table modules beside this one can share them;
# those tables are imported here, so importing this module registers every table.
from core.store.approval_models import CaseApproval  # noqa: F401  (four-eyes approvals)
from core.store.audit_chain_models import AuditEvent  # noqa: F401  (the audit log, chained)
from core.store.audit_checkpoint_models import AuditCheckpoint  # noqa: F401  (audit checkpoints)
from core.store.base import Base, utcnow  # noqa: F401  (re-exported: `from core.store.models`)
from core.store.case_key_models import CaseKey  # noqa: F401  (related cases)
from core.store.circuit_models import DeliveryCircuit  # noqa: F401  (breakers, shared)
from core.store.counter_models import CaseCount, CaseDueCount, CaseTag  # noqa: F401  (triggers' tables)
from core.store.retention_models import ErasureRequest, LegalHold  # noqa: F401  (retention)
from core.store.screening_list_models import ScreeningList  # noqa: F401  (built-in screener)
from core.store.screening_models import ScreeningHit  # noqa: F401  (screening hits)
from core.store.screening_state_models import CaseScreeningState  # noqa: F401  (rescreens)
from core.store.signin_models import RecoveryCode, SignInSession  # noqa: F401  (sign-in)
from core.store.worklist_models import SavedFilter  # noqa: F401  ("My views")


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The second factor (TOTP, RFC 6238; core/signin/mfa.py): the base32 secret once enrolled,
    # and the last time step a code was accepted for (a code is never accepted twice).
    mfa_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    mfa_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Workflow(Base):
    __tablename__ = "workflows"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Entity(Base):
    """The applicant: a business (KYB) or a person (KYC). One entity may have several cases."""
    __tablename__ = "entities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # business | person
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    registration_number: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_entities_country_kind", "country", "kind"),)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow: Mapped[str] = mapped_column(ForeignKey("workflows.name"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    case_status: Mapped[str] = mapped_column(String(32))
    collection_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    assignee: Mapped[str | None] = mapped_column(ForeignKey("users.username"), nullable=True)
    risk_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    user_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    registry_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enriched_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When the case is due to leave its status (the workflow's SLA, core/workflows/sla.py);
    # None: no SLA for the status. Set with the status (migration 0007).
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The entity's name, country and kind, copied onto the case by database triggers
    # (migration 0011) so the case list filters, sorts and pages over `cases` alone. Read
    # only: the entity's own columns are the truth; never set these.
    entity_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    entity_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    entity_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Screening hits needing work: not dispositioned, marked "needs information", or a true
    # match awaiting a lead's sign-off (core/screening/, migration 0014). A counter the
    # screening service keeps in the command's own transaction, so the list filters and
    # shows it from `cases` alone; the bulk demo loader leaves it 0. The database's default
    # only (no ORM default): a row written by code made before the column leaves it out.
    open_hits: Mapped[int] = mapped_column(Integer, server_default="0")
    # A monitoring review opened from an approved customer's new screening hits points at the
    # case it reviews (migration 0015); None for every other case.
    origin_case_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("cases.id"),
                                                       nullable=True)
    # The explained risk score (core/cases/risk.py, migration 0017): points (0 until scored),
    # low|medium|high and {"inputs": {...}, "factors": [[factor, points, text], ...]} (None: not
    # scored yet). The database's default only, as open_hits.
    risk_points: Mapped[int] = mapped_column(Integer, server_default="0")
    risk_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    risk_factors: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    # Retention (core/records/retention.py, migration 0021): erasable from retention_until; a
    # pending erasure request restricts the case to admins (core/cases/retention_state.py).
    relationship_ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    retention_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    erasure_requested_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    entity: Mapped[Entity] = relationship(lazy="joined")
    documents: Mapped[list["Document"]] = relationship(
        back_populates="case", order_by="Document.id", cascade="all, delete-orphan")
    ubos: Mapped[list["Ubo"]] = relationship(
        back_populates="case", order_by="Ubo.id", cascade="all, delete-orphan")
    processes: Mapped[list["Process"]] = relationship(
        back_populates="case", order_by="Process.id", cascade="all, delete-orphan")

    # The service layer sets the version (once per command); SQLAlchemy adds
    # "WHERE version = <old>" to every UPDATE, a second guard behind the row lock.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    __table_args__ = (
        # id ends the two paging indexes (migration 0003): ORDER BY created_at, id with a deep
        # OFFSET is then read from the index alone, without visiting a row per skipped case
        Index("ix_cases_status_created", "case_status", "created_at", "id"),
        Index("ix_cases_workflow_status_created", "workflow", "case_status", "created_at"),
        Index("ix_cases_assignee_status", "assignee", "case_status"),
        Index("ix_cases_created", "created_at", "id"),
        Index("ix_cases_entity", "entity_id"),
        Index("ix_cases_updated", "updated_at"),
        # overdue filters and counts, the due-time sort (migration 0007)
        Index("ix_cases_due", "due_at"),
        # Next case (core/worklist/next_case.py): one assignee's (or nobody's) cases of a
        # status, most urgent first, read in index order and stopped at the first match
        Index("ix_cases_next", "assignee", "case_status", "due_at", "created_at", "id"),
        # the case list at 1M cases (migration 0011): entity views newest first and by name,
        # the name and status sorts read in index order
        Index("ix_cases_entity_view", "entity_country", "entity_kind", "created_at", "id"),
        Index("ix_cases_entity_view_name", "entity_country", "entity_kind", "entity_name", "id"),
        Index("ix_cases_entity_name", "entity_name", "id"),
        Index("ix_cases_status_id", "case_status", "id"),
        # "open hits: yes" (migration 0014): the few cases with open hits, newest first
        Index("ix_cases_open_hits", "open_hits", "created_at", "id"),
        # the reviews opened from a case (migration 0015)
        Index("ix_cases_origin", "origin_case_id"),
        Index("ix_cases_risk_level", "risk_level", "created_at", "id"),  # filter, newest first
        Index("ix_cases_risk_points", "risk_points", "id"),  # the Risk sort
        Index("ix_cases_retention_until", "retention_until"),  # what falls due (migration 0021)
        Index("ix_cases_erasure_requested", "erasure_requested_at"),  # restricted cases
    )


class SlaBreach(Base):
    """A case that left a status after its due time (written with the status change,
    core/cases/sla_clock.py): the Overview's breaches over time and per reviewer. Cases still
    overdue are read from `cases` itself."""
    __tablename__ = "sla_breaches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    workflow: Mapped[str] = mapped_column(String(64))
    case_status: Mapped[str] = mapped_column(String(32))  # the status it overstayed
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)  # then
    due_at: Mapped[datetime] = mapped_column(DateTime)
    left_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_sla_breaches_due", "due_at"),)


class FileBlob(Base):
    """Document bytes, content-addressed, in the database so every app process sees them."""
    __tablename__ = "file_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Document(Base):
    """A document block. `block_status` is None while awaiting review."""
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    ubo_id: Mapped[int | None] = mapped_column(ForeignKey("ubos.id"), nullable=True)
    document_type: Mapped[str] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    block_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reupload_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    case: Mapped[Case] = relationship(back_populates="documents")
    files: Mapped[list["DocumentFile"]] = relationship(
        back_populates="document", order_by="DocumentFile.version", cascade="all, delete-orphan")
    __table_args__ = (Index("ix_documents_case", "case_id"),)


class DocumentFile(Base):
    """One version of a document's file; the highest version is the current one."""
    __tablename__ = "document_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("file_blobs.sha256"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64), default="applicant")

    document: Mapped[Document] = relationship(back_populates="files")
    blob: Mapped[FileBlob] = relationship(lazy="select")
    __table_args__ = (Index("ix_document_files_document", "document_id", "version", unique=True),)


class Ubo(Base):
    """An ultimate beneficial owner and their KYC block (the child workflow)."""
    __tablename__ = "ubos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    full_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254), default="")
    date_of_birth: Mapped[str] = mapped_column(String(10), default="")
    nationality: Mapped[str] = mapped_column(String(2), default="")
    ownership_percent: Mapped[float | None] = mapped_column(nullable=True)
    kyc_state: Mapped[str] = mapped_column(String(16), default="not_sent")  # not_sent|sent|completed
    kyc_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    block_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reupload_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    case: Mapped[Case] = relationship(back_populates="ubos")
    __table_args__ = (Index("ix_ubos_case", "case_id"),)


class Process(Base):
    """A background step of the case (registry lookup, sanctions screening...)."""
    __tablename__ = "processes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|completed|failed
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="processes")
    __table_args__ = (Index("ix_processes_case", "case_id"),)


class Decision(Base):
    """Each case action taken (approve, reject, ask for all re-uploads), with its reasoning."""
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_decisions_at", "at"), Index("ix_decisions_case", "case_id"))


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_notes_case", "case_id"),)


class View(Base):
    """A sidebar view: workflows + predicates on entity properties, compiled to SQL."""
    __tablename__ = "views"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    workflows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    predicates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    statuses: Mapped[list[Any]] = mapped_column(JSON, default=list)


class OutboxMessage(Base):
    """A notification to deliver, written in the same transaction as the decision."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | sms | crm
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


# --- notifications (core/notifications/) ---------------------------------------------------

class WebhookEndpoint(Base):
    """A URL that receives signed webhooks. `secrets` (whsec_...) are used for signing only;
    no function returns them after `create_endpoint`/`rotate_secret`."""
    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    workflow: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: every workflow
    event_types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # []: every event type
    secrets: Mapped[list[Any]] = mapped_column(JSON, default=list)  # newest first
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class Delivery(Base):
    """One notification to one target (a webhook endpoint, the SMTP server, the SMS gateway,
    the CRM): the unit the dispatcher claims, leases, retries and finally settles."""
    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[str] = mapped_column(String(64))  # the webhook-id, stable across retries
    case_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(32))  # endpoint:ID | email | sms | crm
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id"),
                                                    nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        UniqueConstraint("outbox_id", "target", name="uq_deliveries_outbox_target"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_endpoint", "endpoint_id", "state", "id"),
        Index("ix_deliveries_case", "case_id"),
        Index("ix_deliveries_state_id", "state", "id"),  # the Deliveries page: newest first
        Index("ix_deliveries_channel_state_id", "channel", "state", "id"),
    )


class DeliveryAttempt(Base):
    """Every try of a delivery: what came back, how long it took, when the next one is."""
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")  # at most 1 KB, redacted
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered|retry|failed|skipped
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "id"),)


class StoredSetting(Base):
    """Settings an admin edits in the app (SMTP, SMS, CRM, templates); they override the
    environment. Secret values are write-only: listed as set/unset, never shown."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    is_secret: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")


class ReuploadToken(Base):
    """A re-upload link's token: scoped to a case and blocks, expiring, used at most once."""
    __tablename__ = "reupload_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    blocks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_reupload_tokens_case", "case_id"),
                      Index("ix_reupload_tokens_message", "message_id"))


class ApiKey(Base):
    """A key for the HTTP API: acts for one user, narrowed by scopes; only its hash is kept."""
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    acting_user: Mapped[str] = mapped_column(ForeignKey("users.username"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IdempotencyRecord(Base):
    """An API request made with an `Idempotency-Key`: its body's hash and, once answered, the
    answer, replayed to a retry with the same key and body for 24 hours."""
    __tablename__ = "idempotency_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_progress | done
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key",
                                       name="uq_idempotency_key"),
                      Index("ix_idempotency_expires", "expires_at"))


class HookSource(Base):
    """A vendor that calls back (`POST /hooks/{name}`): its Standard Webhooks secrets, the
    mapping from its payloads to case events, and the user the events are reported as."""
    __tablename__ = "hook_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secrets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acting_user: Mapped[str] = mapped_column(ForeignKey("users.username"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class HookMessage(Base):
    """A vendor callback received: its webhook-id (a replay is recognised and changes
    nothing) and what came of it."""
    __tablename__ = "hook_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("hook_sources.id"))
    message_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # applied | ignored | refused
    detail: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("source_id", "message_id", name="uq_hook_message"),)


class CapturedEmail(Base):
    """An email the demo mailbox kept instead of sending (no SMTP server configured and
    DOCKET_DEMO_MAILBOX on): what the applicant would have received, link included."""
    __tablename__ = "captured_emails"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # one per notification
    case_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(1000))
    text_body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text, default="")  # the re-upload link, if any
    captured_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_captured_emails_at", "captured_at"),)
from core.store import case_list_indexes  # noqa: E402,F401  (indexes of one list question each)
