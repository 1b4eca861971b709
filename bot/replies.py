"""Replies: drafts rendered from templates, approved by staff, queued in the outbox, sent once.

The rules are in ``handlers.replies`` (which template, who may approve, the daily cap); this
module does the I/O around them: it renders, stores, composes, queues and sends, and writes the
audit trail. Every approval is one conditional UPDATE of the draft (``repo.claim_draft``), so a
double click, a retried request or two approvers at once queue one mail. A draft may carry files
(``draft --attach``, ``attach``): kept with it, held to ``handlers.answer_files``' rules when added
and again at approval, sent as its mail's attachments, and recorded by name and SHA-256.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import threads
from bot.health import OUTBOX_FAILURES
from bot.words import Words, words
from handlers import answer_files as files_rules
from handlers import sla
from handlers.clock import TOKYO, Clock, now
from handlers.intake import DOUBTFUL_SENDER, UNAUTHENTICATED
from handlers.replies import (
    ASKS_REQUESTER,
    CARRIES_OUT,
    VERIFICATION_PAUSE,
    Verdict,
    first_reply,
    may_approve,
    sent_without_approval,
    status_after_sending,
    within_daily_cap,
)
from handlers.status import WAITING, Status, can_move
from mail.errors import MailError, PermanentError, TransientError
from mail.outgoing import (
    Attachment,
    InvalidAddress,
    as_bytes,
    compose,
    make_message_id,
    redacted,
)
from mail.smtp import SendResult, SmtpConfig, retry_delay, send
from storage import repo
from storage.db import writer
from storage.models import Case, Draft, DraftFile, OutboxItem
from templates import (
    FILLED_BY_DESK,
    OPTIONAL,
    REQUIRED,
    Company,
    InvalidValue,
    MissingValue,
    Rendered,
    TemplateError,
    Templates,
    UnknownTemplate,
    stale_promises,
)

if TYPE_CHECKING:
    from bot.settings import ReplySection

log = logging.getLogger("privacy_desk.replies")

ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024  # PD_ATTACHMENT_MAX_BYTES's default
FILES_VALUE = "attachments"  # the template value the desk fills with a draft's file names


CODE_DIGITS = 6
CODE_TRIES = 5  # wrong codes a requester may send before the code is void
# A candidate is exactly six digits, after NFKC folding, bounded by non-digits (of any script).
CODE_PATTERN = re.compile(r"(?<!\d)[0-9]{6}(?!\d)")
REDACTED_CODE = "●" * CODE_DIGITS  # what the stored draft says in place of the code


def code_candidates(text: str) -> list[str]:
    """The distinct code candidates of a requester's newest text, in order."""
    folded = unicodedata.normalize("NFKC", text)
    return list(dict.fromkeys(CODE_PATTERN.findall(folded)))


# The drafts whose passed dates approval rewrites from the case (``Replies._current_dates``).
RENEWED_DATES = frozenset({"ack", "extension_notice"})

# The values of mail sent without a person's approval: the sender's own words are left out.
UNQUOTED: Mapping[str, str] = {"requester_name": "", "their_subject": ""}


class Reason:
    """Why staff cannot do something: a key of the ``[refusal]`` staff texts with its values,
    said in the staff language in Slack (``text``) and in English on the command line and in the
    audit trail (``str``). A value may be a ``Reason`` itself (said in the same language); a
    ``status`` value is said as the staff texts name that status, ``intents`` (a list) as they
    name intents, ``law`` and ``laws`` (a list) as they name laws."""

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values

    def text(self, w: Words) -> str:
        return self._told(w, lambda nested: nested.text(w))

    def _told(self, w: Words, nested: Callable[[Reason], str]) -> str:
        said = {
            name: nested(value) if isinstance(value, Reason) else value
            for name, value in self.values.items()
        }
        if "status" in said:
            said["status"] = status_text(str(said["status"]), w=w)
        if "intents" in said and isinstance(said["intents"], list | tuple):
            said["intents"] = _listed((_named(w, "intent", str(i)) for i in said["intents"]), w)
        if "law" in said:
            said["law"] = _named(w, "modal.law", str(said["law"]))
        if "laws" in said and isinstance(said["laws"], list | tuple):
            said["laws"] = _listed((_named(w, "modal.law", str(x)) for x in said["laws"]), w)
        return w(f"refusal.{self.key}", **said)

    def __str__(self) -> str:
        return self._told(words("en"), str)  # a nested Detailed keeps its own English

    def __repr__(self) -> str:
        return f"Reason({self.key!r}, {self.values!r})"


class Detailed(Reason):
    """A reason whose English (the command line, the audit trail) is the full text of the error
    it stands for — the template value and its bad value, the policy that refused — while staff
    in Slack read its key's text in their language, naming the same things."""

    def __init__(self, key: str, english: str, **values: object) -> None:
        super().__init__(key, **values)
        self.english = english

    def __str__(self) -> str:
        return self.english


def _named(w: Words, table: str, name: str) -> str:
    """``name`` as the staff texts of ``table`` call it (an intent, a law); else as it is."""
    for key in (f"{table}.{name}", f"blocks.{table}.{name}"):
        if key in w:
            return w(key)
    return name


def coded(names: Iterable[str]) -> str:
    """Names staff type (values, intents) as code: ```a`, `b```."""
    return ", ".join(f"`{n}`" for n in names)


def _listed(items: Iterable[str], w: Words) -> str:
    return w("blocks.list_separator").join(items)


def template_reason(exc: TemplateError) -> Detailed:
    """Why a template did not render, for staff: the values it refused (by name), or that the
    template itself is broken or unknown; in English the error's own full text."""
    if isinstance(exc, UnknownTemplate):
        return Detailed("template_unknown", str(exc), template=exc.template or "?")
    named = [p.value for p in exc.problems if isinstance(p, MissingValue | InvalidValue)]
    if named and all(named):
        values = coded(v for v in named if v)  # names staff type (--set NAME=VALUE)
        return Detailed("template_values", str(exc), template=exc.template or "?", values=values)
    return Detailed("template_broken", str(exc), template=exc.template or "?")


def file_reason(problem: files_rules.Problem) -> Detailed:
    """Why files cannot go (``handlers.answer_files``), for staff: its key and values (a problem
    inside it said the same way), in English its own text."""
    values = {
        name: file_reason(value) if isinstance(value, files_rules.Problem) else value
        for name, value in problem.values.items()
    }
    return Detailed(problem.key, str(problem), **values)


