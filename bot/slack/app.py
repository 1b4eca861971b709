"""The Slack app (slack-bolt ``AsyncApp``): what staff do in a case's thread.

Every handler acks at once (Slack's 3-second limit) and then works: the desk's rules are in
``bot.replies`` / ``handlers``, called here in a worker thread because the database is
synchronous. Values from payloads are never trusted: a draft id, its revision and a case
reference are looked up, and a forged or stale one is refused with an ephemeral message. The
approvers are ``PD_APPROVERS`` (user IDs, and user-group IDs resolved with
``usergroups.users.list``); a refusal is recorded in the audit trail, and told to who pressed
alone: ephemerally, or in a direct message when they are not in the channel (``SlackAPI.tell``). Before any of it, the gate
of ``bot.slack.staff`` answers only staff. Staff read every answer in their language (``[app]``
of ``bot.words``; a refusal's reason through ``ReplyError.said``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot import threads
from bot.cases import CaseDesk
from bot.replies import DraftRenewed, Reason, Replies, ReplyError
from bot.slack import case_link, decisions, home
from bot.slack.api import SlackAPI, SlackError
from bot.slack.blocks import (
    ACTIONS,
    DRAFT_READ,
    REVIEW_CALLBACK,
    draft_message,
    draft_view,
    fits_review,
    reasons_text,
    review_refused,
    review_view,
    shows_whole,
    split_at_line_ends,
    units,
)
from bot.slack.ids import is_user_id
from bot.slack.staff import Staff, guard
from bot.web.links import Links
from bot.words import DEFAULT, Words
from bot.words import words as staff_words
from storage import repo
from storage.db import writer
from storage.models import AuditEvent, Case, Draft, DraftFile, MailMessage

log = logging.getLogger("privacy_desk.slack")

EDIT_CALLBACK = "pd.draft.edit_modal"
SUBJECT_MAX = 998  # RFC 5322's longest line: a longer subject is refused, never cut
INPUT_MAX = 3000  # Slack's max_length of a plain_text_input
EDIT_PARTS = 40  # text inputs of the edit form at most (a modal holds 100 blocks)
BODY_MAX = EDIT_PARTS * INPUT_MAX
_DRAFT_VALUE = re.compile(r"(\d{1,12}):(\d{1,6})")
# The edit form's metadata: draft:revision:joins, one letter per text part: "n" when a line
# break follows the part, "c" when the next part continues the same line.
_EDIT_META = re.compile(rf"(\d{{1,12}}):(\d{{1,6}}):([nc]{{1,{EDIT_PARTS}}})")


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
    links: Links | None = None,
    words: Words | None = None,
) -> AsyncApp:
    """The desk's Slack app; serve it with ``slack_bolt.adapter.aiohttp`` or Socket Mode.
    Only staff (approvers, ``staff`` IDs, members of ``channel``) get an answer from it. With
    ``links`` (PD_PUBLIC_URL set) the "Case file" buttons answer with signed links."""
    app = AsyncApp(signing_secret=signing_secret, client=client)
    w = words or staff_words(DEFAULT)  # PD_STAFF_LANGUAGE: every text staff read
    who = Staff(client, channel=channel, approvers=replies.settings.approvers, staff=staff)
    guard(app, who, engine, w=w)  # before any listener: every request passes the gate first
    # Bolt logs the whole body of a request whose signature fails at INFO: a genuine but stale
    # click carries the case message, and so a requester's words. Keep that out of the logs.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    engine = writer(engine)
    api = SlackAPI(client)  # every Web API call through the adapter (bot.slack.api)
    groups = _GroupCache(client, replies.settings.approvers)
    desk = cases or CaseDesk(engine, replies)

    async def refuse(body: dict[str, Any], text: str) -> None:
        user = body["user"]["id"]
        if is_user_id(user):  # "U0… is not an approver": people appear as mentions
            text = re.sub(rf"(?<![@\w]){re.escape(user)}(?!\w)", f"<@{user}>", text)
        where = (body.get("container") or {}).get("channel_id") or channel
        thread = (body.get("message") or {}).get("thread_ts")
        try:  # ephemeral; a direct message to someone not in the channel (an approver, say)
            told = await api.tell(user, text, channel=where, thread_ts=thread)
        except SlackError as exc:
            log.warning("could not tell %s why: %s", user, exc.error)
            return
        if told == "direct":
            log.info("%s told in a direct message (not in the channel)", user)

    async def refresh(draft_id: int) -> None:
        """Show the draft's new state in its thread message."""
        draft, case = await threads.db(_draft_and_case, engine, draft_id)
        if draft is None or case is None or not draft.slack_ts:
            return
        files = await threads.db(_files_of, engine, draft)
        text, blocks = draft_message(draft_view(draft, files), w=w, mask_mode=mask_mode)
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
            await refuse(body, w("app.no_draft"))
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
            await refuse(body, w("app.not_approved", reason=exc.said(w)))
            if isinstance(exc, DraftRenewed):  # the thread shows the new revision to read
                await refresh(draft_id)
            return
        await refresh(draft_id)  # the approval is told in the thread by the poster

    @app.action(ACTIONS["approve"])
    async def approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        """ "Approve and send" in the thread: only for a draft its message shows whole."""
        found = await clicked(ack, body)
        if found is None:
            return
        draft, _case = await threads.db(_draft_and_case, engine, found[1])
        if draft is not None and not shows_whole(draft_view(draft), mask_mode):
            await refuse(body, w("app.longer_than_shown", draft=draft.id))
            return
        await approve_as(body, *found)

    async def open_form(
        ack: AsyncAck,
        body: dict[str, Any],
        gone: str,
        form: Callable[[Draft, str], Awaitable[dict[str, Any] | str]],
    ) -> None:
        """Ack the click and open ``form(draft, user)`` for the draft it names, while it is a
        draft (else refuses with the text ``gone``); a ``form`` that answers with text refuses
        with it instead."""
        await ack()
        parsed = _draft_value(body["actions"][0].get("value", ""))
        found = await threads.db(_draft_and_case, engine, parsed[0]) if parsed else None
        if parsed is None or found is None or found[0] is None or found[0].status != "draft":
            await refuse(body, gone)
            return
        view = await form(found[0], body["user"]["id"])
        if isinstance(view, str):
            await refuse(body, view)
            return
        try:
            await api.call("views_open", trigger_id=body["trigger_id"], view=view)
        except SlackError as exc:
            log.warning("draft %s: form not opened: %s", parsed[0], exc.error)
            await refuse(body, w("app.form_not_opened"))

    async def review_form(draft: Draft, user: str) -> dict[str, Any] | str:
        # built in a worker thread: splitting a long draft is linear, but not free
        return await threads.db(_review_form, engine, draft, user, w)

    async def edit_form(draft: Draft, user: str) -> dict[str, Any] | str:
        return await threads.db(_edit_form, draft, w)

    @app.action(ACTIONS["review"])
    async def review(ack: AsyncAck, body: dict[str, Any]) -> None:
        """The whole draft, shown only to who pressed, with its approval (``review_view``)."""
        await open_form(ack, body, w("app.not_reviewable"), review_form)

    @app.view(REVIEW_CALLBACK)
    async def reviewed(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """ "Approve and send" in the review modal: the revision the approver read, or nothing.
        A review made stale by an edit, or of a draft too long for the modal that was not read on
        the case-file page, is refused in the modal itself (recorded): the approver sees why
        even when they are not in the channel."""
        parsed = _draft_value(view.get("private_metadata", ""))
        if parsed is None:
            await ack()
            return
        user = body["user"]["id"]
        reason = await threads.db(_review_problem, engine, *parsed, user)
        if reason is not None:
            problem = reason.text(w)
            await ack(response_action="update", view=review_refused(parsed[0], problem, w=w))
            return
        await ack()
        await approve_as(body, user, *parsed)

    @app.action(ACTIONS["discard"])
    async def discard(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = await clicked(ack, body)
        if found is None:
            return
        user, draft_id, _revision = found
        try:
            await threads.db(replies.discard, draft_id, actor=user)
        except ReplyError as exc:
            await refuse(body, w("app.not_discarded", reason=exc.said(w)))
            return
        await refresh(draft_id)

    @app.action(ACTIONS["edit"])
    async def edit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await open_form(ack, body, w("app.not_editable"), edit_form)

    @app.view(EDIT_CALLBACK)
    async def edited(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        subject = (values.get("subject", {}).get("value", {}).get("value") or "").strip()
        meta = _EDIT_META.fullmatch(str(view.get("private_metadata", "")))
        text = edit_text(values, meta[3]) if meta else ""
        errors = {}
        if not subject or units(subject) > SUBJECT_MAX or "\n" in subject:
            errors["subject"] = w("app.subject_line", max=SUBJECT_MAX)
        if not text.strip() or units(text) > BODY_MAX:
            errors["body_1"] = w("app.text_size", max=f"{BODY_MAX:,}")
        if meta is None:
            errors["subject"] = w("app.form_names_no_draft")
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert meta is not None
        user = body["user"]["id"]
        draft_id, revision = int(meta[1]), int(meta[2])
        current, _case = await threads.db(_draft_and_case, engine, draft_id)
        if current is None or current.revision != revision:
            await refuse(body, w("app.changed_while_editing", draft=draft_id))
            return
        if (subject, text) == (current.subject, current.body):
            return  # saved unchanged: the revision (and any review of it) stays as it was
        try:
            await threads.db(replies.edit, draft_id, subject=subject, body=text, editor=user)
        except ReplyError as exc:
            await refuse(body, w("app.not_saved", reason=exc.said(w)))
            return
        await refresh(draft_id)

    async def clicked_case(ack: AsyncAck, body: dict[str, Any]) -> Case | None:
        await ack()
        ref = str(body["actions"][0].get("value", ""))
        case = await threads.db(_case, engine, ref)
        if case is None:
            await refuse(body, w("app.no_case"))
        return case

    @app.action(ACTIONS["reasons"])
    async def reasons(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Why the classifier chose the intents: the phrases it found, shown to the asker."""
        case = await clicked_case(ack, body)
        if case is None:
            return
        found = await threads.db(_reasons, engine, case)
        await refuse(body, f"{case.ref}: {reasons_text(found, w=w)}")

    @app.action(ACTIONS["assign_me"])
    async def assign_me(ack: AsyncAck, body: dict[str, Any]) -> None:
        case = await clicked_case(ack, body)
        if case is None:
            return
        user = body["user"]["id"]
        try:
            await threads.db(desk.assign, case.ref, to=user, actor=user)
        except ReplyError as exc:
            await refuse(body, w("app.not_assigned", reason=exc.said(w)))

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

    decisions.register(
        app, engine, desk, replies, client=client, tell=refuse, groups=groups.of, w=w
    )
    home.register(app, engine, staff=who, mask_mode=mask_mode, w=w)
    if links is not None:
        case_link.register(app, engine, links, client=client, channel=channel, w=w)
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
        # whole: Slack caps a message at 40,000 characters, and a note is never cut silently
        repo.audit(session, case.id, user, "note", text=text)
        session.commit()


def _review_form(engine: Engine, draft: Draft, user: str, w: Words) -> dict[str, Any]:
    """The review modal of ``draft`` for ``user`` (approvable when they read it on the page)."""
    assert draft.id is not None
    with Session(engine, expire_on_commit=False) as session:
        read = _was_read(session, draft, draft.revision, user)
        files = repo.draft_files(session, [draft.id], revision=draft.revision)[draft.id]
    return review_view(draft_view(draft, files), w=w, read_on_page=read)


def _edit_form(draft: Draft, w: Words) -> dict[str, Any] | str:
    """The edit form of ``draft``, or why Slack cannot hold it (nothing is ever cut)."""
    too_long = units(draft.body) > EDIT_PARTS * (INPUT_MAX + 1)  # spare the splitting
    if too_long or units(draft.subject) > SUBJECT_MAX or len(edit_parts(draft.body)) > EDIT_PARTS:
        return w(
            "app.too_long_to_edit",
            draft=draft.id,
            parts=EDIT_PARTS,
            chars=f"{INPUT_MAX:,}",
            subject=SUBJECT_MAX,
        )
    return edit_view(draft, w=w)


def _review_problem(engine: Engine, draft_id: int, revision: int, user: str) -> Reason | None:
    """Why the review of ``revision`` cannot approve the draft now (recorded), or None: the
    draft changed since, or it is too long for the modal and ``user`` did not read it on the
    case-file page. ``Replies.approve`` checks the rest (who may approve, the revision again)."""
    with Session(engine, expire_on_commit=False) as session:
        draft = session.get(Draft, draft_id)
        if draft is None or draft.status != "draft":
            return None  # Replies.approve says what became of it
        if draft.revision != revision:
            problem = Reason("review_changed", draft=draft_id, seen=revision, now=draft.revision)
        elif not fits_review(draft_view(draft)) and not _was_read(session, draft, revision, user):
            problem = Reason("read_on_page_first", draft=draft_id, revision=revision)
        else:
            return None
        said = str(problem)  # the audit trail is in English
        repo.audit(session, draft.case_id, user, "approval refused", reason=said, draft=draft_id)
        session.commit()
        return problem


def _was_read(session: Session, draft: Draft, revision: int, user: str) -> bool:
    """The case-file page records a staff member's reading of a draft as the audit action
    ``DRAFT_READ`` with the draft's id and revision."""
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.case_id == draft.case_id,
            AuditEvent.action == DRAFT_READ,
            AuditEvent.actor == user,
        )
    )
    return any(
        isinstance(e.detail, dict)
        and (e.detail.get("draft"), e.detail.get("revision")) == (draft.id, revision)
        for e in events
    )


def edit_parts(body: str) -> list[str]:
    """The draft's text as the edit form's parts, each at most ``INPUT_MAX`` (Slack's limit of a
    text input) without the line break that ends it: split at line ends (``split_at_line_ends``),
    a line longer than an input cut where the input is full."""
    return split_at_line_ends(body, INPUT_MAX, lambda part: units(part.removesuffix("\n")))


def _joins(parts: list[str]) -> str:
    return "".join("n" if part.endswith("\n") else "c" for part in parts)


def edit_text(values: dict[str, Any], joins: str) -> str:
    """The text of a submitted edit form: ``body_1``… rejoined as ``edit_parts`` cut them, a line
    break after each part that ended a line ("n" in ``joins``) and none after a part cut inside a
    line ("c"); what staff add in ``body_more`` follows on a line of its own. An unchanged form
    gives back the draft's text byte for byte."""

    def typed(block: str) -> str:
        return str(values.get(block, {}).get("value", {}).get("value") or "")

    text = "".join(
        typed(f"body_{n}") + ("\n" if join == "n" else "") for n, join in enumerate(joins, 1)
    )
    more = typed("body_more")
    if more.strip():
        text += ("" if not text or text.endswith("\n") else "\n") + more
    return text


def _text_input(block: str, label: str, value: str, *, hint: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": INPUT_MAX,
    }
    if value:
        element["initial_value"] = value
    found: dict[str, Any] = {
        "type": "input",
        "block_id": block,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        found["hint"] = {"type": "plain_text", "text": hint}
    return found


def edit_view(draft: Draft, *, w: Words) -> dict[str, Any]:
    """The edit form: the subject and the whole text over ``body_1``…``body_n`` (``edit_parts``),
    nothing cut, and ``body_more`` to add at the end. Saving a new revision makes earlier reviews
    and approvals of the draft stale."""
    parts = edit_parts(draft.body) or [""]
    joins = _joins(parts)
    many = len(parts) > 1
    inputs = [
        _text_input(
            f"body_{n}",
            w("app.edit_text_part", n=n, parts=len(parts)) if many else w("app.edit_text"),
            part.removesuffix("\n"),
            hint=w("app.edit_continues") if n > 1 and joins[n - 2] == "c" else "",
        )
        for n, part in enumerate(parts, 1)
    ]
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK,
        "private_metadata": f"{draft.id}:{draft.revision}:{joins}",
        "title": {"type": "plain_text", "text": w("app.edit_title", draft=draft.id)[:24]},
        "submit": {"type": "plain_text", "text": w("app.edit_save")},
        "close": {"type": "plain_text", "text": w("app.edit_cancel")},
        "blocks": [
            {
                "type": "input",
                "block_id": "subject",
                "label": {"type": "plain_text", "text": w("app.edit_subject")},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "initial_value": draft.subject,
                    "max_length": SUBJECT_MAX,
                },
            },
            *inputs,
            _text_input("body_more", w("app.edit_more"), ""),
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
