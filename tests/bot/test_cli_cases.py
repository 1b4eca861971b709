"""The case commands, as an operator without Slack uses them: each decision, its refusal as one
line with exit 2, and the export of labelled examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.cli import main
from storage import repo

APPROVER = "yamada"


@pytest.fixture
def ref(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> str:
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PD_FROM_ADDRESS", "privacy@example-hikaku.co.jp")
    monkeypatch.setenv("PD_APPROVERS", APPROVER)
    mail = tmp_path / "q.eml"
    mail.write_bytes(
        "From: Hanako <hanako@example.jp>\r\nTo: privacy@example-hikaku.co.jp\r\n"
        "Subject: =?utf-8?b?5YCL5Lq65oOF5aCx?=\r\nMessage-ID: <q1@example.jp>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "個人情報の取り扱いについて教えてください。\r\n".encode()
    )
    assert main(["ingest", str(mail)]) == 0
    capsys.readouterr()
    with Session(engine) as session:
        [case] = repo.list_cases(session)
    return case.ref


def test_reclassify_then_export_the_example(
    ref: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reclassify", ref, "deletion", "--as", APPROVER]) == 0
    assert f"{ref}: deletion, answer due" in capsys.readouterr().out
    out = tmp_path / "corpus"
    assert main(["examples", "export", str(out)]) == 0
    assert "1 labelled examples written" in capsys.readouterr().out
    [label] = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert label == {"file": "001.eml", "intents": ["deletion"], "language": "ja"}
    # a second export never mixes with the first
    assert main(["examples", "export", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_decisions_refused_are_one_line_and_exit_2(
    ref: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reclassify", ref, "deletion", "--as", "someone"]) == 2
    assert "someone is not an approver" in capsys.readouterr().err
    assert main(["extend", ref, "--reason", "調査のため", "--as", APPROVER]) == 2
    assert "no extension is allowed for appi/inquiry" in capsys.readouterr().err
    assert main(["reject", ref, "--reason", "x", "--as", APPROVER]) == 2
    assert "asks for nothing that can be refused" in capsys.readouterr().err
    assert main(["reclassify", ref, "everything", "--as", APPROVER]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_ask_assign_and_close(ref: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ask", ref, "--kind", "clarification", "--need", "対象のサービス名", "--as", "sato"]
    assert main(args) == 0
    assert f"for {ref}:" in capsys.readouterr().out
    assert main(["assign", ref, "sato", "--as", "sato"]) == 0
    assert main(["close", ref, "--reason", "電話で回答済み", "--as", APPROVER]) == 0
    assert f"{ref}: closed" in capsys.readouterr().out
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None and (case.status, case.assignee) == ("closed", "sato")
    assert main(["assign", ref, "suzuki", "--as", "sato"]) == 2
    assert "is closed" in capsys.readouterr().err
