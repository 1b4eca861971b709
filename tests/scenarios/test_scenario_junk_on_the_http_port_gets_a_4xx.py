"""A stranger finds the desk's HTTP port and throws junk at it: unsigned and wrongly signed posts,
bodies that are not UTF-8, not JSON, not a form, far too big, or trickled in a byte at a time,
headers that never end, a request line that is not HTTP. Each gets a 4xx or is cut off within
``PD_HTTP_READ_TIMEOUT``, never a 500, and no traceback reaches the log; ``/metrics`` wants its
bearer token (``PD_METRICS_TOKEN``); a properly signed request from Slack still works."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from support import eventually, served_port

SECRET = "signing-secret-of-the-test"
METRICS_TOKEN = "metrics-token-of-the-test"
SETTINGS = {
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
    "PD_APPROVERS": "U0APPROVE1",
    "SLACK_SIGNING_SECRET": SECRET,
    "PD_METRICS_TOKEN": METRICS_TOKEN,
    "PD_HTTP_READ_TIMEOUT": "1",
    "PD_LOG_FORMAT": "text",
}


def _signed_headers(body: bytes, content_type: str, secret: str = SECRET) -> dict[str, str]:
    when = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + when.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": when,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def _raw(port: int, data: bytes) -> bytes:
    """Send ``data`` as it is and read what comes back until the server closes or answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        return conn.recv(65536)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def _post(port: int, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> int:
    head = f"POST {path} HTTP/1.1\r\nHost: desk\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return _status(_raw(port, head.encode() + b"Connection: close\r\n\r\n" + body))


def _trickled(conn: socket.socket, data: bytes) -> tuple[bytes, float]:
    """Send ``data`` a byte at a time, as a slowloris client does, until the server answers or
    closes; what it said (b"": closed) and how long that took."""
    started = time.monotonic()
    conn.setblocking(False)
    for byte in data:
        try:
            conn.send(bytes([byte]))
            return conn.recv(65536), time.monotonic() - started
        except BlockingIOError:
            time.sleep(0.1)  # the slow client's pace, not a wait for the server
        except OSError:
            return b"", time.monotonic() - started
    raise AssertionError("the server let a slow client send everything")


def _get(port: int, path: str, token: str | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_junk_gets_a_4xx_and_no_traceback(
    desk_db: tuple[str, Engine], slack: Any, dovecot: Any, make_mail: Callable[..., bytes]
) -> None:
    url, _engine = desk_db
    env = {
        **os.environ,
        **SETTINGS,
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{Path(url.removeprefix('sqlite:///')).parent / 'outbox'}",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": "0",  # the OS chooses a free port; serve prints it
    }
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    root = Path(__file__).resolve().parents[2]
    printed = Path(url.removeprefix("sqlite:///")).parent / "serve.out"
    with printed.open("w") as stdout:
        service = subprocess.Popen(
            command, cwd=root, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    try:
        port = served_port(service, printed)

        def listening() -> bool:
            try:
                return _get(port, "/healthz") in (200, 503)
            except OSError:
                return False

        eventually(listening, "the HTTP port")
        json_type, form_type = "application/json", "application/x-www-form-urlencoded"
        challenge = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
        answers = {
            "no headers at all": _post(port, b"\x00\xff junk", {}),
            "no signature": _post(port, challenge, {"Content-Type": json_type}),
            "wrong secret": _post(port, challenge, _signed_headers(challenge, json_type, "x")),
            "stale signature": _post(
                port,
                challenge,
                {**_signed_headers(challenge, json_type), "X-Slack-Request-Timestamp": "1"},
            ),
            "not a number": _post(
                port,
                challenge,
                {**_signed_headers(challenge, json_type), "X-Slack-Request-Timestamp": "soon"},
            ),
            "signed, not UTF-8": _post(
                port, b"{\xff\xfe}", _signed_headers(b"{\xff\xfe}", json_type)
            ),
            "signed, bad JSON": _post(port, b"{nope", _signed_headers(b"{nope", json_type)),
            "signed, JSON list": _post(port, b"[1, 2]", _signed_headers(b"[1, 2]", json_type)),
            "signed, bad payload": _post(
                port, b"payload=%7Bnope", _signed_headers(b"payload=%7Bnope", form_type)
            ),
            "signed, payload list": _post(
                port, b"payload=%5B1%5D", _signed_headers(b"payload=%5B1%5D", form_type)
            ),
            "signed, wrong type": _post(port, challenge, _signed_headers(challenge, "text/plain")),
            "too big": _status(
                _raw(
                    port,
                    b"POST /slack/events HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json"
                    b"\r\nContent-Length: 50000000\r\n\r\n{",
                )
            ),
            "too big, chunked": _status(
                _raw(
                    port,
                    b"POST /slack/events HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json"
                    b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"".join(b"100000\r\n" + b"x" * 0x100000 + b"\r\n" for _ in range(3)),
                )
            ),
            "not HTTP": _status(_raw(port, b"\x16\x03\x01 hello\r\n\r\n")),
            "metrics without token": _get(port, "/metrics"),
            "metrics, wrong token": _get(port, "/metrics", "guess"),
        }
        refused = {what: status for what, status in answers.items() if not 400 <= status < 500}
        assert refused == {}, answers
        assert answers["no signature"] == 401 and answers["signed, bad JSON"] == 400
        assert answers["too big"] == 413

        # Slow clients are cut off after PD_HTTP_READ_TIMEOUT (1 s), whatever they still send.
        body_head = (
            b"POST /slack/events HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
            b"Content-Length: 400\r\n\r\n"
        )
        # Cut off by the desk's own deadline, not by the end of what the client had to send (a
        # byte every 0.1 s: 40 s and more, far above any load): the body's deadline answers 408
        # with its reason, the headers' closes the connection without a word.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(body_head)  # the headers at once, then the body trickles
            answer, took = _trickled(conn, b"x" * 400)
        assert _status(answer) == 408, (answer, took)
        assert answer.endswith(b"\r\n\r\nrequest body too slow\n"), answer
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            answer, took = _trickled(conn, b"POST /slack/events HTTP/1.1\r\nX-Slow: 1\r\n" * 20)
        assert answer == b"", (answer, took)  # closed, headers unfinished

        # Slack itself still gets through, and the metrics with their token.
        assert _post(port, challenge, _signed_headers(challenge, json_type)) == 200
        assert _get(port, "/metrics", METRICS_TOKEN) == 200
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=20)
        out = printed.read_text()
    assert service.returncode == 0, err
    assert "Traceback" not in out + err and "Error handling request" not in err, err
    assert SECRET not in out + err and METRICS_TOKEN not in out + err
