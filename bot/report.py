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
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, select

from bot.replies import clock_intents, extension_of
from bot.slack.api import LostAnswer, SlackAPI, SlackError
from bot.slack.blocks import escape
from bot.words import DEFAULT, pad, words
from bot.words import width as text_width
from handlers import sla
from handlers import stats as figures
from handlers.clock import TOKYO
from handlers.intents import PRIVACY
from handlers.replies import DELIVERED, DELIVERED_ACTIONS, STATUS_AFTER_SENDING
from handlers.stats import CaseRecord, Month, MonthReport
from handlers.status import FINISHED, Status
from storage import repo
from storage.models import AuditEvent, Case, CasePause, OutboxItem

ANSWERS = tuple(STATUS_AFTER_SENDING)
LEFT_THE_DESK = (*DELIVERED, "bounced")


def records(
    session: Session, month: Month, *, as_of: datetime, first: Month | None = None
) -> list[CaseRecord]:
    """The cases received in ``month`` (Tokyo; from the start of ``first`` when given) as plain
    records, judged as of ``as_of``. A duplicate merged into another case (``merged_into_id``)
    is no request of its own: the case it was merged into counts, once, in the month of the
    earlier receipt it took over."""
    start = (first or month).start
    in_month = (
        (col(Case.received_at) >= start)
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
    """The month's report, with the trend of the twelve months ending with it and the requests
    open at ``as_of`` (whatever the month they came in)."""
    first = month.back(figures.TREND_MONTHS - 1)
    with Session(engine) as session:
        found = records(session, month, as_of=as_of, first=first)
        open_now, late_now = _open_now(session, as_of)
    return replace(
        figures.month_report(found, month, as_of=as_of),
        trend=figures.trend(found, month, as_of=as_of),
        open_now=open_now,
        late_now=late_now,
    )


def _open_now(session: Session, as_of: datetime) -> tuple[int, int]:
    """(privacy requests open at ``as_of``, how many of them are overdue)."""
    rows = session.exec(select(Case.id, Case.intents).where(col(Case.status).not_in(FINISHED)))
    ids = [i for i, intents in rows if i is not None and any(x in PRIVACY for x in intents)]
    late = repo.overdue_ids(session, as_of, ids) if ids else set()
    return len(ids), len(late)


# ---- what is written, printed and posted ----------------------------------------------------


def write_csv(report: MonthReport, path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=figures.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(figures.rows(report))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _font() -> Any:
    """The chart's font: IPAexGothic (shipped by ``matplotlib-fontja``), which has the Japanese
    glyphs matplotlib's own fonts lack."""
    from matplotlib.font_manager import FontProperties
    from matplotlib_fontja import get_font_ttf_path

    return FontProperties(fname=get_font_ttf_path())


def write_chart(report: MonthReport, path: Path, language: str = DEFAULT) -> None:
    """Requests received and answered on time by intent, as bars, and the twelve months' trend
    below, labelled in the staff's language."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: render to a file
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    w = words(language)
    font = _font()
    day = _day(report.as_of)
    names = [w(f"intent.{intent}") for intent, _ in report.by_intent]
    received = [f.received for _, f in report.by_intent]
    on_time = [f.on_time for _, f in report.by_intent]
    chart = Figure(figsize=(8, 9), dpi=100)
    axes, trend = chart.subplots(2, 1)
    places = list(range(len(names)))
    width = 0.4
    bars = axes.bar(
        [p - width / 2 for p in places], received, width, label=w("report.chart_received")
    )
    axes.bar_label(bars, padding=2)
    bars = axes.bar(
        [p + width / 2 for p in places], on_time, width, label=w("report.chart_on_time")
    )
    axes.bar_label(bars, padding=2)
    axes.set_xticks(places, names, fontproperties=font)
    axes.set_ylabel(w("report.chart_requests"), fontproperties=font)
    axes.set_ylim(0, max([*received, 1]) * 1.2)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole requests only
    axes.set_title(w("report.chart_title", month=report.month, day=day), fontproperties=font)
    axes.legend(prop=font)

    months = [str(m)[2:] for m, _ in report.trend]  # YY-MM
    counts = [f.received for _, f in report.trend]
    trend.bar(months, counts, color="#9bb7d4", label=w("report.chart_received"))
    trend.set_ylabel(w("report.chart_requests"), fontproperties=font)
    trend.set_ylim(0, max([*counts, 1]) * 1.2)
    trend.yaxis.set_major_locator(MaxNLocator(integer=True))
    trend.set_title(w("report.chart_trend"), fontproperties=font)
    share = trend.twinx()
    shares = [None if f.on_time_share is None else f.on_time_share * 100 for _, f in report.trend]
    share.plot(months, [float("nan") if v is None else v for v in shares], "o-", color="#c0504d")
    share.set_ylim(0, 105)
    share.set_ylabel(w("report.chart_share"), fontproperties=font)
    trend.tick_params(axis="x", labelrotation=45)
    chart.tight_layout()
    chart.savefig(path, format="png")


def _day(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


COLUMNS = ("received", "answered", "on_time", "late", "share", "median", "p95", "extended",
           "refused", "open", "closed")  # fmt: skip
TREND_COLUMNS = ("received", "on_time", "late", "share")


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells: the first left-aligned, the others right-aligned, by display width."""
    widths = [max(text_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            [pad(row[0], widths[0])]
            + [pad(c, w, right=True) for c, w in zip(row[1:], widths[1:], strict=True)]
        ).rstrip()
        for row in rows
    ]


def table(report: MonthReport, language: str = DEFAULT) -> str:
    """The report as a plain text table in the staff's language, with a line that says what it
    counts, the requests open now, and the twelve months' trend."""
    w = words(language)
    lines = [
        (w("report.all"), report.total),
        *((f"  {w(f'intent.{intent}')}", f) for intent, f in report.by_intent),
        *((f"  {w('report.language', language=lang)}", f) for lang, f in report.by_language),
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
    header = ("", *(w(f"report.{c}") for c in COLUMNS))
    day = _day(report.as_of)
    text = [w("report.title", month=report.month, day=day), *_aligned([header, *body])]
    text.append(w("report.note", other=report.other_cases, min=figures.MIN_FOR_TIMES))
    text.append("")
    text.append(w("report.now", day=day, open=report.open_now, late=report.late_now))
    if report.trend:
        text.append("")
        text.append(w("report.trend"))
        trend_header = (w("report.month"), *(w(f"report.{c}") for c in TREND_COLUMNS))
        trend_rows = [
            (str(m), str(f.received), str(f.on_time), str(f.late), _share(f.on_time_share))
            for m, f in report.trend
        ]
        text.extend(_aligned([trend_header, *trend_rows]))
    return "\n".join(text) + "\n"


async def post(slack: SlackAPI, channel: str, report: MonthReport, language: str = DEFAULT) -> str:
    """Post the table to the channel as one message (text only), through the Slack adapter; its
    ts, or the adapter's ``SlackError``."""
    title = words(language)("report.slack_title", month=report.month)
    text = f"{title}\n```\n{escape(table(report, language))}```"
    answer = await slack.call("chat_postMessage", channel=channel, text=text, mrkdwn=True)
    return str(answer.get("ts", ""))


def post_to_slack(
    report: MonthReport, client: AsyncWebClient, channel: str, language: str = DEFAULT
) -> str | None:
    """Post the table (``privacy-desk report --slack``) with ``client``: None when posted, else
    one line saying why not (the adapter's error: refused, token, lost answer)."""
    try:
        asyncio.run(post(SlackAPI(client), channel, report, language))
    except LostAnswer as exc:
        return f"Slack could not be reached ({exc.error})"
    except SlackError as exc:
        return f"Slack refused the report ({exc.error})"
    return None
