"""Run ``privacy-desk serve`` against local stand-ins for every part — Dovecot, aiosmtpd and the
Slack Web API double from tests/ — feed it one mail, read /healthz and /metrics, then stop it
with SIGTERM and time the exit. Needs the test extras (`pip install -e '.[test]'`) and
dovecot-imapd; uses SQLite under /tmp.

    .venv/bin/python examples/serve_locally.py
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def harness(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None, ""


def main() -> None:
    imap, smtp, slack_api = harness("imap_server"), harness("smtp_server"), harness("slack_double")
    work = Path(tempfile.mkdtemp(prefix="privacy-desk-"))
    with imap.Dovecot() as dovecot, smtp.SmtpServer() as mta, slack_api.SlackDouble() as slack:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PD_", "SLACK_"))}
        env.update(
            PD_DATABASE_URL=f"sqlite:///{work}/desk.db",
            PD_MAILBOX=dovecot.url("desk"),
            PD_SMTP_URL=mta.url(),
            PD_FROM_ADDRESS="privacy@example-hikaku.co.jp",
            PD_APPROVERS="U0APPROVE1",
            SLACK_BOT_TOKEN=slack.bot_token,
            PD_SLACK_CHANNEL=slack.channel,
            PD_SLACK_API_URL=slack.base_url,
            SLACK_SIGNING_SECRET="local-secret",
            PD_HTTP_PORT=str(port),
        )
        started = time.monotonic()
        service = subprocess.Popen(
            [str(Path(sys.executable).with_name("privacy-desk")), "serve"],
            env=env,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        while get(port, "/healthz")[0] != 200 and time.monotonic() - started < 30:
            time.sleep(0.2)
        print(f"healthy after {time.monotonic() - started:.1f} s")

        mail = EmailMessage()
        mail["From"], mail["To"] = "hanako@example.jp", "privacy@example-hikaku.co.jp"
        mail["Subject"], mail["Message-ID"] = "個人情報の削除", "<local-1@example.jp>"
        mail.set_content("私の個人情報を削除してください。")
        dovecot.append("desk", mail.as_bytes())
        appended = time.monotonic()
        while time.monotonic() - appended < 20 and not [
            m for m in slack.messages() if m.get("text", "").startswith("PD-")
        ]:
            time.sleep(0.1)
        print(f"the case in the Slack channel {time.monotonic() - appended:.2f} s after APPEND")

        time.sleep(2.5)  # a pass of every loop
        status, body = get(port, "/healthz")
        print("GET /healthz", status, body)
        status, body = get(port, "/metrics")
        print("GET /metrics", status)
        for line in body.splitlines():
            if line.startswith("privacy_desk_") and "_bucket" not in line:
                print("  ", line)

        stopping = time.monotonic()
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=30)
        print(f"SIGTERM -> exit {service.returncode} in {time.monotonic() - stopping:.2f} s")
        print("stdout:", out.strip())
        leaked = [w for w in ("hanako@example.jp", "削除してください") if w in err]
        print(
            f"stderr: {len(err.splitlines())} log lines; personal data in them: {leaked or 'none'}"
        )


if __name__ == "__main__":
    main()
