"""Block Kit for the case threads: what staff see of a case and of a draft, as plain data.

Everything that came from an email is escaped for mrkdwn (``&``, ``<``, ``>``), so a
``<!channel>``, a ``<@U…>`` or a disguised ``<https://…|link>`` in a message pings no one and
hides no URL; text from mail is shown as ``PD_SLACK_MASK`` allows (``from_mail``); every text is
cut to Block Kit's limits with a marker, and a message never has more than 50 blocks — except a
draft's text, which is never cut: its review (``review_view``) shows it whole in sections split at
line ends, or sends the approver to the case-file page. Buttons carry the case reference or ``draft:revision`` as their value; the
handlers check both against the database before acting (a forged value is refused there).
Every text staff read is in their language (``bot.words``, table ``[blocks]``): the functions
that build one take the ``Words`` as ``w``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.slack.ids import is_user_id
from bot.words import Words
from handlers.clock import TOKYO
from handlers.redact import redact_contacts
from handlers.status import FINISHED, WAITING

if TYPE_CHECKING:
    from storage.models import Draft, DraftFile

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
FALLBACK_TEXT = 3000  # the notification text; Slack allows more, nobody reads more

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


def said(w: Words, key: str, otherwise: str) -> str:
    """The text of ``key``, or ``otherwise`` when the texts have none (a name the desk stores,
    such as a status, that has no text of its own yet)."""
    return w(key) if key in w else otherwise


def language_label(code: str, *, w: Words) -> str:
    """A requester's language (``ja``, ``en``) named in the staff language."""
    return said(w, f"blocks.language.{code}", code)


def intent_label(intent: str, *, w: Words) -> str:
    """An intent as staff read it (the shared ``intent.*`` texts, then ``blocks.intent.*`` for
    the kinds that are no privacy right; an unknown name as it is)."""
    return said(w, f"intent.{intent}", said(w, f"blocks.intent.{intent}", intent))


def intent_labels(intents: Sequence[str], *, w: Words) -> str:
    """Several intents, joined in the staff language (empty when there are none)."""
    return w("blocks.list_separator").join(intent_label(i, w=w) for i in intents)


def status_label(status: str, *, w: Words) -> str:
    """A case's or a draft's status as staff read it (an unknown one as it is stored)."""
    return said(w, f"blocks.status.{status}", status)


