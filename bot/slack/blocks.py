"""Block Kit for the case threads: what staff see of a case and of a draft, as plain data.

Everything that came from an email is escaped for mrkdwn (``&``, ``<``, ``>``), so a
``<!channel>``, a ``<@U…>`` or a disguised ``<https://…|link>`` in a message pings no one and
hides no URL; text from mail is shown as ``PD_SLACK_MASK`` allows (``from_mail``); every text is cut to Block Kit's limits with a marker, and a message never has
more than 50 blocks. Buttons carry the case reference or ``draft:revision`` as their value; the
handlers check both against the database before acting (a forged value is refused there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.slack.ids import is_user_id
from handlers.clock import TOKYO
from handlers.redact import redact_contacts
from handlers.status import FINISHED, WAITING

if TYPE_CHECKING:
    from storage.models import Draft, DraftFile

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
FALLBACK_TEXT = 3000  # the notification text; Slack allows more, nobody reads more
CUT = "…(truncated)"

# action_id of every control the desk puts in a case thread
ACTIONS = {
    "assign_me": "pd.case.assign_me",
    "assign": "pd.case.assign",
    "reclassify": "pd.case.reclassify",
    "verified": "pd.case.verified",
    "ask": "pd.case.ask",
    "extend": "pd.case.extend",
    "reject": "pd.case.reject",
    "close": "pd.case.close",
    "merge": "pd.case.merge",
    "reasons": "pd.case.reasons",
    "triage": "pd.case.triage",
    "approve": "pd.draft.approve",
    "review": "pd.draft.review",
    "edit": "pd.draft.edit",
    "discard": "pd.draft.discard",
    "case_file": "pd.case.file",  # answered with a signed link to the case-file page
}

INTENT_LABELS = {
    "disclosure": "開示 disclosure",
    "correction": "訂正 correction",
    "deletion": "削除 deletion",
    "stop_use": "利用停止 stop use",
    "stop_provision": "第三者提供停止 stop provision",
    "complaint": "苦情 complaint",
    "inquiry": "問い合わせ inquiry",
    "provider_correction": "掲載修正 provider correction",
    "rate_question": "料金質問 rate question",
    "auto_reply": "自動応答 auto-reply",
    "spam": "spam",
}


def escape(text: str) -> str:
    """mrkdwn-safe: Slack reads ``<…>`` as a link, mention or command, and ``&`` as an entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, the cut marked."""
    return text if len(text) <= limit else text[: max(limit - len(CUT), 0)] + CUT


def mask(address: str, mode: str = "partial") -> str:
    """The requester's address as the operator wants it shown: ``partial`` (``h***@example.jp``),
    ``domain`` (``***@example.jp``), ``none`` and ``strict`` (hidden) or ``full``."""
    local, _, domain = address.partition("@")
    if mode == "full":
        return address
    if mode == "strict":
        return "(in the case file)"
    if mode == "none" or not address:
        return "(hidden)"
    if mode == "domain":
        return f"***@{domain}" if domain else "***"
    return f"{local[:1]}***@{domain}" if domain else address[:1] + "***"


def from_mail(text: str, mode: str = "partial") -> str:
    """Text from a requester's mail (an excerpt, a subject) as the channel may show it under
    ``PD_SLACK_MASK``: whole under ``full``; under ``partial``, ``domain`` and ``none`` with
    e-mail addresses, phone numbers, postal codes and account or member numbers redacted; under
    ``strict`` nothing at all (staff read it in the case file)."""
    if mode == "full":
        return text
    if mode == "strict":
        return ""
    return redact_contacts(text)


def _time(value: datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST") if value else "-"


def time_left(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "no deadline"
    seconds = (due - now).total_seconds()
    days, rest = divmod(abs(seconds), 86400)
    text = f"{int(days)}d {int(rest // 3600)}h"
    return f"{text} left" if seconds >= 0 else f"OVERDUE by {text}"


@dataclass(frozen=True)
class CaseView:
    """What a case's parent message shows (built from the database by the caller)."""

    ref: str
    status: str
    kind: str
    intents: tuple[str, ...]
    language: str
    requester: str
    received_at: datetime
    answer_due: datetime | None
    excerpt: str = ""
    assignee: str | None = None
    verified: bool = False
    needs_triage: bool = False
    triage_due: datetime | None = None
    flags: tuple[str, ...] = ()
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The requester's other cases (``storage.repo.requester_history``): (reference, status).
    history: tuple[tuple[str, str], ...] = ()


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_TEXT)}