def sla_reason(exc: sla.SlaError) -> Reason | str:
    """An SLA refusal for staff: keyed when the clock gave a key (English as it said)."""
    return Detailed(exc.key, str(exc), **exc.values) if exc.key else str(exc)


def keyed(reason: Reason) -> dict[str, object]:
    """An audit event's ``reason`` (English, as the trail reads) with its key and values
    (``said``), so that a thread line can say it in the staff language (``told_reason``). Its
    values are plain (texts, numbers, lists of texts)."""
    return {"reason": str(reason), "said": {"key": reason.key, "values": reason.values}}


def told_reason(detail: Mapping[str, Any]) -> Reason | None:
    """The ``Reason`` an audit event's detail recorded with ``keyed``, or None."""
    said = detail.get("said")
    if not isinstance(said, dict) or not isinstance(said.get("key"), str):
        return None
    values = said.get("values")
    return Reason(said["key"], **(values if isinstance(values, dict) else {}))


def status_text(status: str, *, w: Words) -> str:
    """A case's or a draft's status as staff read it (``home.status``; unknown ones as they are)."""
    key = f"home.status.{status}"
    return w(key) if key in w else status


def say(reason: Reason | str, *, w: Words) -> str:
    """A reason in ``w``'s language when it has a key, else as it is (English)."""
    return reason.text(w) if isinstance(reason, Reason) else reason


def verdict_reason(verdict: Verdict) -> Reason | str:
    """The reason of a refused ``handlers.replies.Verdict``, keyed when the rule gave a key."""
    return Reason(verdict.key, **verdict.values) if verdict.key else verdict.reason


class ReplyError(Exception):
    """A reply action that cannot be done, with a reason staff can read: ``str(error)`` in English
    (the command line), ``said(w)`` in the staff language (Slack) when the reason has a key; the
    rare reasons without one are said in English everywhere."""

    def __init__(self, reason: str | Reason) -> None:
        super().__init__(str(reason))
        self.reason = reason

    def said(self, w: Words) -> str:
        return say(self.reason, w=w)


class SettingsError(ReplyError):
    """The reply settings are missing or malformed (every problem listed)."""


class DraftChanged(ReplyError):
    """The draft is no longer the one staff saw: approved, discarded or a newer revision."""


class DraftRenewed(ReplyError):
    """The draft promised a date that has passed, so it was not approved: it was written anew
    with the case's current dates as a new revision, which the approver must read first."""


