"""Decisions on a case, whoever takes them (a button in the case thread, or the command line).

Assign, reclassify (what the case asks for, and the law it runs under), ask the requester,
extend the deadline, reject, close. Each checks what the law and the desk's rules allow, writes
the audit trail, and moves the case's deadline when it should (``bot.replies.case_deadlines``:
receipt, intents, jurisdiction, pauses and extension, every time, under the SLA policies of the
settings). Decisions that change what the desk owes the requester (reclassify, a change of
jurisdiction included whichever way it moves the deadline, extend, reject, close) are taken by
approvers only (``PD_APPROVERS``); a refusal is recorded. What goes to the requester is
always a draft, sent only once approved: a request for identity documents or clarification stops
the SLA clock when its mail is approved (``Replies``), not when it is drafted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.replies import (
    CaseFacts,
    Detailed,
    Reason,
    Replies,
    ReplyError,
    case_deadlines,
    coded,
    keyed,
    refuse,
    sla_reason,
    template_reason,
    verdict_reason,
)
from handlers import sla
from handlers.clock import Clock, now
from handlers.intake import kind_of, references_in
from handlers.intents import ALL_INTENTS, AUTO_REPLY, RIGHTS
from handlers.replies import ASK_KINDS, Verdict, may_approve
from handlers.sla import JURISDICTIONS
from handlers.status import FINISHED, Status
from storage import repo
from storage.db import writer
from storage.models import Case, Draft, LabelledExample, MailMessage
from templates import TemplateError

log = logging.getLogger("privacy_desk.cases")

REJECT_SCOPES = ("full", "partial")
MERGED_INTO = "merged_into"  # the flag of a case merged into another (``Case.merged_into_id``)
CASE_MERGED, CASE_MERGED_IN = "case merged", "case merged in"  # audit: the closed side, the other
MERGE_REFUSED = "merge refused"
REPLY_WITHIN = timedelta(days=14)  # the date by which a requester is asked to answer
TEXT_MAX = 500


def _messages_named(session: Session, name: str) -> list[MailMessage]:
    """The incoming messages ``name`` stands for: a message's number, or a case's reference."""
    if references_in(name):
        other = repo.case_by_ref(session, name)
        return [] if other is None or other.id is None else repo.inbound_messages(session, other.id)
    if not name.isdigit():
        return []
    message = session.get(MailMessage, int(name))
    return [message] if message is not None and message.direction == "in" else []


def _one_line(text: str, what: str) -> str:
    """``text`` on one line; ``what`` names it (a key of ``[refusal.what]``) when it is refused."""
    text = " ".join(text.split())
    if not text:
        raise ReplyError(Reason("say", what=Reason(f"what.{what}")))
    if len(text) > TEXT_MAX:
        raise ReplyError(Reason("too_long", what=Reason(f"what.{what}"), most=TEXT_MAX))
    return text


class NoExtension(sla.SlaError):
    """Why a case cannot have its extension, as a ``Reason`` (``reason``) staff read."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(str(reason))
        self.reason = reason


def extended_deadlines(
    session: Session, case: Case, rules: sla.Rules, reason: str, at: datetime
) -> sla.Deadlines:
    """The case's deadlines with its one extension granted at ``at``; ``sla.SlaError`` says why
    it cannot be (its policy offers none, it was used, it comes too late, the clock is stopped).
    The rule both ``CaseDesk.extend`` and the Extend button's presence follow."""
    if case.extended_at is not None:
        raise NoExtension(Reason("extended_already"))
    due = case_deadlines(session, case, rules=rules, extension=sla.Extension(reason, at))
    if due is None:
        raise NoExtension(Reason("no_deadline"))
    if due.answer_due is None:
        raise NoExtension(Reason("clock_stopped"))
    return due


def may_extend(session: Session, case: Case, rules: sla.Rules, at: datetime) -> bool:
    """Whether ``extend`` would grant the case its extension at ``at``."""
    try:
        extended_deadlines(session, case, rules, "offered", at)
    except sla.SlaError:
        return False
    return True


