"""The Slack app (slack-bolt ``AsyncApp``): what staff do in a case's thread.

Every handler acks at once (Slack's 3-second limit) and then works: the desk's rules are in
``bot.replies`` / ``handlers``, called here in a worker thread because the database is
synchronous. Values from payloads are never trusted: a draft id, its revision and a case
reference are looked up, and a forged or stale one is refused with an ephemeral message. The
approvers are ``PD_APPROVERS`` (user IDs, and user-group IDs resolved with
``usergroups.users.list``); a refusal is recorded in the audit trail. Before any of it, the gate
of ``bot.slack.staff`` answers only staff.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot import threads
from bot.cases import CaseDesk
from bot.replies import Replies, ReplyError
from bot.slack import decisions, home
from bot.slack.api import SlackAPI, SlackError
from bot.slack.blocks import (
    ACTIONS,
    REVIEW_CALLBACK,
    draft_message,
    draft_view,
    reasons_text,
    review_view,
)
from bot.slack.staff import Staff, guard
from storage import repo
from storage.db import writer
from storage.models import Case, Draft, DraftFile, MailMessage

log = logging.getLogger("privacy_desk.slack")

EDIT_CALLBACK = "pd.draft.edit_modal"
SUBJECT_MAX = 250
BODY_MAX = 20_000
_DRAFT_VALUE = re.compile(r"(\d{1,12}):(\d{1,6})")


def _draft_value(value: str) -> tuple[int, int] | None:
    found = _DRAFT_VALUE.fullmatch(value or "")
    return (int(found[1]), int(found[2])) if found else None


def build_app(
    engine: Engine,
    replies: Replies,
    *,
    signing_secret: str,
    client: AsyncWebClient,
    channel: str,
    mask_mode: str = "partial",
    cases: CaseDesk | None = None,
    staff: tuple[str, ...] = (),
) -> AsyncApp:
    """The desk's Slack app; serve it with ``slack_bolt.adapter.aiohttp`` or Socket Mode.
    Only staff (approvers, ``staff`` IDs, members of ``channel``) get an answer from it."""
    app = AsyncApp(signing_secret=signing_secret, client=client)
    who = Staff(client, channel=channel, approvers=replies.settings.approvers, staff=staff)
    guard(app, who, engine)  # before any listener: every request passes the gate first
    # Bolt logs the whole body of a request whose signature fails at INFO: a genuine but stale
    # click carries the case message, and so a requester's words. Keep that out of the logs.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    engine = writer(engine)
    api = SlackAPI(client)  # every Web API call through the adapter (bot.slack.api)
    groups = _GroupCache(client, replies.settings.approvers)
    desk = cases or CaseDesk(engine, replies)

    async def refuse(body: dict[str, Any], text: str) -> None:
        user = body["user"]["id"]
        where = (body.get("container") or {}).get("channel_id") or channel
        thread = (body.get("message") or {}).get("thread_ts")
        try:
            await api.call(
                "chat_postEphemeral", channel=where, user=user, text=text, thread_ts=thread
            )
        except SlackError as exc:
            log.warning("could not tell %s why: %s", user, exc.error)

    async def refresh(draft_id: int) -> None:
        """Show the draft's new state in its thread message."""
        draft, case = await threads.db(_draft_and_case, engine, draft_id)
        if draft is None or case is None or not draft.slack_ts:
            return
        files = await threads.db(_files_of, engine, draft)
        text, blocks = draft_message(draft_view(draft, files), mask_mode=mask_mode)
        try:
            await api.update(
                channel=case.slack_channel or channel, ts=draft.slack_ts, text=text, blocks=blocks
            )
        except SlackError as exc:
            log.warning("draft %s not updated in Slack: %s", draft_id, exc.error)

    async def clicked(ack: AsyncAck, body: dict[str, Any]) -> tuple[str, int, int] | None:
        """Ack the click; (user, draft id, revision) it names, or None (the user is told)."""
        await ack()
        parsed = _draft_value(body["actions"][0].get("value", ""))
        if parsed is None:
            await refuse(body, "That button does not name a draft.")
            return None
        return body["user"]["id"], parsed[0], parsed[1]

    async def approve_as(body: dict[str, Any], user: str, draft_id: int, revision: int) -> None:
        """Approve that revision of the draft as ``user`` (the rules of ``Replies.approve``)."""
        member_of = await groups.of(user)
        try:
            await threads.db(
                replies.approve, draft_id, approver=user, groups=member_of, revision=revision
            )
        except ReplyError as exc:
            await refuse(body, f"Not approved: {exc}")
            return
        await refresh(draft_id)  # the approval is told in the thread by the poster

    @app.action(ACTIONS["approve"])
    async def approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = await clicked(ack, body)
        if found is None:
            return
        await approve_as(body, *found)

    async def open_form(
        ack: AsyncAck,
        body: dict[str, Any],
        doing: str,
        form: Callable[[Draft, list[DraftFile]], dict[str, Any]],
    ) -> None:
        """Ack the click and open ``form(draft, files)`` for the draft it names, while it is a
        draft."""
        await ack()
        parsed = _draft_value(body["actions"][0].get("value", ""))
        found = await threads.db(_draft_and_case, engine, parsed[0]) if parsed else None
        if parsed is None or found is None or found[0] is None or found[0].status != "draft":
            await refuse(body, f"That draft cannot be {doing} any more.")
            return
        files = await threads.db(_files_of, engine, found[0])
        try:
            await api.call("views_open", trigger_id=body["trigger_id"], view=form(found[0], files))
        except SlackError as exc:
            log.warning("draft %s: form not opened: %s", parsed[0], exc.error)
            await refuse(body, "Slack did not open the form; try again.")

    @app.action(ACTIONS["review"])
    async def review(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Under ``strict``: the draft's text, shown only to who pressed, with its approval."""
        await open_form(
            ack, body, "reviewed", lambda draft, files: review_view(draft_view(draft, files))
        )

    @app.view(REVIEW_CALLBACK)
    async def reviewed(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """ "Approve and send" in the review modal: the revision the approver read, or nothing."""
        await ack()
        parsed = _draft_value(view.get("private_metadata", ""))
        if parsed is None:
            return
        await approve_as(body, body["user"]["id"], *parsed)

    @app.action(ACTIONS["discard"])
    async def discard(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = await clicked(ack, body)
        if found is None:
            return
        user, draft_id, _revision = found
        try:
            await threads.db(replies.discard, draft_id, actor=user)
        except ReplyError as exc:
            await refuse(body, f"Not discarded: {exc}")
            return
        await refresh(draft_id)

    @app.action(ACTIONS["edit"])
    async def edit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await open_form(ack, body, "edited", lambda draft, _files: _edit_view(draft))

    @app.view(EDIT_CALLBACK)
    async def edited(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        subject = (values.get("subject", {}).get("value", {}).get("value") or "").strip()
        text = values.get("body", {}).get("value", {}).get("value") or ""
        errors = {}
        if not subject or len(subject) > SUBJECT_MAX or "\n" in subject:
            errors["subject"] = f"One line of at most {SUBJECT_MAX} characters."
        if not text.strip() or len(text) > BODY_MAX:
            errors["body"] = f"The text must not be empty (at most {BODY_MAX} characters)."
        parsed = _draft_value(view.get("private_metadata", ""))
        if parsed is None:
            errors["subject"] = "This form does not name a draft."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert parsed is not None
        user = body["user"]["id"]
        draft_id, revision = parsed
        current, _case = await threads.db(_draft_and_case, engine, draft_id)
        if current is None or current.revision != revision:
            await refuse(body, f"Draft {draft_id} changed while you edited it; nothing saved.")
            return
        try:
            await threads.db(replies.edit, draft_id, subject=subject, body=text, editor=user)
        except ReplyError as exc:
            await refuse(body, f"Not saved: {exc}")
            return
        await refresh(draft_id)

    async def clicked_case(ack: AsyncAck, body: dict[str, Any]) -> Case | None:
        await ack()
        ref = str(body["actions"][0].get("value", ""))
        case = await threads.db(_case, engine, ref)
        if case is None:
            await refuse(body, "That button does not name a case.")
        return case

    @app.action(ACTIONS["reasons"])
    async def reasons(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Why the classifier chose the intents: the phrases it found, shown to the asker."""
        case = await clicked_case(ack, body)
        if case is None:
            return
        found = await threads.db(_reasons, engine, case)
        await refuse(body, f"{case.ref}: {reasons_text(found)}")

    @app.action(ACTIONS["assign_me"])
    async def assign_me(ack: AsyncAck, body: dict[str, Any]) -> None:
        case = await clicked_case(ack, body)
        if case is None:
            return
        user = body["user"]["id"]
        try:
            await threads.db(desk.assign, case.ref, to=user, actor=user)
        except ReplyError as exc:
            await refuse(body, f"Not assigned: {exc}")

    @app.event("message")
    async def note(event: dict[str, Any]) -> None:
        """A person's reply in a case thread is an internal note in the audit trail, never mail."""
        thread = event.get("thread_ts")
        if not thread or event.get("bot_id") or event.get("subtype"):
            return
        await threads.db(
            _note,
            engine,
            event.get("channel", ""),
            thread,
            event.get("user", ""),
            event.get("text", ""),
        )

    decisions.register(app, engine, desk, replies, client=client, tell=refuse, groups=groups.of)
    home.register(app, engine, staff=who, mask_mode=mask_mode)
    return app


def _case(engine: Engine, ref: str) -> Case | None:
    if not re.fullmatch(r"PD-\d{4}-\d{6}", ref):
        return None
    with Session(engine, expire_on_commit=False) as session:
        return repo.case_by_ref(session, ref)


def _reasons(engine: Engine, case: Case) -> dict[str, list[str]]:
    with Session(engine) as session:
        first = session.exec(
            select(MailMessage)
            .where(MailMessage.case_id == case.id, MailMessage.direction == "in")
            .order_by(col(MailMessage.id))
        ).first()
        found = first.classification.get("reasons", {}) if first else {}
        return {str(k): [str(p) for p in v] for k, v in found.items()}


def _files_of(engine: Engine, draft: Draft) -> list[DraftFile]:
    """The files the draft sends (names and sizes; the bytes are not read)."""
    assert draft.id is not None
    with Session(engine, expire_on_commit=False) as session:
        return repo.draft_files(session, [draft.id], revision=draft.revision)[draft.id]


def _draft_and_case(engine: Engine, draft_id: int) -> tuple[Draft | None, Case | None]:
    with Session(engine, expire_on_commit=False) as session:
        draft = session.get(Draft, draft_id)
        case = session.get(Case, draft.case_id) if draft else None
        return draft, case


def _note(engine: Engine, channel: str, thread: str, user: str, text: str) -> None:
    with Session(engine) as session:
        case = session.exec(
            select(Case).where(Case.slack_ts == thread, Case.slack_channel == channel)
        ).first()
        if case is None:
            return
        repo.audit(session, case.id, user, "note", text=text[:4000])
        session.commit()


def _edit_view(draft: Draft) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK,
        "private_metadata": f"{draft.id}:{draft.revision}",
        "title": {"type": "plain_text", "text": f"Edit draft {draft.id}"[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "subject",
                "label": {"type": "plain_text", "text": "Subject"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "initial_value": draft.subject[:SUBJECT_MAX],
                    "max_length": SUBJECT_MAX,
                },
            },
            {
                "type": "input",
                "block_id": "body",
                "label": {"type": "plain_text", "text": "Text"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "initial_value": draft.body[:3000],
                    "max_length": 3000,
                },
            },
        ],
    }


class _GroupCache:
    """Which of the approver user-groups (IDs starting with S) a user is in."""

    def __init__(self, client: AsyncWebClient, approvers: tuple[str, ...]) -> None:
        self._api = SlackAPI(client)
        self._groups = [a for a in approvers if a.startswith("S")]

    async def of(self, user: str) -> list[str]:
        found = []
        for group in self._groups:
            try:
                response = await self._api.call("usergroups_users_list", usergroup=group)
            except SlackError as exc:
                log.warning("user group %s not readable: %s", group, exc.error)
                continue
            if user in response.get("users", []):
                found.append(group)
        return found
