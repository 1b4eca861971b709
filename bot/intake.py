"""The intake runner: raw bytes in, a case opened or linked (or the message archived) out.

This is the loop that does I/O, so it owns failure (Mailman's runner): a message that cannot be
parsed or that breaks a handler is rolled back and kept as a quarantined case for a human; the
next message goes on. Each message is one transaction: stored and decided together, or not at all.

Historic mail (received long before the desk first read the mailbox, ``Read.historic``) opens its
case like any other, with its honest deadline counted from its receipt (already past, as a rule),
flagged ``historic``: no acknowledgement is drafted, the case gets no post of its own in Slack
(``slack_state`` "historic": one summary tells staff of them all) and no reminders. No
acknowledgement is drafted that would promise an answer by a date already past.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import email.utils
import hashlib
import itertools
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot.health import CASES_OPENED, MESSAGES
from bot.replies import CaseFacts, Replies, ReplySettings, keyed, resume_clock, template_reason
from handlers import model as learned
from handlers import replies as replies_rules
from handlers import sla
from handlers.classify import Classification, classify
from handlers.clock import Clock, now
from handlers.intake import (
    ASSIGN_NEW_CASE,
    MESSAGE_ID_REUSED,
    Action,
    Decision,
    decide,
    distrust,
)
from handlers.intents import AUTO_REPLY, PRIVACY
from handlers.requesters import requester_phone
from handlers.status import Status
from mail import authres
from mail.errors import ParseError
from mail.parse import Envelope, ParsedMessage, parse_message, peek_envelope
from storage import repo
from storage.db import writer
from storage.errors import UnavailableError
from storage.models import Case
from templates import TemplateError

log = logging.getLogger("privacy_desk.intake")

HISTORIC = "historic"  # the flag of a case opened from historic mail


@dataclass(frozen=True)
class IntakeResult:
    """What happened to one message, for the operator (no body, no addresses)."""

    action: str  # opened | linked | bounce | archived | duplicate | quarantined
    ref: str | None
    intents: tuple[str, ...]
    answer_due: datetime | None
    detail: str


def received_time(msg: ParsedMessage, now: datetime) -> datetime:
    """When the desk received the message: its newest Received header, else Date, else now.

    A time in the future (a sender's wrong clock) is not believed.
    """
    candidates: list[str] = []
    for name, value in msg.headers:
        if name.lower() == "received" and ";" in value:
            candidates.append(value.rsplit(";", 1)[1])
            break
    if msg.header("date"):
        candidates.append(msg.header("date") or "")
    for value in candidates:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if when.tzinfo is None:
            continue
        if when <= now + timedelta(hours=1):
            return when.astimezone(UTC)
    return now


@dataclass(frozen=True)
class Read:
    """A message parsed and classified, or why it could not be: the CPU half of intake."""

    raw: bytes
    message: ParsedMessage | None
    classification: Classification | None
    error: str | None = None
    historic: bool = False  # received long before the desk first read the mailbox
    arrived: datetime | None = None  # when the server received it (IMAP INTERNALDATE), if known


class ClassifyTimeout(Exception):
    """Classifying one message took longer than its deadline (``PD_CLASSIFY_TIMEOUT``)."""


READ_HERE_ABOVE = 8 * 1024 * 1024  # bytes of mail in one chunk that are read in this process
CLASSIFY_TIMEOUT = 10.0  # seconds one message may take to classify (PD_CLASSIFY_TIMEOUT)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block with ``ClassifyTimeout`` after ``seconds`` (a real-time timer; only
    in a process's main thread, where intake reads mail: elsewhere the block runs unbounded)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def overrun(_signum: int, _frame: object) -> None:
        raise ClassifyTimeout(f"classification took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read(raw: bytes, *, timeout: float = CLASSIFY_TIMEOUT) -> Read:
    """Parse and classify; pure CPU work that a pool of processes can share. A message whose
    classification overruns ``timeout`` seconds comes back unclassified, to be quarantined with
    its clock (DESIGN rule 5: no input stalls intake)."""
    try:
        msg = parse_message(raw)
    except ParseError as exc:
        return Read(raw, None, None, f"unreadable: {exc}")
    try:
        with _deadline(timeout):
            return Read(raw, msg, classify(msg))
    except ClassifyTimeout as exc:
        log.warning("message %s: %s", msg.sha256[:12], exc)
        return Read(raw, msg, None, str(exc))
    except Exception as exc:  # a classifier bug must not lose the message
        log.exception("classification failed for message %s", msg.sha256[:12])
        return Read(raw, msg, None, f"classification failed: {type(exc).__name__}")


def read_all(
    raws: Iterable[bytes],
    *,
    workers: int = 0,
    ahead: int = 64,
    chunk: int = 16,
    pool: ProcessPoolExecutor | None = None,
    timeout: float = CLASSIFY_TIMEOUT,
) -> Iterator[Read]:
    """``read`` each message in order: here (``workers`` = 0) or in that many other processes,
    started only when there is enough mail to pay for them, about ``ahead`` in flight in chunks
    of ``chunk`` (one message per task costs more in queueing than it saves). While they parse
    and classify, this process writes to the database: with one worker on a 2-core machine the
    two halves of intake run side by side. A long-lived caller (the mailbox watcher) passes its
    own ``pool`` so processes are not started for every batch. Each message is classified
    within ``timeout`` seconds (``read``).
    """
    it = iter(raws)
    first = list(itertools.islice(it, ahead))
    if pool is None and (workers < 1 or len(first) < ahead):
        for raw in itertools.chain(first, it):
            yield read(raw, timeout=timeout)
        return
    with contextlib.ExitStack() as stack:
        if pool is None:
            with _ctrl_c_held():
                pool = stack.enter_context(new_pool(workers))
        pending: deque[tuple[list[bytes], Future[list[Read]]]] = deque()

        def submit(group: list[bytes]) -> None:
            if not group:
                return
            if sum(map(len, group)) > READ_HERE_ABOVE:
                # Shipping a large mail to a worker copies it twice more (pickled, unpickled):
                # it is read here, where it is held anyway.
                here: Future[list[Read]] = Future()
                here.set_result([read(raw, timeout=timeout) for raw in group])
                pending.append((group, here))
                return
            with _ctrl_c_held():
                pending.append((group, pool.submit(_read_group, group, timeout)))

        rest = itertools.chain(first, it)
        for _ in range(max(ahead // chunk, 1)):
            submit(list(itertools.islice(rest, chunk)))
        while pending:
            group, future = pending.popleft()
            submit(list(itertools.islice(rest, chunk)))
            for raw, done in zip(group, future.result(), strict=True):
                yield dataclasses.replace(done, raw=raw)


def _read_group(raws: list[bytes], timeout: float = CLASSIFY_TIMEOUT) -> list[Read]:
    """``read`` in a worker: the raw bytes stay behind (the caller has them)."""
    return [dataclasses.replace(read(raw, timeout=timeout), raw=b"") for raw in raws]


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent ends


def _die_with(parent: int) -> None:
    """In a worker: have the kernel end it when the process that started it is gone (killed, out
    of memory), so no worker outlives the desk; a worker idles on its queue and would otherwise
    wait forever. The kernel watches the thread that started the worker (in ``serve`` a
    ``pd-imap`` thread, which lives as long as the pool). Where there is no prctl (not Linux),
    a killed desk may leave its idle workers behind."""
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the desk died before we asked
        os._exit(0)


def _start_worker(parent: int, model_data: bytes | None, shared: learned.Shared | None) -> None:
    _die_with(parent)
    if shared is not None:
        try:
            learned.install_shared(shared)
            return
        except (OSError, ValueError) as exc:  # no /proc, say: a copy of its own, as before
            log.warning("intake worker: the desk's model cannot be shared (%s)", exc)
    learned.install_data(model_data)


class _DeafProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that never hears SIGINT. Ctrl-C on a terminal reaches the whole process
    group; the desk stops its workers itself, and a worker stopped half-way (even while it
    starts) would only print a traceback. SIGINT is blocked while the worker is started, and
    a blocked signal stays blocked in the new program (as ``multiprocessing`` starts its own
    resource tracker); one that came meanwhile reaches this process when it is unblocked."""

    def start(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C back while work is handed to the pool, and raise it once that is done.

    The first hand-over starts the worker processes and the pool's own thread. Ctrl-C stopping
    it half-way (the signal mask of ``_DeafProcess`` is the starting thread's own: any other
    thread of the desk may take the signal) leaves a worker that was spawned but never sent
    what it needs, or a pool with no thread to stop its workers: the worker dies with a
    traceback on the operator's terminal. Ctrl-C is only ever raised in the main thread, so
    elsewhere there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # ignored (nohup, a background job), or not Python's: as it is
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda number, _: held.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        signal.raise_signal(signal.SIGINT)  # what Ctrl-C does, now the pool is whole


class _DeafSpawn(multiprocessing.context.SpawnContext):
    Process = _DeafProcess


def new_pool(workers: int) -> ProcessPoolExecutor:
    """Processes for ``read`` (spawned: nothing of this process's state is shared, so each is
    given this process's classifier model, mapped from this process's memory where it can be:
    ``handlers.model.shared``); each ends itself if this process dies without closing the pool,
    and none hears Ctrl-C (``_DeafProcess``)."""
    return ProcessPoolExecutor(
        max_workers=max(workers, 1),
        mp_context=_DeafSpawn(),
        initializer=_start_worker,
        initargs=(os.getpid(), learned.installed_data(), learned.shared()),
    )


class Intake:
    """Takes messages into the database, one transaction each."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = now,
        jurisdiction: str | None = None,
        replies: ReplySettings | None = None,
        triage_days: int | None = None,
    ) -> None:
        self._engine = writer(engine)
        # Without settings, first replies are drafted with a plainly unconfigured company.
        replies = replies or ReplySettings.from_env({})
        self._replies = Replies(engine, replies, clock=clock)
        self._clock = clock
        # The SLA policies of the settings; new cases run under PD_JURISDICTION unless told.
        self._rules = replies.sla_rules
        self._jurisdiction = jurisdiction or self._rules.jurisdiction
        self._triage_days = replies.triage_days if triage_days is None else triage_days

    def process(self, raw: bytes) -> IntakeResult:
        """Take one message in; never raises for a bad message, only when the database fails."""
        return self.process_read(read(raw))

    def process_read(self, item: Read) -> IntakeResult:
        """Take in a message already parsed and classified (perhaps by another process)."""
        return next(iter(self.process_many([item])))

    def process_many(self, items: Iterable[Read], *, batch: int = 1) -> Iterator[IntakeResult]:
        """Take messages in, ``batch`` of them per transaction, each under its own savepoint.

        A message that fails rolls back to its savepoint and is quarantined; the others in the
        batch are unaffected. Nothing of a batch is visible before its commit, and a crash loses
        only what was not committed (a re-run takes it in again: nothing is stored twice).
        """
        it = iter(items)
        while True:
            results: list[IntakeResult] = []
            try:
                with Session(self._engine, expire_on_commit=False) as session:
                    # Items are taken as they come, not gathered first: while this process
                    # writes one, the reader processes (``read_all``) are parsing the next.
                    for item in itertools.islice(it, max(batch, 1)):
                        results.append(self._one(session, item))
                    if not results:
                        return
                    session.commit()
            except OperationalError as exc:
                raise _unavailable(exc) from None
            for result in results:
                log.info("message: %s %s", result.action, result.ref or "")
                MESSAGES.labels(result.action).inc()
                if result.action == "opened":
                    for intent in result.intents or ("none",):
                        CASES_OPENED.labels(intent).inc()
            yield from results

    def _one(self, session: Session, item: Read) -> IntakeResult:
        now = self._clock()
        msg, classification = item.message, item.classification
        if msg is None or classification is None:
            why = item.error or "unreadable"
            return self._quarantine(session, item.raw, now, why, msg, item=item)
        try:
            with session.begin_nested():
                return self._take(session, msg, classification, item, now)
        except IntegrityError as exc:
            # A duplicate only when another writer stored these very bytes between our look
            # and our write; any other constraint that failed is a fault, and the mail is kept.
            if repo.is_stored(session, msg.sha256):
                return IntakeResult(
                    "duplicate", None, classification.intents, None, "already stored"
                )
            log.error("intake of message %s broke a constraint", msg.sha256[:12])
            why = f"intake failed: {type(exc).__name__}"
            return self._quarantine(session, item.raw, now, why, msg, item=item)
        except OperationalError:
            raise
        except Exception as exc:  # one bad message never stops intake: keep it for a human
            log.exception("intake failed for message %s", msg.sha256[:12])
            why = f"intake failed: {type(exc).__name__}"
            return self._quarantine(session, item.raw, now, why, msg, item=item)

    def _take(
        self,
        session: Session,
        msg: ParsedMessage,
        classification: Classification,
        item: Read,
        now: datetime,
    ) -> IntakeResult:
        received = _received(item, msg, now)
        known = repo.known_for(session, msg)
        distrusted = distrust(msg, authenticated=self._authenticated(msg))
        decision = decide(msg, classification, known, distrusted=distrusted)
        if decision.action is Action.DUPLICATE:
            return IntakeResult("duplicate", None, classification.intents, None, "already stored")
        case = self._apply(session, msg, classification, decision, received, item.historic)
        repo.store_message(
            session,
            msg,
            item.raw,
            case_id=case.id if case else None,
            disposition=decision.disposition,
            classification=classification.as_dict(),
            received_at=received,
            flags=_message_flags(decision, known.message_id_reused),
        )
        if decision.action is Action.OPEN and case is not None and not item.historic:
            # After the message is stored: the first reply threads under it. Automatic mail
            # goes only to a sender shown to be who they say (DESIGN rule 7).
            self._acknowledge(
                session,
                case,
                msg,
                classification,
                decision,
                received,
                now,
                automatic=not distrusted,
            )
        return IntakeResult(
            action=_ACTION_WORDS[decision.action],
            ref=case.ref if case else None,
            intents=classification.intents,
            answer_due=case.answer_due if case else None,
            detail="; ".join(decision.reasons),
        )

    def _apply(
        self,
        session: Session,
        msg: ParsedMessage,
        classification: Classification,
        decision: Decision,
        received: datetime,
        historic: bool = False,
    ) -> repo.CaseHandle | None:
        if decision.action is Action.ARCHIVE:
            repo.audit(session, None, "intake", "archived", disposition=decision.disposition)
            return None
        if decision.action in (Action.LINK, Action.BOUNCE):
            assert decision.case is not None
            case = session.get(Case, decision.case.id)
            assert case is not None
            if decision.action is Action.LINK:
                repo.touch(session, case, flags=sorted(set(case.flags) | set(decision.flags)))
                if case.slack_state == "historic" and not historic:
                    # The requester writes again now: the case is no longer only history. It
                    # gets its message in the channel and its reminders (the flag stays).
                    repo.touch(session, case, slack_state="pending")
                    repo.audit(session, case.id, "intake", "historic case revived")
            repo.audit(
                session,
                case.id,
                "intake",
                "message linked" if decision.action is Action.LINK else "bounce received",
                message_id=msg.message_id,
                intents=list(classification.intents),
            )
            if decision.action is Action.LINK:
                self._replies.check_code(session, case, msg.newest_text)
                self._resume_clock(session, case, received)
            else:
                self._bounced(session, case, msg)
            assert case.id is not None
            return repo.CaseHandle(case.id, case.ref, case.answer_due)
        # Action.OPEN
        intents = [i for i in classification.intents if i != AUTO_REPLY]
        kind = decision.kind or "other"
        # Nobody knows yet what it asks for: a person decides, and until then the case runs on
        # the strictest rights-request clock (DESIGN rule 6).
        undecided = classification.needs_triage or kind == "other"
        due = self._deadlines(received, intents, kind, undecided=undecided)
        opened = repo.open_case(
            session,
            kind=kind,
            intents=intents,
            language=msg.language,
            requester=msg.sender.address.lower() if msg.sender else "",
            requester_name=msg.sender.name if msg.sender else "",
            requester_phone=requester_phone(
                (msg.newest_text, msg.signature), ours=[self._replies.settings.company.phone or ""]
            ),
            received_at=received,
            ack_due=due.ack_due if due else None,
            answer_due=due.answer_due if due else None,
            needs_triage=undecided,
            triage_due=self._triage_due(received) if undecided else None,
            flags=[*decision.flags, *((HISTORIC,) if historic else ())],
            assignee=ASSIGN_NEW_CASE.get(kind),
            jurisdiction=self._jurisdiction,
            slack_state="historic" if historic else "pending",
        )
        repo.audit(
            session,
            opened.id,
            "intake",
            "case opened",
            message_id=msg.message_id,
            kind=kind,
            intents=intents,
            reasons={k: list(v) for k, v in classification.reasons.items()},
            triage=list(classification.triage_reasons),
            flags=list(decision.flags),
            **({"historic": True} if historic else {}),
        )
        return opened

    def _acknowledge(
        self,
        session: Session,
        opened: repo.CaseHandle,
        msg: ParsedMessage,
        classification: Classification,
        decision: Decision,
        received: datetime,
        now: datetime,
        *,
        automatic: bool = True,
    ) -> None:
        """The new case's first reply, as a draft (sent at once only with PD_AUTO_ACK, and only
        when ``automatic``); mail read after its answer deadline passed (read long after it came)
        gets the late acknowledgement, which apologises and promises no date."""
        case = CaseFacts(
            opened.id,
            opened.ref,
            decision.kind or "other",
            msg.language,
            msg.sender.address.lower() if msg.sender else "",
            msg.sender.name if msg.sender else "",
        )
        if replies_rules.first_reply(case.kind) is None:
            return
        values: dict[str, object] = {}
        if case.kind == "privacy":
            if opened.answer_due is None:
                return
            values = {
                "requests": [i for i in classification.intents if i in PRIVACY],
                "received_on": received,
                "answer_due": opened.answer_due,
                "late": opened.answer_due <= now,
                "their_subject": msg.subject,
            }
        elif case.kind == "provider_correction":
            sender = msg.sender
            values = {"provider_name": (sender.name or sender.address) if sender else ""}
        try:
            self._replies.acknowledge(session, case, values, automatic=automatic)
        except TemplateError as exc:  # a broken operator template must not stop intake
            log.error("%s: no first reply drafted: %s", case.ref, type(exc).__name__)
            said = keyed(template_reason(exc))
            said["reason"] = str(said["reason"])[:300]
            repo.audit(session, case.id, "intake", "draft failed", **said)

    def _authenticated(self, msg: ParsedMessage) -> bool | None:
        """Whether our MTA authenticated the From: domain; None when PD_AUTHSERV_ID is unset."""
        authserv_id = self._replies.settings.authserv_id
        if not authserv_id:
            return None
        if msg.sender is None or "@" not in msg.sender.address:
            return False
        domain = msg.sender.address.rpartition("@")[2]
        return authres.authenticated(msg.headers, authserv_id, domain)

    def _bounced(self, session: Session, case: Case, msg: ParsedMessage) -> None:
        """Our mail came back undelivered: the outbox row says so, and staff are told."""
        item = repo.reported_mail(session, msg)
        if item is None or item.case_id != case.id:
            return
        repo.set_mail_status(session, item, "bounced")
        repo.audit(
            session, case.id, "intake", "mail bounced", outbox=item.id, message_id=item.message_id
        )

    def _resume_clock(self, session: Session, case: Case, received: datetime) -> None:
        """The requester answered while the desk waited on them: the SLA clock runs again,
        unless it waits for their identity and this message did not prove it."""
        assert case.id is not None
        pause = repo.open_pause(session, case.id)
        if pause is None:
            return
        if pause.reason == replies_rules.VERIFICATION_PAUSE and case.verified_at is None:
            return
        resume_clock(session, case, received, actor="intake", rules=self._rules)

    def _deadlines(
        self, received: datetime, intents: list[str], kind: str, *, undecided: bool
    ) -> sla.Deadlines | None:
        wanted = sla.clocked_intents(intents, kind, undecided=undecided)
        if not wanted:
            return None
        return sla.deadlines(
            received,
            wanted,
            jurisdiction=self._jurisdiction,
            table=self._rules.table,
            calendar=self._rules.calendar,
        )

    def _triage_due(self, received: datetime) -> datetime:
        return sla.triage_due(received, self._triage_days, calendar=self._rules.calendar)

    def historic_taken(self, count: int, *, backlog_days: int, **detail: object) -> None:
        """``count`` historic messages are in, their cases committed: staff are owed a summary."""
        try:
            with Session(self._engine) as session:
                repo.historic_taken(session, count=count, backlog_days=backlog_days, **detail)
                session.commit()
        except OperationalError as exc:
            raise _unavailable(exc) from None

    def quarantine(
        self, raw: bytes, why: str, *, historic: bool = False, arrived: datetime | None = None
    ) -> IntakeResult:
        """Keep a message as received, unread, as a quarantined case (or find it kept already)."""
        item = Read(raw, None, None, why, historic=historic, arrived=arrived)
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                result = self._quarantine(session, raw, self._clock(), why, item=item)
                session.commit()
        except OperationalError as exc:
            raise _unavailable(exc) from None
        return result

    def _quarantine(
        self,
        session: Session,
        raw: bytes,
        now: datetime,
        why: str,
        msg: ParsedMessage | None = None,
        *,
        item: Read | None = None,
    ) -> IntakeResult:
        """Keep a message intake could not handle, as a case of its own for staff: with its
        requester and Message-ID when these could be read, the strictest rights-request clock
        and a triage deadline, since nobody knows yet what it asks for (DESIGN rule 6)."""
        sha = hashlib.sha256(raw).hexdigest()
        if msg is not None:
            envelope = Envelope(
                None if msg.message_id_generated else msg.message_id, msg.sender, msg.subject
            )
            received = received_time(msg, now)
        else:
            envelope, received = peek_envelope(raw), now
        historic = item is not None and item.historic
        if item is not None and item.arrived is not None:
            received = min(item.arrived, now)
        sender = envelope.sender
        with session.begin_nested():
            if repo.message_with_hash(session, sha) is not None:
                return IntakeResult("duplicate", None, (), None, "already stored")
            due = self._deadlines(received, [], "other", undecided=True)
            case = repo.open_case(
                session,
                kind="other",
                intents=[],
                language=msg.language if msg else "",
                requester=sender.address.lower() if sender else "",
                requester_name=sender.name if sender else "",
                received_at=received,
                ack_due=due.ack_due if due else None,
                answer_due=due.answer_due if due else None,
                needs_triage=True,
                triage_due=self._triage_due(received),
                flags=["unreadable", *((HISTORIC,) if historic else ())],
                status=Status.QUARANTINED,
                slack_state="historic" if historic else "pending",
            )
            repo.store_raw(
                session,
                raw,
                sha,
                case_id=case.id,
                received_at=received,
                note=why,
                message_id=envelope.message_id,
                sender=sender.address.lower() if sender else "",
                subject=envelope.subject,
            )
            repo.audit(session, case.id, "intake", "quarantined", reason=why)
        log.warning("message %s quarantined as %s: %s", sha[:12], case.ref, why)
        return IntakeResult("quarantined", case.ref, (), case.answer_due, why)


def _message_flags(decision: Decision, reused: bool) -> list[str]:
    """What is flagged on the stored message itself: its reused Message-ID, and why mail that
    joins no case was kept aside (an unverified bounce)."""
    flags = [MESSAGE_ID_REUSED] if reused else []
    if decision.action is Action.ARCHIVE:
        flags.extend(f for f in decision.flags if f not in flags)
    return flags


def _received(item: Read, msg: ParsedMessage, now: datetime) -> datetime:
    """When the desk received the message: the server's own time when the watcher knows it for
    historic mail (never the sender's ``Date:``), else as ``received_time`` reads the headers."""
    if item.arrived is not None:
        return min(item.arrived, now)
    return received_time(msg, now)


def _unavailable(exc: OperationalError) -> UnavailableError:
    return UnavailableError(f"the database failed during intake: {str(exc.orig).splitlines()[0]}")


_ACTION_WORDS = {
    Action.OPEN: "opened",
    Action.LINK: "linked",
    Action.BOUNCE: "bounce",
    Action.ARCHIVE: "archived",
    Action.DUPLICATE: "duplicate",
}
