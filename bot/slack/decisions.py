"""The case's own controls in Slack: assign, reclassify, identity verified, ask the requester,
extend, reject, close, merge into another case — each a button on the case's parent message that opens a modal (assign
to someone is a user picker), and the modal's submission that takes the decision.

The rules are in ``bot.cases.CaseDesk`` and ``bot.replies.Replies``; this module validates
what Slack sends (the case reference is looked up, every field is checked, errors are shown in
the modal), acks at once, and runs the decision in a worker thread. Decisions reserved to
approvers are refused at the click already (ephemeral, and recorded), then again by the desk.
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
from bot.replies import Replies, ReplyError
from bot.slack.api import SlackAPI, SlackError
from bot.slack.blocks import ACTIONS, AS_READ, INTENT_LABELS, NOT_A_REQUEST, TRIAGE_CHOICES
from bot.slack.ids import is_user_id
from handlers.intents import ALL_INTENTS
from handlers.replies import ASK_KINDS
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
    """One modal: its title, whether only approvers may take it, and its inputs."""

    name: str  # the key in ACTIONS
    title: str
    submit: str
    approvers_only: bool
    refused: str = ""  # the audit action of a refusal (the one the desk records too)

    @property
    def callback_id(self) -> str:
        return f"{ACTIONS[self.name]}_modal"


DECISIONS = {
    d.name: d
    for d in (
        Decision("reclassify", "Reclassify", "Reclassify", True, "reclassify refused"),
        Decision("verified", "Identity verified", "Record", True, "verification refused"),
        Decision("ask", "Ask the requester", "Draft the mail", False),
        Decision("extend", "Extend the deadline", "Extend", True, "extend refused"),
        Decision("reject", "Reject the request", "Draft the refusal", True, "reject refused"),
        Decision("close", "Close the case", "Close", True, "close refused"),
        Decision("merge", "Merge into…", "Merge", True, MERGE_REFUSED),
    )
}
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


def modal(decision: Decision, case: Case) -> dict[str, Any]:
    """The modal of ``decision`` for ``case`` (its reference travels as private metadata)."""
    if decision.name == "reclassify":
        intents = [(i, INTENT_LABELS.get(i, i)) for i in ALL_INTENTS]
        blocks = [_select("Intents", "intents", intents, list(case.intents), many=True)]
    elif decision.name == "verified":
        blocks = [
            _text("How was the identity verified?", "how", hint="e.g. 運転免許証の写しで確認")
        ]
    elif decision.name == "ask":
        kinds = [("identity", "Identity documents"), ("clarification", "A clarification")]
        blocks = [
            _select("Ask for", "kind", kinds, ["identity"], many=False),
            _text("What is needed (one per line)", "needed", multiline=True),
        ]
    elif decision.name == "extend":
        blocks = [_text("Reason (told to the requester)", "reason", multiline=True)]
    elif decision.name == "reject":
        scopes = [("full", "The whole request"), ("partial", "Part of the request")]
        blocks = [
            _select("Refuse", "scope", scopes, ["full"], many=False),
            _text(
                "Reasons (one per line; told to the requester, APPI Art. 36)",
                "reasons",
                multiline=True,
            ),
        ]
    elif decision.name == "merge":
        blocks = merge_inputs(case)
    else:
        blocks = [_text("Why is the case closed?", "reason", multiline=True)]
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Case {case.ref}"}],
    }
    return {
        "type": "modal",
        "callback_id": decision.callback_id,
        "private_metadata": case.ref,
        "title": {"type": "plain_text", "text": decision.title[:24]},
        "submit": {"type": "plain_text", "text": decision.submit[:24]},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [context, *blocks],
    }


def merge_inputs(case: Case) -> list[dict[str, Any]]:
    """The merge form: the case to merge into, and a checkbox that forces a merge of two
    different requesters' cases (audited as forced)."""
    force = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [
            {
                "text": {"type": "plain_text", "text": "Different requesters: force the merge"},
                "description": {
                    "type": "plain_text",
                    "text": "Only if one person wrote from two addresses; recorded as forced.",
                },
                "value": FORCE,
            }
        ],
    }
    return [
        _text(
            f"Merge {case.ref} into (case reference)",
            "into",
            hint=f"{case.ref} is closed; its mail, in and out, moves to that case.",
        ),
        {
            "type": "input",
            "block_id": FORCE,
            "optional": True,
            "label": {"type": "plain_text", "text": "Different requesters"},
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


def validate(name: str, view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the decision's arguments, errors by block) from a submitted modal."""
    errors: dict[str, str] = {}
    args: dict[str, Any] = {}
    if name == "reclassify":
        intents = _picked(view, "intents")
        if not intents or any(i not in ALL_INTENTS for i in intents):
            errors["intents"] = "Choose at least one intent from the list."
        args["intents"] = intents
    elif name == "ask":
        kind = (_picked(view, "kind") or [""])[0]
        needed = _lines(_typed(view, "needed"))
        if kind not in ASK_KINDS:
            errors["kind"] = "Choose what to ask for."
        if not needed or len(needed) > LINES_MAX:
            errors["needed"] = f"Say what is needed, one item per line (at most {LINES_MAX})."
        args.update(kind=kind, needed=needed)
    elif name == "reject":
        scope = (_picked(view, "scope") or [""])[0]
        reasons = _lines(_typed(view, "reasons"))
        if scope not in REJECT_SCOPES:
            errors["scope"] = "Choose how much is refused."
        if not reasons or len(reasons) > LINES_MAX or any(len(r) > TEXT_MAX for r in reasons):
            errors["reasons"] = (
                f"Give the reasons, one per line (at most {LINES_MAX}, {TEXT_MAX} characters each)."
            )
        args.update(scope=scope, reasons=reasons)
    elif name == "merge":
        into = " ".join(_typed(view, "into").split()).upper()
        if not REF.fullmatch(into):
            errors["into"] = "A case reference, like PD-2026-000123."
        elif into == str(view.get("private_metadata", "")):
            errors["into"] = "A case cannot be merged into itself."
        args.update(into=into, force=FORCE in _picked(view, FORCE))
    else:  # verified, extend, close: one text
        block = "how" if name == "verified" else "reason"
        text = " ".join(_typed(view, block).split())
        if not text or len(text) > TEXT_MAX:
            errors[block] = f"Required, at most {TEXT_MAX} characters."
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
) -> None:
    """Add the case controls' handlers to ``app``."""
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
                desk.reclassify, ref, args["intents"], actor=user, groups=member_of
            )
            return f"{case.ref} reclassified: {', '.join(case.intents) or 'no intents'}."
        if name == "verified":
            await threads.db(
                replies.mark_verified, ref, actor=user, how=args["how"], groups=member_of
            )
            return f"{ref}: identity recorded as verified."
        if name == "ask":
            draft = await threads.db(
                desk.ask, ref, kind=args["kind"], needed=args["needed"], actor=user
            )
            return f"{ref}: draft {draft.id} asks the requester; it goes out once approved."
        if name == "extend":
            case, draft = await threads.db(
                desk.extend, ref, reason=args["reason"], actor=user, groups=member_of
            )
            return f"{ref}: deadline extended; draft {draft.id} tells the requester."
        if name == "reject":
            draft = await threads.db(
                desk.reject,
                ref,
                reasons=args["reasons"],
                scope=args["scope"],
                actor=user,
                groups=member_of,
            )
            return f"{ref}: refusal drafted ({draft.id}); the case is rejected once it is sent."
        if name == "merge":
            target = await threads.db(
                desk.merge, ref, args["into"], actor=user, force=args["force"], groups=member_of
            )
            return f"{ref} merged into {target.ref}."
        await threads.db(desk.close, ref, reason=args["reason"], actor=user, groups=member_of)
        return f"{ref} closed."

    def opener(decision: Decision) -> Callable[..., Awaitable[None]]:
        async def open_modal(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            user = body["user"]["id"]
            case = await case_named(str(body["actions"][0].get("value", "")))
            if case is None:
                await tell(body, "That button does not name a case.")
                return
            if case.status in FINISHED:
                await tell(body, f"{case.ref} is {case.status}.")
                return
            if decision.approvers_only:
                verdict = desk.may_decide(user, await groups(user))
                if not verdict.allowed:
                    await threads.db(
                        _record_refusal, engine, case, user, decision.refused, verdict.reason
                    )
                    await tell(body, f"Not allowed: {verdict.reason}")
                    return
            try:
                await SlackAPI(client).call(
                    "views_open", trigger_id=body["trigger_id"], view=modal(decision, case)
                )
            except SlackError as exc:
                log.warning("%s: modal not opened: %s", case.ref, exc.error)
                await tell(body, "Slack did not open the form; try again.")

        return open_modal

    def submitter(decision: Decision) -> Callable[..., Awaitable[None]]:
        async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            args, errors = validate(decision.name, view)
            ref = str(view.get("private_metadata", ""))
            case = await case_named(ref)
            if case is None:
                errors = {next(iter(_blocks(view)), "reason"): "This form names no case."}
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
                    await ack(response_action="errors", errors={"into": str(exc)[:300]})
                    return
                await ack()
                await tell(body, said)
                return
            await ack()
            try:
                said = await decide(decision.name, user, case.ref, args)
            except ReplyError as exc:
                await tell(body, f"Not done: {exc}")
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
            await tell(body, "That menu does not name a case and a person.")
            return
        try:
            await threads.db(desk.assign, case.ref, to=picked, actor=body["user"]["id"])
        except ReplyError as exc:
            await tell(body, f"Not assigned: {exc}")

    @app.action(ACTIONS["triage"])
    async def triage(ack: AsyncAck, body: dict[str, Any]) -> None:
        """An approver says what a case waiting for triage asks for, in one click: its
        provisional rights-request clock gives way to the one the law gives what it is."""
        await ack()
        user = body["user"]["id"]
        ref, _, choice = str(body["actions"][0].get("value", "")).partition(" ")
        case = await case_named(ref)
        if case is None or choice not in (*TRIAGE_CHOICES, AS_READ, NOT_A_REQUEST):
            await tell(body, "That button does not name a case and what it asks for.")
            return
        if not case.needs_triage:
            await tell(body, f"{case.ref} was already decided: {', '.join(case.intents) or '-'}.")
            return
        member_of = await groups(user)
        verdict = desk.may_decide(user, member_of)
        if not verdict.allowed:
            await threads.db(
                _record_refusal, engine, case, user, "reclassify refused", verdict.reason
            )
            await tell(body, f"Not allowed: {verdict.reason}")
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
            await tell(body, f"Not done: {exc}")
            return
        what = ", ".join(INTENT_LABELS.get(i, i) for i in done.intents) or "not a request"
        await tell(body, f"{done.ref} triaged: {what}.")


def _blocks(view: dict[str, Any]) -> list[str]:
    return list(view.get("state", {}).get("values", {}))


def _case(engine: Engine, ref: str) -> Case | None:
    with Session(engine, expire_on_commit=False) as session:
        return repo.case_by_ref(session, ref)


def _record_refusal(engine: Engine, case: Case, user: str, action: str, reason: str) -> None:
    with Session(engine) as session:
        repo.audit(session, case.id, user, action, reason=reason)
        session.commit()
