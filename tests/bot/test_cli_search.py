"""``privacy-desk search`` as an operator uses it: a table (masked requester, where it matched,
how many in all) or one JSON object, a bounded number of cases, a query it cannot search refused
in one line; a word found in more cases than are ranked said as "at least N"; and ``db reindex``
/ ``db upgrade`` filling the index from stored mail, sealed with ``PD_RAW_KEYS`` included, and
``search`` saying when old mail is missing from it (a database upgraded in place)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from bot.cli import main
from storage import crypto, search


@pytest.fixture
def desk(
    engine: Engine,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[list[str]]:
    """Two requests from Tanaka-san and one in English, taken in with ``ingest`` (raw mail
    sealed with a key, which the commands make the process's: forgotten after the test)."""
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PD_FROM_ADDRESS", "privacy@example-hikaku.co.jp")
    monkeypatch.setenv("PD_RAW_KEYS", crypto.new_key())
    mails = [
        ("田中です。会員情報を削除してください。", "田中 一郎 <ichiro@example.jp>", "削除依頼"),
        ("田中です。先日の件、まだ回答がありません。", "Ichiro <i.tanaka@example.jp>", "再送"),
        ("Please delete my account.", "John Smith <john@example.com>", "Deletion"),
    ]
    refs = []
    for n, (body, sender, subject) in enumerate(mails):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(make_mail(body, sender=sender, subject=subject))
        assert main(["ingest", str(path)]) == 0
        refs.append(re.findall(r"PD-\d{4}-\d{6}", capsys.readouterr().out)[0])
    yield refs
    crypto.configure(None)


def test_search_prints_matches_masked_with_where_and_the_total(
    desk: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "田中"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["case", "status", "requester", "received", "matched", "subject"]
    # the name and a subject rank above a body: the first case has Tanaka in its name
    assert [line.split()[0] for line in lines[1:3]] == desk[:2]
    assert "i***@example.jp" in lines[1] and "ichiro@" not in out and "i.tanaka@" not in out
    assert "name, body" in lines[1] and "削除依頼" in lines[1]
    assert lines[-1] == "2 cases matched"
    assert main(["search", "田中", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert desk[0] in out and desk[1] not in out and out.endswith("1 of 2 cases matched\n")


def test_search_json_and_refusals(desk: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "DELETE my", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["total"] == 1 and record["query"] == "DELETE my"
    [case] = record["cases"]
    assert case["ref"] == desk[2] and case["requester"] == "j***@example.com"
    assert case["matched"] == ["body"] and case["subject"] == "Deletion"
    assert main(["search", "john@example.com", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cases"][0]["matched"] == ["requester"]
    assert main(["search", "john@example", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "query": "john@example",
        "total": 0,
        "capped": False,
        "cases": [],
    }
    for bad in (["search", "x"], ["search", "田中", "--limit", "-1"], ["search", " "]):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("privacy-desk: "), bad


def test_reindex_rebuilds_the_index_from_sealed_mail(
    desk: list[str], engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with Session(engine) as session:
        search.clear(session)
        session.commit()
    assert main(["search", "会員情報"]) == 0
    said = capsys.readouterr()
    assert said.out.endswith("0 cases matched\n") and "privacy-desk db reindex" in said.err
    # db upgrade fills an empty index (a database from before it)
    assert main(["db", "upgrade"]) == 0
    assert "search index filled from 3 stored messages" in capsys.readouterr().out
    assert main(["search", "会員情報"]) == 0
    assert desk[0] in capsys.readouterr().out
    assert main(["db", "reindex"]) == 0
    assert "search index rebuilt: 3 messages" in capsys.readouterr().out
    assert main(["search", "一郎"]) == 0  # the requester name, indexed again
    assert desk[0] in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0  # not empty: left as it is
    assert "search index" not in capsys.readouterr().out


def test_a_word_in_more_cases_than_ranked_is_said_at_least(
    desk: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "CANDIDATES", 1)  # one match ranked: Tanaka is in three chunks
    assert main(["search", "田中"]) == 0
    said = capsys.readouterr()
    assert said.out.splitlines()[1].split()[0] == desk[1]  # the newest
    assert said.out.endswith(
        "1 of at least 1 cases matched (the newest ranked; more words find fewer)\n"
    )
    assert said.err == ""
    assert main(["search", "田中", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["capped"] is True and record["total"] == 1


def test_search_says_when_old_mail_is_missing_from_the_index(
    desk: list[str], engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # A database upgraded in place: its old mail was never indexed, its new mail is.
    with Session(engine) as session:
        case = search.find(session, "会員情報", limit=1).hits[0].case_id  # the oldest mail's
        mail = text("SELECT id FROM message WHERE case_id = :c")
        search.forget_messages(session, list(session.execute(mail, {"c": case}).scalars()))
        session.commit()
    assert main(["search", "田中"]) == 0
    said = capsys.readouterr()
    assert desk[1] in said.out and desk[0] in said.out  # found by the name, still indexed
    assert "lacks mail stored before it" in said.err and "privacy-desk db reindex" in said.err
    assert main(["db", "upgrade"]) == 0
    assert "search index filled from 3 stored messages" in capsys.readouterr().out
    assert main(["search", "会員情報"]) == 0
    said = capsys.readouterr()
    assert desk[0] in said.out and said.err == ""
