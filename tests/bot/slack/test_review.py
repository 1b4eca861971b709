"""What the approver sees is what is sent: the review modal holds the whole draft within Block
Kit's limits (or sends the approver to the case-file page), the edit form cuts nothing and gives
the text back byte for byte, the buttons that mail, drop, refuse or close ask first, and people
appear as mentions."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.slack.app import EDIT_PARTS, INPUT_MAX, edit_parts, edit_text, edit_view
from bot.slack.blocks import (
    ACTIONS,
    REVIEW_BLOCKS,
    SECTION_TEXT,
    CaseView,
    DraftView,
    case_message,
    draft_message,
    fits_review,
    review_refused,
    review_view,
    split_at_line_ends,
    units,
)
from bot.words import words
from storage.models import Draft

EN = words("en")
JA = words("ja")  # the default staff language

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LINE = "ご依頼の個人情報（氏名・住所・電話番号）を削除しました。<&> 以上、ご確認ください。"
WITH_NEWLINES = "\n".join(f"{n:03d} {LINE}" for n in range(300))[:12_000]
WITHOUT_NEWLINES = ("開示請求への回答<&>" * 1_100)[:12_000]
LONG_TEXTS = {"with newlines": WITH_NEWLINES, "without newlines": WITHOUT_NEWLINES}


@pytest.fixture(autouse=True)
def _slack_double(slack: Any) -> None:
    """The double's own checks of Block Kit (loaded with it) judge every view built here."""


def double() -> Any:
    return sys.modules["slack_double"]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def draft(body: str, **changes: Any) -> DraftView:
    values: dict[str, Any] = {
        "id": 7,
        "revision": 3,
        "template": "disclosure_answer",
        "language": "ja",
        "subject": "【PD-2026-000123】開示請求へのご回答",
        "body": body,
        "status": "draft",
        **changes,
    }
    return DraftView(**values)


@pytest.mark.parametrize("kind", LONG_TEXTS)
def test_the_review_shows_a_long_draft_whole_within_slacks_limits(kind: str) -> None:
    body = LONG_TEXTS[kind] + "\n"
    view = review_view(draft(body, files=(("開示データ_田中.csv", 2048),)), w=EN)
    assert double().view_problems(view, "modal") == []
    assert len(view["blocks"]) <= REVIEW_BLOCKS and "submit" in view
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert "開示データ_田中.csv" in texts[1]  # the attachments are listed
    body_sections = texts[2:]
    assert len(body_sections) >= 5
    assert all(units(t) <= SECTION_TEXT for t in body_sections)
    shown = "".join(unescape(t.removeprefix("```").removesuffix("```")) for t in body_sections)
    assert shown == body  # all of it, in order, nothing added
    assert "&lt;&amp;&gt;" in body_sections[0]  # escaped, and measured so
    if kind == "with newlines":  # split where lines end
        assert all(t.removesuffix("```").endswith("\n") for t in body_sections[:-1])


def test_a_draft_too_long_for_slack_is_approved_only_once_read_on_the_page() -> None:
    body = ("第三者提供記録　" * 30 + "\n") * 800  # ~190,000 characters
    long = draft(body)
    assert not fits_review(long)
    view = review_view(long, w=EN)
    assert double().view_problems(view, "modal") == []
    assert "submit" not in view and "case-file page" in json.dumps(view, ensure_ascii=False)
    assert "submit" in review_view(long, w=EN, read_on_page=True)
    assert fits_review(draft(WITH_NEWLINES))


def test_the_thread_offers_approve_only_for_a_draft_it_shows_whole() -> None:
    _text, blocks = draft_message(draft("短い回答です。\n以上\n"), w=EN)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == ACTIONS["approve"]
    _text, blocks = draft_message(draft(WITH_NEWLINES), w=EN)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert double().block_problems(blocks) == []
    assert ACTIONS["approve"] not in shown and ACTIONS["review"] in shown
    assert "more characters: *Review* shows it whole" in shown


@pytest.mark.parametrize("kind", LONG_TEXTS)
@pytest.mark.parametrize("end", ["\n", ""])
def test_the_edit_form_cuts_nothing_and_gives_the_text_back_byte_for_byte(
    kind: str, end: str
) -> None:
    body = LONG_TEXTS[kind] + end
    stored = Draft(id=7, case_id=1, template="t", subject="件名", body=body, revision=2)
    view = edit_view(stored, w=words("ja"))  # the default staff language
    assert double().view_problems(view, "modal") == []
    assert (view["title"]["text"], view["submit"]["text"]) == ("下書き 7 を編集", "保存")
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    parts = [k for k in inputs if re.fullmatch(r"body_\d+", k)]
    assert len(parts) >= 4 and parts == [f"body_{n}" for n in range(1, len(parts) + 1)]
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:2] == ["件名", f"本文（1/{len(parts)}）"] and labels[-1] == "末尾に追加（任意）"
    assert all(units(inputs[k].get("initial_value", "")) <= INPUT_MAX for k in parts)
    # Slack sends each input's value back as it was shown
    values = {
        k: {"value": {"type": "plain_text_input", "value": e.get("initial_value")}}
        for k, e in inputs.items()
    }
    joins = view["private_metadata"].split(":")[2]
    assert edit_text(values, joins).encode() == body.encode()
    # a change in one part changes that part only
    third = values["body_3"]["value"]
    third["value"] = "【訂正】" + third["value"]
    changed = edit_text(values, joins)
    assert changed.replace("【訂正】", "", 1) == body and changed != body
    # and what is added at the end follows on a line of its own
    values["body_more"] = {"value": {"type": "plain_text_input", "value": "追記"}}
    assert edit_text(values, joins).endswith("\n追記" if not end else "追記")


