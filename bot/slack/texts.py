"""What the scheduler tells staff in Slack: reminders in a case's thread, escalations in the
channel, and the daily digest — short mrkdwn naming case references, never requesters or mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.slack.blocks import escape
from bot.slack.ids import is_group_id, is_user_id
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


def day(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local:%Y-%m-%d} ({local:%a})"


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

    def who(self, case: Case) -> str:
        """Whom a thread reminder calls: the assignee when Slack can mention them, else the
        approvers (with a named assignee shown)."""
        assignee = (case.assignee or "").strip()
        if is_person(assignee):
            return mention(assignee)
        approvers = " ".join(mention(a) for a in self.approvers)
        if assignee:
            return f"{approvers} (assigned to {escape(assignee)})".strip()
        return approvers or "(nobody assigned, no approvers configured)"


def _held(case: Case) -> str:
    assignee = (case.assignee or "").strip()
    return mention(assignee) if is_person(assignee) else escape(assignee or "nobody")


def _late(days: int) -> str:
    return f"{days} business day{'s' if days != 1 else ''} late"


def reminder(case: Case, threshold: reminders.Threshold, to: Audience) -> str:
    """The message a threshold that fell due posts (in the thread; an escalation in the channel)."""
    ref, due, who = f"*{case.ref}*", threshold.deadline, to.who(case)
    if threshold.kind == "progress":
        return (
            f"{who} {ref}: {threshold.name} of the time to answer has passed. "
            f"Due {day(due)}, end of day Tokyo."
        )
    if threshold.kind == "due":
        return f"{who} {ref} is due today, {day(due)}: answer by 23:59 Tokyo."
    if threshold.kind == "overdue":
        late = _late(threshold.detail.get("days", 0))
        return f"{who} {ref} is overdue: it was due {day(due)} ({late})."
    if threshold.kind == "triage":
        days = threshold.detail.get("days", 0)
        when = f"was due {day(due)} ({_late(days)})" if days else f"is due today, {day(due)}"
        answer = f" (answer due {day(case.answer_due)})" if case.answer_due else ""
        return (
            f"{who} {ref} needs triage: nobody has decided what this mail asks "
            f"for, and triage {when}. Until an approver does, it runs on the strictest "
            f"rights-request deadline{answer}. Use the buttons on the case message."
        )
    if threshold.kind == "escalation":
        what = "Complaint" if "complaint" in case.intents else "Case"
        return (
            f"{to.group()} :rotating_light: {what} {ref} is past its deadline "
            f"({day(due)}) and not answered. Assigned to {_held(case)}; see its thread."
        ).strip()
    if threshold.kind == "requester":
        days = to.requester_reminder.days
        return (
            f"{who} {ref} has waited {days} days on the requester since "
            f"{day(due)}: a reminder mail is drafted in this thread for approval."
        )
    days = to.unverified_close.days
    return (
        f"{who} {ref}: the identity verification asked on {day(due)} has gone "
        f"unanswered for {days} days. A closing mail (unverified_close) is drafted in this "
        "thread: approving it closes the case as unverified."
    )


def escalations(cases: Sequence[Case], to: Audience) -> str:
    """Several escalations folded into one channel message (a backlog is one message)."""
    lines = [
        f"{to.group()} :rotating_light: {len(cases)} cases are past their deadline and "
        "not answered; see each case's thread:".strip()
    ]
    for case in cases[:DIGEST_LIST]:
        what = "complaint" if "complaint" in case.intents else "case"
        due = f"due {day(case.answer_due)}" if case.answer_due else "past its deadline"
        lines.append(f"• *{case.ref}* ({what}, {due}; assigned to {_held(case)})")
    if len(cases) > DIGEST_LIST:
        lines.append(f"• and {len(cases) - DIGEST_LIST} more: `privacy-desk cases --overdue`")
    return "\n".join(lines)


def digest(facts: DigestFacts, today: date, now: datetime, due_soon: timedelta) -> str:
    """The daily digest: case references only, each list bounded."""
    local = datetime.combine(today, time(0), tzinfo=TOKYO)
    soon = [f"{ref} ({due.astimezone(TOKYO):%m/%d})" for ref, due in facts.soon]
    triage = [
        f"{ref} ({due.astimezone(TOKYO):%m/%d})" if due is not None else ref
        for ref, due in facts.triage
    ]
    lines = [
        f"*Privacy desk — daily digest, {local:%Y-%m-%d} ({local:%a})*",
        _line("New since the last digest", facts.new),
        _line(f"Due within {due_soon.days} days", soon),
        _line("Overdue", facts.overdue),
        _line("Waiting for approval", facts.approval),
        _line("Answered yesterday", facts.answered),
        _line("Waiting for triage (decide by)", triage),
    ]
    if facts.historic:
        late = sum(facts.historic)  # overdue as everywhere (storage.repo.overdue)
        lines.append(
            f"• Historic mail, from before the desk first read the mailbox: "
            f"{len(facts.historic)} open, {late} of them overdue (`privacy-desk cases --overdue`)"
        )
    return "\n".join(lines)


def _line(title: str, refs: Sequence[str]) -> str:
    if not refs:
        return f"• {title}: none"
    shown = ", ".join(refs[:DIGEST_LIST])
    more = f", and {len(refs) - DIGEST_LIST} more" if len(refs) > DIGEST_LIST else ""
    return f"• {title} ({len(refs)}): {shown}{more}"
