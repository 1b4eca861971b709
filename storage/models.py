"""The desk's tables: cases, the messages in and out of them, drafts, outbox, audit trail, checkpoints.

Plain SQLModel tables with no behaviour; the rules that fill them live in ``handlers/`` and the
queries in ``storage/repo.py``. Every timestamp is stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, UserDefinedType
from sqlmodel import Field, SQLModel

from handlers.status import Status
from storage.crypto import EncryptedRaw


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the column on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Case(SQLModel, table=True):
    """One request from one requester, with its deadline and status."""

    # A requester's other cases, newest first, read from an index (``repo.requester_history``).
    __table_args__ = (
        Index("ix_case_requester_received_at", "requester", "received_at"),
        Index("ix_case_requester_phone_received_at", "requester_phone", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True, max_length=32)  # PD-2026-000123
    kind: str = Field(
        default="privacy", max_length=32
    )  # privacy | provider_correction | rate_question
    status: str = Field(default=Status.NEW, index=True, max_length=32)
    intents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="ja", max_length=8)
    requester: str = Field(index=True, max_length=320)  # the address, lower-cased domain
    requester_name: str = Field(default="", max_length=320)
    # The first phone number of the first mail's own text (not its quotes), digits only, as
    # ``handlers.requesters.phone_key`` writes it: with the name, how a requester's other cases
    # are found when they write from another address (``repo.requester_history``). "" if none.
    requester_phone: str = Field(default="", max_length=32)
    jurisdiction: str = Field(default="appi", max_length=16)
    received_at: datetime = Field(sa_type=UTCDateTime)
    ack_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer_due: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    needs_triage: bool = False
    # While nobody has decided what the case asks for (``needs_triage``), the end of the
    # business day by which a person must (PD_TRIAGE_BUSINESS_DAYS); None once decided.
    triage_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    assignee: str | None = Field(default=None, max_length=64)
    # Identity verified (before a rights request is carried out): when, by whom, and how
    # ("code" for a one-time code the requester mailed back; staff's words otherwise).
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_by: str | None = Field(default=None, max_length=64)
    verified_how: str | None = Field(default=None, max_length=200)
    # The one extension of the answer deadline (where the law offers one): when, by whom, why.
    extended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extended_by: str | None = Field(default=None, max_length=64)
    extension_reason: str | None = Field(default=None, max_length=500)
    # The case's parent message in the Slack channel: posted (ts), or not yet; a post whose
    # answer was lost (a 5xx, a timeout) is "uncertain" and looked for before posting again.
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    slack_state: str = Field(default="pending", max_length=16)  # pending | uncertain | posted
    slack_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When its parent message was posted (kept, unlike slack_synced_at, which every update
    # moves): the posts of the last minute are counted from here, across restarts and replicas.
    slack_posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Raw mail and texts deleted after the retention period (bot.retention.purge).
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A legal hold (a lawsuit, a regulator's inquiry): purge skips the case until it is released.
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    held_by: str | None = Field(default=None, max_length=64)
    hold_reason: str | None = Field(default=None, max_length=500)
    # A duplicate merged into another case (``CaseDesk.merge``): that case; this one is closed
    # with the flag ``merged_into`` and is no request of its own (the report skips it).
    merged_into_id: int | None = Field(default=None, foreign_key="case.id", index=True)


class CaseAddress(SQLModel, table=True):
    """An address whose mail may join a case: the requester's, or one staff added."""

    __table_args__ = (UniqueConstraint("case_id", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    address: str = Field(index=True, max_length=320)
    added_by: str = Field(default="intake", max_length=64)


class MailMessage(SQLModel, table=True):
    """A message in or out, raw bytes kept; ``disposition`` says what intake did with it.

    A Message-ID is a hint, never proof that two mails are one (DESIGN rule 7): inbound and
    outbound IDs are apart (``direction``), several inbound mails may carry the same ID, and the
    same mail is the same bytes (one row per direction and content hash). Our own outbound IDs
    are unique in ``OutboxItem``.
    """

    __tablename__ = "message"
    __table_args__ = (Index("uq_message_direction_sha256", "direction", "sha256", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    direction: str = Field(default="in", max_length=8)  # in | out
    message_id: str = Field(index=True, max_length=998)
    sha256: str = Field(index=True, max_length=64)
    subject: str = Field(default="")
    sender: str = Field(default="", max_length=320)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the Date header
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="", max_length=8)
    intents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    classification: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    disposition: str = Field(default="case", max_length=32)
    defects: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size: int = 0
    raw: bytes | None = Field(default=None, sa_column=Column(EncryptedRaw, nullable=True))


class Draft(SQLModel, table=True):
    """A reply prepared for a case; sent only after an approval recorded here."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    template: str = Field(max_length=64)
    language: str = Field(default="ja", max_length=8)
    subject: str = ""
    body: str = ""
    # The values the template was rendered with: the HTML alternative is rendered from them at
    # approval, and only while the text is the template's own (staff edits send text only).
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    revision: int = 1
    status: str = Field(default="draft", max_length=16)  # draft | approved | discarded | sent
    edited_by: str | None = Field(default=None, max_length=64)
    approved_by: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_revision: int | None = None  # the revision that was approved (and is sent)
    slack_ts: str | None = Field(default=None, max_length=32)  # its message in the case thread
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DraftFile(SQLModel, table=True):
    """A file a draft sends as an attachment: kept (encrypted like raw mail when PD_RAW_KEYS is
    set) with its name, type, size and SHA-256, from the draft's ``revision`` on (``attach``
    makes a new revision, so an approver of an older one never sends files they did not see)."""

    __table_args__ = (UniqueConstraint("draft_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    revision: int = 1  # the first revision of the draft that carries it
    name: str = Field(max_length=255)  # as the requester sees it (the template's attachments)
    mime_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = 0
    sha256: str = Field(max_length=64)
    added_by: str = Field(max_length=64)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    raw: bytes = Field(sa_column=Column(EncryptedRaw, nullable=False))


class LabelledExample(SQLModel, table=True):
    """A message with the intents it really carries, for the classifier: staff corrected what a
    case's first message asks for (reclassified it; ``source`` "staff", linked to the message
    and case), or an operator imported a labelled corpus (``privacy-desk examples import``;
    ``source`` "import", the mail kept here, linked to no message and no case, so it opens
    nothing and is listed nowhere). ``privacy-desk train`` learns from every one; ``purge``
    deletes imported ones after the retention period."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    intents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="", max_length=8)
    labelled_by: str = Field(max_length=64)
    labelled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source: str = Field(default="staff", max_length=16)  # staff | import
    sha256: str | None = Field(default=None, index=True, max_length=64)  # of an imported mail
    raw: bytes | None = Field(default=None, sa_column=Column(EncryptedRaw, nullable=True))


class ClassifierModel(SQLModel, table=True):
    """A model ``privacy-desk train`` fitted: its weights as NPZ bytes (arrays only, never
    pickle), its scores on the shipped evaluation data, and whether it is the one in use
    (``status``: active, retired — replaced by a newer one — or rejected: it scored worse)."""

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(unique=True, max_length=64)  # YYYYMMDD-HHMMSS-<sha8>
    status: str = Field(default="rejected", index=True, max_length=16)
    trained_by: str = Field(max_length=64)
    trained_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    examples: int = 0  # training examples: shipped and from the database
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ThreadPost(SQLModel, table=True):
    """An audit event told in its case's Slack thread (a follow-up mail, a send, a bounce...):
    recorded when posted, so it is posted once; ``uncertain`` when Slack's answer was lost."""

    id: int | None = Field(default=None, primary_key=True)
    audit_id: int = Field(foreign_key="auditevent.id", unique=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    # posted | uncertain | failed | deleted (its case was purged)
    state: str = Field(default="posted", max_length=16)
    ts: str | None = Field(default=None, max_length=32)
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxItem(SQLModel, table=True):
    """Approved mail waiting to be sent, with a stable Message-ID."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    draft_id: int | None = Field(default=None, foreign_key="draft.id", unique=True)
    template: str = Field(default="", max_length=64)
    message_id: str = Field(unique=True, max_length=998)
    sender: str = Field(default="", max_length=320)
    recipient: str = Field(index=True, max_length=320)
    automatic: bool = False  # sent without a human approval (the acknowledgement, a code)
    raw: bytes = Field(sa_column=Column(EncryptedRaw, nullable=False))
    # queued | sent | failed (a permanent refusal: staff must act) | bounced (a DSN came back)
    status: str = Field(default="queued", index=True, max_length=16)
    attempts: int = 0
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None


class Verification(SQLModel, table=True):
    """A one-time code mailed to a requester to prove they hold the address they wrote from.

    This table keeps only a salted hash of the code; it expires, is used once, and allows a few
    tries. The code itself is only in the mail while it waits to be sent: once sent, the draft
    and our copies of the mail say ●●●●●● in its place.
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    code_hash: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tries: int = 0


class AuditEvent(SQLModel, table=True):
    """Append-only record of what happened to a case: who, when, what."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MailboxCheckpoint(SQLModel, table=True):
    """How far the watcher has read a mailbox folder."""

    mailbox: str = Field(primary_key=True, max_length=512)
    uidvalidity: int | None = None
    last_uid: int = 0
    # A batch up to this UID was being taken in and has not been checkpointed: if the watcher
    # finds it set, the last pass died there, and those messages are taken one at a time.
    in_flight_upto: int | None = None
    # The message being taken in alone, and how many times that has been tried (a crash counts).
    attempt_uid: int | None = None
    attempts: int = 0
    # When the desk first read this mailbox: mail the server received more than
    # PD_BACKLOG_DAYS before it is historic (no acknowledgement, no post per case, no reminders).
    first_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SentReminder(SQLModel, table=True):
    """A reminder recorded before it is posted, so none is sent twice; ``pending`` until Slack
    took it (retried), ``uncertain`` when Slack's answer was lost (looked for before posting
    again), ``superseded`` by a later one or ``dropped`` with its case finished."""

    __table_args__ = (UniqueConstraint("case_id", "threshold"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    threshold: str = Field(max_length=32)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # pending | uncertain | posted | superseded | dropped
    state: str = Field(default="pending", index=True, max_length=16)
    text: str = ""  # what is posted (case refs and mentions, never mail text)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ts: str | None = Field(default=None, max_length=32)


class CasePause(SQLModel, table=True):
    """A time the desk waited on the requester (identity documents, clarification): the SLA clock
    stops from ``started_at`` until ``ended_at`` (open while None)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=200)
    # The answer deadline that was running when the clock stopped: a case that was late then
    # stays late while paused (``storage.repo.overdue``). None: no deadline was running.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseCounter(SQLModel, table=True):
    """The last case number used in a year; incremented under a row lock."""

    year: int = Field(primary_key=True)
    last: int = 0


class Digest(SQLModel, table=True):
    """The daily digest of one Tokyo day, recorded before it is posted: one per day."""

    day: date = Field(primary_key=True)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default="pending", max_length=16)  # as SentReminder's
    text: str = ""  # case references only
    last_case_id: int = 0  # the newest case it counted: the next digest's "new" start after it
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ts: str | None = Field(default=None, max_length=32)


class TSVector(UserDefinedType[str]):
    """PostgreSQL's ``tsvector``, written only through ``to_tsvector`` (``storage.search``)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TSVECTOR"


class SearchChunk(SQLModel, table=True):
    """A piece of text the search index holds (``storage.search``): a field of an inbound message
    (subject, body, quoted history), keyed by the message so it follows the message from case
    to case, or a case's requester name (keyed by the case). On SQLite the bigram tokens live in
    the FTS5 table ``searchchunk_fts`` (rowid = ``id``) and ``text`` keeps the normalised text
    they were made from; on PostgreSQL they are ``tsv`` (GIN-indexed) and ``text`` is empty."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    field: str = Field(max_length=16)  # body | quoted | subject | name
    text: str = ""
    tsv: str | None = Field(
        default=None, sa_column=Column(Text().with_variant(TSVector(), "postgresql"), nullable=True)
    )