def test_parts_split_at_line_ends_and_cut_only_lines_longer_than_an_input() -> None:
    text = "\n".join(["あ" * 2_000, "い" * 2_000, "う" * 7_000, "え"])
    parts = split_at_line_ends(text, INPUT_MAX)
    assert "".join(parts) == text
    assert parts[0] == "あ" * 2_000 + "\n" and parts[1] == "い" * 2_000 + "\n"
    assert [len(p) for p in parts[2:]] == [3_000, 3_000, 1_002]
    assert len(edit_parts("x" * (EDIT_PARTS * INPUT_MAX + 1))) == EDIT_PARTS + 1
    parts = split_at_line_ends("😀" * 2_000, INPUT_MAX)  # an emoji is two UTF-16 units
    assert parts == ["😀" * 1_500, "😀" * 500]


def test_approve_discard_reject_and_close_ask_first() -> None:
    _text, blocks = draft_message(draft("短い回答です。\n"), w=EN)
    _text, parent = case_message(
        CaseView(
            ref="PD-2026-000123",
            status="in_progress",
            kind="privacy",
            intents=("disclosure",),
            language="ja",
            requester="hanako@example.jp",
            received_at=NOW - timedelta(days=1),
            answer_due=NOW + timedelta(days=13),
        ),
        NOW,
        w=EN,
    )
    buttons = {
        e["action_id"]: e
        for b in [*blocks, *parent]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    asked = {name: buttons[ACTIONS[name]]["confirm"] for name in ("approve", "discard")}
    asked |= {name: buttons[ACTIONS[name]]["confirm"] for name in ("reject", "close")}
    for confirm in asked.values():
        assert {"title", "text", "confirm", "deny"} <= set(confirm)
    assert "sends the answer" in asked["approve"]["text"]["text"]
    assert "requester by email" in asked["approve"]["text"]["text"]
    assert "nothing is sent" in asked["discard"]["text"]["text"]
    assert "refusal" in asked["reject"]["text"]["text"]
    assert "closes the case" in asked["close"]["text"]["text"]
    assert double().block_problems([*blocks]) == [] and double().block_problems(parent) == []


def test_people_appear_as_mentions() -> None:
    edited = draft("本文\n", edited_by="U0EDITOR01")
    shown = json.dumps(draft_message(edited, w=EN)[1], ensure_ascii=False)
    assert "edited by <@U0EDITOR01>" in shown
    assert "edited by <@U0EDITOR01>" in json.dumps(review_view(edited, w=EN), ensure_ascii=False)
    approved = draft("本文\n", status="approved", approved_by="U0APPROVE1")
    assert "approved by <@U0APPROVE1>" in json.dumps(draft_message(approved, w=EN)[1])
    intake = draft("本文\n", edited_by="intake")
    assert "edited by" not in json.dumps(draft_message(intake, w=EN)[1])


def test_the_review_speaks_japanese_by_default_within_slacks_limits() -> None:
    short = draft("短い回答です。\n", edited_by="U0EDITOR01")
    view = review_view(short, w=JA)
    assert double().view_problems(view, "modal") == []
    shown = json.dumps(view, ensure_ascii=False)
    assert view["title"]["text"] == "下書き 7" and view["close"]["text"] == "閉じる"
    assert view["submit"]["text"] == "承認して送信"
    assert "*下書き 7* · disclosure_answer · 日本語 · 改訂 3、編集: <@U0EDITOR01>" in shown
    assert "添付ファイル: なし" in shown and "送信したメールは取り消せません" in shown
    long = draft(("第三者提供記録　" * 30 + "\n") * 800)
    view = review_view(long, w=JA)
    assert double().view_problems(view, "modal") == []
    assert "ケースファイルのページ" in json.dumps(view, ensure_ascii=False)
    opened = json.dumps(review_view(long, w=JA, read_on_page=True), ensure_ascii=False)
    assert "承認できます" in opened
    refused = review_refused(7, "改訂が古くなっています。", w=JA)
    assert double().view_problems(refused, "modal") == []
    assert "*承認されませんでした。* 改訂が古くなっています。" in json.dumps(
        refused, ensure_ascii=False
    )
    _text, blocks = draft_message(draft(WITH_NEWLINES), w=JA)
    assert double().block_problems(blocks) == []
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "*全文を確認* で全文を表示します" in shown and "全文を確認して承認" in shown
