"""Staff read the case file in a browser: Ichiro Tanaka asks in Japanese for his data to be
deleted and follows up with a PDF. ``privacy-desk serve`` runs as an operator runs it, every
part real (Dovecot, aiosmtpd, the Slack double; PD_PUBLIC_URL and PD_LINK_SECRET set, the Slack
app over HTTP on the same port as the pages). Alice, in
the case channel, presses the parent message's **Case file** button (a signed request over real
HTTP), Slack shows her alone the link, and real headless Chromium opens it: the token is
exchanged for a cookie, the redirect followed, and the page shows every word Ichiro wrote and a
link to his PDF. The same link altered, or opened by a bystander's browser with a link made for
the bystander, shows the 403 page and nothing of the case. Alice then attaches his data to a
disclosure answer with the page's one form, driven in Chromium over the DevTools protocol as a
person would (choose the file, press the button): the browser's own post passes the cross-site
checks, and the page it is sent back to shows the file and its SHA-256."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import eventually, eventually_async, free_port

from bot import settings, wiring
from bot.intake import Intake
from bot.replies import Replies
from bot.slack.blocks import ACTIONS
from storage.models import AuditEvent

SIGNING_SECRET = "signing-secret-of-the-test"
ALICE = "U0ALICE001"
BYSTANDER = "U0BYSTAND1"
REQUEST = "田中一郎と申します。貴社に登録されている私の個人情報をすべて削除してください。"
FOLLOW_UP = "委任状を添付します。①㈱髙橋商事の会員登録も削除の対象に含めてください。"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LINK_SECRET = "a-link-secret-of-the-test-at-least-32-bytes"
LINK = re.compile(r"<(http://127\.0\.0\.1:\d+/cases/(PD-\d{4}-\d{6})\?t=[^|>]+)\|")


def mail(
    body: str, subject: str, message_id: str, *, reply_to: str = "", pdf: bool = False
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "田中一郎 <ichiro.tanaka@example.jp>"
    msg["To"] = "privacy@example-hikaku.co.jp"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = msg["References"] = reply_to
    msg.set_content(body)
    if pdf:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="委任状.pdf")
    return msg.as_bytes()


@dataclass
class Desk:
    engine: Engine
    slack: Any
    port: int
    ref: str

    def click(self, user: str) -> None:
        """``user`` presses the Case file button, as Slack sends it: signed, over HTTP."""
        # the case's parent message (the digest may have been posted to the channel too)
        [parent] = [m for m in self.slack.messages() if _has_button(m)]
        payload = sys_double().block_actions(
            user_id=user,
            action_id=ACTIONS["case_file"],
            value=self.ref,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=parent["ts"],
            response_url=self.slack.response_url,
        )
        body = urlencode({"payload": json.dumps(payload)}).encode()
        when = str(int(time.time()))
        signature = hmac.new(
            SIGNING_SECRET.encode(), b"v0:" + when.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": when,
                "X-Slack-Signature": f"v0={signature}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200

    def link_for(self, user: str) -> str:
        """The link Slack showed ``user`` alone."""

        def shown() -> str | None:
            for told in self.slack.ephemeral():
                found = LINK.search(told["text"]) if told["user"] == user else None
                if found:
                    return found[1]
            return None

        return str(eventually(shown, f"a case-file link shown to {user}"))


def sys_double() -> Any:
    return sys.modules["slack_double"]


@pytest.fixture
def desk(
    engine: Engine,
    slack: Any,
    dovecot: Any,
    smtp_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    """``privacy-desk serve`` run as an operator runs it, every part real, after Ichiro's two
    mails were taken in."""
    slack.add_user(ALICE, name="alice")
    slack.add_user(BYSTANDER, name="bystander", channels=())
    port = free_port()
    values = {
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": smtp_server.url(),
        "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
        "PD_APPROVERS": "U0APPROVE1",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": str(port),
        "PD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PD_LINK_SECRET": LINK_SECRET,
        "PD_LOG_FORMAT": "text",
    }
    intake = Intake(engine, replies=wiring.reply_settings(settings.read(values)))
    first = intake.process(mail(REQUEST, "個人情報削除のお願い", "<ichiro-1@example.jp>"))
    assert first.action == "opened" and first.ref
    follow = intake.process(
        mail(FOLLOW_UP, "Re: 個人情報削除のお願い", "<ichiro-2@example.jp>",
             reply_to="<ichiro-1@example.jp>", pdf=True)
    )  # fmt: skip
    assert follow.action == "linked"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    command = Path(sys.executable).with_name("privacy-desk")  # the console script
    logs = tmp_path / "serve.log"
    with logs.open("wb") as out:
        service = subprocess.Popen(
            [str(command), "serve"], cwd=tmp_path, env=dict(os.environ), stdout=out, stderr=out
        )
    try:
        desk = Desk(engine, slack, port, first.ref)

        def posted() -> bool:
            assert service.poll() is None, logs.read_text(errors="replace")[-3000:]
            return any(_has_button(m) for m in slack.messages())

        eventually(posted, "the case posted with its Case file button")
        yield desk
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)
    logged = logs.read_text(errors="replace")
    assert "?t=" not in logged and "ichiro" not in logged and "田中" not in logged


def _has_button(message: dict[str, Any]) -> bool:
    return any(
        e.get("action_id") == ACTIONS["case_file"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    )


def headless(chromium: str, profile: Path) -> list[str]:
    """Chromium headless, its cookies kept in ``profile``."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",  # as root, Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]