def escape(text: str) -> str:
    """mrkdwn-safe: Slack reads ``<…>`` as a link, mention or command, and ``&`` as an entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int, *, w: Words) -> str:
    """At most ``limit`` characters, the cut marked in the staff language (``blocks.cut``)."""
    if len(text) <= limit:
        return text
    cut = w("blocks.cut")
    return text[: max(limit - len(cut), 0)] + cut


def mask(address: str, mode: str = "partial", *, w: Words) -> str:
    """The requester's address as the operator wants it shown: ``partial`` (``h***@example.jp``),
    ``domain`` (``***@example.jp``), ``none`` and ``strict`` (hidden) or ``full``."""
    local, _, domain = address.partition("@")
    if mode == "full":
        return address
    if mode == "strict":
        return w("blocks.in_case_file")
    if mode == "none" or not address:
        return w("blocks.hidden")
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


def time_left(due: datetime | None, now: datetime, *, w: Words) -> str:
    """The time left until ``due`` in days and hours, or how late it is."""
    if due is None:
        return w("blocks.no_deadline")
    seconds = (due - now).total_seconds()
    days, rest = divmod(abs(seconds), 86400)
    span = w("blocks.span", days=int(days), hours=int(rest // 3600))
    return w("blocks.left" if seconds >= 0 else "blocks.overdue_by", span=span)


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
    jurisdiction: str = "appi"
    # Whether an extension could be granted now (``bot.cases.may_extend``): the case's policy
    # offers one, it was not used, the deadline has not passed and the clock runs.
    extendable: bool = False
    case_file: bool = False  # PD_PUBLIC_URL is set: a "Case file" button gives a signed link


def _section(text: str, *, w: Words) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT, w=w)}}


def _field(label: str, value: str, *, w: Words) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_TEXT, w=w)}


def _button(
    label: str,
    action: str,
    value: str,
    style: str | None = None,
    *,
    confirm: dict[str, Any] | None = None,
    w: Words,
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_TEXT, w=w), "emoji": True},
        "action_id": ACTIONS[action],
        "value": value,
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def confirm(title: str, text: str, yes: str, *, w: Words, danger: bool = False) -> dict[str, Any]:
    """A Block Kit ``confirm`` object: Slack asks "are you sure?" before the click is sent, for
    buttons whose effect reaches the requester or ends something (title ≤100, text ≤300,
    labels ≤30 characters)."""
    found: dict[str, Any] = {
        "title": {"type": "plain_text", "text": clip(title, 100, w=w)},
        "text": {"type": "plain_text", "text": clip(text, 300, w=w)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30, w=w)},
        "deny": {"type": "plain_text", "text": clip(w("blocks.cancel"), 30, w=w)},
    }
    if danger:
        found["style"] = "danger"
    return found


def person(who: str | None, *, w: Words) -> str:
    """A Slack user as a mention, one of the desk's own processes (intake, auto-ack...) as the
    staff texts name it (``[said]``), any other name as text."""
    if is_user_id(who):
        return f"<@{who}>"
    if who and f"said.{who}" in w:
        return escape(w(f"said.{who}"))
    return escape(who or "-")


def case_message(
    case: CaseView, now: datetime, *, w: Words, mask_mode: str = "partial"
) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) of a case's parent message."""
    intents = intent_labels(case.intents, w=w) or w("blocks.no_intents")
    state = " · ".join(
        [status_label(case.status, w=w)]
        + ([w("blocks.state_triage")] if case.needs_triage else [])
        + ([w("blocks.state_verified")] if case.verified else [])
    )
    fields = [
        _field(w("blocks.field.intents"), escape(intents), w=w),
        _field(w("blocks.field.status"), escape(state), w=w),
        _field(w("blocks.field.requester"), escape(mask(case.requester, mask_mode, w=w)), w=w),
        _field(w("blocks.field.language"), escape(language_label(case.language or "-", w=w)), w=w),
        _field(w("blocks.field.received"), _time(case.received_at), w=w),
        _field(w("blocks.field.due"), _due(case, now, w=w), w=w),
        _field(w("blocks.field.law"), escape(case.jurisdiction.upper()), w=w),
        _field(w("blocks.field.assignee"), person(case.assignee, w=w), w=w),
    ]
    if case.flags:
        flags = (said(w, f"blocks.flag.{flag}", flag) for flag in case.flags)
        shown = escape(w("blocks.list_separator").join(flags))
        fields.append(_field(w("blocks.field.flags"), shown, w=w))
    triage = case.needs_triage and case.status not in FINISHED
    blocks: list[dict[str, Any]] = [_section(triage_notice(case, now, w=w), w=w)] if triage else []
    blocks += [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(f"{case.ref} · {intents}", HEADER_TEXT, w=w),
            },
        },
        {"type": "section", "fields": fields[:10]},
    ]
    excerpt = from_mail(case.excerpt, mask_mode).strip()
    if excerpt:
        quoted = "\n".join(f"> {line}" for line in escape(excerpt).splitlines())
        blocks.append(_section(quoted, w=w))
    if case.history:
        blocks.append(history_line(case.history, mask_mode, w=w))
    if triage:
        blocks += triage_controls(case, w=w)
    blocks.append(
        {"type": "actions", "block_id": f"case:{case.ref}", "elements": case_controls(case, w=w)}
    )
    left = time_left(case.answer_due, now, w=w)
    text = w("blocks.fallback", ref=case.ref, intents=intents, state=state, left=left)
    if triage:
        text = w("blocks.fallback_triage", due=_time(case.triage_due), text=text)
    return escape(clip(text, FALLBACK_TEXT, w=w)), limit(blocks, w=w)


