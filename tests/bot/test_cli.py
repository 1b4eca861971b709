"""The command line as an operator uses it: classify files, folders and mbox; score a corpus."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.cli import main


def _eml(subject: str, body: str, sender: str = "taro@example.com", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "privacy@example.jp"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "001.eml").write_bytes(_eml("削除依頼", "私の個人情報をすべて削除してください。"))
    (folder / "002.eml").write_bytes(_eml("Opt out", "Please do not sell or share my data."))
    (folder / "notes.txt").write_text("not a message")
    return folder


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_classify_folder_as_json(inbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--json", str(inbox)]) == 0
    lines = _json_lines(capsys.readouterr().out)
    assert [Path(str(line["file"])).name for line in lines] == ["001.eml", "002.eml"]
    first, second = lines
    assert first["intents"] == ["deletion"] and first["language"] == "ja"
    assert second["intents"] == ["stop_provision"] and second["language"] == "en"
    for line in lines:
        assert set(line) >= {"file", "intents", "language", "confidence", "reasons", "needs_triage"}
        assert isinstance(line["confidence"], dict) and line["confidence"]


def test_classify_mbox_names_each_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    box.add(_eml("Hi", "Please unsubscribe me from the newsletter."))
    box.add(_eml("Q", "Which identity documents do you accept for an access request?"))
    box.close()
    assert main(["classify", "--json", str(path)]) == 0
    lines = _json_lines(capsys.readouterr().out)
    assert [line["file"] for line in lines] == [f"{path}#1", f"{path}#2"]
    assert [line["intents"] for line in lines] == [["stop_use"], ["inquiry"]]


def test_classify_table_is_readable(inbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--explain", str(inbox / "001.eml")]) == 0
    out = capsys.readouterr().out
    assert "deletion" in out and "001.eml" in out and "削除" in out


def test_missing_path_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "/nonexistent/x.eml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert capsys.readouterr().err.startswith("privacy-desk:")


def test_one_unreadable_message_does_not_stop_the_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.eml"
    big.write_bytes(_eml("x", "") + b"a" * (65 * 1024 * 1024))  # over the 64 MiB limit
    ok = tmp_path / "ok.eml"
    ok.write_bytes(_eml("Opt out", "unsubscribe"))
    assert main(["classify", "--json", str(big), str(ok)]) == 1
    lines = _json_lines(capsys.readouterr().out)
    assert "error" in lines[0] and "limit" in str(lines[0]["error"])
    assert lines[1]["intents"] == ["stop_use"]


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "1.eml").write_bytes(_eml("削除", "私のデータを削除してください。"))
    (folder / "2.eml").write_bytes(_eml("Hello", "Thanks a lot!"))
    (folder / "3.eml").write_bytes(
        _eml("Out of office", "I am out of the office.", Auto_Submitted="auto-replied")
    )
    labels = [
        {"file": "1.eml", "intents": ["deletion"], "language": "ja"},
        {"file": "2.eml", "intents": [], "language": "en"},
        {"file": "3.eml", "intents": ["auto_reply"], "language": "en"},
    ]
    (folder / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in labels) + "\n")
    return folder


def test_eval_scores_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _corpus(tmp_path)
    assert main(["eval", "--json", str(folder), "--min-macro-f1", "0.9"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["messages"] == 3
    assert report["exact_set_accuracy"] == 1.0
    assert report["rights_recall"] == 1.0
    assert report["rights_covered"] == 1.0
    assert report["machine_mail_treated_as_request"] == 0


def test_eval_fails_when_a_bar_is_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _corpus(tmp_path)
    # Relabel the deletion request as a disclosure request: the classifier now "misses" it.
    lines = (folder / "labels.jsonl").read_text().replace('"deletion"', '"disclosure"')
    (folder / "labels.jsonl").write_text(lines)
    assert main(["eval", str(folder), "--min-rights-recall", "0.98"]) == 1
    assert "rights recall 0.000 is below 0.98" in capsys.readouterr().err


def test_eval_rejects_a_folder_without_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(tmp_path)]) == 2
    assert "labels.jsonl" in capsys.readouterr().err
