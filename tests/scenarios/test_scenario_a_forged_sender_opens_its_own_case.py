"""With PD_AUTHSERV_ID set, the desk believes a From: only when its own MTA says DMARC passed for
that domain (or, with no DMARC result, an aligned DKIM signature did). A forged follow-up in
Hanako's thread, naming her case, opens a case of its own flagged ``unauthenticated``: it does not
join hers, restart her clock, prove her code or get automatic mail. Results stamped by any other
authserv-id are ignored; a From: like ``victim@x <mallory@y>`` never links. An approver can link
such mail by hand, audited (issue 16: "a forged From: opens its own flagged case")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.intake import Intake, IntakeResult
from bot.replies import Replies, ReplySettings
from mail.parse import parse_message
from storage import repo
from storage.models import Case, MailMessage, OutboxItem

DESK = "privacy@example-hikaku.co.jp"
OUR_MTA = "mx.example-hikaku.co.jp"
HANAKO = "佐藤 花子 <hanako@example.jp>"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
    "PD_AUTO_ACK": "1",
    "PD_AUTHSERV_ID": OUR_MTA,
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
PASS = f"{OUR_MTA}; dkim=pass header.d=example.jp; dmarc=pass (p=reject) header.from=example.jp"
FORGED = [
    {},  # no results at all
    {"Authentication_Results": f"{OUR_MTA}; dmarc=fail header.from=example.jp"},
    # a stranger's own stamp, and one from an MTA that merely looks like ours
    {"Authentication_Results": "mx.attacker.example; dmarc=pass header.from=example.jp"},
    {"Authentication_Results": f"{OUR_MTA}.evil; dmarc=pass header.from=example.jp"},
    # DKIM of another domain passes; no DMARC result
    {"Authentication_Results": f"{OUR_MTA}; dkim=pass header.d=attacker.example"},
]


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.settings = ReplySettings.from_env(SETTINGS)
        self.now = START

    def take(self, body: str, *, sender: str = HANAKO, **headers: str) -> IntakeResult:
        raw = self.make_mail(body, sender=sender, **headers)
        return Intake(self.engine, clock=lambda: self.now, replies=self.settings).process(raw)

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
        assert case is not None
        return case

    def messages(self, ref: str) -> int:
        case_id = self.case(ref).id
        with Session(self.engine) as session:
            rows = session.exec(select(MailMessage).where(MailMessage.case_id == case_id))
            return len([r for r in rows if r.direction == "in"])

    def automatic(self) -> list[str]:
        with Session(self.engine) as session:
            return [i.recipient for i in session.exec(select(OutboxItem)) if i.automatic]

    def events(self, ref: str) -> list[tuple[str, str]]:
        with Session(self.engine) as session:
            found = repo.case_file(session, ref)
        assert found is not None
        return [(e.actor, e.action) for e in found.events]


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, make_mail)


def _request(desk: Desk) -> str:
    opened = desk.take(
        "私の個人情報をすべて削除してください。",
        subject="個人情報削除のお願い",
        message_id="<req-1@mail.example.jp>",
        Authentication_Results=PASS,
    )
    assert opened.action == "opened" and opened.ref
    assert "unauthenticated" not in desk.case(opened.ref).flags
    assert desk.automatic() == ["hanako@example.jp"]  # her acknowledgement went out
    return opened.ref


@pytest.mark.parametrize("results", FORGED, ids=["none", "fail", "stranger", "lookalike", "dkim"])
def test_a_forged_follow_up_opens_its_own_flagged_case(desk: Desk, results: dict[str, str]) -> None:
    ref = _request(desk)
    desk.now = START + timedelta(hours=2)
    forged = desk.take(
        "追加のお願いです。私の個人情報をすべて開示してください。",
        subject=f"Re: 個人情報削除のお願い [{ref}]",
        In_Reply_To="<req-1@mail.example.jp>",
        **results,
    )
    assert forged.action == "opened" and forged.ref != ref
    assert "unauthenticated" in desk.case(forged.ref or "").flags
    assert desk.messages(ref) == 1  # her case did not get the stranger's mail
    assert desk.automatic() == ["hanako@example.jp"]  # and no automatic mail went to "her"
    assert ("auto-ack", "automatic mail held") in desk.events(forged.ref or "")

    # The genuine follow-up, authenticated by our MTA, joins her case.
    real = desk.take(
        "よろしくお願いいたします。",
        subject=f"Re: 個人情報削除のお願い [{ref}]",
        In_Reply_To="<req-1@mail.example.jp>",
        Authentication_Results=PASS,
    )
    assert (real.action, real.ref) == ("linked", ref)


def test_a_forged_reply_cannot_prove_her_code(desk: Desk) -> None:
    ref = _request(desk)
    approval = Replies(desk.engine, desk.settings, clock=lambda: START).send_code(
        ref, approver="sato"
    )
    with Session(desk.engine) as session:
        item = session.get(OutboxItem, approval.item_id)
        assert item is not None
        mail = parse_message(item.raw)
    found = re.search(r"確認コード：(\d{6})\n", mail.text)
    assert found
    desk.now = START + timedelta(hours=2)
    own = f"<{mail.message_id}>"
    forged = desk.take(
        f"確認コード：{found.group(1)}", subject=f"Re: {mail.subject}", In_Reply_To=own
    )
    assert forged.ref != ref and desk.case(ref).verified_at is None


def test_a_from_with_a_phrase_like_an_address_never_links(desk: Desk) -> None:
    ref = _request(desk)
    for sender in (
        "hanako@example.jp <mallory@attacker.example>",
        "hanako@example.jp, m@a.example",
    ):
        result = desk.take(
            "追加のお願いです。",
            sender=sender,
            subject=f"Re: [{ref}]",
            In_Reply_To="<req-1@mail.example.jp>",
            Authentication_Results=PASS,
        )
        assert result.action == "opened" and result.ref != ref
        assert "doubtful_sender" in desk.case(result.ref or "").flags
    assert desk.messages(ref) == 1


def test_an_approver_links_it_by_hand(
    desk: Desk, database: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for name, value in {**SETTINGS, "PD_DATABASE_URL": database}.items():
        monkeypatch.setenv(name, value)
    ref = _request(desk)
    apart = desk.take("追加です。", subject=f"Re: [{ref}]", In_Reply_To="<req-1@mail.example.jp>")
    assert apart.ref and apart.ref != ref

    assert main(["link", ref, apart.ref, "--as", "mallory"]) == 2
    assert "mallory is not an approver" in capsys.readouterr().err
    assert desk.messages(ref) == 1 and ("mallory", "link refused") in desk.events(ref)

    assert main(["link", ref, apart.ref, "--as", "sato"]) == 0
    assert desk.messages(ref) == 2 and desk.messages(apart.ref) == 0
    assert ("sato", "message linked by hand") in desk.events(ref)
    assert ("sato", "message moved by hand") in desk.events(apart.ref)
    assert desk.case(apart.ref).status == "closed"