def browse(chromium: str, url: str, profile: Path) -> str:
    """The DOM real headless Chromium ends with after loading ``url`` (redirects followed,
    cookies kept in ``profile``)."""
    done = subprocess.run(
        [*headless(chromium, profile), "--dump-dom", url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


def test_staff_open_the_case_file_from_slack_in_a_browser(
    desk: Desk, chromium: str, tmp_path: Path
) -> None:
    desk.click(ALICE)
    url = desk.link_for(ALICE)
    dom = browse(chromium, url, tmp_path / "alice")
    assert REQUEST in dom and FOLLOW_UP in dom  # every word, Japanese as sent
    assert re.search(rf'<a href="/cases/{desk.ref}/attachments/1"[^>]*>1\. 委任状\.pdf</a>', dom)
    assert "?t=" not in dom
    assert '<html lang="ja">' in dom and "回答期限" in dom  # PD_STAFF_LANGUAGE unset: Japanese
    altered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    refused = browse(chromium, altered, tmp_path / "mallory")
    assert "このリンクは使えません" in refused and desk.ref not in refused  # the staff language
    assert "田中" not in refused


def test_a_bystanders_browser_sees_nothing(desk: Desk, chromium: str, tmp_path: Path) -> None:
    desk.click(BYSTANDER)
    assert not [e for e in desk.slack.ephemeral() if LINK.search(e["text"])]
    made = wiring.case_file_links(
        settings.read(
            {
                "PD_PUBLIC_URL": f"http://127.0.0.1:{desk.port}",
                "PD_LINK_SECRET": LINK_SECRET,
            }
        )
    )
    assert made is not None
    dom = browse(chromium, made.url(desk.ref, BYSTANDER), tmp_path / "bystander")
    assert "このリンクは使えません" in dom and "田中" not in dom


class DevTools:
    """Calls and events of one page over the Chrome DevTools Protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._next = 0
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            said = json.loads(message.data)
            if "id" in said:
                call = self._calls.pop(said["id"])
                if "error" in said:
                    call.set_exception(AssertionError(said["error"]))
                else:
                    call.set_result(said["result"])
            for waiter in self._events.pop(said.get("method", ""), []):
                waiter.set_result(said.get("params", {}))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        answer = asyncio.get_running_loop().create_future()
        self._calls[self._next] = answer
        await self._ws.send_json({"id": self._next, "method": method, "params": params})
        return await asyncio.wait_for(answer, 60)

    def event(self, method: str) -> asyncio.Future[dict[str, Any]]:
        """The next ``method`` event (ask before doing what causes it)."""
        waiter = asyncio.get_running_loop().create_future()
        self._events.setdefault(method, []).append(waiter)
        return waiter

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def attach_in_browser(chromium: str, url: str, chosen: Path, profile: Path) -> str:
    """Open ``url`` in headless Chromium, choose ``chosen`` in the page's upload form and press
    its button; the DOM of the page the browser ends on."""
    browser = await asyncio.create_subprocess_exec(
        *headless(chromium, profile),
        "--remote-debugging-port=0",
        "about:blank",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        active = profile / "DevToolsActivePort"  # Chromium writes its port here
        said = await eventually_async(
            lambda: active.exists() and len(active.read_text().split()) == 2 and active.read_text(),
            "Chromium's DevTools port",
        )
        port = said.split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as listed:
                [page] = [t for t in await listed.json() if t["type"] == "page"]
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                try:
                    await tools.call("Page.enable")
                    loaded = tools.event("Page.loadEventFired")
                    await tools.call("Page.navigate", url=url)
                    await asyncio.wait_for(loaded, 60)
                    root = (await tools.call("DOM.getDocument"))["root"]["nodeId"]
                    found = await tools.call(
                        "DOM.querySelector", nodeId=root, selector="form.upload input[type=file]"
                    )
                    assert found["nodeId"], "no upload form on the page"
                    await tools.call(
                        "DOM.setFileInputFiles", nodeId=found["nodeId"], files=[str(chosen)]
                    )
                    loaded = tools.event("Page.loadEventFired")
                    await tools.call(  # the click a person makes: the form posts itself
                        "Runtime.evaluate",
                        expression="document.querySelector('form.upload button').click()",
                    )
                    await asyncio.wait_for(loaded, 60)
                    shown = await tools.call(
                        "Runtime.evaluate",
                        expression="document.location.href + '\\n' + document.documentElement.outerHTML",
                        returnByValue=True,
                    )
                    return str(shown["result"]["value"])
                finally:
                    await tools.close()
    finally:
        browser.terminate()
        await browser.wait()


def test_staff_attach_an_answer_file_with_the_pages_form_in_a_browser(
    desk: Desk, chromium: str, tmp_path: Path
) -> None:
    read = settings.read()  # serve's own settings (the fixture put them in the environment)
    links = wiring.case_file_links(read)
    assert links is not None
    link = links.url(desk.ref, ALICE)  # as the Case file button gives it to her
    replies = Replies(desk.engine, wiring.reply_settings(read))
    draft = replies.draft(
        desk.ref,
        "disclosure_answer",
        {"method": "file", "items": ["会員登録情報（氏名・会員番号）"]},
        editor=ALICE,
    )
    data = "\ufeff項目,内容\r\n氏名,田中一郎\r\n".encode()
    chosen = tmp_path / "開示データ_田中.csv"
    chosen.write_bytes(data)
    profile = tmp_path / "alice"
    profile.mkdir()
    shown = asyncio.run(attach_in_browser(chromium, link, chosen, profile))
    location, _, dom = shown.partition("\n")
    assert location == f"http://127.0.0.1:{desk.port}/cases/{desk.ref}#draft-{draft.id}"
    digest = hashlib.sha256(data).hexdigest()
    assert "開示データ_田中.csv" in dom and digest in dom and "第 2 版" in dom
    assert 'class="refused"' not in dom
    with Session(desk.engine) as session:
        [attached] = session.exec(select(AuditEvent).where(AuditEvent.action == "files attached"))
    assert attached.actor == ALICE
    assert attached.detail["files"] == [
        {"name": "開示データ_田中.csv", "size": len(data), "sha256": digest}
    ]