def history_line(history: Sequence[tuple[str, str]], mask_mode: str, *, w: Words) -> dict[str, Any]:
    """A context line naming the requester's other cases, with their statuses (references only
    under ``strict``): nothing of the requester themselves."""
    strict = mask_mode == "strict"
    named = [
        ref if strict else w("blocks.history_case", ref=ref, status=status_label(status, w=w))
        for ref, status in history
    ]
    text = w("blocks.history", cases=w("blocks.list_separator").join(named))
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(escape(text), 3000, w=w)}],
    }


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


def triage_notice(case: CaseView, now: datetime, *, w: Words) -> str:
    """The first thing a case waiting for triage says: nobody has decided what it asks for."""
    return w(
        "blocks.triage_notice",
        due=_time(case.triage_due),
        left=time_left(case.triage_due, now, w=w),
    )


def triage_controls(case: CaseView, *, w: Words) -> list[dict[str, Any]]:
    """One button per intent, "as read" when the classifier found some, and "Not a request":
    each in a block of its own, since one block may not repeat an action_id."""
    buttons = []
    if case.intents:
        read = w("blocks.button.as_read", intents=intent_labels(case.intents, w=w))
        buttons.append(_button(read, "triage", f"{case.ref} {AS_READ}", "primary", w=w))
    buttons += [
        _button(intent_label(intent, w=w), "triage", f"{case.ref} {intent}", w=w)
        for intent in TRIAGE_CHOICES
    ]
    buttons.append(
        _button(w("blocks.button.not_a_request"), "triage", f"{case.ref} {NOT_A_REQUEST}", w=w)
    )
    return [
        {"type": "actions", "block_id": f"triage:{case.ref}:{n}", "elements": [button]}
        for n, button in enumerate(buttons)
    ]


RIGHTS = ("disclosure", "correction", "deletion", "stop_use", "stop_provision")


def _due(case: CaseView, now: datetime, *, w: Words) -> str:
    if case.answer_due is None and case.status in WAITING:
        return w("blocks.clock_stopped")
    return f"{_time(case.answer_due)}\n{time_left(case.answer_due, now, w=w)}"


def case_file_button(ref: str, *, w: Words) -> dict[str, Any]:
    """The button that asks for a link to the case's page (answered to the clicker alone)."""
    return _button(w("blocks.button.case_file"), "case_file", ref, w=w)


def case_controls(case: CaseView, *, w: Words) -> list[dict[str, Any]]:
    """The controls an open case offers (a closed one: only "Why?", and "Case file")."""
    why = _button(w("blocks.button.why"), "reasons", case.ref, w=w)
    read = [case_file_button(case.ref, w=w)] if case.case_file else []
    if case.status in FINISHED:
        return [*read, why]
    controls = [
        *read,
        _button(w("blocks.button.assign_me"), "assign_me", case.ref, w=w),
        {
            "type": "users_select",
            "action_id": ACTIONS["assign"],
            "placeholder": {"type": "plain_text", "text": w("blocks.button.assign")},
        },
        _button(w("blocks.button.reclassify"), "reclassify", case.ref, w=w),
    ]
    if not case.verified:
        controls.append(_button(w("blocks.button.verified"), "verified", case.ref, w=w))
    controls.append(_button(w("blocks.button.ask"), "ask", case.ref, w=w))
    if case.extendable:  # a button that could only fail is not offered
        controls.append(_button(w("blocks.button.extend"), "extend", case.ref, w=w))
    if any(i in RIGHTS for i in case.intents):
        reject = reject_confirm(case, w=w)
        controls.append(
            _button(w("blocks.button.reject"), "reject", case.ref, "danger", confirm=reject, w=w)
        )
    controls += [
        _button(w("blocks.button.merge"), "merge", case.ref, w=w),
        _button(w("blocks.button.close"), "close", case.ref, confirm=close_confirm(case, w=w), w=w),
        why,
    ]
    return controls


def reject_confirm(case: CaseView, *, w: Words) -> dict[str, Any]:
    """What Reject asks before its form opens."""
    return confirm(
        w("blocks.confirm.reject_title", ref=case.ref),
        w("blocks.confirm.reject_text"),
        w("blocks.confirm.reject_yes"),
        w=w,
        danger=True,
    )