def _button(label: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": ACTIONS[action],
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def case_message(
    case: CaseView, now: datetime, *, mask_mode: str = "partial"
) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) of a case's parent message."""
    intents = ", ".join(INTENT_LABELS.get(i, i) for i in case.intents) or "(none recognised)"
    state = case.status + (" · triage" if case.needs_triage else "")
    state += " · identity verified" if case.verified else ""
    fields = [
        _field("Intents", escape(intents)),
        _field("Status", escape(state)),
        _field("Requester", escape(mask(case.requester, mask_mode))),
        _field("Language", escape(case.language or "-")),
        _field("Received", _time(case.received_at)),
        _field("Due", _due(case, now)),
        _field(
            "Assignee",
            f"<@{case.assignee}>" if is_user_id(case.assignee) else escape(case.assignee or "-"),
        ),
    ]
    if case.flags:
        fields.append(_field("Flags", escape(", ".join(case.flags))))
    triage = case.needs_triage and case.status not in FINISHED
    blocks: list[dict[str, Any]] = [_section(triage_notice(case, now))] if triage else []
    blocks += [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(f"{case.ref} · {intents}", HEADER_TEXT)},
        },
        {"type": "section", "fields": fields[:10]},
    ]
    excerpt = from_mail(case.excerpt, mask_mode).strip()
    if excerpt:
        quoted = "\n".join(f"> {line}" for line in escape(excerpt).splitlines())
        blocks.append(_section(quoted))
    if case.history:
        blocks.append(history_line(case.history, mask_mode))
    if triage:
        blocks += triage_controls(case)
    blocks.append(
        {"type": "actions", "block_id": f"case:{case.ref}", "elements": case_controls(case)}
    )
    text = f"{case.ref}: {intents} — {state}, {time_left(case.answer_due, now)}"
    if triage:
        text = f"Needs triage by {_time(case.triage_due)} · {text}"
    return escape(clip(text, FALLBACK_TEXT)), limit(blocks)


def history_line(history: Sequence[tuple[str, str]], mask_mode: str) -> dict[str, Any]:
    """A context line naming the requester's other cases, with their statuses (references only
    under ``strict``): nothing of the requester themselves."""
    strict = mask_mode == "strict"
    named = [ref if strict else f"{ref} ({status})" for ref, status in history]
    text = f"Same requester: {', '.join(named)}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(escape(text), 3000)}]}


# What a person can say a case waiting for triage asks for, one button each (machine mail and
# spam are "Not a request").
TRIAGE_CHOICES = (
    "disclosure",
    "correction",
    "deletion",
    "stop_use",
    "stop_provision",
    "complaint",
    "inquiry",
    "provider_correction",
    "rate_question",
)
NOT_A_REQUEST = "none"
AS_READ = "as-read"


def triage_notice(case: CaseView, now: datetime) -> str:
    """The first thing a case waiting for triage says: nobody has decided what it asks for."""
    return (
        f":warning: *Needs triage by {_time(case.triage_due)}* "
        f"({time_left(case.triage_due, now)}): nobody has decided what this mail asks for. "
        "Until an approver does, it runs on the strictest rights-request deadline. "
        "Pick what it asks for (approvers only), or use *Reclassify* for several intents."
    )


def triage_controls(case: CaseView) -> list[dict[str, Any]]:
    """One button per intent, "as read" when the classifier found some, and "Not a request":
    each in a block of its own, since one block may not repeat an action_id."""
    buttons = []
    if case.intents:
        read = ", ".join(INTENT_LABELS.get(i, i) for i in case.intents)
        buttons.append(_button(f"As read: {read}", "triage", f"{case.ref} {AS_READ}", "primary"))
    buttons += [
        _button(INTENT_LABELS[intent], "triage", f"{case.ref} {intent}")
        for intent in TRIAGE_CHOICES
    ]
    buttons.append(_button("Not a request", "triage", f"{case.ref} {NOT_A_REQUEST}"))
    return [
        {"type": "actions", "block_id": f"triage:{case.ref}:{n}", "elements": [button]}
        for n, button in enumerate(buttons)
    ]


RIGHTS = ("disclosure", "correction", "deletion", "stop_use", "stop_provision")


def _due(case: CaseView, now: datetime) -> str:
    if case.answer_due is None and case.status in WAITING:
        return "clock stopped: waiting on the requester"
    return f"{_time(case.answer_due)}\n{time_left(case.answer_due, now)}"


def case_file_button(ref: str) -> dict[str, Any]:
    """The button that asks for a link to the case's page (answered to the clicker alone)."""
    return _button("ケースファイル Case file", "case_file", ref)


def case_controls(case: CaseView) -> list[dict[str, Any]]:
    """The controls an open case offers (a closed one: only "Why?")."""
    why = _button("Why?", "reasons", case.ref)
    if case.status in FINISHED:
        return [why]
    controls = [
        _button("Assign to me", "assign_me", case.ref),
        {
            "type": "users_select",
            "action_id": ACTIONS["assign"],
            "placeholder": {"type": "plain_text", "text": "Assign to…"},
        },
        _button("Reclassify", "reclassify", case.ref),
    ]
    if not case.verified:
        controls.append(_button("Identity verified", "verified", case.ref))
    controls.append(_button("Ask requester", "ask", case.ref))
    if case.answer_due is not None:
        controls.append(_button("Extend", "extend", case.ref))
    if any(i in RIGHTS for i in case.intents):
        controls.append(_button("Reject", "reject", case.ref, "danger"))
    controls += [
        _button("Merge into…", "merge", case.ref),
        _button("Close", "close", case.ref),
        why,
    ]
    return controls


