"""``privacy-desk report`` on a real database: cases taken in, answered, refused, extended, paused
and closed as staff do it, then the month's CSV, chart, table and Slack post read back as an
operator (or a regulator) would."""

from __future__ import annotations

import asyncio
import csv
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session

from bot.cases import CaseDesk
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import OutboxItem

TOKYO = ZoneInfo("Asia/Tokyo")
APPROVER = "U0APPROVE1"
STAFF = "U0STAFF001"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)
DELETE = "私の個人情報をすべて削除してください。"
INQUIRE = "個人情報の取り扱いについて教えてください。"
DISCLOSE = "Please send me a copy of all the personal data you hold about me."
COMPLAIN = "御社の個人情報の取り扱いに抗議します。苦情として対応してください。"


def tokyo(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


class Desk:
    """The desk at work, its clock set by the test; every requester has a name and address of
    their own, and every mail a subject, so the report can be searched for them."""

    def __init__(self, engine: Engine, make_mail: Callable[..., bytes], smtp: Any) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.now = tokyo(6, 1)
        self.replies = Replies(engine, SETTINGS, clock=self.clock)
        self.cases = CaseDesk(engine, self.replies, clock=self.clock)
        self.sender = Sender(engine, parse_smtp_url(smtp.url()), clock=self.clock)
        self.numbers = itertools.count(1)
        self.private: list[str] = []  # names, addresses, subjects and references
        self.requests: dict[str, tuple[str, str, str]] = {}  # ref -> From, Subject, Message-ID

    def clock(self) -> datetime:
        return self.now.astimezone(UTC)

    def open(self, body: str, when: datetime, *, jurisdiction: str = "appi") -> str:
        self.now = when
        n = next(self.numbers)
        name, address, subject = f"Requester Number{n}", f"person{n}@example.jp", f"件名その{n}"
        message_id = f"<request-{n}@mail.example.jp>"
        intake = Intake(self.engine, clock=self.clock, replies=SETTINGS, jurisdiction=jurisdiction)
        sender = f"{name} <{address}>"
        result = intake.process(
            self.make_mail(body, sender=sender, subject=subject, date=when, message_id=message_id)
        )
        assert result.action == "opened" and result.ref is not None
        self.private += [name, address, subject, result.ref]
        self.requests[result.ref] = (sender, subject, message_id)
        return result.ref

    def send(self, draft_id: int | None, when: datetime) -> None:
        """Approve a draft and send its mail at ``when``."""
        self.now = when
        self.replies.approve(draft_id or 0, approver=APPROVER)
        assert asyncio.run(self.sender.run_once()).sent == 1

    def answer(self, ref: str, template: str, when: datetime, **values: Any) -> None:
        self.now = when
        self.send(self.replies.draft(ref, template, values, editor=STAFF).id, when)

    def verify(self, ref: str, when: datetime) -> None:
        self.now = when
        self.replies.mark_verified(ref, actor=APPROVER, how="運転免許証で確認")

    def delete(self, ref: str, when: datetime) -> None:
        self.verify(ref, when)
        self.answer(ref, "deletion_done", when, deleted=["会員情報"], done_on=when.date())

    def inquiry(self, ref: str, when: datetime) -> None:
        self.answer(ref, "inquiry_answer", when, answer_text="利用目的は当社サイトのとおりです。")

    def follow_up(self, ref: str, body: str, when: datetime) -> None:
        self.now = when
        sender, subject, message_id = self.requests[ref]
        result = Intake(self.engine, clock=self.clock, replies=SETTINGS).process(
            self.make_mail(
                body, sender=sender, subject=f"Re: {subject}", date=when, In_Reply_To=message_id
            )
        )
        assert (result.action, result.ref) == ("linked", ref)

    def answer_due(self, ref: str) -> datetime | None:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None
            return case.answer_due


@pytest.fixture
def desk(
    engine: Engine,
    make_mail: Callable[..., bytes],
    smtp_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return Desk(engine, make_mail, smtp_server)


@pytest.fixture
def june(desk: Desk) -> Desk:
    """June 2026 at the desk (Tokyo times), with one case either side of the month."""
    # Received 31 May 23:30 in Tokyo (14:30 UTC), answered in June: May's case.
    may = desk.open(INQUIRE, tokyo(5, 31, 23, 30))
    desk.inquiry(may, tokyo(6, 2))
    # A: deletion, answered in 2 days.
    a = desk.open(DELETE, tokyo(6, 1))
    desk.delete(a, tokyo(6, 3))
    # B: inquiry, answered in 1.25 days.
    b = desk.open(INQUIRE, tokyo(6, 2))
    desk.inquiry(b, tokyo(6, 3, 16))
    # C: disclosure in English, refused after 3 days.
    c = desk.open(DISCLOSE, tokyo(6, 3))
    draft = desk.cases.reject(
        c, reasons=["Another person's rights would be harmed."], actor=APPROVER
    )
    desk.send(draft.id, tokyo(6, 6))
    # D: deletion under the GDPR (one month, 1 July), extended by two; the notice is no answer;
    # answered after 36 days, within the extended deadline.
    d = desk.open(DELETE, tokyo(6, 4), jurisdiction="gdpr")
    desk.now = tokyo(6, 20)
    _, notice = desk.cases.extend(d, reason="調査に時間を要するため", actor=APPROVER)
    desk.send(notice.id, tokyo(6, 20))
    desk.delete(d, tokyo(7, 10))
    # E: deletion; the desk asked for identity documents on 6 June and waited 10 days, so the
    # deadline moved from 19 to 29 June; answered after 20 days, on time.
    e = desk.open(DELETE, tokyo(6, 5))
    ask = desk.cases.ask(e, kind="identity", needed=["本人確認書類"], actor=STAFF)
    desk.send(ask.id, tokyo(6, 6))
    desk.follow_up(e, "運転免許証の画像を添付します。", tokyo(6, 16))
    assert desk.answer_due(e) == datetime(2026, 6, 29, 23, 59, 59, 999999, tzinfo=TOKYO)
    desk.delete(e, tokyo(6, 25))
    # F: deletion answered after 22 days, late (due 22 June).
    f = desk.open(DELETE, tokyo(6, 8))
    desk.delete(f, tokyo(6, 30))
    # G: complaint, acknowledged (an acknowledgement is no answer), never answered: late now.
    g = desk.open(COMPLAIN, tokyo(6, 10))
    with Session(desk.engine) as session:
        case = repo.case_by_ref(session, g)
        assert case is not None
        [ack] = repo.drafts(session, case_id=case.id, status="draft")
    desk.send(ack.id, tokyo(6, 10, 11))
    # H: deletion withdrawn by phone: closed without an answer.
    h = desk.open(DELETE, tokyo(6, 12))
    desk.now = tokyo(6, 13)
    desk.cases.close(h, reason="電話で取り下げの申し出", actor=APPROVER)
    # Received 1 July 00:30 in Tokyo (30 June 15:30 UTC): July's case.
    desk.open(DELETE, tokyo(7, 1, 0, 30))
    return desk


def run_report(
    month: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[dict[tuple[str, str], dict[str, str]], str]:
    assert main(["report", "--month", month, "--out", str(out), *extra]) == 0
    printed = capsys.readouterr().out
    with (out / f"report-{month}.csv").open(newline="", encoding="utf-8") as file:
        found = {(row["group"], row["key"]): row for row in csv.DictReader(file)}
    return found, printed


def figures(row: dict[str, str], *names: str) -> tuple[str, ...]:
    return tuple(row[name] for name in names)


def test_the_months_figures_from_the_cases_staff_worked(
    june: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_STAFF_LANGUAGE", "en")
    out = tmp_path / "reports"
    found, printed = run_report("2026-06", out, capsys)
    total = found[("all", "all")]
    assert figures(total, "received", "answered", "answered_on_time", "late") == (
        "8",
        "6",
        "5",
        "2",
    )
    assert total["on_time_share"] == "0.714"  # 5 of 7: F answered late, G still open past due
    # days 1.25, 2, 3, 20, 22, 36: median (3 + 20) / 2; p95 at rank 4.75: 22 + 0.75 * 14
    assert figures(total, "median_days_to_answer", "p95_days_to_answer") == ("11.50", "32.50")
    assert figures(total, "extended", "refused", "open", "closed_without_answer") == (
        "1",
        "1",
        "1",
        "1",
    )
    deletion = found[("intent", "deletion")]
    assert figures(deletion, "received", "answered", "answered_on_time", "late") == (
        "5",
        "4",
        "3",
        "1",
    )
    assert figures(deletion, "extended", "closed_without_answer", "median_days_to_answer") == (
        "1",
        "1",
        "n/a",  # four answers: too few to show a median
    )
    assert figures(found[("intent", "disclosure")], "received", "answered", "refused") == (
        "1",
        "1",
        "1",
    )
    complaint = found[("intent", "complaint")]
    assert figures(complaint, "received", "answered", "late", "open", "on_time_share") == (
        "1",
        "0",
        "1",
        "1",
        "0.000",
    )
    assert figures(found[("intent", "inquiry")], "received", "answered_on_time") == ("1", "1")
    assert found[("intent", "correction")]["received"] == "0"
    assert (found[("language", "ja")]["received"], found[("language", "en")]["received"]) == (
        "7",
        "1",
    )
    assert found[("other", "not_a_privacy_request")]["received"] == "0"

    assert "Privacy requests received in 2026-06 (Tokyo)" in printed
    [line] = [x for x in printed.splitlines() if x.startswith("all requests")]
    assert line.split()[2:] == ["8", "6", "5", "2", "71%", "11.5", "32.5", "1", "1", "1", "1"]
    assert f"written: {out / 'report-2026-06.csv'}, {out / 'report-2026-06.png'}" in printed

    chart = (out / "report-2026-06.png").read_bytes()
    assert chart[:8] == b"\x89PNG\r\n\x1a\n"
    # the IHDR chunk's width and height: 8 x 9 inches at 100 dpi (the month, then the trend)
    assert (int.from_bytes(chart[16:20], "big"), int.from_bytes(chart[20:24], "big")) == (800, 900)
    text = (out / "report-2026-06.csv").read_text(encoding="utf-8")
    for private in june.private:
        assert private not in text and private not in printed
    assert "@" not in text and "PD-" not in text

    # The cases either side of the month are their months' own.
    may, _ = run_report("2026-05", out, capsys)
    assert figures(may[("all", "all")], "received", "answered", "answered_on_time") == (
        "1",
        "1",
        "1",
    )
    july, _ = run_report("2026-07", out, capsys)
    assert figures(july[("all", "all")], "received", "answered", "open") == ("1", "0", "1")


def test_a_close_sent_while_the_clock_is_stopped_is_judged_by_the_time_left_then(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity asked on day 1, never given: the close for an unverified requester leaves on
    day 29, with the clock stopped since day 1 and 13 days still left, so it is on time."""
    ref = desk.open(DELETE, tokyo(6, 1))
    ask = desk.cases.ask(ref, kind="identity", needed=["本人確認書類"], actor=STAFF)
    desk.send(ask.id, tokyo(6, 2))
    assert desk.answer_due(ref) is None  # the clock is stopped
    desk.answer(ref, "unverified_close", tokyo(6, 30), asked_on=date(2026, 6, 2))
    found, _ = run_report("2026-06", tmp_path, capsys)
    total = found[("all", "all")]
    assert figures(total, "received", "answered", "answered_on_time", "late") == (
        "1",
        "1",
        "1",
        "0",
    )
    assert figures(total, "open", "closed_without_answer", "refused") == ("0", "0", "0")


def test_an_answer_whose_outbox_row_was_purged_still_counts(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = desk.open(INQUIRE, tokyo(6, 2))
    desk.inquiry(ref, tokyo(6, 3))
    with Session(desk.engine) as session:
        session.exec(delete(OutboxItem))  # type: ignore[call-overload]
        session.commit()
    found, _ = run_report("2026-06", tmp_path, capsys)
    assert figures(found[("all", "all")], "received", "answered", "open") == ("1", "1", "0")


def test_an_empty_month_gives_zeros_and_a_chart(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, printed = run_report("2026-02", tmp_path / "new" / "folder", capsys)
    assert len(found) == 11
    assert {row["received"] for row in found.values()} == {"0"}
    assert {row["median_days_to_answer"] for row in found.values()} <= {"n/a", ""}
    assert (tmp_path / "new" / "folder" / "report-2026-02.png").read_bytes()[:4] == b"\x89PNG"
    assert "全請求" in printed  # PD_STAFF_LANGUAGE is ja unless set


@pytest.mark.parametrize("month", ["2026-13", "2026/11", "november", "2026-1"])
def test_a_bad_month_is_one_line_and_exit_2(
    month: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--month", month, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "YYYY-MM" in err
    assert not (tmp_path / "out").exists()


def test_slack_gets_one_message_with_the_table(
    desk: Desk,
    slack: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = desk.open(INQUIRE, tokyo(6, 2))
    desk.inquiry(ref, tokyo(6, 3))
    desk.open(DISCLOSE, tokyo(6, 4))
    out = tmp_path / "reports"
    # without Slack's settings nothing is written
    assert main(["report", "--month", "2026-06", "--out", str(out), "--slack"]) == 2
    assert "--slack needs SLACK_BOT_TOKEN and PD_SLACK_CHANNEL" in capsys.readouterr().err
    assert not out.exists()

    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("PD_SLACK_CHANNEL", slack.channel)
    monkeypatch.setenv("PD_SLACK_API_URL", slack.base_url)
    _, printed = run_report("2026-06", out, capsys, "--slack")
    assert f"posted to Slack channel {slack.channel}" in printed
    assert len(slack.calls("chat.postMessage")) == 1
    [message] = slack.messages()
    assert "月次プライバシーレポート 2026-06" in message["text"]  # in the staff's language
    [line] = [x for x in message["text"].splitlines() if x.startswith("全請求")]
    assert line.split()[1:5] == ["2", "1", "1", "1"]  # the disclosure is open past its deadline
    for private in desk.private:
        assert private not in message["text"]

    # Slack refusing the post: the files are there, the operator is told, exit 1
    monkeypatch.setenv("PD_SLACK_CHANNEL", "C0NOSUCH00")
    assert main(["report", "--month", "2026-06", "--out", str(out), "--slack"]) == 1
    err = capsys.readouterr().err
    assert "Slack refused the report (channel_not_found)" in err
    assert len(slack.messages()) == 1


def test_the_report_shows_the_requests_open_now_and_the_twelve_months_trend(
    june: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open requests whatever their month (July's case included) and the months July 2025 to
    June 2026, in Japanese (the default) and in English."""
    _, printed = run_report("2026-06", tmp_path / "ja", capsys)
    lines = printed.splitlines()
    # G (June, past its deadline) and the July deletion are open, both late by the report day.
    assert any(line.endswith("時点で対応中の請求: 2 件（うち期限超過 2 件、受付月を問わず）")
               for line in lines), printed  # fmt: skip
    start = lines.index("過去12か月の推移")
    header, *months = lines[start + 1 : start + 14]
    assert header.split() == ["月", "受付", "期限内", "遅延", "期限内率"]
    assert [m.split()[0] for m in months] == [f"2025-{n:02d}" for n in range(7, 13)] + [
        f"2026-{n:02d}" for n in range(1, 7)
    ]
    assert months[-1].split() == ["2026-06", "8", "5", "2", "71%"]
    assert months[0].split() == ["2025-07", "0", "0", "0", "n/a"]

    monkeypatch.setenv("PD_STAFF_LANGUAGE", "en")
    _, printed = run_report("2026-06", tmp_path / "en", capsys)
    assert "The last twelve months" in printed
    assert "Open requests as of" in printed and ": 2, of which 2 past their deadline" in printed


def test_the_japanese_chart_draws_every_glyph(june: Desk, tmp_path: Path) -> None:
    """matplotlib warns of each glyph its font lacks (its own fonts have no Japanese): the
    Japanese chart is drawn with IPAexGothic and warns of none."""
    import warnings

    from bot import report
    from handlers.stats import Month

    built = report.build(june.engine, Month(2026, 6), as_of=tokyo(7, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report.write_chart(built, tmp_path / "ja.png", "ja")
    assert (tmp_path / "ja.png").read_bytes()[:4] == b"\x89PNG"