@dataclass(frozen=True)
class ReplySettings:
    """What the desk signs with and who may approve: of the settings (``of``)."""

    from_address: str
    from_name: str
    company: Company
    templates: Templates
    approvers: tuple[str, ...] = ()
    four_eyes: bool = False
    auto_ack: bool = False
    daily_cap: int = 3  # automatic mails (acknowledgements, codes) per recipient per day
    desk_daily_cap: int = 200  # automatic mails of the whole desk per day
    authserv_id: str | None = None  # our MTA's authserv-id (PD_AUTHSERV_ID), when configured
    code_lifetime: timedelta = timedelta(days=7)
    triage_days: int = 1  # business days for a person to decide what a new case asks for
    # SLA policies, calendar and new cases' jurisdiction (PD_SLA_POLICIES, PD_JURISDICTION)
    sla_rules: sla.Rules = field(default_factory=sla.default_rules)
    configured: bool = True  # False: a placeholder company, good for drafts but not for sending
    attachment_max_bytes: int = ATTACHMENT_MAX_BYTES  # a file, and an answer's files together

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    @classmethod
    def of(
        cls,
        section: ReplySection,
        *,
        attachment_max_bytes: int = ATTACHMENT_MAX_BYTES,
        sla_rules: sla.Rules | None = None,
    ) -> ReplySettings:
        """The reply settings of the checked settings (``bot.settings``): the size limit of
        files is the intake section's ``PD_ATTACHMENT_MAX_BYTES``, the SLA rules those of the
        ``sla`` section (the packaged ones when not given)."""
        placeholder = Company.placeholder()
        address = section.from_address
        company = (
            Company(
                name_ja=section.company_name or placeholder.name_ja,
                name_en=section.company_name_en or section.company_name or placeholder.name_en,
                desk_ja=section.desk_name or placeholder.desk_ja,
                desk_en=section.desk_name_en or placeholder.desk_en,
                email=address,
                phone=section.company_phone,
                postal_address=section.company_address,
                web=section.company_url,
            )
            if address
            else placeholder
        )
        return cls(
            from_address=address or placeholder.email,
            from_name=section.from_name or company.desk_ja,
            company=company,
            templates=Templates(company, section.templates_dir),
            approvers=section.approvers,
            four_eyes=section.four_eyes,
            auto_ack=section.auto_ack,
            daily_cap=section.daily_cap,
            desk_daily_cap=section.desk_daily_cap,
            authserv_id=section.authserv_id or None,
            triage_days=section.triage_business_days,
            sla_rules=sla_rules or sla.default_rules(),
            configured=bool(address),
            attachment_max_bytes=attachment_max_bytes,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReplySettings:
        """Of settings given by name (``{"PD_APPROVERS": "sato"}``), or of the environment and
        ``.env``; ``SettingsError`` lists what is wrong."""
        from bot import settings

        try:
            read = settings.read(env)
            return cls.of(
                read.replies,
                attachment_max_bytes=read.intake.attachment_max_bytes,
                sla_rules=read.sla.rules,
            )
        except settings.SettingsError as exc:
            raise SettingsError(str(exc)) from None


@dataclass(frozen=True)
class NewFile:
    """A file staff give a draft: the name the requester will see, and its bytes."""

    name: str
    data: bytes


def file_facts(files: Iterable[DraftFile]) -> list[dict[str, Any]]:
    """Name, size and SHA-256 of each file: what the audit trail records (never the bytes)."""
    return [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in files]


def takes_files(template: str) -> bool:
    """Whether a template says what is attached (takes the ``attachments`` value)."""
    return FILES_VALUE in OPTIONAL.get(template, {}) or FILES_VALUE in REQUIRED.get(template, ())


def _quoted(values: Mapping[str, Any]) -> list[str]:
    """The texts of a draft's values (staff's and the requester's words), file names aside."""
    out: list[str] = []
    for name, value in values.items():
        if name == FILES_VALUE:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        out.extend(item for item in items if isinstance(item, str))
    return out


@dataclass(frozen=True)
class Approval:
    outcome: str  # queued | already
    draft_id: int
    message_id: str  # as in the mail's header: <...@domain>
    item_id: int


@dataclass
class SendSummary:
    sent: int = 0
    written: int = 0  # to the folder of a file: outbox, which sends nothing
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFacts:
    """What a reply needs to know of its case."""

    id: int
    ref: str
    kind: str
    language: str
    requester: str
    requester_name: str

    @classmethod
    def of(cls, case: Case) -> CaseFacts:
        assert case.id is not None
        return cls(case.id, case.ref, case.kind, case.language, case.requester, case.requester_name)


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    """Template values as JSON: times become ISO text, which ``_loaded`` turns back."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime | date):
            out[name] = {"iso": value.isoformat()}
        elif isinstance(value, tuple | list):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def _loaded(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict) and set(value) == {"iso"}:
            text = value["iso"]
            out[name] = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        else:
            out[name] = value
    return out


def _day(value: date | datetime) -> str:
    """A date as staff read it: its day in Tokyo, ``YYYY-MM-DD``."""
    day = value.astimezone(TOKYO).date() if isinstance(value, datetime) else value
    return day.isoformat()


def _code_hash(case_id: int, code: str, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}:{case_id}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def _code_matches(stored: str, case_id: int, code: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(stored, _code_hash(case_id, code, salt))


def _constraint(exc: IntegrityError) -> str:
    """Which constraint failed, for staff: the database's first line, no values."""
    first = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    return first.split("DETAIL")[0].strip()[:200]


def refuse(
    session: Session, case: Case, actor: str, action: str, reason: str | Reason, **detail: Any
) -> NoReturn:
    """Record a refused action in the case's audit trail (in English), then refuse it."""
    repo.audit(session, case.id, actor, action, reason=str(reason), **detail)
    session.commit()
    raise ReplyError(reason)


def clock_intents(case: Case) -> list[str]:
    """What the SLA clock counts for a case (``sla.clocked_intents``): its intents or kind, and
    every rights request while it waits for a person to decide what it asks for."""
    return sla.clocked_intents(case.intents, case.kind, undecided=case.needs_triage)


def extension_of(case: Case, *, at: datetime | None = None) -> sla.Extension | None:
    """The case's extension (the one granted by ``at``, when given)."""
    if case.extended_at is None or (at is not None and case.extended_at > at):
        return None
    return sla.Extension(case.extension_reason or "", case.extended_at, recorded=True)


def case_deadlines(
    session: Session,
    case: Case,
    *,
    rules: sla.Rules | None = None,
    extension: sla.Extension | None = None,
) -> sla.Deadlines | None:
    """The case's deadlines now: from its receipt, intents (or kind), jurisdiction, pauses and
    extension (its own, or ``extension`` when one is being granted), under ``rules`` (the
    settings'; the packaged ones when not given); None for a case no policy covers."""
    rules = rules or sla.default_rules()
    assert case.id is not None
    wanted = clock_intents(case)
    if not wanted:
        return None
    return sla.deadlines(
        case.received_at,
        wanted,
        jurisdiction=case.jurisdiction,
        pauses=repo.pauses_of(session, case.id),
        extension=extension or extension_of(case),
        table=rules.table,
        calendar=rules.calendar,
    )


def resume_clock(
    session: Session,
    case: Case,
    at: datetime,
    *,
    actor: str,
    rules: sla.Rules | None = None,
) -> None:
    """End the case's open pause at ``at`` and move its deadline by the time waited."""
    assert case.id is not None
    pause = repo.open_pause(session, case.id)
    if pause is None:
        return
    pause.ended_at = max(at, pause.started_at)
    session.add(pause)
    session.flush()
    due = case_deadlines(session, case, rules=rules)
    status = Status.IN_PROGRESS if case.status in WAITING else case.status
    repo.touch(session, case, status=status, answer_due=due.answer_due if due else None)
    repo.audit(
        session,
        case.id,
        actor,
        "clock resumed",
        answer_due=due.answer_due.isoformat() if due and due.answer_due else None,
    )


class Replies:
    """Drafts, approvals and identity verification for the desk's cases."""

    def __init__(self, engine: Engine, settings: ReplySettings, *, clock: Clock = now) -> None:
        self._engine = writer(engine)
        self.settings = settings
        self._clock = clock

    # ---- drafts --------------------------------------------------------------------------

    def render(
        self, case: CaseFacts, template: str, values: Mapping[str, Any], *, html: bool = True
    ) -> Rendered:
        """The template for this case, in the requester's language, with the case's own facts."""
        given = {"case_ref": case.ref, "requester_name": case.requester_name, **values}
        return self.settings.templates.render(template, case.language or "ja", html=html, **given)

    def prepare(
        self,
        session: Session,
        case: CaseFacts,
        template: str,
        values: Mapping[str, Any],
        *,
        editor: str,
    ) -> int:
        """Render and store a draft for ``case`` (inside the caller's transaction); its id.

        Only the text is rendered now; the HTML alternative is rendered from the same values
        when the draft is approved.
        """
        rendered = self.render(case, template, values, html=False)
        draft_id = repo.add_draft(
            session,
            case.id,
            template=template,
            language=rendered.language,
            subject=rendered.subject,
            body=rendered.body,
            values=_stored(values),
            editor=editor,
        )
        repo.audit(session, case.id, editor, "draft prepared", draft=draft_id, template=template)
        return draft_id

    def draft(
        self,
        ref: str,
        template: str,
        values: Mapping[str, Any],
        *,
        editor: str,
        files: Sequence[NewFile] = (),
    ) -> Draft:
        """A draft by staff, carrying ``files``: the template's ``attachments`` value is their
        names, filled here and never typed by staff."""
        typed = sorted(FILLED_BY_DESK & set(values))
        if typed:
            raise ReplyError(f"{typed[0]} is filled from the draft's files: attach them instead")
        if files and not takes_files(template):
            raise ReplyError(f"{template} sends no files (it says nothing of attachments)")
        named = [replace(f, name=files_rules.clean_name(f.name)) for f in files]
        self._check_files([], named)
        if named:
            values = {**values, FILES_VALUE: [f.name for f in named]}
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._case(session, ref)
            try:
                draft_id = self.prepare(
                    session, CaseFacts.of(case), template, values, editor=editor
                )
            except TemplateError as exc:
                raise ReplyError(template_reason(exc)) from None
            if named:
                self._keep_files(session, case, self._draft(session, draft_id), named, editor)
            session.commit()
            return self._draft(session, draft_id)

    def attach(
        self,
        draft_id: int,
        files: Sequence[NewFile],
        *,
        editor: str,
        revision: int | None = None,
    ) -> Draft:
        """Add files to a draft: a new revision, so an approval of the one before is refused.

        A draft whose text is still the template's own is rendered again with the names of all
        its files; a text staff edited is kept, and must name them before it can be approved.
        With ``revision`` (the one staff saw, as the case-file page's form says), files for a
        draft changed since are refused (``DraftChanged``) rather than added to a text unseen.
        """
        if not files:
            raise ReplyError("name at least one file to attach")
        named = [replace(f, name=files_rules.clean_name(f.name)) for f in files]
        with Session(self._engine, expire_on_commit=False) as session:
            draft = self._draft(session, draft_id)
            case = session.get(Case, draft.case_id)
            assert case is not None and draft.id is not None
            if draft.status != "draft":
                raise DraftChanged(f"draft {draft_id} is {draft.status}; it can no longer change")
            if revision is not None and revision != draft.revision:
                raise DraftChanged(
                    f"draft {draft_id} was changed after the revision you saw (you saw revision "
                    f"{revision}, it is now revision {draft.revision}): read it again, then attach"
                )
            if not takes_files(draft.template):
                raise ReplyError(
                    f"{draft.template} sends no files (it says nothing of attachments)"
                )
            old = repo.draft_files(session, [draft.id])[draft.id]
            self._check_files(old, named)
            values = _loaded(draft.values)
            own = self._own(case, draft, html=False)
            draft.revision += 1
            draft.edited_by = editor
            if own is not None:
                values[FILES_VALUE] = [*(f.name for f in old), *(f.name for f in named)]
                try:
                    again = self.render(CaseFacts.of(case), draft.template, values, html=False)
                except TemplateError as exc:
                    raise ReplyError(template_reason(exc)) from None
                draft.subject, draft.body = again.subject, again.body
                draft.values = _stored(values)
            session.add(draft)
            self._keep_files(session, case, draft, named, editor)
            session.commit()
            return draft

    def _check_files(self, old: Sequence[DraftFile], new: Sequence[NewFile]) -> None:
        """Refuse (``ReplyError``) a file that may not go, or a set of files too big."""
        limit = self.settings.attachment_max_bytes
        for item in new:
            problem = files_rules.refusal(item.name, item.data, max_bytes=limit)
            if problem is not None:
                raise ReplyError(file_reason(problem))
        problem = files_rules.set_refusal(
            [*(f.name for f in old), *(f.name for f in new)],
            [*(f.size for f in old), *(len(f.data) for f in new)],
            max_bytes=limit,
        )
        if problem is not None:
            raise ReplyError(file_reason(problem))

    def _keep_files(
        self, session: Session, case: Case, draft: Draft, files: Sequence[NewFile], editor: str
    ) -> None:
        assert draft.id is not None
        now = self._clock()
        kept = [
            repo.add_draft_file(
                session,
                draft.id,
                revision=draft.revision,
                name=f.name,
                mime_type=files_rules.mime_type(f.name),
                data=f.data,
                added_by=editor,
                at=now,
            )
            for f in files
        ]
        repo.audit(
            session,
            case.id,
            editor,
            "files attached",
            draft=draft.id,
            revision=draft.revision,
            files=file_facts(kept),
        )

    def edit(self, draft_id: int, *, subject: str, body: str, editor: str) -> Draft:
        """Staff change the text: a new revision, approved separately (the HTML is dropped)."""
        subject = " ".join(subject.split())
        if not subject or not body.strip():
            raise ReplyError(Reason("needs_text"))
        with Session(self._engine, expire_on_commit=False) as session:
            draft = self._draft(session, draft_id)
            if draft.status != "draft":
                raise ReplyError(Reason("not_editable", draft=draft_id, status=draft.status))
            draft.subject, draft.body = subject, body.rstrip() + "\n"
            draft.revision += 1
            draft.edited_by = editor
            session.add(draft)
            repo.audit(
                session,
                draft.case_id,
                editor,
                "draft edited",
                draft=draft_id,
                revision=draft.revision,
            )
            session.commit()
            return draft

    def discard(self, draft_id: int, *, actor: str) -> None:
        with Session(self._engine) as session:
            draft = self._draft(session, draft_id)
            if draft.status != "draft":
                raise ReplyError(Reason("not_discardable", draft=draft_id, status=draft.status))
            draft.status = "discarded"
            session.add(draft)
            repo.audit(session, draft.case_id, actor, "draft discarded", draft=draft_id)
            session.commit()

    # ---- approval ------------------------------------------------------------------------

    def approve(
        self,
        draft_id: int,
        *,
        approver: str,
        groups: Iterable[str] = (),
        revision: int | None = None,
    ) -> Approval:
        """Approve a draft and queue its mail; approving it again changes nothing.

        Refused (``ReplyError``, and recorded) when the approver is not allowed, when four eyes
        are required and the approver last edited it, when the revision shown to the approver
        is no longer the current one, or when the case's identity is not verified and the reply
        carries a rights request out.
        """
        with Session(self._engine, expire_on_commit=False) as session:
            draft = self._draft(session, draft_id)
            case = session.get(Case, draft.case_id)
            assert case is not None and case.id is not None
            existing = repo.outbox_item_for_draft(session, draft_id)
            if existing is not None:
                assert existing.id is not None
                return Approval("already", draft_id, f"<{existing.message_id}>", existing.id)
            verdict = may_approve(
                approver,
                approvers=self.settings.approvers,
                approver_groups=groups,
                four_eyes=self.settings.four_eyes,
                last_editor=None if draft.edited_by == "intake" else draft.edited_by,
            )
            problem = None if verdict.allowed else verdict_reason(verdict)
            if problem is None:
                problem = self._cannot_send(case, draft, revision)
            if problem is None:
                problem = self._files_disagree(session, case, draft)
            if problem is not None:
                refuse(session, case, approver, "approval refused", problem, draft=draft_id)
            stale = stale_promises(draft.template, _loaded(draft.values), self._clock())
            if stale:
                self._renew(session, case, draft, stale, approver=approver)
            item = self._queue_or_say(session, case, draft, approver=approver)
            if item is None:  # another approval won the race: report the mail it queued
                session.rollback()
                return self._already(draft_id)
            session.commit()
            assert item.id is not None
            return Approval("queued", draft_id, f"<{item.message_id}>", item.id)

    def _queue_or_say(
        self, session: Session, case: Case, draft: Draft, *, approver: str
    ) -> OutboxItem | None:
        """Queue the approved mail, or tell the approver why it could not be (recorded): a
        failure to queue is never silent (issue 16)."""
        try:
            with session.begin_nested():
                return self._queue(session, case, draft, approver=approver, automatic=False)
        except IntegrityError as exc:
            problem = Reason("not_queued", draft=draft.id, constraint=_constraint(exc))
            log.error("%s: %s", case.ref, problem)
            session.rollback()
            refuse(session, case, approver, "approval failed", problem, draft=draft.id)

    def _cannot_send(self, case: Case, draft: Draft, revision: int | None) -> Reason | None:
        if draft.status != "draft":
            return Reason("draft_status", draft=draft.id, status=draft.status)
        if revision is not None and revision != draft.revision:
            return Reason("revision_changed", draft=draft.id, seen=revision, now=draft.revision)
        if not self.settings.configured:
            return Reason("no_from_address")
        if draft.template in CARRIES_OUT and case.verified_at is None:
            return Reason("not_verified", ref=case.ref)
        return None

    def _files_disagree(self, session: Session, case: Case, draft: Draft) -> Reason | str | None:
        """Why the draft's files cannot go as they are: to an unverified requester, beyond the
        size limit, of a type (or an archive holding one) never sent, or with a text that claims
        files it lacks or leaves one unnamed."""
        assert draft.id is not None
        files = repo.draft_files(session, [draft.id], revision=draft.revision)[draft.id]
        if files and case.verified_at is None:
            return Reason("files_not_verified", ref=case.ref)
        limit = self.settings.attachment_max_bytes
        problem = files_rules.set_refusal(
            [f.name for f in files], [f.size for f in files], max_bytes=limit
        ) or next(
            (
                files_rules.Problem(f"{f.name} is over the size limit", "file_too_big", name=f.name)
                for f in files
                if f.size > limit
            ),
            None,
        )
        for kept in files:  # as when they were added, the rules of today (an archive's too)
            problem = problem or files_rules.refusal(kept.name, kept.raw, max_bytes=limit)
        if problem is None and (files or takes_files(draft.template)):
            problem = files_rules.text_refusal(
                f"{draft.subject}\n{draft.body}",
                _quoted(_loaded(draft.values)),
                [f.name for f in files],
            )
        if problem is None:
            return None
        said = file_reason(problem)
        if files:
            return Reason("files_disagree", draft=draft.id, problem=said)
        return Reason("files_missing", draft=draft.id, problem=said)

    def _renew(
        self,
        session: Session,
        case: Case,
        draft: Draft,
        stale: Mapping[str, date | datetime],
        *,
        approver: str,
    ) -> NoReturn:
        """A draft that promises a date now past is never approved (DESIGN rule 2: what is
        approved is what the approver saw, and a letter must not promise the past). While its
        text is still the template's own it is rendered again from its values with the case's
        current dates, as a new revision for the approver to read; otherwise, or when the case
        has no date to promise instead, the approval is refused with the reason."""
        assert draft.id is not None
        said = ", ".join(f"{key} {_day(value)}" for key, value in stale.items())
        renewed = self._current_dates(case, draft.template, _loaded(draft.values))
        why = None
        if renewed is None:
            why = Reason("no_later_date" if draft.template in RENEWED_DATES else "no_new_date")
        elif self._own(case, draft, html=False) is None:
            why = Reason("text_edited")
        if why is not None or renewed is None:
            stale_date = Reason("stale_date", draft=draft.id, said=said, why=why)
            refuse(session, case, approver, "approval refused", stale_date, draft=draft.id)
        try:
            rendered = self.render(CaseFacts.of(case), draft.template, renewed, html=False)
        except TemplateError as exc:
            why_not = Reason("not_renewed", draft=draft.id, said=said, why=template_reason(exc))
            refuse(session, case, approver, "approval refused", why_not, draft=draft.id)
        draft.subject, draft.body = rendered.subject, rendered.body
        draft.values = _stored(renewed)
        draft.revision += 1
        session.add(draft)
        repo.audit(
            session,
            case.id,
            approver,
            "draft renewed",
            draft=draft.id,
            revision=draft.revision,
            stale=sorted(stale),
        )
        session.commit()
        log.info("%s: draft %s renewed (its dates had passed)", case.ref, draft.id)
        raise DraftRenewed(Reason("renewed", draft=draft.id, said=said, revision=draft.revision))

    def _current_dates(
        self, case: Case, template: str, values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """``values`` with the case's dates of now in place of the passed ones, or None when the
        case has none that would make the letter true. An acknowledgement whose deadline passed
        becomes the late one (it apologises; its ``answer_by`` stays only while to come); an
        extension notice takes the case's extended deadline; anything else is not rewritten."""
        now = self._clock()
        due = case.answer_due
        fresh = dict(values)
        if template not in RENEWED_DATES:
            return None
        if template == "ack" and due is not None:
            fresh["answer_due"] = due
            fresh["late"] = due <= now
            if "answer_by" in stale_promises(template, fresh, now):
                del fresh["answer_by"]
        elif template == "extension_notice" and due is not None:
            fresh["new_due"] = due
        else:
            return None
        return None if stale_promises(template, fresh, now) else fresh

    def _own(self, case: Case, draft: Draft, *, html: bool) -> Rendered | None:
        """The draft rendered again from its values when that gives its text (the template's
        own words, not a person's edit), else None."""
        try:
            rendered = self.render(
                CaseFacts.of(case), draft.template, _loaded(draft.values), html=html
            )
        except TemplateError:
            return None
        same = (rendered.subject, rendered.body) == (draft.subject, draft.body)
        return rendered if same else None

    def _already(self, draft_id: int) -> Approval:
        with Session(self._engine) as session:
            item = repo.outbox_item_for_draft(session, draft_id)
            if item is None or item.id is None:
                raise ReplyError(Reason("changed_while_approving", draft=draft_id))
            return Approval("already", draft_id, f"<{item.message_id}>", item.id)

    def _queue(
        self, session: Session, case: Case, draft: Draft, *, approver: str, automatic: bool
    ) -> OutboxItem | None:
        assert case.id is not None and draft.id is not None
        now = self._clock()
        if not repo.claim_draft(
            session, draft.id, revision=draft.revision, approver=approver, at=now
        ):
            return None
        inbound = repo.inbound_messages(session, case.id)
        parent = next((m for m in reversed(inbound) if not m.message_id.endswith(".invalid")), None)
        message_id = make_message_id(self.settings.domain)
        own = self._own(case, draft, html=True)
        html = own.html if own is not None else None  # the template's own text: its HTML too
        files = repo.draft_files(session, [draft.id], revision=draft.revision)[draft.id]
        try:
            message = compose(
                from_address=self.settings.from_address,
                from_name=self.settings.from_name,
                to_address=case.requester,
                to_name=None if automatic else (case.requester_name or None),
                subject=draft.subject,
                text=draft.body,
                html=html,
                case_ref=case.ref,
                message_id=message_id,
                in_reply_to=parent.message_id if parent else None,
                references=parent.references if parent else (),
                attachments=[Attachment(f.name, f.raw, f.mime_type) for f in files],
                date=now,
                automatic=automatic,
            )
        except (InvalidAddress, ValueError) as exc:
            english = f"{case.ref}: the reply cannot be addressed: {exc}"
            raise ReplyError(Detailed("not_addressable", english, ref=case.ref)) from None
        item = repo.queue_mail(
            session,
            case_id=case.id,
            draft_id=draft.id,
            template=draft.template,
            message_id=message_id,
            sender=self.settings.from_address,
            recipient=case.requester,
            subject=str(message["Subject"]),
            language=draft.language,
            raw=as_bytes(message),
            automatic=automatic,
            in_reply_to=parent.message_id if parent else None,
            references=[
                *(parent.references if parent else ()),
                *([parent.message_id] if parent else []),
            ],
            at=now,
        )
        repo.audit(
            session,
            case.id,
            approver,
            "draft approved",
            draft=draft.id,
            revision=draft.revision,
            template=draft.template,
            message_id=message_id,
            automatic=automatic,
            **({"files": file_facts(files)} if files else {}),
        )
        if not automatic and case.status in (Status.NEW, Status.AWAITING_APPROVAL):
            repo.touch(session, case, status=Status.IN_PROGRESS)
        if draft.template in ASKS_REQUESTER:
            # The desk now waits on the requester: the clock stops until they answer.
            asked = str(draft.values.get("kind", "identity"))
            repo.pause_case(
                session,
                case,
                at=now,
                reason=ASKS_REQUESTER[draft.template].get(asked, asked),
                actor=approver,
                status=Status.AWAITING_VERIFICATION
                if asked == "identity"
                else Status.AWAITING_REQUESTER,
            )
        return item

    def acknowledge(
        self,
        session: Session,
        case: CaseFacts,
        values: Mapping[str, Any],
        *,
        automatic: bool = True,
    ) -> int | None:
        """The first reply of a new case: a draft, approved at once when the operator turned
        automatic acknowledgements on, the sender is authenticated (``automatic``), and neither
        the requester nor the desk has had too many automatic mails today. Called by intake
        inside its transaction; the draft's id."""
        template = first_reply(case.kind)
        if template is None:
            return None
        held: str | None = None
        if sent_without_approval(template, auto_ack=self.settings.auto_ack):
            if not self.settings.configured:
                log.warning("%s: PD_AUTO_ACK is on but PD_FROM_ADDRESS is not set", case.ref)
                held = ""
            elif not automatic:
                held = "the sender is not authenticated"
            else:
                held = self._cap_reached(session, case.requester)
        else:
            held = ""
        if held is None:
            # Mail no person reads before it leaves quotes nothing the sender wrote: not their
            # subject, not their display name (the desk is no relay for a stranger's words).
            values = {
                **values,
                **{k: v for k, v in UNQUOTED.items() if k in values or k == "requester_name"},
            }
        draft_id = self.prepare(session, case, template, values, editor="intake")
        if held:
            repo.audit(session, case.id, "auto-ack", "automatic mail held", reason=held)
        elif held is None:
            stored, draft = session.get(Case, case.id), session.get(Draft, draft_id)
            assert stored is not None and draft is not None
            try:
                with session.begin_nested():
                    self._queue(session, stored, draft, approver="auto-ack", automatic=True)
            except IntegrityError as exc:  # the draft stays for staff, who are told
                why = Reason("auto_not_queued", constraint=_constraint(exc))
                repo.audit(session, case.id, "auto-ack", "automatic mail held", **keyed(why))
        return draft_id

    def _cap_reached(self, session: Session, recipient: str) -> str | None:
        """Which daily cap of automatic mail is reached, if any: the requester's or the whole
        desk's. The caps count the calendar day in Tokyo, where the desk works."""
        today = self._clock().astimezone(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today.astimezone(UTC)
        if not within_daily_cap(
            repo.automatic_mail_since(session, recipient, since), self.settings.daily_cap
        ):
            return "daily cap"
        if not within_daily_cap(
            repo.automatic_mail_since(session, None, since), self.settings.desk_daily_cap
        ):
            return "the desk's daily cap"
        return None

    # ---- identity verification -----------------------------------------------------------

    def send_code(self, ref: str, *, approver: str, groups: Iterable[str] = ()) -> Approval:
        """Mail the requester a one-time code to reply with; the SLA clock waits meanwhile.

        Asked for by staff (the approval of this mail), never more than the daily cap of
        automatic mails to one address.
        """
        verdict = may_approve(approver, approvers=self.settings.approvers, approver_groups=groups)
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._case(session, ref)
            assert case.id is not None
            if not verdict.allowed:
                refuse(session, case, approver, "approval refused", verdict.reason)
            if case.verified_at is not None:
                raise ReplyError(f"{case.ref}: the identity is already verified")
            if not self.settings.configured:
                raise ReplyError("PD_FROM_ADDRESS is not set: the desk has no address to send from")
            if DOUBTFUL_SENDER in case.flags or (
                self.settings.authserv_id and UNAUTHENTICATED in case.flags
            ):
                raise ReplyError(
                    f"{case.ref}: the requester's address is not authenticated: "
                    "verify the identity another way"
                )
            cap = self._cap_reached(session, case.requester)
            if cap == "daily cap":
                raise ReplyError(
                    f"{case.ref}: the daily cap of automatic mail to this requester is reached"
                )
            if cap is not None:
                raise ReplyError(f"{case.ref}: the desk's daily cap of automatic mail is reached")
            now = self._clock()
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            expires = now + self.settings.code_lifetime
            for old in repo.open_verifications(session, case.id, now):
                old.used_at = now  # a new code voids the older ones
                session.add(old)
            repo.add_verification(
                session,
                case.id,
                code_hash=_code_hash(case.id, code, secrets.token_hex(8)),
                at=now,
                expires_at=expires,
            )
            try:
                draft_id = self.prepare(
                    session,
                    CaseFacts.of(case),
                    "verification_code",
                    {"code": code, "expires_at": expires, "requester_name": ""},
                    editor="desk",
                )
            except TemplateError as exc:
                raise ReplyError(template_reason(exc)) from None
            draft = self._draft(session, draft_id)
            item = self._queue(session, case, draft, approver=approver, automatic=True)
            assert item is not None and item.id is not None
            # The code lives on only in the queued mail (until sent) and as its hash.
            draft.body = draft.body.replace(code, REDACTED_CODE)
            draft.values = {**draft.values, "code": REDACTED_CODE}
            session.add(draft)
            repo.pause_case(session, case, at=now, reason=VERIFICATION_PAUSE, actor=approver)
            session.commit()
            return Approval("queued", draft_id, f"<{item.message_id}>", item.id)

    def mark_verified(self, ref: str, *, actor: str, how: str, groups: Iterable[str] = ()) -> Case:
        how = " ".join(how.split())
        if not how:
            raise ReplyError(Reason("say", what=Reason("what.verify_how")))
        verdict = may_approve(actor, approvers=self.settings.approvers, approver_groups=groups)
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._case(session, ref)
            if not verdict.allowed:
                refuse(session, case, actor, "verification refused", verdict.reason)
            self._verified(session, case, actor=actor, how=how)
            session.commit()
            return case

    def _verified(self, session: Session, case: Case, *, actor: str, how: str) -> None:
        now = self._clock()
        repo.touch(session, case, verified_at=now, verified_by=actor, verified_how=how[:200])
        repo.audit(session, case.id, actor, "identity verified", how=how[:200])
        assert case.id is not None
        pause = repo.open_pause(session, case.id)
        if pause is not None and pause.reason == VERIFICATION_PAUSE:
            resume_clock(session, case, now, actor=actor, rules=self.settings.sla_rules)

    def check_code(self, session: Session, case: Case, text: str) -> bool:
        """Called by intake for a requester's message that joined ``case``: a code from the
        case's open verification in it verifies the identity. Codes are compared in constant
        time; a code is used once; after CODE_TRIES wrong ones it is void."""
        assert case.id is not None
        now = self._clock()
        open_codes = repo.open_verifications(session, case.id, now)
        if not open_codes or case.verified_at is not None:
            return False
        current = open_codes[0]
        found = code_candidates(text)
        if not found:
            return False
        if len(found) > 1:
            # One try is one code: a mail of many numbers is refused, and counts as a wrong try.
            repo.audit(
                session,
                case.id,
                "intake",
                "verification code refused",
                reason="more than one six-digit number",
                candidates=len(found),
            )
        elif _code_matches(current.code_hash, case.id, found[0]):
            current.used_at = now
            session.add(current)
            self._verified(session, case, actor="requester", how="one-time code mailed back")
            return True
        current.tries += 1
        if current.tries >= CODE_TRIES:
            current.used_at = now
            repo.audit(session, case.id, "intake", "verification code void", tries=current.tries)
        session.add(current)
        return False

    # ---- lookups -------------------------------------------------------------------------

    def _case(self, session: Session, ref: str) -> Case:
        case = repo.case_by_ref(session, ref)
        if case is None:
            raise ReplyError(Reason("no_case", ref=ref))
        return case

    def _draft(self, session: Session, draft_id: int) -> Draft:
        draft = session.get(Draft, draft_id)
        if draft is None:
            raise ReplyError(Reason("no_draft", draft=draft_id))
        return draft


class Sender:
    """Sends what the outbox holds; run ``run_once`` from a loop or ``privacy-desk send``.

    Each mail is sent in its own transaction, marked sent only after the server's 250: a crash
    in between resends it (the one unavoidable window); a crash before sending loses nothing.
    4xx answers and connection failures are retried with growing delays; 5xx marks the mail
    failed for staff.
    """

    def __init__(
        self,
        engine: Engine,
        smtp: SmtpConfig,
        *,
        clock: Clock = now,
        rand: Callable[[], float] = random.random,
        keep_copy: Callable[[bytes, datetime], None] | None = None,
    ) -> None:
        """``keep_copy(raw, when)`` puts a copy of each sent mail in the mailbox's Sent folder
        (``mail.imap.append_copy``); it runs after the mail is recorded as sent, and its
        failure is recorded for staff but never sends the mail again."""
        self._engine = writer(engine)
        self._smtp = smtp
        self._clock = clock
        self._rand = rand
        self._keep_copy = keep_copy

    async def run_once(self, *, limit: int = 100) -> SendSummary:
        summary = SendSummary()
        for _ in range(limit):
            # The session's work runs in the database threads; the mail goes out from the loop
            # while the row stays locked (the transaction spans the send, as it always has).
            session = Session(self._engine, expire_on_commit=False)
            try:
                due = await threads.db(repo.due_mail, session, self._clock(), limit=1)
                if not due:
                    break
                item = due[0]
                sent = await self._send(session, item, summary)
                await threads.db(session.commit)
            finally:
                await threads.db(session.close)
            if sent and self._keep_copy is not None:
                # What the desk keeps of it: a code mail's copy says ●●●●●● in place of the code.
                await self._copy(item, item.raw)
        return summary

    async def serve(
        self,
        stop: asyncio.Event,
        report: Callable[[str, str], None] = lambda state, detail: None,
        *,
        every: float = 5.0,
        max_backoff: float = 300.0,
    ) -> None:
        """Send what falls due every ``every`` seconds until ``stop`` (``privacy-desk serve``);
        a failing database or server is waited out with growing pauses, never given up on.
        ``report(state, detail)`` says how each pass went (``GET /healthz``)."""
        delay = every
        while not stop.is_set():
            try:
                summary = await self.run_once()
                delay = every
                if summary.deferred:
                    report("degraded", f"{summary.deferred} mails deferred (server unavailable)")
                elif self._smtp.scheme == "file":
                    report("ok", f"file: outbox: mail is written to {self._smtp.path}, never sent")
                else:
                    report("ok", "")
            except Exception as exc:  # the loop that owns I/O owns failure: wait and go on
                log.error("outbox pass failed (%s); retrying", type(exc).__name__)
                report("degraded", f"pass failed: {type(exc).__name__}")
                delay = min(delay * 2, max_backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def _stale(self, session: Session, item: OutboxItem, now: datetime) -> str | None:
        """Why an automatic mail must not leave now, if it must not: a date it promises has
        passed while it waited (an SMTP server down for days). No person approved it, so no
        person saw the date go by; approved mail was checked at its approval."""
        if not item.automatic or item.draft_id is None:
            return None
        draft = session.get(Draft, item.draft_id)
        stale = stale_promises(item.template, _loaded(draft.values), now) if draft else {}
        if not stale:
            return None
        said = ", ".join(f"{key} {_day(value)}" for key, value in stale.items())
        return (
            f"not sent: it promises {said}, a date already past when it could be sent; "
            "write the reply anew (an overdue acknowledgement apologises instead)"
        )

    def _failed(
        self, session: Session, item: OutboxItem, attempts: int, problem: str, summary: SendSummary
    ) -> None:
        """A permanent refusal: the mail is marked failed for staff and never tried again."""
        repo.set_mail_status(session, item, "failed", attempts=attempts, last_error=problem[:500])
        repo.audit(
            session, item.case_id, "outbox", "mail failed", outbox=item.id, error=problem[:500]
        )
        summary.failed += 1
        summary.errors.append(problem)
        OUTBOX_FAILURES.labels("refused").inc()
        log.error("outbox %s failed permanently", item.id)

    async def _copy(self, item: OutboxItem, raw: bytes) -> None:
        assert self._keep_copy is not None
        try:
            await threads.imap(self._keep_copy, raw, self._clock())
        except MailError as exc:
            log.warning("outbox %s: no copy kept in the Sent folder (%s)", item.id, exc)
            await threads.db(self._copy_failed, item, str(exc))

    def _copy_failed(self, item: OutboxItem, problem: str) -> None:
        with Session(self._engine) as session:
            repo.audit(
                session, item.case_id, "outbox", "sent copy failed", outbox=item.id,
                error=problem[:300],
            )  # fmt: skip
            session.commit()

    async def _send(self, session: Session, item: OutboxItem, summary: SendSummary) -> bool:
        """Try one mail; True when the server took it."""
        now = self._clock()
        attempts = item.attempts + 1
        stale = await threads.db(self._stale, session, item, now)
        if stale:
            await threads.db(self._failed, session, item, attempts, stale, summary)
            return False
        try:
            result = await send(
                self._smtp, item.raw, sender=item.sender, recipients=[item.recipient]
            )
        except TransientError as exc:
            delay = retry_delay(attempts, rand=self._rand)
            await threads.db(
                repo.set_mail_status,
                session,
                item,
                "queued",
                attempts=attempts,
                last_error=str(exc)[:500],
                next_attempt_at=now + timedelta(seconds=delay),
            )
            summary.deferred += 1
            log.warning("outbox %s deferred (%s)", item.id, type(exc).__name__)
            return False
        except PermanentError as exc:
            await threads.db(self._failed, session, item, attempts, str(exc), summary)
            return False
        if result.refused:  # the server took the message but not for this recipient
            problem = "; ".join(result.refused.values())
            await threads.db(self._failed, session, item, attempts, problem, summary)
            return False
        await threads.db(self._sent, session, item, attempts, result, now, summary)
        return True

    def _sent(
        self,
        session: Session,
        item: OutboxItem,
        attempts: int,
        result: SendResult,
        now: datetime,
        summary: SendSummary,
    ) -> None:
        """Record that the server took the mail, and move its draft and case on."""
        # A file: outbox (for trying the desk) reached nobody: never recorded as sent, though
        # the case moves on as if it had been, and its file says where the mail went.
        status = "written" if self._smtp.scheme == "file" else "sent"
        where: dict[str, Any] = (
            {"file": str(result.path.absolute())} if result.path is not None else {}
        )
        draft = session.get(Draft, item.draft_id) if item.draft_id is not None else None
        if draft is not None and draft.id is not None:
            sent_files = repo.draft_files(
                session, [draft.id], revision=draft.approved_revision or draft.revision
            )[draft.id]
            if sent_files:  # what went, by name and hash, for the record of a disclosure
                where["files"] = file_facts(sent_files)
        repo.set_mail_status(session, item, status, attempts=attempts, sent_at=now, last_error=None)
        repo.audit(
            session,
            item.case_id,
            "outbox",
            f"mail {status}",
            outbox=item.id,
            template=item.template,
            message_id=item.message_id,
            **where,
        )
        if draft is not None:
            draft.status = status
            session.add(draft)
        if item.template == "verification_code":
            # Sent: the code is kept as its hash only (``Verification``), not in our copies.
            repo.replace_raw(session, item, redacted(item.raw, CODE_PATTERN, REDACTED_CODE))
        after = status_after_sending(item.template)
        if item.case_id is not None and after is not None:
            case = session.get(Case, item.case_id)
            if case is not None and can_move(case.status, after):
                closed = {"closed_at": now} if after in (Status.CLOSED, Status.REJECTED) else {}
                repo.touch(session, case, status=after, **closed)
        if status == "written":
            summary.written += 1
        else:
            summary.sent += 1
        log.info("outbox %s %s", item.id, status)