def reasons_text(reasons: Mapping[str, Sequence[str]]) -> str:
    """Why the classifier chose each intent (the phrases it found), escaped."""
    if not reasons:
        return "No phrases matched: the case was opened for triage."
    lines = [
        f"*{escape(INTENT_LABELS.get(intent, intent))}*: "
        + ", ".join(f"`{escape(p)}`" for p in phrases)
        for intent, phrases in sorted(reasons.items())
    ]
    return clip("\n".join(lines), SECTION_TEXT)


@dataclass(frozen=True)
class DraftView:
    id: int
    revision: int
    template: str
    language: str
    subject: str
    body: str
    status: str
    edited_by: str | None = None
    approved_by: str | None = None
    files: tuple[tuple[str, int], ...] = ()  # (name, bytes) of the files it sends


def draft_view(draft: Draft, files: Sequence[DraftFile] = ()) -> DraftView:
    """A stored ``storage.models.Draft`` as the thread shows it, with the files it carries
    (``storage.repo.draft_files``; those of later revisions than the draft's are left out)."""
    assert draft.id is not None, "only a stored draft is shown"
    return DraftView(
        id=draft.id,
        revision=draft.revision,
        template=draft.template,
        language=draft.language,
        subject=draft.subject,
        body=draft.body,
        status=draft.status,
        edited_by=draft.edited_by,
        approved_by=draft.approved_by,
        files=tuple((f.name, f.size) for f in files if f.revision <= draft.revision),
    )


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def files_text(draft: DraftView, *, named: bool = True) -> str | None:
    """What an approver is told of the files the draft sends (None: it sends none). Under
    ``strict`` masking the channel gets their number and size only: a name may name the
    requester."""
    if not draft.files:
        return None
    if not named:
        total = sum(size for _, size in draft.files)
        return f"Attached: {len(draft.files)} files, {_size(total)} (names in the review)"
    return "Attached:\n" + "\n".join(f"• {name} ({_size(size)})" for name, size in draft.files)


def draft_message(
    draft: DraftView, *, mask_mode: str = "partial"
) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) of a draft in the thread, with approve / edit / discard. Under ``strict``
    the thread shows no text of it (a draft names the requester): "Review" shows it to whoever
    presses it, in a modal of their own, and approves from there — an approver approves exactly
    what they saw."""
    value = f"{draft.id}:{draft.revision}"
    head = f"Draft {draft.id} · {draft.template} · {draft.language} · revision {draft.revision}"
    strict = mask_mode == "strict"
    if strict:
        blocks: list[dict[str, Any]] = [
            _section(f"*{escape(head)}*\n_Its text is in the case file; *Review* shows it to you._")
        ]
    else:
        body = "\n".join(f"> {line}" for line in escape(draft.body).splitlines())
        blocks = [
            _section(f"*{escape(head)}*\n*Subject:* {escape(draft.subject)}"),
            _section(body or "> (empty)"),
        ]
    attached = files_text(draft, named=not strict)
    if attached is not None:
        blocks.append(_section(clip(escape(attached), SECTION_TEXT)))
    if draft.status == "draft":
        first = (
            _button("Review and approve", "review", value, "primary")
            if strict
            else _button("Approve and send", "approve", value, "primary")
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"draft:{draft.id}",
                "elements": [
                    first,
                    _button("Edit", "edit", value),
                    _button("Discard", "discard", value, "danger"),
                ],
            }
        )
    else:
        who = f" by {escape(draft.approved_by)}" if draft.approved_by else ""
        blocks.append(_section(f"_{escape(draft.status)}{who}_"))
    return escape(clip(head, FALLBACK_TEXT)), limit(blocks)


REVIEW_CALLBACK = "pd.draft.review_modal"
REVIEW_CHUNK = 2900  # characters of the draft's text in one section of the review modal


def review_view(draft: DraftView) -> dict[str, Any]:
    """The modal in which one staff member reads a draft whole and may approve it."""
    head = f"Draft {draft.id} · {draft.template} · {draft.language} · revision {draft.revision}"
    text = draft.body or "(empty)"
    chunks = [text[i : i + REVIEW_CHUNK] for i in range(0, len(text), REVIEW_CHUNK)]
    blocks = [
        {"type": "context", "elements": [{"type": "plain_text", "text": clip(head, 150)}]},
        {"type": "section", "text": {"type": "plain_text", "text": clip(draft.subject, 3000)}},
        {"type": "divider"},
        *({"type": "section", "text": {"type": "plain_text", "text": c}} for c in chunks),
    ]
    attached = files_text(draft)
    if attached is not None:
        blocks.append(
            {"type": "section", "text": {"type": "plain_text", "text": clip(attached, 3000)}}
        )
    return {
        "type": "modal",
        "callback_id": REVIEW_CALLBACK,
        "private_metadata": f"{draft.id}:{draft.revision}",
        "title": {"type": "plain_text", "text": f"Draft {draft.id}"[:24]},
        "submit": {"type": "plain_text", "text": "Approve and send"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks[:100],
    }


def limit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_BLOCKS, the last one saying what was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, _section(f"_{len(blocks) - len(kept)} more blocks not shown_")]
