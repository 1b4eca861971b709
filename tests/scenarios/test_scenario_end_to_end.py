"""A Japanese deletion request is answered end to end, every part real: the mail is APPENDed to
Dovecot, ``privacy-desk serve`` (run as an operator runs it) opens the case with its deadline and
shows it in the Slack channel with the acknowledgement waiting in its thread; an approver's
signed clicks over HTTP send the acknowledgement, verify the requester and send the answer;
aiosmtpd receives each mail once, decoded and threaded under the request; the case ends
answered with its whole audit trail, and SIGTERM stops the service cleanly with logs that name
cases, never the requester. Slack is the Web API double in tests/slack_double.py."""

from __future__ import annotations

import email
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from support import served_port

from bot.cli import main
from bot.slack.blocks import ACTIONS

TOKYO = ZoneInfo("Asia/Tokyo")
DESK = "privacy@example-hikaku.co.jp"
REQUESTER = "hanako@example.jp"
REQUEST_ID = "<deletion-e2e-1@mail.example.jp>"
SUBJECT = "個人情報削除のお願い"
WORDS = (
    "ヒカクプラス会員の佐藤花子です。",
    "退会にあたり、私の個人情報をすべて削除してください。",
    "会員番号は 20481937 です。",
)
SECRET = "signing-secret-of-the-end-to-end-test"
APPROVER = "U0APPROVE1"
EDITOR = "yamada"  # prepares the answer on the command line; the approver is someone else
HOW = "会員番号と登録電話番号で本人確認"
DELETED = ("会員登録情報（氏名・住所・電話番号）", "メールマガジン配信先")
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_FROM_NAME": "ヒカクプラス 個人情報窓口",
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_COMPANY_NAME_EN": "HikakuPlus Inc.",
    "PD_APPROVERS": APPROVER,
    "PD_FOUR_EYES": "1",
    "PD_STAFF_LANGUAGE": "en",  # the staff texts this scenario reads, in English
}


def double() -> Any:
    return sys.modules["slack_double"]


