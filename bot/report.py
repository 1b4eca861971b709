"""The month's statistics (``privacy-desk report``): cases read from the database, figures from
``handlers.stats``, written as a CSV file and a PNG chart, printed as a table, posted to Slack.

What is read of a case: its receipt, intents, language, status, extension, pauses and the first
answer mail sent, or written to a ``file:`` outbox (``OutboxItem.sent_at`` of a template in
``STATUS_AFTER_SENDING``; a bounced answer counts, it left the desk). Where the outbox row is
gone (purged), the "mail sent" (or "mail written") audit event of that template stands in. No reference, address, name, subject or text is read into the
records, so none can reach the files, the table or Slack.

The deadline an answer is judged against is the one that stood when it left: computed again from
the receipt, intents, the pauses up to that moment and an extension granted by then
(``handlers.sla``, as ``bot.replies.case_deadlines`` does). When the clock was stopped at that
moment, the time left when it stopped is what counts.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, select

from bot.replies import clock_intents, extension_of
from bot.slack.api import LostAnswer, SlackAPI, SlackError
from bot.slack.blocks import escape
from handlers import sla
from handlers import stats as figures
from handlers.clock import TOKYO
from handlers.replies import DELIVERED, DELIVERED_ACTIONS, STATUS_AFTER_SENDING
from handlers.stats import CaseRecord, Month, MonthReport
from handlers.status import Status
from storage.models import AuditEvent, Case, CasePause, OutboxItem

ANSWERS = tuple(STATUS_AFTER_SENDING)
LEFT_THE_DESK = (*DELIVERED, "bounced")


def records(session: Session, month: Month, *, as_of: datetime) -> list[CaseRecord]:
    """The cases received in ``month`` (Tokyo) as plain records, judged as of ``as_of``. A
    duplicate merged into another case (``merged_into_id``) is no request of its own: the case
    it was merged into counts, once, in the month of the earlier receipt it took over."""
    in_month = (
        (col(Case.received_at) >= month.start)
        & (col(Case.received_at) < month.end)
        & col(Case.merged_into_id).is_(None)
    )
    cases = list(session.exec(select(Case).where(in_month).order_by(col(Case.id))))
    answers = _answers(session, in_month)
    pauses: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for pause in session.exec(
        select(CasePause).join(Case).where(in_month).order_by(col(CasePause.id))
    ):
        pauses.setdefault(pause.case_id, []).append((pause.started_at, pause.ended_at))
    out = []
    for case in cases:
        assert case.id is not None
        answered_at, template = answers.get(case.id, (None, None))
        at = answered_at or as_of
        out.append(
            CaseRecord(
                received_at=case.received_at,
                intents=tuple(case.intents),
                language=case.language,
                status=case.status,
                answer_due=_deadline_at(case, pauses.get(case.id, []), at),
                answered_at=answered_at,
                extended=case.extended_at is not None,
                rejected=template == "refusal"
                or (answered_at is not None and case.status == Status.REJECTED),
            )
        )
    return out


def _answers(session: Session, in_month: ColumnElement[bool]) -> dict[int, tuple[datetime, str]]:
    """Each case's first answer mail sent: (when, template)."""
    found: dict[int, tuple[datetime, str]] = {}
    sent = session.exec(
        select(OutboxItem.case_id, OutboxItem.sent_at, OutboxItem.template)
        .join(Case)
        .where(in_month)
        .where(col(OutboxItem.template).in_(ANSWERS))
        .where(col(OutboxItem.status).in_(LEFT_THE_DESK))
        .where(col(OutboxItem.sent_at).is_not(None))
    )
    for case_id, at, template in sent:
        _keep_first(found, case_id, at, template)
    # The audit trail outlives the outbox: it answers for cases whose mail rows were purged.
    told = session.exec(
        select(AuditEvent.case_id, AuditEvent.at, AuditEvent.detail)
        .join(Case)
        .where(in_month)
        .where(col(AuditEvent.action).in_(DELIVERED_ACTIONS))
    )
    fallback: dict[int, tuple[datetime, str]] = {}
    for case_id, at, detail in told:
        template = str(detail.get("template", ""))
        if case_id is not None and case_id not in found and template in ANSWERS:
            _keep_first(fallback, case_id, at, template)
    return {**fallback, **found}


def _keep_first(
    found: dict[int, tuple[datetime, str]], case_id: int | None, at: datetime | None, template: str
) -> None:
    if case_id is None or at is None:
        return
    if case_id not in found or at < found[case_id][0]:
        found[case_id] = (at, template)


