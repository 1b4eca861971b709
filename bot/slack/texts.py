"""What the scheduler tells staff in Slack: reminders in a case's thread, escalations in the
channel, and the daily digest — short mrkdwn naming case references, never requesters or mail,
in the staff language (``bot.words``: the tables ``remind`` and ``digest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.slack.blocks import escape
from bot.slack.ids import is_group_id, is_user_id
from bot.words import Words
from handlers import reminders
from handlers.clock import TOKYO
from storage.models import Case
from storage.reminders import DigestFacts

DIGEST_LIST = 40  # references shown per digest line; the rest are counted


def mention(who: str) -> str:
    """A Slack user ID as a mention, a user-group ID as a group mention, a name as text."""
    if is_group_id(who):
        return f"<!subteam^{who}>"
    return f"<@{who}>" if is_user_id(who) else escape(who)


def is_person(who: str) -> bool:
    """A Slack user ID (a person Slack can mention), not a group or a name."""
    return is_user_id(who)


@dataclass(frozen=True)
class Audience:
    """Whom the scheduler calls: approvers, the escalation group, and the waits it names."""

    approvers: tuple[str, ...]
    escalation: tuple[str, ...]
    requester_reminder: timedelta
    unverified_close: timedelta

    def group(self) -> str:
        """The escalation group (the approvers when none is set), as mentions."""
        return " ".join(mention(e) for e in self.escalation or self.approvers)

    def who(self, case: Case, *, w: Words) -> str:
        """Whom a thread reminder calls: the assignee when Slack can mention them, else the
        approvers (with a named assignee shown)."""
        assignee = (case.assignee or "").strip()
        if is_person(assignee):
            return mention(assignee)
        approvers = " ".join(mention(a) for a in self.approvers)
        if assignee:
            return w("remind.who_assigned", approvers=approvers, assignee=escape(assignee)).strip()
        return approvers or w("remind.nobody_to_call")


def _held(case: Case, w: Words) -> str:
    assignee = (case.assignee or "").strip()
    if is_person(assignee):
        return mention(assignee)
    return escape(assignee) if assignee else w("remind.held_by_nobody")


def _late(days: int, w: Words) -> str:
    return w("remind.late_one" if days == 1 else "remind.late_many", days=days)


def reminder(case: Case, threshold: reminders.Threshold, to: Audience, *, w: Words) -> str:
    """The message a threshold that fell due posts (in the thread; an escalation in the channel)."""
    ref, day = f"*{case.ref}*", w.day(threshold.deadline)
    if threshold.kind == "escalation":
        what = w(
            "remind.escalation_complaint"
            if "complaint" in case.intents
            else "remind.escalation_case"
        )
        return w(
            "remind.escalation", group=to.group(), what=what, ref=ref, day=day, held=_held(case, w)
        ).strip()
    who = to.who(case, w=w)
    if threshold.kind == "progress":
        return w("remind.progress", who=who, ref=ref, share=threshold.name, day=day)
    if threshold.kind == "due":
        return w("remind.due", who=who, ref=ref, day=day)
    if threshold.kind == "overdue":
        late = _late(threshold.detail.get("days", 0), w)
        return w("remind.overdue", who=who, ref=ref, day=day, late=late)
    if threshold.kind == "triage":
        days = threshold.detail.get("days", 0)
        when = (
            w("remind.triage_was_due", day=day, late=_late(days, w))
            if days
            else w("remind.triage_due_today", day=day)
        )
        answer = w("remind.triage_answer", day=w.day(case.answer_due)) if case.answer_due else ""
        return w("remind.triage", who=who, ref=ref, when=when, answer=answer)
    if threshold.kind == "requester":
        days = to.requester_reminder.days
        return w("remind.requester", who=who, ref=ref, days=days, day=day)
    days = to.unverified_close.days
    return w("remind.unverified", who=who, ref=ref, days=days, day=day)


def escalations(cases: Sequence[Case], to: Audience, *, w: Words) -> str:
    """Several escalations folded into one channel message (a backlog is one message)."""
    lines = [w("remind.escalations", group=to.group(), count=len(cases)).strip()]
    for case in cases[:DIGEST_LIST]:
        complaint = "complaint" in case.intents
        what = w("remind.escalations_complaint" if complaint else "remind.escalations_case")
        due = (
            w("remind.escalations_due", day=w.day(case.answer_due))
            if case.answer_due
            else w("remind.escalations_past")
        )
        lines.append(
            w("remind.escalations_item", ref=case.ref, what=what, due=due, held=_held(case, w))
        )
    if len(cases) > DIGEST_LIST:
        lines.append(w("remind.escalations_more", count=len(cases) - DIGEST_LIST))
    return "\n".join(lines)


def digest(facts: DigestFacts, today: date, now: datetime, due_soon: timedelta, *, w: Words) -> str:
    """The daily digest: case references only, each list bounded."""
    soon = [f"{ref} ({due.astimezone(TOKYO):%m/%d})" for ref, due in facts.soon]
    triage = [
        f"{ref} ({due.astimezone(TOKYO):%m/%d})" if due is not None else ref
        for ref, due in facts.triage
    ]
    lines = [
        w("digest.title", day=w.day(today)),
        _line(w("digest.new"), facts.new, w),
        _line(w("digest.soon", days=due_soon.days), soon, w),
        _line(w("digest.overdue"), facts.overdue, w),
        _line(w("digest.approval"), facts.approval, w),
        _line(w("digest.answered"), facts.answered, w),
        _line(w("digest.triage"), triage, w),
    ]
    if facts.historic:
        late = sum(facts.historic)  # overdue as everywhere (storage.repo.overdue)
        lines.append(w("digest.historic", open=len(facts.historic), late=late))
    return "\n".join(lines)


def _line(title: str, refs: Sequence[str], w: Words) -> str:
    if not refs:
        return w("digest.empty", title=title)
    shown = w("digest.separator").join(refs[:DIGEST_LIST])
    extra = len(refs) - DIGEST_LIST
    more = w("digest.more", count=extra) if extra > 0 else ""
    return w("digest.line", title=title, count=len(refs), refs=shown, more=more)