class Desk:
    """``privacy-desk serve`` running against the test's Dovecot, Slack double, aiosmtpd and
    database, and what staff use beside it: signed requests to its /slack/events, the CLI."""

    def __init__(self, service: subprocess.Popen[bytes], slack: Any, logs: Path) -> None:
        self.service, self.slack, self.logs = service, slack, logs

    @functools.cached_property
    def port(self) -> int:
        """The port serve listens on (PD_HTTP_PORT=0: the OS chose it; serve prints it)."""
        return served_port(self.service, self.logs / "stdout")

    def log(self) -> str:
        return (self.logs / "stdout").read_text() + (self.logs / "stderr").read_text()

    def eventually(self, check: Callable[[], Any], what: str, *, timeout: float = 90.0) -> Any:
        """``check()`` once it is truthy, polled until ``timeout`` seconds have passed; a
        service that stopped on its own fails at once, with what it said."""
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            code = self.service.poll()
            assert code is None, f"serve exited {code} before {what}:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
            time.sleep(0.1)

    def listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def post(self, body: str, headers: dict[str, str]) -> int:
        """POST to /slack/events over real HTTP, as Slack does; the HTTP status."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), method="POST"
        )
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def click(self, action: str, value: str, message_ts: str, *, secret: str = SECRET) -> int:
        """The approver presses a button on the message at ``message_ts``."""
        payload = double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS[action],
            value=value,
            trigger_id=self.slack.new_trigger_id(APPROVER),
            message_ts=message_ts,
        )
        signed = double().interaction(payload, secret)
        return self.post(signed.body, signed.headers)

    def parent(self, ref: str) -> dict[str, Any] | None:
        """The case's parent message in the channel (other messages, a digest, may be there)."""
        found = [
            m
            for m in self.slack.messages()
            if any(
                b["type"] == "header" and b["text"]["text"].startswith(f"{ref} ")
                for b in m.get("blocks", [])
            )
        ]
        assert len(found) <= 1, f"one parent message for {ref}, not {len(found)}"
        return found[0] if found else None

    def status_shown(self, ref: str) -> list[str]:
        """The Status field of the case's parent message: ``["answered", "identity verified"]``."""
        for block in (self.parent(ref) or {}).get("blocks", []):
            for found in block.get("fields", []):
                label, _, value = found["text"].partition("\n")
                if label == "*Status*":
                    return str(value).split(" · ")
        return []

    def replies(self, ref: str) -> list[dict[str, Any]]:
        parent = self.parent(ref)
        return self.slack.thread(self.slack.channel, parent["ts"])[1:] if parent else []

    def draft_button(self, ref: str, template: str) -> tuple[str, str] | None:
        """(the draft message's ts, its "Approve and send" value) once ``template`` is posted."""
        for reply in self.replies(ref):
            if f" · {template} · " not in reply.get("text", ""):
                continue
            for block in reply.get("blocks", []):
                for element in block.get("elements", []):
                    if element.get("action_id") == ACTIONS["approve"]:
                        assert element["text"]["text"] == "Approve and send"
                        return reply["ts"], element["value"]
        return None

    def lines(self, ref: str) -> list[str]:
        """What the case's thread says, oldest first."""
        return [str(r.get("text", "")) for r in self.replies(ref)]

    def case(self, ref: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        """``privacy-desk case REF --json``, as the privacy officer reads the case file."""
        capsys.readouterr()
        assert main(["case", ref, "--json"]) == 0
        found: dict[str, Any] = json.loads(capsys.readouterr().out)
        return found

    def cases(self, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
        capsys.readouterr()
        assert main(["cases", "--json"]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def desk(
    engine: Engine,
    slack: Any,
    dovecot: Any,
    smtp_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    """``privacy-desk serve`` with every part real; the same settings for the CLI in-process."""
    settings = {
        **SETTINGS,
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": smtp_server.url(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": "0",  # the OS chooses a free port; serve prints it
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    slack.add_user(APPROVER, name="approver")
    command = Path(sys.executable).with_name("privacy-desk")  # the console script
    assert command.exists(), f"{command} not installed: pip install -e ."
    logs = tmp_path / "serve"
    logs.mkdir()
    # Files, not pipes: a service that logs more than a pipe holds would block on its writes.
    with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
        service = subprocess.Popen(
            [str(command), "serve"], cwd=tmp_path, env=dict(os.environ), stdout=out, stderr=err
        )
    try:
        yield Desk(service, slack, logs)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(10)


def decoded(data: bytes) -> EmailMessage:
    mail = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None, "a text/plain part"
    return str(body.get_content())


def test_a_japanese_deletion_request_is_answered_end_to_end(
    desk: Desk,
    slack: Any,
    dovecot: Any,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    staff = desk
    staff.eventually(staff.listening, "serve listens on PD_HTTP_PORT")
    assert staff.post("{}", {"Content-Type": "application/json"}) == 401  # unsigned

    # 1. The request arrives; the case opens with its APPI deadline and shows in the channel.
    dovecot.append(
        "desk",
        make_mail(
            "\n".join(WORDS),
            sender=f"佐藤 花子 <{REQUESTER}>",
            subject=SUBJECT,
            message_id=REQUEST_ID,
        ),
    )
    [row] = staff.eventually(lambda: staff.cases(capsys), "the case is opened")
    ref = row["ref"]
    assert row["intents"] == ["deletion"] and row["language"] == "ja"
    received = datetime.fromisoformat(row["received_at"]).astimezone(TOKYO)
    due = datetime.fromisoformat(row["answer_due"]).astimezone(TOKYO)
    # APPI: answered within 14 calendar days, to the end of the day in Tokyo
    assert due.date() == received.date() + timedelta(days=14)
    assert (due.hour, due.minute) == (23, 59)

    parent = staff.eventually(lambda: staff.parent(ref), "the case's parent message")
    shown = json.dumps(parent, ensure_ascii=False)
    assert f"{ref} · deletion" in shown
    assert "h***@example.jp" in shown and REQUESTER not in shown
    assert due.strftime("%Y-%m-%d") in shown
    ack_ts, ack_value = staff.eventually(
        lambda: staff.draft_button(ref, "ack"), "the ack draft in the thread"
    )

    # 2. A click Slack did not sign is refused; the approver sends the acknowledgement, twice.
    assert staff.click("approve", ack_value, ack_ts, secret="not-the-secret") == 401
    assert staff.click("approve", ack_value, ack_ts) == 200
    assert staff.click("approve", ack_value, ack_ts) == 200  # a double click

    # 3. The identity is verified from the case's message: button, modal, signed submission.
    assert staff.click("verified", ref, parent["ts"]) == 200
    [modal] = staff.eventually(slack.open_views, "the 'Identity verified' form opens")
    assert modal["private_metadata"] == ref
    submission = double().view_submission(
        user_id=APPROVER,
        callback_id=modal["callback_id"],
        private_metadata=modal["private_metadata"],
        view_id=modal["id"],
        values={"how": {"value": {"type": "plain_text_input", "value": HOW}}},
    )
    signed = double().interaction(submission, SECRET)
    assert staff.post(signed.body, signed.headers) == 200
    staff.eventually(
        lambda: any("identity recorded as verified" in e["text"] for e in slack.ephemeral()),
        "the approver is told the identity is recorded",
    )

    # 4. Staff prepare the answer on the command line; serve posts it in the thread.
    capsys.readouterr()
    sets = [f"deleted={item}" for item in DELETED] + ["done_on=2026-11-25"]
    command = ["draft", ref, "deletion_done", *[a for s in sets for a in ("--set", s)]]
    assert main([*command, "--as", EDITOR]) == 0, capsys.readouterr().err
    answer_ts, answer_value = staff.eventually(
        lambda: staff.draft_button(ref, "deletion_done"), "the answer draft in the thread"
    )
    assert staff.click("approve", answer_value, answer_ts) == 200
    assert staff.click("approve", answer_value, answer_ts) == 200  # a double click

    # 5. aiosmtpd receives each mail once, decoded and threaded under the request.
    staff.eventually(
        lambda: len(smtp_server.received) >= 2, "both mails reach the SMTP server", timeout=90
    )
    # the acknowledgement was queued first and goes first: the outbox sends in order
    ack, answer = smtp_server.received
    assert "受付" in str(decoded(ack.data)["Subject"])
    assert "削除完了" in str(decoded(answer.data)["Subject"])
    for got in (ack, answer):
        assert got.recipients == (REQUESTER,)
        mail = decoded(got.data)
        assert parseaddr(str(mail["To"]))[1] == REQUESTER
        assert parseaddr(str(mail["From"]))[1] == DESK
        assert str(mail["Subject"]).startswith(f"【{ref}】")  # the Japanese form of [PD-…]
        assert mail["In-Reply-To"] == REQUEST_ID
        assert REQUEST_ID in str(mail["References"]).split()
        # both approved by a person: letters, not auto-replies; our loop header only
        assert mail["Auto-Submitted"] is None and mail["X-Auto-Response-Suppress"] is None
        assert mail["X-Privacy-Desk-Loop"] == DESK
        assert str(mail["Message-ID"]).endswith("@example-hikaku.co.jp>")
    assert "株式会社ヒカクプラス" in text_of(decoded(ack.data))
    told = text_of(decoded(answer.data))
    assert all(item in told for item in DELETED) and "削除" in told

    # 6. The case is answered, its file complete; Slack tells it in the thread and the parent.
    assert staff.eventually(
        lambda: staff.case(ref, capsys)["status"] == "answered", "the case is answered"
    )
    trail = staff.case(ref, capsys)["audit"]
    actions = [e["action"] for e in trail]
    for expected in (
        "case opened",
        "draft prepared",
        "identity verified",
        "draft approved",
        "mail sent",
    ):
        assert expected in actions, f"{expected!r} missing from the audit trail: {actions}"
    assert actions.count("draft approved") == 2 and actions.count("mail sent") == 2
    assert [e["actor"] for e in trail if e["action"] == "draft approved"] == [APPROVER] * 2
    [verified] = [e for e in trail if e["action"] == "identity verified"]
    assert verified["actor"] == APPROVER and HOW in json.dumps(verified, ensure_ascii=False)
    assert [e["actor"] for e in trail if e["action"] == "draft prepared"][-1] == EDITOR

    def mail_sent() -> list[str]:
        said = [x for x in staff.lines(ref) if x.startswith("Mail sent to the requester")]
        return said if len(said) >= 2 else []

    sent = staff.eventually(mail_sent, "the thread tells both mails sent")
    assert len(sent) == 2
    assert "`ack`" in sent[0] and "`deletion_done`" in sent[1]
    assert f"<@{APPROVER}> verified the identity: {HOW}." in staff.lines(ref)
    staff.eventually(
        lambda: staff.status_shown(ref) == ["answered", "identity verified"],
        "the parent shows the case answered",
    )
    assert staff.draft_button(ref, "ack") is None  # approved drafts offer no button any more
    assert len(smtp_server.received) == 2  # the double clicks sent nothing more
    everything_posted = json.dumps(
        [c.params for c in slack.calls() if c.method.startswith("chat.")], ensure_ascii=False
    )
    assert REQUESTER not in everything_posted  # masked everywhere, every edit included

    # 7. SIGTERM: serve drains and exits 0 within 10 s; its logs name cases, never the requester.
    # Exit 0 says every component stopped within serve's own 10-second drain (past it, serve
    # logs "not stopped within 10 s" and exits 1 at once); no wall clock here, which a loaded
    # machine stretches.
    staff.service.send_signal(signal.SIGTERM)
    assert staff.service.wait(timeout=90) == 0
    logs = staff.log()
    assert "not stopped within" not in logs
    assert ref in logs  # the logs do speak of the case, by its reference
    for secret in (REQUESTER, "佐藤", SUBJECT, *WORDS, HOW, *DELETED, SECRET, slack.bot_token):
        escaped = json.dumps(secret)[1:-1]  # as a JSON log line writes it (\\uXXXX)
        assert secret not in logs and escaped not in logs, f"the service logged {secret!r}"