def _deadline_at(
    case: Case, pauses: Sequence[tuple[datetime, datetime | None]], at: datetime
) -> datetime | None:
    """The answer deadline as it stood at ``at``; None for a case no policy covers."""
    wanted = clock_intents(case)
    if not wanted:
        return None
    # Pauses begun later did not exist yet; one that ended later was still running.
    then = [(start, end if end is not None and end <= at else None) for start, end in pauses]
    then = [(start, end) for start, end in then if start <= at]
    try:
        due = sla.deadlines(
            case.received_at,
            wanted,
            jurisdiction=case.jurisdiction,
            pauses=then,
            extension=extension_of(case, at=at),
        )
    except sla.SlaError:
        return case.answer_due
    if due.answer_due is not None:
        return due.answer_due
    # The clock was stopped at ``at``: the time left when it stopped still stands.
    assert due.remaining is not None
    return at + due.remaining


def build(engine: Engine, month: Month, *, as_of: datetime) -> MonthReport:
    with Session(engine) as session:
        found = records(session, month, as_of=as_of)
    return figures.month_report(found, month, as_of=as_of)


# ---- what is written, printed and posted ----------------------------------------------------


def write_csv(report: MonthReport, path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=figures.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(figures.rows(report))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_chart(report: MonthReport, path: Path) -> None:
    """Requests and answers on time by intent, as bars. Labels are the intents' English names:
    matplotlib's own fonts hold no Japanese glyphs, and none is shipped with the desk."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: render to a file
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [intent for intent, _ in report.by_intent]
    received = [f.received for _, f in report.by_intent]
    on_time = [f.on_time for _, f in report.by_intent]
    chart = Figure(figsize=(8, 4.5), dpi=100)
    axes = chart.subplots()
    places = list(range(len(names)))
    width = 0.4
    bars = axes.bar([p - width / 2 for p in places], received, width, label="requests received")
    axes.bar_label(bars, padding=2)
    bars = axes.bar([p + width / 2 for p in places], on_time, width, label="answered on time")
    axes.bar_label(bars, padding=2)
    axes.set_xticks(places, [n.replace("_", " ") for n in names])
    axes.set_ylabel("requests")
    axes.set_ylim(0, max([*received, 1]) * 1.2)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole requests only
    axes.set_title(
        f"Privacy requests received in {report.month} (as of {_day(report.as_of)}, Tokyo)"
    )
    axes.legend()
    chart.tight_layout()
    chart.savefig(path, format="png")


def _day(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


HEADER = (
    "",
    "received",
    "answered",
    "on time",
    "late",
    "share",
    "median",
    "p95",
    "extended",
    "refused",
    "open",
    "closed",
)


def table(report: MonthReport) -> str:
    """The report as a plain text table, with a line that says what it counts."""
    lines = [
        ("all requests", report.total),
        *((f"  {intent}", f) for intent, f in report.by_intent),
        *((f"  language {lang}", f) for lang, f in report.by_language),
    ]
    body = [
        (
            name,
            str(f.received),
            str(f.answered),
            str(f.on_time),
            str(f.late),
            _share(f.on_time_share),
            _days(f.median_days),
            _days(f.p95_days),
            str(f.extended),
            str(f.refused),
            str(f.open),
            str(f.closed_unanswered),
        )
        for name, f in lines
    ]
    widths = [max(len(row[i]) for row in (HEADER, *body)) for i in range(len(HEADER))]
    text = [
        f"Privacy requests received in {report.month} (Tokyo), as of {_day(report.as_of)}",
    ]
    for row in (HEADER, *body):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        text.append("  ".join(cells).rstrip())
    text.append(
        f"Other cases (no privacy request): {report.other_cases}. A case counts in the month it "
        "was received. share = on time / (on time + late), late counting cases still open past "
        "their deadline; median and p95 are calendar days from receipt to the answer sent, shown "
        f"from {figures.MIN_FOR_TIMES} answers on; closed = closed without an answer."
    )
    return "\n".join(text) + "\n"


async def post(slack: SlackAPI, channel: str, report: MonthReport) -> str:
    """Post the table to the channel as one message (text only), through the Slack adapter; its
    ts, or the adapter's ``SlackError``."""
    text = f"*Monthly privacy report {report.month}*\n```\n{escape(table(report))}```"
    answer = await slack.call("chat_postMessage", channel=channel, text=text, mrkdwn=True)
    return str(answer.get("ts", ""))


def post_to_slack(report: MonthReport, client: AsyncWebClient, channel: str) -> str | None:
    """Post the table (``privacy-desk report --slack``) with ``client``: None when posted, else
    one line saying why not (the adapter's error: refused, token, lost answer)."""
    try:
        asyncio.run(post(SlackAPI(client), channel, report))
    except LostAnswer as exc:
        return f"Slack could not be reached ({exc.error})"
    except SlackError as exc:
        return f"Slack refused the report ({exc.error})"
    return None
