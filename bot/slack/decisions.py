"""The case's own controls in Slack: assign, reclassify, identity verified, ask the requester,
extend, reject, close, merge into another case — each a button on the case's parent message that opens a modal (assign
to someone is a user picker), and the modal's submission that takes the decision.

The rules are in ``bot.cases.CaseDesk`` and ``bot.replies.Replies``; this module validates
what Slack sends (the case reference is looked up, every field is checked, errors are shown in
the modal), acks at once, and runs the decision in a worker thread. Decisions reserved to
approvers are refused at the click already (ephemeral, and recorded), then again by the desk.
Every text staff read here is in their language (``bot.words``, table ``[modal]``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import threads
from bot.cases import MERGE_REFUSED, REJECT_SCOPES, TEXT_MAX, CaseDesk
from bot.replies import Replies, ReplyError, say, verdict_reason
from bot.slack.api import SlackAPI, SlackError
from bot.slack.blocks import (
    ACTIONS,
    AS_READ,
    NOT_A_REQUEST,
    TRIAGE_CHOICES,
    intent_label,
    intent_labels,
    said,
    status_label,
)
from bot.slack.ids import is_user_id
from bot.words import Words
from handlers.intents import ALL_INTENTS
from handlers.replies import ASK_KINDS
from handlers.sla import JURISDICTIONS
from handlers.status import FINISHED
from storage import repo
from storage.db import writer
from storage.models import Case

log = logging.getLogger("privacy_desk.slack")

REF = re.compile(r"PD-\d{4}-\d{6}")
LINES_MAX = 20  # items asked for, or reasons given, in one modal

Tell = Callable[[dict[str, Any], str], Awaitable[None]]
Groups = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True)
class Decision:
    """One modal: whether only approvers may take it, and what a refusal is recorded as (its
    title and submit button are ``modal.title.<name>`` and ``modal.submit.<name>``)."""

    name: str  # the key in ACTIONS
    approvers_only: bool
    refused: str = ""  # the audit action of a refusal (the one the desk records too)

    @property
    def callback_id(self) -> str:
        return f"{ACTIONS[self.name]}_modal"


DECISIONS = {
    d.name: d
    for d in (
        Decision("reclassify", True, "reclassify refused"),
        Decision("verified", True, "verification refused"),
        Decision("ask", False),
        Decision("extend", True, "extend refused"),
        Decision("reject", True, "reject refused"),
        Decision("close", True, "close refused"),
        Decision("merge", True, MERGE_REFUSED),
    )
}


def law_label(jurisdiction: str, *, w: Words) -> str:
    """A law as the forms name it (``APPI (Japan)``); an unknown one as it is."""
    return said(w, f"modal.law.{jurisdiction}", jurisdiction.upper())


FORCE = "force"  # the value of the merge form's "different requesters" checkbox


def _text(label: str, block: str, *, multiline: bool = False, hint: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": 3000 if multiline else TEXT_MAX,
    }
    found: dict[str, Any] = {
        "type": "input",
        "block_id": block,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        found["hint"] = {"type": "plain_text", "text": hint}
    return found


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}


def _select(
    label: str, block: str, options: list[tuple[str, str]], initial: list[str], *, many: bool
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "multi_static_select" if many else "static_select",
        "action_id": "value",
        "options": [_option(v, t) for v, t in options],
    }
    chosen = [_option(v, t) for v, t in options if v in initial]
    if chosen:
        element["initial_options" if many else "initial_option"] = chosen if many else chosen[0]
    return {
        "type": "input",
        "block_id": block,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def modal(decision: Decision, case: Case, *, w: Words) -> dict[str, Any]:
    """The modal of ``decision`` for ``case`` (its reference travels as private metadata)."""
    if decision.name == "reclassify":
        intents = [(i, intent_label(i, w=w)) for i in ALL_INTENTS]
        laws = [(j, law_label(j, w=w)) for j in JURISDICTIONS]
        blocks = [
            _select(w("modal.label.intents"), "intents", intents, list(case.intents), many=True),
            _select(
                w("modal.label.jurisdiction"),
                "jurisdiction",
                laws,
                [case.jurisdiction],
                many=False,
            ),
        ]
    elif decision.name == "verified":
        blocks = [_text(w("modal.label.how"), "how", hint=w("modal.hint.how"))]
    elif decision.name == "ask":
        kinds = [(k, w(f"modal.option.{k}")) for k in ("identity", "clarification")]
        blocks = [
            _select(w("modal.label.kind"), "kind", kinds, ["identity"], many=False),
            _text(w("modal.label.needed"), "needed", multiline=True),
        ]
    elif decision.name == "extend":
        blocks = [_text(w("modal.label.extend_reason"), "reason", multiline=True)]
    elif decision.name == "reject":
        scopes = [(s, w(f"modal.option.{s}")) for s in ("full", "partial")]
        blocks = [
            _select(w("modal.label.scope"), "scope", scopes, ["full"], many=False),
            _text(w("modal.label.reasons"), "reasons", multiline=True),
        ]
    elif decision.name == "merge":
        blocks = merge_inputs(case, w=w)
    else:
        blocks = [_text(w("modal.label.close_reason"), "reason", multiline=True)]
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": w("modal.case", ref=case.ref)}],
    }
    return {
        "type": "modal",
        "callback_id": decision.callback_id,
        "private_metadata": case.ref,
        "title": _plain(w(f"modal.title.{decision.name}"), 24),
        "submit": _plain(w(f"modal.submit.{decision.name}"), 24),
        "close": _plain(w("modal.cancel"), 24),
        "blocks": [context, *blocks],
    }


def _plain(text: str, most: int) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:most]}


def merge_inputs(case: Case, *, w: Words) -> list[dict[str, Any]]:
    """The merge form: the case to merge into, and a checkbox that forces a merge of two
    different requesters' cases (audited as forced)."""
    force = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [
            {
                "text": _plain(w("modal.merge.force"), 75),
                "description": _plain(w("modal.merge.force_hint"), 75),
                "value": FORCE,
            }
        ],
    }
    return [
        _text(
            w("modal.merge.into", ref=case.ref),
            "into",
            hint=w("modal.merge.into_hint", ref=case.ref),
        ),
        {
            "type": "input",
            "block_id": FORCE,
            "optional": True,
            "label": _plain(w("modal.merge.force_label"), 2000),
            "element": force,
        },
    ]


