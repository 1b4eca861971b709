"""A desk serving its case-file pages on a free port, for the HTTP tests of ``bot.web``: a case
with a Japanese request and a follow-up carrying attachments, staff and a bystander in the Slack
double (which says who is staff), the desk's replies (the upload form attaches through them),
and a clock the tests move instead of sleeping."""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import Serving, free_port

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.http import serve_http
from bot.slack.staff import Staff
from bot.web.links import COOKIE, Links
from bot.web.pages import CaseFileSite
from bot.words import words
from storage import repo

SECRET = "a-link-secret-of-the-test-at-least-32-bytes"
ALICE = "U0ALICE001"  # staff: in the case channel
APPROVER = "U0APPROVE1"  # staff by PD_APPROVERS, not in the channel
BYSTANDER = "U0BYSTAND1"  # in the workspace only
MAX_BYTES = 1024 * 1024  # PD_ATTACHMENT_MAX_BYTES of these tests
T0 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
REQUEST = "田中一郎と申します。登録されている私の個人情報をすべて削除してください。"
FOLLOW_UP = "本人確認書類として運転免許証の写しを添付します。削除の対象に旧住所も含めてください。"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"
ATTACHMENTS = (  # numbered 1.. in this order
    ("運転免許証.png", "image", "png", PNG),
    ("委任状.pdf", "application", "pdf", PDF),
    ("drawing.svg", "image", "svg+xml", SVG),
    ("page.html", "text", "html", HTML),
    (HOSTILE_NAME, "text", "plain", b"hello"),
    ("photo.png", "image", "png", HTML),  # says it is a picture; its bytes are a web page
)
NOTE = "電話で本人確認済み。旧住所は東京都港区。"
DRAFT = "田中一郎様\n\nご依頼のとおり削除いたしました。"
DESK_ADDRESS = "privacy@example-hikaku.co.jp"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def cookie(self) -> str | None:
        """The session cookie's value this answer sets, if any."""
        for header in self.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name == COOKIE:
                return rest.split(";", 1)[0]
        return None


@dataclass
class WebDesk:
    engine: Engine
    slack: Any
    clock: Clock
    links: Links
    port: int
    ref: str
    other_ref: str
    replies: Replies
    seen: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, *, cookie: str | None = None) -> Answer:
        return self.request("GET", path, cookie=cookie)

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One request on its own connection (``body`` bytes, or an iterable of them sent as it
        is produced: with a Content-Length header given, else chunked)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = dict(headers or {})
        if cookie:
            sent["Cookie"] = f"{COOKIE}={cookie}"
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            return Answer(answer.status, answer.headers, answer.read())
        finally:
            conn.close()

    def token(self, user: str = ALICE, ref: str | None = None) -> str:
        url = self.links.url(ref or self.ref, user)
        return url.partition("?t=")[2]

    def session(self, user: str = ALICE) -> str:
        """A session cookie as a browser gets it: by following a link."""
        answer = self.get(f"/cases/{self.ref}?t={self.token(user)}")
        assert answer.status == 303, answer.text
        cookie = answer.cookie()
        assert cookie
        return cookie


def request_mail(
    body: str, *, subject: str, attachments: tuple[Any, ...] = (), **headers: str
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "田中一郎 <ichiro.tanaka@example.jp>"
    msg["To"] = "privacy@example-hikaku.co.jp"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 03 Mar 2026 09:00:00 +0900"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for filename, main, sub, data in attachments:
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes()


def open_cases(engine: Engine) -> tuple[str, str]:
    """Ichiro's request and its follow-up with attachments, and another requester's case."""
    intake = Intake(engine, clock=lambda: T0)
    first = intake.process(
        request_mail(REQUEST, subject="個人情報削除のお願い", Message_ID="<req-1@example.jp>")
    )
    assert first.action == "opened" and first.ref
    follow = intake.process(
        request_mail(
            FOLLOW_UP + "\n\n> 田中一郎と申します。以前のメール\n",
            subject=f"Re: 個人情報削除のお願い [{first.ref}]",
            attachments=ATTACHMENTS,
            Message_ID="<req-2@example.jp>",
            In_Reply_To="<req-1@example.jp>",
            References="<req-1@example.jp>",
        )
    )
    assert follow.action == "linked", follow
    other = intake.process(
        request_mail("Please tell me what data you hold about me.", subject="Disclosure").replace(
            b"ichiro.tanaka@example.jp", b"someone.else@example.com"
        )
    )
    assert other.ref and other.ref != first.ref
    with Session(engine) as session:
        case = repo.case_by_ref(session, first.ref)
        assert case is not None
        repo.add_draft(
            session,
            case.id,
            template="deletion_done",
            language="ja",
            subject="削除完了",
            body=DRAFT,
        )
        repo.audit(session, case.id, ALICE, "note", text=NOTE)
        session.commit()
    return first.ref, other.ref


@contextlib.contextmanager
def serving(engine: Engine, slack: Any, *, language: str = "ja") -> Iterator[WebDesk]:
    """The desk's case-file pages served on a free port until the block ends, in the staff
    language ``language``."""
    slack.add_user(ALICE, name="alice")
    slack.add_user(APPROVER, name="approver", channels=())
    slack.add_user(BYSTANDER, name="bystander", channels=())
    ref, other = open_cases(engine)
    clock = Clock()
    port = free_port()
    links = Links(SECRET, f"http://127.0.0.1:{port}", timedelta(minutes=15), clock=clock)
    settings = ReplySettings.from_env(
        {
            "PD_FROM_ADDRESS": DESK_ADDRESS,
            "PD_APPROVERS": APPROVER,
            "PD_ATTACHMENT_MAX_BYTES": str(MAX_BYTES),
        }
    )
    replies = Replies(engine, settings, clock=clock)

    def pages() -> list[Any]:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        staff = Staff(client, channel=slack.channel, approvers=(APPROVER,))
        site = CaseFileSite(
            engine, links, staff, max_bytes=MAX_BYTES, replies=replies, words=words(language)
        )
        return site.routes()

    started = threading.Event()
    service = Serving(
        lambda stop: serve_http(None, stop, port=port, started=started.set, pages=pages)
    ).start()
    assert started.wait(15)
    try:
        yield WebDesk(engine, slack, clock, links, port, ref, other, replies)
    finally:
        service.stop(10)
    assert service.error is None
