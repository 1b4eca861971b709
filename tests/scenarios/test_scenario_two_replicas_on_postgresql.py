"""Two replicas of ``privacy-desk serve`` against one PostgreSQL: exactly one watches the mailbox
(the other stands by, healthy); when the leader is killed mid-stream the other takes over and
every message becomes exactly one case; the outbox is shared and each approved mail is sent
exactly once though two senders work it. All parts are real: Dovecot, PostgreSQL, aiosmtpd."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from support import eventually, served_port

from bot.replies import Replies, ReplySettings
from storage.models import Case, Draft, MailboxCheckpoint, MailMessage

APPROVER = "yamada"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


class Replica:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        command = Path(sys.executable).with_name("privacy-desk")
        self.logs = logs / name
        with (
            self.logs.with_suffix(".out").open("wb") as out,
            self.logs.with_suffix(".err").open("wb") as err,
        ):
            self.process = subprocess.Popen(
                [str(command), "serve", "--workers", "0"],
                env={**env, "PD_HTTP_PORT": "0"},  # the OS chooses; serve prints it
                cwd=logs,
                stdout=out,
                stderr=err,
            )

    @functools.cached_property
    def port(self) -> int:
        """The port this replica listens on, as it printed it."""
        return served_port(self.process, self.logs.with_suffix(".out"))

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read()))
        except OSError:
            return None

    def state(self, component: str) -> str | None:
        found = self.health()
        return found["components"].get(component, {}).get("state") if found else None

    def settled(self) -> dict[str, Any] | None:
        """``/healthz`` once every component has reported how it works (none still starting)."""
        found = self.health()
        if not found or any(c["state"] == "starting" for c in found["components"].values()):
            return None
        return found

    def passes(self, component: str) -> str | None:
        """When ``component`` last reported (to the second; it reports after each pass)."""
        found = self.health()
        return found["components"].get(component, {}).get("since") if found else None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(20)


@pytest.fixture
def replicas(
    engine: Engine, dovecot: Any, smtp_server: Any, tmp_path: Path
) -> Iterator[Callable[[str], Replica]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PD_", "SLACK_"))},
        **SETTINGS,
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": smtp_server.url(),
        "PD_LOG_FORMAT": "json",
    }
    started: list[Replica] = []

    def start(name: str) -> Replica:
        replica = Replica(name, env, tmp_path)
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.kill()
                replica.process.wait(10)


def test_one_watches_the_other_takes_over_and_the_outbox_is_shared(
    replicas: Callable[[str], Replica],
    engine: Engine,
    dovecot: Any,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
) -> None:
    first = replicas("first")
    eventually(lambda: first.state("mailbox") == "ok", "the first replica watches the mailbox")
    second = replicas("second")
    eventually(lambda: second.state("mailbox") == "standby", "the second stands by")
    health = eventually(second.settled, "every component of the second has reported")
    assert health["components"]["mailbox"]["state"] == "standby"
    assert health["healthy"] is True  # standing by is healthy
    assert first.state("mailbox") == "ok"

    uids: list[int] = []

    def append(start: int, count: int) -> None:
        for n in range(start, start + count):
            uids.append(
                dovecot.append(
                    "desk",
                    make_mail(
                        f"会員番号{n}の個人情報を削除してください。",
                        sender=f"user{n}@example.jp",
                        message_id=f"<replica-{n}@example.jp>",
                    ),
                )
            )

    def cases() -> int:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(Case)).one())

    append(0, 20)
    eventually(lambda: cases() >= 5, "the leader takes the mail in")
    first.process.kill()  # the leader dies in the middle of the stream, no goodbye
    first.process.wait(10)
    append(20, 20)
    eventually(lambda: second.state("mailbox") == "ok", "the second takes over", timeout=30)
    eventually(lambda: cases() == 40, "every message becomes a case", timeout=60)
    # nothing more arrives: the watcher has checkpointed the last message, nothing in flight
    eventually(lambda: _read_upto(engine) == max(uids), "the last message checkpointed")
    with Session(engine) as session:
        ids = list(
            session.exec(select(MailMessage.message_id).where(MailMessage.direction == "in"))
        )
        assert cases() == 40 and sorted(ids) == sorted(f"replica-{n}@example.jp" for n in range(40))

    # a new replica stands by; both send from the one outbox
    third = replicas("third")
    eventually(lambda: third.state("mailbox") == "standby", "the third stands by")
    replies = Replies(engine, ReplySettings.from_env(SETTINGS))
    with Session(engine) as session:
        drafts = list(session.exec(select(Draft.id).where(Draft.status == "draft")))
    assert len(drafts) == 40  # each case's acknowledgement, waiting for approval
    for draft_id in drafts:
        assert draft_id is not None
        replies.approve(draft_id, approver=APPROVER)
    eventually(lambda: len(smtp_server.received) >= 40, "every approved mail is sent", timeout=60)
    # a full sender pass on both replicas after the last mail went: nothing is sent again
    for replica in (second, third):
        _after_two_passes(replica, "outbox")
    sent = [message_from_bytes(m.data)["Message-ID"] for m in smtp_server.received]
    assert len(sent) == 40 and len(set(sent)) == 40
    assert second.stop() == 0 and third.stop() == 0
    logs = "".join(p.read_text() for p in first.logs.parent.glob("*.err"))
    assert "user1@example.jp" not in logs and "削除してください" not in logs


def _after_two_passes(replica: Replica, component: str) -> None:
    """Return once ``component`` of ``replica`` has reported twice more: a whole pass of it has
    started and ended since this was called (its reports carry the second they were made)."""
    for n in ("one", "another"):
        before = replica.passes(component)
        eventually(
            lambda before=before: (now := replica.passes(component)) is not None and now != before,
            f"{replica.name}'s {component} reports after {n} pass",
            timeout=60,
        )


def _read_upto(engine: Engine) -> int | None:
    """The UID up to which the mailbox has been read for good (none of it still in flight)."""
    with Session(engine) as session:
        [checkpoint] = session.exec(select(MailboxCheckpoint)).all()
        return None if checkpoint.in_flight_upto else checkpoint.last_uid
