"""A disclosure answer carries the requester's data as files: staff attach them on the command
line, the approver sees their names and sizes, and the requester's mail client receives every
file byte for byte under its Japanese name, in a letter that names them. A letter that promises
files cannot go without them, one that leaves a file unnamed cannot go with it, programs and
oversized files are refused, ZIP archives are looked into (programs, encrypted entries, deep
nesting and zip bombs refused), files added after a review make the reviewed revision stale, and
the stored files are encrypted with PD_RAW_KEYS."""

from __future__ import annotations

import asyncio
import email
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from support import encrypted, english, lying_about_size, settle, zip_of

from bot import settings
from bot.cli import main
from bot.intake import Intake
from bot.replies import NewFile, Replies, ReplyError, ReplySettings
from bot.retention import export_case, purge
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from storage import crypto, repo
from storage.models import AuditEvent

EN = words("en")  # the staff texts these assertions read

DESK = "privacy@example-hikaku.co.jp"
REQUESTER = "tanaka@example.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
    "PD_ATTACHMENT_MAX_BYTES": "100000",
}
RECEIVED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CSV_NAME = "開示データ_田中.csv"
# What the desk holds of the requester: CRLF line ends and a byte order mark, kept as they are.
CSV = "\ufeff項目,内容\r\n氏名,田中太郎\r\n会員番号,HK-778812\r\n".encode()
REWRITTEN = "開示のご請求について、当社が保有するデータを以下のとおりお送りいたします。\n"
PDF_NAME = "access-log-2026.pdf"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def desk(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, smtp_server: Any
) -> Iterator[dict[str, str]]:
    """The desk's settings for the commands run here, PD_RAW_KEYS among them."""
    env = {
        **SETTINGS,
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_SMTP_URL": smtp_server.url(),
        "PD_RAW_KEYS": crypto.new_key(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    crypto.configure(settings.read().keys.keyring)
    yield env
    crypto.configure(None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def files(tmp_path: Path, **named: bytes) -> list[str]:
    paths = []
    for name, data in named.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def events(engine: Engine, action: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
    return [row.detail for row in rows]


@pytest.fixture
def case(engine: Engine, make_mail: Callable[..., bytes], desk: dict[str, str]) -> str:
    raw = make_mail(
        "会員の田中太郎です。\n私の保有個人データの開示を請求します。電子ファイルでお送りください。",
        sender=f"田中 太郎 <{REQUESTER}>",
        subject="個人情報開示請求",
        date=RECEIVED,
    )
    result = Intake(engine, replies=ReplySettings.from_env(SETTINGS)).process(raw)
    assert result.action == "opened" and result.ref
    return result.ref


def draft_disclosure(
    capsys: pytest.CaptureFixture[str], ref: str, *attach: str
) -> tuple[int, str, str]:
    options = [arg for path in attach for arg in ("--attach", path)]
    return run(
        capsys,
        "draft", ref, "disclosure_answer", "--set", "method=file",
        "--set", "items=会員登録情報（氏名・会員番号）", "--set", "items=ログイン履歴",
        *options, "--as", "yamada",
    )  # fmt: skip


def draft_id(out: str) -> str:
    return out.split()[1]


def test_a_disclosure_answer_arrives_with_both_files_named_and_whole(
    engine: Engine,
    case: str,
    tmp_path: Path,
    smtp_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_path, pdf_path = files(tmp_path, **{CSV_NAME: CSV, PDF_NAME: PDF})
    assert run(capsys, "verify", case, "--how", "会員IDと登録電話番号", "--as", "sato")[0] == 0

    code, out, _ = draft_disclosure(capsys, case, csv_path)
    assert code == 0, out
    first = draft_id(out)
    code, out, err = run(capsys, "attach", first, pdf_path, "--as", "yamada")
    assert code == 0, err
    assert "revision 2" in out

    # The approver sees what goes: both names and sizes, and the letter naming both.
    code, out, _ = run(capsys, "drafts", case)
    assert f"+ {CSV_NAME}  {len(CSV)} bytes  text/csv" in out
    assert f"+ {PDF_NAME}  {len(PDF)} bytes  application/pdf" in out
    assert f"・{CSV_NAME}" in out and f"・{PDF_NAME}" in out

    # The revision the approver looked at before the PDF was added can no longer be approved.
    code, _, err = run(capsys, "approve", first, "--revision", "1", "--as", "sato")
    assert code == 2
    assert err.count("\n") == 1 and "you saw revision 1, it is now revision 2" in err

    code, _, err = run(capsys, "approve", first, "--revision", "2", "--as", "sato")
    assert code == 0, err
    assert run(capsys, "send")[0] == 0

    [received] = smtp_server.received
    assert received.recipients == (REQUESTER,)
    mail = email.message_from_bytes(received.data, _class=EmailMessage, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert "Reply-To" not in mail
    got = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(got) == {CSV_NAME, PDF_NAME}
    assert got[CSV_NAME].get_payload(decode=True) == CSV
    assert got[PDF_NAME].get_payload(decode=True) == PDF
    assert got[CSV_NAME].get_content_type() == "text/csv"
    letter = mail.get_body(preferencelist=("plain",))
    assert letter is not None
    words = letter.get_content()
    assert "開示する内容を記録した以下のファイルを、本メールに添付しております。" in words
    assert f"・{CSV_NAME}" in words and f"・{PDF_NAME}" in words
    # The names on the wire are RFC 2231 parameters, as the email package writes them.
    assert b"filename*0*=utf-8''" in received.data

    # The audit trail records which files went, by name and hash, at approval and at sending.
    facts = [
        {"name": CSV_NAME, "size": len(CSV), "sha256": hashlib.sha256(CSV).hexdigest()},
        {"name": PDF_NAME, "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()},
    ]
    assert [e["files"] for e in events(engine, "draft approved")] == [facts]
    assert [e["files"] for e in events(engine, "mail sent")] == [facts]

    # Stored encrypted: neither file's bytes are in the database in clear.
    with engine.connect() as connection:
        stored = [bytes(r[0]) for r in connection.execute(text("SELECT raw FROM draftfile"))]
    assert len(stored) == 2 and all(crypto.is_sealed(value) for value in stored)
    secret = b"HK-778812"  # in the CSV only, not in the request
    assert not any(secret in value or PDF[:200] in value for value in stored)
    if engine.dialect.name == "sqlite":
        assert engine.url.database is not None
        database = Path(engine.url.database)
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                assert secret not in path.read_bytes()

    # The case's export tells which files the answer carried.
    exported = export_case(engine, case, now=datetime.now(UTC))
    assert exported is not None
    [answer] = [d for d in exported.record["drafts"] if d["template"] == "disclosure_answer"]
    assert [{k: f[k] for k in ("name", "size", "sha256")} for f in answer["files"]] == facts

    # A year after the answer the purge deletes the files, and their names in the audit trail
    # (開示データ_田中.csv names the requester); which files went stays, by hash.
    summary = purge(engine, datetime.now(UTC) + timedelta(days=400), 365)
    assert [c.attachments for c in summary.cases] == [2]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM draftfile")).scalar_one() == 0
    nameless = [{**f, "name": ""} for f in facts]
    assert [e["files"] for e in events(engine, "files attached")] == [nameless[:1], nameless[1:]]
    assert [e["files"] for e in events(engine, "mail sent")] == [nameless]


def test_a_letter_cannot_claim_files_it_lacks_nor_carry_files_it_does_not_name(
    engine: Engine, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "verify", case, "--how", "会員IDと登録電話番号", "--as", "sato")[0] == 0
    code, out, _ = draft_disclosure(capsys, case)
    assert code == 0
    promised = draft_id(out)
    # The letter without files says they come separately; staff rewrite it to claim a file.
    replies = Replies(engine, ReplySettings.from_env(SETTINGS))
    replies.edit(
        int(promised), subject="開示のご請求へのご回答",
        body="開示する内容は、本メールに添付したファイルのとおりです。\n", editor="yamada",
    )  # fmt: skip
    code, _, err = run(capsys, "approve", promised, "--as", "sato")
    assert code == 2
    assert "says files are attached, but it carries none" in err and err.count("\n") == 1
    # An approver in Slack is told the same in the staff language (Japanese by default).
    with pytest.raises(ReplyError) as refused:
        replies.approve(int(promised), approver="sato")
    assert refused.value.said(words("ja")) == (
        f"下書き {promised}: 本文にはファイルを添付したとありますが、ファイルが 1 つも添付されて"
        "いません。ファイルを添付する（privacy-desk attach）か、本文を直してください"
    )

    # Staff rewrote the letter without naming a file: with one attached, it cannot go.
    replies.edit(int(promised), subject="開示のご請求へのご回答", body=REWRITTEN, editor="yamada")
    [csv_path] = files(tmp_path, **{CSV_NAME: CSV})
    code, _, err = run(capsys, "attach", promised, csv_path, "--as", "yamada")
    assert code == 0, err
    code, _, err = run(capsys, "approve", promised, "--as", "sato")
    assert code == 2 and f"its text does not name the attached {CSV_NAME}" in err
    replies.edit(
        int(promised), subject="開示のご請求へのご回答", body=f"{REWRITTEN}・{CSV_NAME}\n",
        editor="yamada",
    )  # fmt: skip
    assert run(capsys, "approve", promised, "--as", "sato")[0] == 0

    # An answer that says nothing of files sends none.
    code, out, _ = run(
        capsys, "draft", case, "inquiry_answer", "--set", "answer_text=ご回答いたします。",
        "--as", "yamada",
    )  # fmt: skip
    assert code == 0
    code, _, err = run(capsys, "attach", draft_id(out), csv_path, "--as", "yamada")
    assert code == 2 and "inquiry_answer sends no files" in err


def test_programs_and_oversized_files_are_refused(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = {
        "setup.exe": b"MZ\x90\x00" + bytes(100),
        "invoice.pdf": b"MZ\x90\x00" + bytes(100),  # a program whatever it is called
        "report.html": b"<p>hello</p>",
        "notes.txt": b"\xef\xbb\xbf  <script>alert(1)</script>",
        "big.csv": b"a" * 100_001,
    }
    for name, data in refused.items():
        [path] = files(tmp_path, **{name: data})
        code, out, err = draft_disclosure(capsys, case, path)
        assert code == 2, name
        assert out == "" and err.count("\n") == 1 and name in err
    assert "PD_ATTACHMENT_MAX_BYTES (100000)" in err
    paths = files(tmp_path, **{"a.csv": b"a" * 60_000, "b.csv": b"b" * 60_000})
    code, _, err = draft_disclosure(capsys, case, *paths)
    assert code == 2 and "120000 bytes together" in err
    code, out, _ = run(capsys, "drafts", case)
    assert "disclosure_answer" not in out  # nothing was drafted


SECRET = "signing-secret-of-the-test"
APPROVER = "U0APPROVE1"


def slack_double() -> Any:
    return sys.modules["slack_double"]


@pytest.mark.parametrize("mask", ["partial", "strict"])
def test_the_approver_sees_the_files_in_slack_before_approving(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes], mask: str
) -> None:
    """The draft's post lists the files with their sizes (under ``strict``, their number only:
    a name may name the requester); the review an approver opens lists them by name."""
    slack.add_user(APPROVER, name="approver")
    reply_settings = ReplySettings.from_env({**SETTINGS, "PD_APPROVERS": APPROVER})
    raw = make_mail("私の保有個人データの開示を請求します。", sender=f"田中 太郎 <{REQUESTER}>")
    ref = Intake(engine, replies=reply_settings).process(raw).ref
    assert ref is not None
    replies = Replies(engine, reply_settings)
    replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
    values = {"method": "file", "items": ["会員登録情報"]}
    sent = [NewFile(CSV_NAME, CSV), NewFile(PDF_NAME, PDF)]
    draft = replies.draft(ref, "disclosure_answer", values, editor="U0EDITOR01", files=sent)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    asyncio.run(CasePoster(engine, client, slack.channel, mask_mode=mask, words=EN).run_once())

    [parent] = slack.messages()
    thread = slack.thread(slack.channel, parent["ts"])
    [post] = [m for m in thread if str(m.get("text")).startswith(f"Draft {draft.id} ")]
    shown = json.dumps(post["blocks"], ensure_ascii=False)
    if mask == "strict":
        assert "Attached: 2 files, 10.1 KB" in shown
        assert CSV_NAME not in shown and PDF_NAME not in shown
    else:
        assert f"• {CSV_NAME} ({len(CSV)} B)" in shown and f"• {PDF_NAME} (10.0 KB)" in shown

    app = build_app(
        engine, replies, signing_secret=SECRET, client=client, channel=slack.channel,
        mask_mode=mask, words=EN,
    )  # fmt: skip

    async def review() -> None:
        click = slack_double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS["review"],
            value=f"{draft.id}:{draft.revision}",
            trigger_id=slack.new_trigger_id(APPROVER),
            message_ts=post["ts"],
            message={"type": "message", "ts": post["ts"], "thread_ts": parent["ts"]},
        )
        signed = slack_double().interaction(click, SECRET)
        response = await app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        assert response.status == 200

    asyncio.run(review())
    [opened] = slack.open_views()
    modal = json.dumps(opened, ensure_ascii=False)
    assert f"• {CSV_NAME} ({len(CSV)} B)" in modal and f"• {PDF_NAME} (10.0 KB)" in modal


def test_archives_are_looked_into_before_they_go(
    engine: Engine, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ZIP archive of data goes (one inside it too); one that holds a program, an encrypted
    entry, archives three deep, or that unpacks to far more than it says (a zip bomb whose
    header claims 1,000 bytes) is refused: one line on the command line, the staff language
    where Slack and the case-file page say it — and a file that came in before today's rules is
    refused at approval."""
    bomb = lying_about_size(zip_of({"data.csv": bytes(32 * 1024 * 1024)}), 1000)
    refused = {
        "tools.zip": zip_of({CSV_NAME: CSV, "setup.exe": b"MZ\x90\x00" + bytes(64)}),
        "secret.zip": encrypted(zip_of({CSV_NAME: CSV})),
        "deep.zip": zip_of({"a.zip": zip_of({"b.zip": zip_of({CSV_NAME: CSV})})}),
        "bomb.zip": bomb,
    }
    for name, data in refused.items():
        [path] = files(tmp_path, **{name: data})
        code, out, err = draft_disclosure(capsys, case, path)
        assert code == 2 and out == "", name
        assert err.count("\n") == 1 and name in err, err
    assert "zip bomb" in err
    replies = Replies(engine, ReplySettings.from_env(SETTINGS))
    values = {"method": "file", "items": ["ログイン履歴"]}
    with pytest.raises(ReplyError) as told:
        replies.draft(case, "disclosure_answer", values, editor="yamada",
                      files=[NewFile("bomb.zip", bomb)])  # fmt: skip
    japanese = told.value.said(words("ja"))
    assert japanese.startswith("bomb.zip: data.csv はヘッダーのとおりに展開できません"), japanese
    assert "ZIP 爆弾" in japanese and not english(japanese)

    archive = zip_of({CSV_NAME: CSV, "logs/access.zip": zip_of({PDF_NAME: PDF})})
    [path] = files(tmp_path, **{"開示データ.zip": archive})
    code, out, err = draft_disclosure(capsys, case, path)
    assert code == 0, err
    draft = int(draft_id(out))
    with Session(engine) as session:  # a file kept before the rules refused archives like it
        repo.add_draft_file(session, draft, revision=1, name="old.zip", mime_type="application/zip",
                            data=refused["secret.zip"], added_by="yamada",
                            at=RECEIVED)  # fmt: skip
        session.commit()
    replies.mark_verified(case, actor="sato", how="電話で確認")
    with pytest.raises(ReplyError) as at_approval:
        replies.approve(draft, approver="sato")
    assert f"draft {draft}: old.zip: {CSV_NAME} is encrypted" in str(at_approval.value)
    said = at_approval.value.said(words("ja"))
    assert f"old.zip: {CSV_NAME} は暗号化されているため、中身を確認できません" in said
    assert not english(said), said