def close_confirm(case: CaseView, *, w: Words) -> dict[str, Any]:
    """What Close asks before its form opens."""
    return confirm(
        w("blocks.confirm.close_title", ref=case.ref),
        w("blocks.confirm.close_text"),
        w("blocks.confirm.close_yes"),
        w=w,
        danger=True,
    )


def reasons_text(reasons: Mapping[str, Sequence[str]], *, w: Words) -> str:
    """Why the classifier chose each intent (the phrases it found), escaped."""
    if not reasons:
        return w("blocks.no_reasons")
    lines = [
        f"*{escape(intent_label(intent, w=w))}*: " + ", ".join(f"`{escape(p)}`" for p in phrases)
        for intent, phrases in sorted(reasons.items())
    ]
    return clip("\n".join(lines), SECTION_TEXT, w=w)


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


def units(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (an emoji is two), never less than the
    number of characters, so a limit kept in units is kept in characters too."""
    return len(text.encode("utf-16-le")) // 2


def split_at_line_ends(text: str, limit: int, size: Callable[[str], int] = units) -> list[str]:
    """``text`` in consecutive parts, each of ``size(part) <= limit``, that join (``"".join``)
    back into ``text`` exactly. A part ends after a line end wherever one falls in the part's
    room; a line longer than the room is cut where the room ends. ``size`` must grow with the
    text and be at least its length (escaping only lengthens), so each part looks at no more than
    ``limit + 1`` characters and the whole is linear in the text."""
    parts: list[str] = []
    start = 0
    while start < len(text):
        window = text[start : start + limit + 1]
        if len(window) <= limit and size(window) <= limit:
            parts.append(window)
            break
        low, high = 1, len(window)  # the longest prefix of the window that fits
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if size(window[:middle]) <= limit else (low, middle - 1)
        if size(window[:low]) > limit:
            raise ValueError(f"one character does not fit in {limit}")
        cut = window.rfind("\n", 0, low) + 1 or low
        parts.append(window[:cut])
        start += cut
    return parts


def _edited(draft: DraftView, *, w: Words) -> str:
    if draft.edited_by in (None, "intake"):
        return ""
    return w("blocks.draft.edited", who=person(draft.edited_by, w=w))


def _head(draft: DraftView, *, w: Words) -> str:
    return w(
        "blocks.draft.head",
        id=draft.id,
        template=escape(draft.template),
        language=escape(language_label(draft.language, w=w)),
        revision=draft.revision,
        edited=_edited(draft, w=w),
    )


def _subject(draft: DraftView, *, w: Words) -> str:
    return w("blocks.draft.subject", subject=escape(draft.subject))


def _files(draft: DraftView, *, w: Words) -> str:
    """The files of a draft as its review shows them: every name and size."""
    return escape(files_text(draft, w=w) or w("blocks.draft.attached_none"))


def _quoted(body: str, *, empty: str = "") -> str:
    return "\n".join(f"> {line}" for line in escape(body).splitlines()) or f"> {empty}"


def shows_whole(draft: DraftView, mask_mode: str = "partial") -> bool:
    """Whether the draft's message in the thread shows all of its text, unmasked: only then may
    it be approved from there (an approver approves exactly what they could see)."""
    return mask_mode != "strict" and units(_quoted(draft.body)) <= SECTION_TEXT


def approve_confirm(draft: DraftView, *, w: Words) -> dict[str, Any]:
    """What "Approve and send" asks: the letter goes to the requester and cannot be recalled."""
    files = w("blocks.confirm.approve_files", count=len(draft.files)) if draft.files else ""
    return confirm(
        w("blocks.confirm.approve_title", id=draft.id),
        w(
            "blocks.confirm.approve_text",
            template=draft.template,
            revision=draft.revision,
            files=files,
        ),
        w("blocks.button.approve"),
        w=w,
    )


def discard_confirm(draft: DraftView, *, w: Words) -> dict[str, Any]:
    return confirm(
        w("blocks.confirm.discard_title", id=draft.id),
        w("blocks.confirm.discard_text"),
        w("blocks.button.discard"),
        w=w,
        danger=True,
    )


def size_text(size: int, *, w: Words) -> str:
    """A number of bytes as staff read it (B, KB, MB)."""
    if size < 1024:
        return w("blocks.size.b", n=size)
    if size < 1024 * 1024:
        return w("blocks.size.kb", n=f"{size / 1024:.1f}")
    return w("blocks.size.mb", n=f"{size / 1024 / 1024:.1f}")


def files_text(draft: DraftView, *, w: Words, named: bool = True) -> str | None:
    """What an approver is told of the files the draft sends (None: it sends none). Under
    ``strict`` masking the channel gets their number and size only: a name may name the
    requester."""
    if not draft.files:
        return None
    if not named:
        total = size_text(sum(size for _, size in draft.files), w=w)
        return w("blocks.draft.attached_count", count=len(draft.files), size=total)
    return w("blocks.draft.attached") + "".join(
        "\n" + w("blocks.draft.attached_file", name=name, size=size_text(size, w=w))
        for name, size in draft.files
    )


def draft_message(
    draft: DraftView, *, w: Words, mask_mode: str = "partial"
) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) of a draft in the thread, with its buttons. "Approve and send" is offered
    only when the message shows the whole draft; otherwise (a long draft, or ``strict``, under
    which the thread shows no text of it: a draft names the requester) "Review" shows it whole
    to whoever presses it, in a modal of their own, and approves from there."""
    value = f"{draft.id}:{draft.revision}"
    head = w(
        "blocks.draft.fallback",
        id=draft.id,
        template=draft.template,
        language=language_label(draft.language, w=w),
        revision=draft.revision,
    )
    whole = shows_whole(draft, mask_mode)
    if mask_mode == "strict":
        blocks: list[dict[str, Any]] = [
            _section(f"{_head(draft, w=w)}\n{w('blocks.draft.in_case_file')}", w=w)
        ]
    else:
        shown = _quoted(draft.body, empty=w("blocks.draft.empty"))
        if not whole:
            first = split_at_line_ends(draft.body, SECTION_TEXT // 2, lambda t: units(_quoted(t)))
            rest = len(draft.body) - len(first[0])
            more = w("blocks.draft.more", count=f"{rest:,}")
            shown = f"{_quoted(first[0])}\n{more}"
        blocks = [
            _section(f"{_head(draft, w=w)}\n{_subject(draft, w=w)}", w=w),
            _section(shown, w=w),
        ]
    attached = files_text(draft, w=w, named=mask_mode != "strict")
    if attached is not None:
        blocks.append(_section(clip(escape(attached), SECTION_TEXT, w=w), w=w))
    if draft.status == "draft":
        first_button = (
            _button(
                w("blocks.button.approve"),
                "approve",
                value,
                "primary",
                confirm=approve_confirm(draft, w=w),
                w=w,
            )
            if whole
            else _button(w("blocks.button.review"), "review", value, "primary", w=w)
        )
        discard = discard_confirm(draft, w=w)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"draft:{draft.id}",
                "elements": [
                    first_button,
                    _button(w("blocks.button.edit"), "edit", value, w=w),
                    _button(
                        w("blocks.button.discard"), "discard", value, "danger", confirm=discard, w=w
                    ),
                ],
            }
        )
    else:
        status = escape(status_label(draft.status, w=w))
        if draft.approved_by:
            said = w("blocks.draft.done_by", status=status, who=person(draft.approved_by, w=w))
        else:
            said = w("blocks.draft.done", status=status)
        blocks.append(_section(said, w=w))
    return escape(clip(head, FALLBACK_TEXT, w=w)), limit(blocks, w=w)


