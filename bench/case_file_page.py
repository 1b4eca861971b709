"""How long the case-file page takes for a long case: a request with N follow-ups, each with a
few attachments, served over HTTP as ``serve`` serves it.

    python bench/case_file_page.py [--messages N] [--runs R]

A new SQLite database in a temporary folder gets one case of N messages (default 200; each with
a paragraph of Japanese text, a quoted history and three attachments: a PNG, a PDF and an SVG of
a few kilobytes), then the page, one attachment and the search page are each fetched R times
(default 5) with a session cookie, staff being answered by a stand-in that says yes at once (the
Slack round trip is not the desk's to measure). Printed: what was fetched, its size and the
median and slowest wall time. The page must grow with the case, no faster.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intake import Intake
from bot.slack.http import serve_http
from bot.slack.staff import Verdict
from bot.web.links import COOKIE, Links
from bot.web.pages import CaseFileSite
from storage.db import open_database

USER = "U0BENCH001"
TEXT = (
    "ご担当者様\n\n登録情報の削除についての追加のご連絡です。①㈱髙橋商事の会員番号も対象です。\n"
    * 5
)


class AlwaysStaff:
    async def check(self, user: str) -> Verdict:
        return Verdict.STAFF


def _mail(n: int, ref: str | None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "田中一郎 <ichiro.tanaka@example.jp>"
    msg["To"] = "privacy@example.jp"
    msg["Subject"] = f"Re: 個人情報削除のお願い [{ref}]" if ref else "個人情報削除のお願い"
    msg["Message-ID"] = f"<bench-{n}@example.jp>"
    if n:
        msg["In-Reply-To"] = "<bench-0@example.jp>"
    msg.set_content(f"{TEXT}\n(その{n})\n\n> 以前のメール\n> {TEXT[:200]}\n")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(4000), maintype="image", subtype="png",
                       filename=f"免許証-{n}.png")  # fmt: skip
    msg.add_attachment(b"%PDF-1.4\n" + bytes(8000), maintype="application", subtype="pdf",
                       filename=f"委任状-{n}.pdf")  # fmt: skip
    msg.add_attachment(b"<svg xmlns='http://www.w3.org/2000/svg'/>" * 50, maintype="image",
                       subtype="svg+xml", filename=f"drawing-{n}.svg")  # fmt: skip
    return msg.as_bytes()


def _fetch(port: int, path: str, cookie: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Cookie": f"{COOKIE}={cookie}"})
    answer = conn.getresponse()
    size = len(answer.read())
    conn.close()
    return answer.status, size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    engine = open_database(f"sqlite:///{folder / 'desk.db'}", create=True)
    received = datetime(2026, 3, 3, tzinfo=UTC)
    intake = Intake(engine, clock=lambda: received)
    ref = intake.process(_mail(0, None)).ref
    for n in range(1, args.messages):
        intake.process(_mail(n, ref))
    assert ref is not None
    links = Links("b" * 32, "http://127.0.0.1", timedelta(minutes=15))
    cookie, _ = links.cookie(USER)
    site = CaseFileSite(engine, links, AlwaysStaff(), max_bytes=25 * 1024 * 1024)
    stop, started = asyncio.Event(), threading.Event()
    loop = asyncio.new_event_loop()
    with socket.socket() as probe:  # a port the OS chose
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])

    async def serve() -> None:
        await serve_http(None, stop, port=port, started=started.set, pages=site.routes)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30)
    print(
        f"one case of {args.messages} messages, {3 * args.messages} attachments; {args.runs} runs"
    )
    for what, path in (
        ("case page", f"/cases/{ref}"),
        ("attachment (PDF)", f"/cases/{ref}/attachments/{3 * args.messages - 1}"),
        ("search", "/cases?q=%E5%89%8A%E9%99%A4"),
    ):
        times, size = [], 0
        for _ in range(args.runs):
            status, size, took = _fetch(port, path, cookie)
            assert status == 200, (what, status)
            times.append(took)
        print(
            f"  {what:<18} {size / 1024:8.0f} KiB  median {statistics.median(times) * 1000:7.0f} ms"
            f"  slowest {max(times) * 1000:7.0f} ms"
        )
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


if __name__ == "__main__":
    main()