def _of_case(case: Case, exc: sla.SlaError) -> Reason:
    """``ref: why`` of an SLA refusal (one the policies give without a key, in English)."""
    return Reason(
        "of_case", ref=case.ref, why=exc.reason if isinstance(exc, NoExtension) else sla_reason(exc)
    )


def _jurisdiction(name: str | None) -> str | None:
    if name is None:
        return None
    found = name.strip().lower()
    if found not in JURISDICTIONS:
        english = f"unknown jurisdiction {name!r} (one of {', '.join(JURISDICTIONS)})"
        raise ReplyError(Detailed("unknown_jurisdiction", english, name=name, laws=JURISDICTIONS))
    return found


def _lines(items: Iterable[str], what: str) -> list[str]:
    found = [" ".join(item.split()) for item in items]
    found = [item for item in found if item]
    if not found:
        raise ReplyError(Reason("at_least_one", what=Reason(f"what.{what}")))
    if any(len(item) > TEXT_MAX for item in found):
        raise ReplyError(Reason("each_too_long", what=Reason(f"what.{what}"), most=TEXT_MAX))
    return found


class CaseDesk:
    """The decisions staff take on cases; every method is one transaction."""

    def __init__(
        self,
        engine: Engine,
        replies: Replies,
        *,
        clock: Clock = now,
    ) -> None:
        self._engine = writer(engine)
        self._replies = replies
        self._clock = clock
        self._rules = replies.settings.sla_rules  # PD_SLA_POLICIES

    @property
    def approvers(self) -> tuple[str, ...]:
        return self._replies.settings.approvers

    def may_decide(self, actor: str, groups: Iterable[str] = ()) -> Verdict:
        """Whether ``actor`` may take the decisions reserved to approvers."""
        return may_approve(actor, approvers=self.approvers, approver_groups=groups)

    # ---- who works the case --------------------------------------------------------------

    def assign(self, ref: str, *, to: str, actor: str) -> Case:
        """The case is ``to``'s now (anyone on the desk may take or hand over a case)."""
        to = _one_line(to, "who_takes")[:64]
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            if case.assignee != to:
                before = case.assignee
                repo.touch(session, case, assignee=to)
                repo.audit(session, case.id, actor, "assigned", to=to, before=before)
                session.commit()
            return case

    # ---- what the case is about ----------------------------------------------------------

    def reclassify(
        self,
        ref: str,
        intents: Sequence[str],
        *,
        actor: str,
        groups: Iterable[str] = (),
        not_a_request: bool = False,
        jurisdiction: str | None = None,
    ) -> Case:
        """Staff say what the request really asks for, or the law it runs under (or both): the
        intents (and kind) and the jurisdiction change, the deadlines are computed again from the
        receipt, and the first message with its corrected intents is kept as a labelled example
        for the classifier. This is also how a case waiting for triage is decided: it loses the
        provisional rights-request clock (DESIGN rule 6) and keeps only the one its intents give;
        ``not_a_request`` says it asks for no right at all. A change of jurisdiction alone
        leaves the intents, and a case waiting for triage keeps waiting (on the strictest
        rights-request clock of its new law). Pauses count as before; an extension already used
        stays used and applies where the new policy offers one (``sla.Extension.recorded``).
        """
        wanted = list(dict.fromkeys(i.strip() for i in intents if i.strip()))
        unknown = [i for i in wanted if i not in ALL_INTENTS]
        if unknown:
            english = f"unknown intents: {', '.join(unknown)}"
            raise ReplyError(Detailed("unknown_intents", english, names=coded(unknown)))
        if not_a_request and set(wanted) & set(RIGHTS):
            raise ReplyError("a case that asks for a right is a request: drop --not-a-request")
        law = _jurisdiction(jurisdiction)
        deciding = bool(wanted) or not_a_request
        if not deciding and law is None:
            raise ReplyError(
                "say what the case asks for, that it is not a request, or its jurisdiction"
            )
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            self._allowed(session, case, actor, groups, "reclassify refused")
            before, law_before, due_before = list(case.intents), case.jurisdiction, case.answer_due
            kept = [i for i in wanted if i != AUTO_REPLY] if deciding else before
            same = not deciding or (sorted(kept) == sorted(before) and not case.needs_triage)
            if same and law in (None, law_before):
                return case
            kind = case.kind
            if deciding:
                kind = kind_of(frozenset(wanted))
                if case.kind not in ("privacy", "other") and kind == "other":
                    kind = case.kind
                repo.touch(
                    session, case, intents=kept, kind=kind, needs_triage=False, triage_due=None
                )
            if law is not None and law != law_before:
                repo.touch(session, case, jurisdiction=law)
            due = self._set_deadlines(session, case)
            first = self._first_message(session, case) if deciding else None
            if first is not None:
                assert first.id is not None and case.id is not None
                session.add(
                    LabelledExample(
                        message_id=first.id,
                        case_id=case.id,
                        intents=wanted,
                        language=first.language or case.language,
                        labelled_by=actor,
                        labelled_at=self._clock(),
                    )
                )
            moved: dict[str, object] = {}
            if case.jurisdiction != law_before:
                moved = {
                    "jurisdiction_before": law_before,
                    "jurisdiction": case.jurisdiction,
                    "answer_due_before": due_before.isoformat() if due_before else None,
                }
                if case.extended_at is not None:
                    moved["extension_applies"] = bool(due and due.extended)
            repo.audit(
                session,
                case.id,
                actor,
                "reclassified",
                before=before,
                after=kept,
                kind=kind,
                not_a_request=not_a_request,
                answer_due=due.answer_due.isoformat() if due and due.answer_due else None,
                **moved,
            )
            session.commit()
            log.info("%s reclassified", case.ref)
            return case

    # ---- asking the requester ------------------------------------------------------------

    def ask(
        self,
        ref: str,
        *,
        kind: str,
        needed: Sequence[str],
        actor: str,
        reply_by: datetime | None = None,
    ) -> Draft:
        """A draft asking the requester for identity documents or a clarification; once it is
        approved and queued the SLA clock stops until the requester answers."""
        if kind not in ASK_KINDS:
            raise ReplyError(f"ask for {' or '.join(ASK_KINDS)}, not {kind!r}")
        items = _lines(needed, "ask_item")
        by = reply_by or self._clock() + REPLY_WITHIN
        return self._draft(ref, "identity_request", actor, kind=kind, needed=items, reply_by=by)

    # ---- the deadline --------------------------------------------------------------------

    def extend(
        self, ref: str, *, reason: str, actor: str, groups: Iterable[str] = ()
    ) -> tuple[Case, Draft]:
        """The one extension the law allows, with a reason the requester is told: the case's
        new deadline, and the draft of the notice (it must go out within the first period)."""
        reason = _one_line(reason, "extend_why")
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            self._allowed(session, case, actor, groups, "extend refused")
            now = self._clock()
            try:
                due = extended_deadlines(session, case, self._rules, reason, now)
            except sla.SlaError as exc:
                refuse(session, case, actor, "extend refused", _of_case(case, exc))
            assert due.answer_due is not None  # extended_deadlines refuses a stopped clock
            before = case.answer_due
            repo.touch(session, case, extended_at=now, extended_by=actor, extension_reason=reason)
            repo.touch(session, case, answer_due=due.answer_due)
            repo.audit(
                session,
                case.id,
                actor,
                "deadline extended",
                reason=reason,
                before=before.isoformat() if before else None,
                answer_due=due.answer_due.isoformat(),
            )
            draft_id = self._prepare(
                session, case, "extension_notice", actor, reason=reason, new_due=due.answer_due
            )
            session.commit()
            log.info("%s: deadline extended", case.ref)
            return case, self._stored_draft(session, draft_id)

    def why_not_extend(self, ref: str) -> Reason | None:
        """Why ``extend`` would be refused now (None: it would not be), asked before its form
        opens: a parent message drawn before the case changed may still offer the button."""
        with Session(self._engine) as session:
            case = self._open_case(session, ref)
            try:
                extended_deadlines(session, case, self._rules, "asked", self._clock())
            except sla.SlaError as exc:
                return _of_case(case, exc)
            return None

    # ---- ending the case -----------------------------------------------------------------

    def reject(
        self,
        ref: str,
        *,
        reasons: Sequence[str],
        actor: str,
        scope: str = "full",
        granted: Sequence[str] = (),
        groups: Iterable[str] = (),
    ) -> Draft:
        """A refusal of the rights requests in the case, with its reasons (APPI Art. 36: the
        requester is told why); the case is rejected once the refusal has been sent."""
        if scope not in REJECT_SCOPES:
            raise ReplyError(f"the refusal is full or partial, not {scope!r}")
        why = _lines(reasons, "reason")
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            self._allowed(session, case, actor, groups, "reject refused")
            requests = [i for i in case.intents if i in RIGHTS]
            if not requests:
                raise ReplyError(Reason("nothing_to_refuse", ref=case.ref))
            draft_id = self._prepare(
                session,
                case,
                "refusal",
                actor,
                scope=scope,
                requests=requests,
                reasons=why,
                granted=[g for g in (" ".join(x.split()) for x in granted) if g],
            )
            session.commit()
            return self._stored_draft(session, draft_id)

    def close(
        self, ref: str, *, reason: str | Reason, actor: str, groups: Iterable[str] = ()
    ) -> Case:
        """Close the case without a further answer (spam, withdrawn, answered by phone...); the
        drafts still waiting are discarded so nothing goes out afterwards. A ``Reason`` is the
        desk's own (recorded with its key, told to staff in their language)."""
        why = keyed(reason) if isinstance(reason, Reason) else {"reason": reason}
        why["reason"] = _one_line(str(why["reason"]), "close_why")
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            self._allowed(session, case, actor, groups, "close refused")
            now = self._clock()
            waiting = repo.drafts(session, case_id=case.id, status="draft")
            for draft in waiting:
                draft.status = "discarded"
                session.add(draft)
                repo.audit(session, case.id, actor, "draft discarded", draft=draft.id)
            pause = repo.open_pause(session, case.id) if case.id is not None else None
            if pause is not None:
                pause.ended_at = max(now, pause.started_at)
                session.add(pause)
            repo.touch(session, case, status=Status.CLOSED, closed_at=now)
            repo.audit(session, case.id, actor, "case closed", **why)
            session.commit()
            log.info("%s closed", case.ref)
            return case

    # ---- linking by hand -----------------------------------------------------------------

    def link(
        self, ref: str, messages: Sequence[str], *, actor: str, groups: Iterable[str] = ()
    ) -> list[int]:
        """Approvers join mail to case ``ref`` by hand: each of ``messages`` is a stored
        message's number or the reference of a case whose mail it moves (a case opened apart
        because its sender was not authenticated, say). A case so emptied is closed. Audited on
        both cases; the numbers of the messages moved."""
        if not messages:
            raise ReplyError("name the messages (numbers) or cases (references) to link")
        emptied: list[str] = []
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            self._allowed(session, case, actor, groups, "link refused")
            moved: list[MailMessage] = []
            for name in messages:
                found = _messages_named(session, name.strip())
                if not found:
                    raise ReplyError(f"no message or case {name!r} to link")
                if references_in(name) and found[0].case_id != case.id:
                    emptied.append(name.strip().upper())
                moved.extend(m for m in found if m.case_id != case.id)
            for message in moved:
                before = session.get(Case, message.case_id) if message.case_id else None
                message.case_id = case.id
                session.add(message)
                repo.audit(
                    session,
                    case.id,
                    actor,
                    "message linked by hand",
                    message=message.id,
                    from_case=before.ref if before else None,
                )
                if before is not None:
                    repo.audit(
                        session,
                        before.id,
                        actor,
                        "message moved by hand",
                        message=message.id,
                        to_case=case.ref,
                    )
            session.commit()
        for other in emptied:
            with contextlib.suppress(ReplyError):  # a case finished already stays as it is
                self.close(
                    other, reason=Reason("linked_away", ref=case.ref), actor=actor, groups=groups
                )
        log.info("%s: %d messages linked by hand", case.ref, len(moved))
        return [m.id for m in moved if m.id is not None]

    # ---- merging duplicates ----------------------------------------------------------------

    def merge(
        self,
        ref: str,
        into_ref: str,
        *,
        actor: str,
        force: bool = False,
        groups: Iterable[str] = (),
    ) -> Case:
        """Approvers merge case ``ref`` (a duplicate: the same request sent twice, or mail
        opened apart) into ``into_ref``; the case merged into, as it is now.

        Every message of ``ref``, in and out, with its outbox rows and the addresses that may
        join it, moves (a reply to any of them finds ``into_ref``); unused verification codes
        move too, unless the merge is forced (a code proves the address it went to). Drafts of
        ``ref`` still waiting are discarded, an open pause ends, and ``ref`` is closed with the
        flag ``merged_into`` and ``merged_into_id``. ``into_ref`` takes the intents of both
        and stays in triage while either is; the earlier receipt governs its deadlines (the
        first request started the legal clock), computed again by ``handlers.sla`` as
        reclassify does (its own pauses and extension only: the earlier side). Recorded in both
        audit trails (who, when, from/into; ``forced``), and refused, recorded, when: not an
        approver; a case into itself; either case finished or merged already; ``into_ref``
        purged; ``ref`` on legal hold (its mail would leave the hold); mail of ``ref`` still
        queued; or the requesters differ (``ref``'s address is not one that may join
        ``into_ref``) without ``force``.
        """
        if ref.strip().upper() == into_ref.strip().upper():
            raise ReplyError(Reason("merge_itself", ref=ref.strip().upper()))
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._case(session, ref)
            self._allowed(session, case, actor, groups, MERGE_REFUSED)
            target = self._case(session, into_ref)
            why = self._merge_refusal(session, case, target, force=force)
            if why is not None:
                refuse(session, case, actor, MERGE_REFUSED, why, into=target.ref)
            assert case.id is not None and target.id is not None
            now = self._clock()
            for draft in repo.drafts(session, case_id=case.id, status="draft"):
                draft.status = "discarded"
                session.add(draft)
                repo.audit(
                    session,
                    case.id,
                    actor,
                    "draft discarded",
                    draft=draft.id,
                    merged_into=target.ref,
                )
            pause = repo.open_pause(session, case.id)
            if pause is not None:
                pause.ended_at = max(now, pause.started_at)
                session.add(pause)
            moved = repo.move_mail(session, case.id, target.id, codes=not force)
            before = {
                "received_at": target.received_at.isoformat(),
                "answer_due": target.answer_due.isoformat() if target.answer_due else None,
                "intents": list(target.intents),
            }
            self._take_over(session, target, case)
            repo.touch(
                session,
                case,
                status=Status.CLOSED,
                closed_at=now,
                merged_into_id=target.id,
                flags=sorted({*case.flags, MERGED_INTO}),
            )
            told = {"forced": force, "messages": len(moved)}
            repo.audit(session, case.id, actor, CASE_MERGED, into=target.ref, **told)
            repo.audit(
                session,
                target.id,
                actor,
                CASE_MERGED_IN,
                **{"from": case.ref},
                **told,
                before=before,
                received_at=target.received_at.isoformat(),
                answer_due=target.answer_due.isoformat() if target.answer_due else None,
                intents=list(target.intents),
                deadline="the earlier receipt governs",
            )
            session.commit()
            log.info("%s merged into %s%s", case.ref, target.ref, " (forced)" if force else "")
            return target

    def _merge_refusal(
        self, session: Session, case: Case, target: Case, *, force: bool
    ) -> Reason | None:
        """Why ``case`` may not be merged into ``target``, or None."""
        for one in (case, target):
            if one.merged_into_id is not None:
                into = session.get(Case, one.merged_into_id)
                return Reason(
                    "merged_already", ref=one.ref, into=into.ref if into else Reason("another_case")
                )
            if one.purged_at is not None:
                return Reason("purged", ref=one.ref)
            if one.status in FINISHED:
                return Reason("case_status", ref=one.ref, status=one.status)
        if case.held_at is not None:
            return Reason("legal_hold", ref=case.ref)
        assert case.id is not None and target.id is not None
        if repo.queued_mail_of(session, case.id):
            return Reason("mail_queued", ref=case.ref)
        joins = {*repo.addresses_of(session, target.id), target.requester}
        if not force and (not case.requester or case.requester not in joins):
            return Reason("different_requesters", ref=case.ref, into=target.ref)
        return None

    def _take_over(self, session: Session, target: Case, case: Case) -> None:
        """``target`` as it is once ``case`` is merged into it: both intents, triage while either
        needs it, the earlier receipt, and the deadlines those give."""
        kept = sorted({*target.intents, *case.intents} - {AUTO_REPLY})
        kind = kind_of(frozenset(kept))
        if kind == "other":
            kind = target.kind if target.kind != "other" else case.kind
        triage = target.needs_triage or case.needs_triage
        dues = [d for d in (target.triage_due, case.triage_due) if d is not None]
        repo.touch(
            session,
            target,
            intents=kept,
            kind=kind,
            needs_triage=triage,
            triage_due=min(dues) if triage and dues else None,
            received_at=min(target.received_at, case.received_at),
        )
        self._set_deadlines(session, target)

    # ---- helpers -------------------------------------------------------------------------

    def _set_deadlines(self, session: Session, case: Case) -> sla.Deadlines | None:
        """The case's deadlines computed again from what it now is (intents, law, receipt,
        pauses, extension), and set; a paused case's frozen deadline moves with them."""
        try:
            due = case_deadlines(session, case, rules=self._rules)
        except sla.SlaError as exc:
            raise ReplyError(Reason("of_case", ref=case.ref, why=sla_reason(exc))) from None
        repo.touch(
            session,
            case,
            answer_due=due.answer_due if due else None,
            ack_due=due.ack_due if due else None,
        )
        if due is not None and due.paused_since is not None and due.remaining is not None:
            assert case.id is not None
            repo.move_paused_deadline(session, case.id, due.paused_since + due.remaining)
        return due

    def _draft(self, ref: str, template: str, actor: str, **values: object) -> Draft:
        with Session(self._engine, expire_on_commit=False) as session:
            case = self._open_case(session, ref)
            draft_id = self._prepare(session, case, template, actor, **values)
            session.commit()
            return self._stored_draft(session, draft_id)

    def _prepare(
        self, session: Session, case: Case, template: str, actor: str, **values: object
    ) -> int:
        try:
            return self._replies.prepare(
                session, CaseFacts.of(case), template, values, editor=actor
            )
        except TemplateError as exc:
            raise ReplyError(template_reason(exc)) from None

    def _allowed(
        self, session: Session, case: Case, actor: str, groups: Iterable[str], action: str
    ) -> None:
        verdict = self.may_decide(actor, groups)
        if not verdict.allowed:
            refuse(session, case, actor, action, verdict_reason(verdict))

    def _case(self, session: Session, ref: str) -> Case:
        case = repo.case_by_ref(session, ref.strip())
        if case is None:
            raise ReplyError(Reason("no_case", ref=ref.strip().upper()))
        return case

    def _open_case(self, session: Session, ref: str) -> Case:
        case = self._case(session, ref)
        if case.status in FINISHED:
            raise ReplyError(Reason("case_status", ref=case.ref, status=case.status))
        return case

    def _stored_draft(self, session: Session, draft_id: int) -> Draft:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft

    def _first_message(self, session: Session, case: Case) -> MailMessage | None:
        return session.exec(
            select(MailMessage)
            .where(MailMessage.case_id == case.id, MailMessage.direction == "in")
            .order_by(col(MailMessage.id))
        ).first()