def _state(view: dict[str, Any], block: str) -> dict[str, Any]:
    value = view.get("state", {}).get("values", {}).get(block, {}).get("value", {})
    return value if isinstance(value, dict) else {}


def _typed(view: dict[str, Any], block: str) -> str:
    return str(_state(view, block).get("value") or "")


def _picked(view: dict[str, Any], block: str) -> list[str]:
    state = _state(view, block)
    options = state.get("selected_options")
    if options is None:
        single = state.get("selected_option")
        options = [single] if single else []
    return [str(o.get("value", "")) for o in options if isinstance(o, dict)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def validate(name: str, view: dict[str, Any], *, w: Words) -> tuple[dict[str, Any], dict[str, str]]:
    """(the decision's arguments, errors by block) from a submitted modal."""
    errors: dict[str, str] = {}
    args: dict[str, Any] = {}
    if name == "reclassify":
        intents = _picked(view, "intents")
        if not intents or any(i not in ALL_INTENTS for i in intents):
            errors["intents"] = w("modal.error.intents")
        args["intents"] = intents
        # The select starts on the case's own law; a form opened before it existed keeps it.
        picked = _picked(view, "jurisdiction")
        law = picked[0] if picked else None
        if law is not None and law not in JURISDICTIONS:
            errors["jurisdiction"] = w("modal.error.jurisdiction")
        args["jurisdiction"] = law
    elif name == "ask":
        kind = (_picked(view, "kind") or [""])[0]
        needed = _lines(_typed(view, "needed"))
        if kind not in ASK_KINDS:
            errors["kind"] = w("modal.error.kind")
        if not needed or len(needed) > LINES_MAX:
            errors["needed"] = w("modal.error.needed", most=LINES_MAX)
        args.update(kind=kind, needed=needed)
    elif name == "reject":
        scope = (_picked(view, "scope") or [""])[0]
        reasons = _lines(_typed(view, "reasons"))
        if scope not in REJECT_SCOPES:
            errors["scope"] = w("modal.error.scope")
        if not reasons or len(reasons) > LINES_MAX or any(len(r) > TEXT_MAX for r in reasons):
            errors["reasons"] = w("modal.error.reasons", most=LINES_MAX, chars=TEXT_MAX)
        args.update(scope=scope, reasons=reasons)
    elif name == "merge":
        into = " ".join(_typed(view, "into").split()).upper()
        if not REF.fullmatch(into):
            errors["into"] = w("modal.error.into")
        elif into == str(view.get("private_metadata", "")):
            errors["into"] = w("modal.error.itself")
        args.update(into=into, force=FORCE in _picked(view, FORCE))
    else:  # verified, extend, close: one text
        block = "how" if name == "verified" else "reason"
        text = " ".join(_typed(view, block).split())
        if not text or len(text) > TEXT_MAX:
            errors[block] = w("modal.error.required", chars=TEXT_MAX)
        args[block] = text
    return args, errors


def register(
    app: AsyncApp,
    engine: Engine,
    desk: CaseDesk,
    replies: Replies,
    *,
    client: AsyncWebClient,
    tell: Tell,
    groups: Groups,
    w: Words,
) -> None:
    """Add the case controls' handlers to ``app``; what they tell staff is in ``w``'s language."""
    engine = writer(engine)

    async def case_named(ref: str) -> Case | None:
        if not REF.fullmatch(ref or ""):
            return None
        return await threads.db(_case, engine, ref)

    async def decide(name: str, user: str, ref: str, args: dict[str, Any]) -> str:
        """Take the decision; what to tell the user."""
        member_of = await groups(user)
        if name == "reclassify":
            case = await threads.db(
                desk.reclassify,
                ref,
                args["intents"],
                actor=user,
                groups=member_of,
                jurisdiction=args["jurisdiction"],
            )
            intents = intent_labels(case.intents, w=w) or w("modal.done.no_intents")
            law = law_label(case.jurisdiction, w=w)
            return w("modal.done.reclassified", ref=case.ref, intents=intents, law=law)
        if name == "verified":
            await threads.db(
                replies.mark_verified, ref, actor=user, how=args["how"], groups=member_of
            )
            return w("modal.done.verified", ref=ref)
        if name == "ask":
            draft = await threads.db(
                desk.ask, ref, kind=args["kind"], needed=args["needed"], actor=user
            )
            return w("modal.done.ask", ref=ref, draft=draft.id)
        if name == "extend":
            case, draft = await threads.db(
                desk.extend, ref, reason=args["reason"], actor=user, groups=member_of
            )
            return w("modal.done.extend", ref=ref, draft=draft.id)
        if name == "reject":
            draft = await threads.db(
                desk.reject,
                ref,
                reasons=args["reasons"],
                scope=args["scope"],
                actor=user,
                groups=member_of,
            )
            return w("modal.done.reject", ref=ref, draft=draft.id)
        if name == "merge":
            target = await threads.db(
                desk.merge, ref, args["into"], actor=user, force=args["force"], groups=member_of
            )
            return w("modal.done.merge", ref=ref, into=target.ref)
        await threads.db(desk.close, ref, reason=args["reason"], actor=user, groups=member_of)
        return w("modal.done.close", ref=ref)

    def opener(decision: Decision) -> Callable[..., Awaitable[None]]:
        async def open_modal(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            user = body["user"]["id"]
            case = await case_named(str(body["actions"][0].get("value", "")))
            if case is None:
                await tell(body, w("modal.no_case"))
                return
            if case.status in FINISHED:
                status = status_label(case.status, w=w)
                await tell(body, w("modal.finished", ref=case.ref, status=status))
                return
            if decision.approvers_only:
                verdict = desk.may_decide(user, await groups(user))
                if not verdict.allowed:
                    await threads.db(
                        _record_refusal, engine, case, user, decision.refused, verdict.reason
                    )
                    await tell(
                        body, w("modal.not_allowed", reason=say(verdict_reason(verdict), w=w))
                    )
                    return
            if decision.name == "extend":  # no form for a decision that can only fail
                why_not = await threads.db(desk.why_not_extend, case.ref)
                if why_not is not None:
                    await tell(body, w("modal.not_possible", reason=say(why_not, w=w)))
                    return
            try:
                await SlackAPI(client).call(
                    "views_open", trigger_id=body["trigger_id"], view=modal(decision, case, w=w)
                )
            except SlackError as exc:
                log.warning("%s: modal not opened: %s", case.ref, exc.error)
                await tell(body, w("modal.not_opened"))

        return open_modal

    def submitter(decision: Decision) -> Callable[..., Awaitable[None]]:
        async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            args, errors = validate(decision.name, view, w=w)
            ref = str(view.get("private_metadata", ""))
            case = await case_named(ref)
            if case is None:
                errors = {next(iter(_blocks(view)), "reason"): w("modal.error.no_case")}
            if errors:
                await ack(response_action="errors", errors=errors)
                return
            assert case is not None
            user = body["user"]["id"]
            if decision.name == "merge":
                # Refusals (another requester, a finished case...) are said in the form, so
                # the merge is decided before the ack: one short transaction.
                try:
                    said = await decide(decision.name, user, case.ref, args)
                except ReplyError as exc:
                    await ack(response_action="errors", errors={"into": exc.said(w)[:300]})
                    return
                await ack()
                await tell(body, said)
                return
            await ack()
            try:
                said = await decide(decision.name, user, case.ref, args)
            except ReplyError as exc:
                await tell(body, w("modal.not_done", reason=exc.said(w)))
                return
            await tell(body, said)

        return submitted

    for decision in DECISIONS.values():
        app.action(ACTIONS[decision.name])(opener(decision))
        app.view(decision.callback_id)(submitter(decision))

    @app.action(ACTIONS["assign"])
    async def assign(ack: AsyncAck, body: dict[str, Any]) -> None:
        """A user picked in the case's "Assign to…" menu."""
        await ack()
        action = body["actions"][0]
        ref = str(action.get("block_id", "")).removeprefix("case:")
        picked = str(action.get("selected_user") or "")
        case = await case_named(ref)
        if case is None or not is_user_id(picked):
            await tell(body, w("modal.no_case_person"))
            return
        try:
            await threads.db(desk.assign, case.ref, to=picked, actor=body["user"]["id"])
        except ReplyError as exc:
            await tell(body, w("modal.not_assigned", reason=exc.said(w)))

    @app.action(ACTIONS["triage"])
    async def triage(ack: AsyncAck, body: dict[str, Any]) -> None:
        """An approver says what a case waiting for triage asks for, in one click: its
        provisional rights-request clock gives way to the one the law gives what it is."""
        await ack()
        user = body["user"]["id"]
        ref, _, choice = str(body["actions"][0].get("value", "")).partition(" ")
        case = await case_named(ref)
        if case is None or choice not in (*TRIAGE_CHOICES, AS_READ, NOT_A_REQUEST):
            await tell(body, w("modal.no_case_choice"))
            return
        if not case.needs_triage:
            read = intent_labels(case.intents, w=w) or "-"
            await tell(body, w("modal.already_decided", ref=case.ref, intents=read))
            return
        member_of = await groups(user)
        verdict = desk.may_decide(user, member_of)
        if not verdict.allowed:
            await threads.db(
                _record_refusal, engine, case, user, "reclassify refused", verdict.reason
            )
            await tell(body, w("modal.not_allowed", reason=say(verdict_reason(verdict), w=w)))
            return
        intents = list(case.intents) if choice == AS_READ else []
        if choice in TRIAGE_CHOICES:
            intents = [choice]
        try:
            done = await threads.db(
                desk.reclassify,
                case.ref,
                intents,
                actor=user,
                groups=member_of,
                not_a_request=choice == NOT_A_REQUEST or not intents,
            )
        except ReplyError as exc:
            await tell(body, w("modal.not_done", reason=exc.said(w)))
            return
        what = intent_labels(done.intents, w=w) or w("modal.done.not_a_request")
        await tell(body, w("modal.done.triaged", ref=done.ref, intents=what))


def _blocks(view: dict[str, Any]) -> list[str]:
    return list(view.get("state", {}).get("values", {}))


def _case(engine: Engine, ref: str) -> Case | None:
    with Session(engine, expire_on_commit=False) as session:
        return repo.case_by_ref(session, ref)


def _record_refusal(engine: Engine, case: Case, user: str, action: str, reason: str) -> None:
    with Session(engine) as session:
        repo.audit(session, case.id, user, action, reason=reason)
        session.commit()