REVIEW_CALLBACK = "pd.draft.review_modal"
REVIEW_BLOCKS = 45  # blocks of the review modal at most (Slack's limit is 100; keep a margin)
DRAFT_READ = "draft read"  # the audit action of the case-file page: a staff member read a draft
FENCE = "```"


def review_sections(body: str) -> list[dict[str, Any]]:
    """The draft's text as mrkdwn sections, each at most ``SECTION_TEXT`` after escaping, split at
    line ends: preformatted (so ``*`` or ``_`` in a letter show as written) unless the text
    itself holds a fence."""
    fence = "" if FENCE in body else FENCE

    def size(part: str) -> int:
        return units(escape(part)) + 2 * len(fence)

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{fence}{escape(p)}{fence}"}}
        for p in split_at_line_ends(body or " ", SECTION_TEXT, size)
    ]


def _review_top(draft: DraftView, *, w: Words) -> list[dict[str, Any]]:
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _head(draft, w=w)}]},
        _section(_subject(draft, w=w), w=w),
        _section(_files(draft, w=w), w=w),
        {"type": "divider"},
    ]


def _review_bottom(draft: DraftView, *, w: Words) -> list[dict[str, Any]]:
    says = w("blocks.review.says", revision=draft.revision)
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": says}]}]


REVIEW_FRAME = 5  # blocks of the review modal around the text: four above, one below


def _review_text(draft: DraftView) -> list[dict[str, Any]] | None:
    """The draft's sections when the review modal holds them all, else None."""
    room = REVIEW_BLOCKS - REVIEW_FRAME
    if units(draft.body) > room * SECTION_TEXT:  # cannot fit: spare the splitting
        return None
    sections = review_sections(draft.body)
    return sections if len(sections) <= room else None


def fits_review(draft: DraftView) -> bool:
    """Whether the review modal shows the draft whole (else it is read on the case-file page)."""
    return _review_text(draft) is not None


def review_view(draft: DraftView, *, w: Words, read_on_page: bool = False) -> dict[str, Any]:
    """The modal in which one staff member reads a draft whole and may approve that revision.

    A modal rather than an ephemeral message: only its opener sees it, it holds 100 blocks, and
    it opens for an approver who is not a member of the case channel (``chat.postEphemeral``
    refuses those). Its text is the whole draft (``review_sections``) within ``REVIEW_BLOCKS``.
    A draft too long even for that is read on the case-file page: the modal says so, and offers
    "Approve and send" only when ``read_on_page`` (the page recorded ``DRAFT_READ`` of this
    revision by this person)."""
    text = _review_text(draft)
    fits = text is not None
    if text is not None:
        sections = text
    else:
        opened = w(
            "blocks.review.opened" if read_on_page else "blocks.review.not_opened",
            revision=draft.revision,
        )
        sections = [
            _section(w("blocks.review.too_long", count=f"{len(draft.body):,}", opened=opened), w=w)
        ]
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": REVIEW_CALLBACK,
        "private_metadata": f"{draft.id}:{draft.revision}",
        "title": _modal_text(w("blocks.review.title", id=draft.id)),
        "close": _modal_text(w("blocks.review.close")),
        "blocks": [*_review_top(draft, w=w), *sections, *_review_bottom(draft, w=w)],
    }
    if draft.status == "draft" and (fits or read_on_page):
        view["submit"] = _modal_text(w("blocks.button.approve"))
    return view


def _modal_text(text: str) -> dict[str, str]:
    """A modal's title, submit or close: Slack allows 24 characters."""
    return {"type": "plain_text", "text": text[:24]}


def review_refused(draft_id: int, reason: str, *, w: Words) -> dict[str, Any]:
    """What the review modal turns into when its approval is refused: the reason, nothing to
    press but Close."""
    return {
        "type": "modal",
        "callback_id": REVIEW_CALLBACK,
        "title": _modal_text(w("blocks.review.title", id=draft_id)),
        "close": _modal_text(w("blocks.review.close")),
        "blocks": [_section(w("blocks.review.refused", reason=escape(reason)), w=w)],
    }


def limit(blocks: list[dict[str, Any]], *, w: Words) -> list[dict[str, Any]]:
    """At most MAX_BLOCKS, the last one saying what was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, _section(w("blocks.more_blocks", count=len(blocks) - len(kept)), w=w)]
