"""What staff see of a case in Slack: the facts they need, nothing an email can use to ping
anyone or hide a link, and always within Block Kit's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.blocks import (
    ACTIONS,
    AS_READ,
    MAX_BLOCKS,
    SECTION_TEXT,
    TRIAGE_CHOICES,
    CaseView,
    DraftView,
    case_message,
    draft_message,
    escape,
    limit,
    mask,
    reasons_text,
)
from bot.words import words

EN = words("en")
JA = words("ja")  # the default staff language

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
HOSTILE = "<!channel> <!here> <@U012ABCDEF> <https://evil.example/login|https://bank.example> & co"


def view(**changes: object) -> CaseView:
    values: dict[str, object] = {
        "ref": "PD-2026-000123",
        "status": "new",
        "kind": "privacy",
        "intents": ("deletion",),
        "language": "ja",
        "requester": "hanako.sato@example.jp",
        "received_at": NOW - timedelta(days=1),
        "answer_due": NOW + timedelta(days=13, hours=5),
        "excerpt": "私の個人情報をすべて削除してください。",
        "extendable": True,
        **changes,
    }
    return CaseView(**values)  # type: ignore[arg-type]


def all_text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_parent_message_shows_what_staff_need() -> None:
    text, blocks = case_message(view(), NOW, w=EN)
    shown = all_text(blocks)
    assert blocks[0]["type"] == "header" and "PD-2026-000123" in shown
    assert "deletion" in shown
    assert "h***@example.jp" in shown and "hanako.sato" not in shown  # masked by default
    assert "2026-12-08" in shown and "13d 5h left" in shown  # due date in Tokyo, time left
    assert "私の個人情報をすべて削除してください。" in shown
    assert text.startswith("PD-2026-000123")
    actions = next(b for b in blocks if b["type"] == "actions")
    elements: list[dict[str, str]] = actions["elements"]  # type: ignore[assignment]
    ids = [e["action_id"] for e in elements]
    assert ids == [
        ACTIONS[name]
        for name in (
            "assign_me",
            "assign",
            "reclassify",
            "verified",
            "ask",
            "extend",
            "reject",
            "merge",
            "close",
            "reasons",
        )
    ]
    # every button names the case; the user picker finds it by its block
    assert {e["value"] for e in elements if e["type"] == "button"} == {"PD-2026-000123"}
    assert actions["block_id"] == "case:PD-2026-000123"


def controls(**changes: object) -> list[str]:
    _text, blocks = case_message(view(**changes), NOW, w=EN)
    actions = next(b for b in blocks if b["type"] == "actions")
    return [e["action_id"] for e in actions["elements"]]  # type: ignore[index]


def test_a_closed_case_offers_only_the_reasons() -> None:
    for status in ("answered", "closed", "rejected"):
        assert controls(status=status) == [ACTIONS["reasons"]]


def test_controls_follow_the_case() -> None:
    assert ACTIONS["verified"] not in controls(verified=True)
    assert ACTIONS["reject"] not in controls(intents=("inquiry",))  # nothing to refuse
    paused = controls(status="awaiting_verification", answer_due=None, extendable=False)
    assert ACTIONS["extend"] not in paused and ACTIONS["ask"] in paused
    assert ACTIONS["extend"] not in controls(jurisdiction="appi", extendable=False)


def test_a_stopped_clock_says_so() -> None:
    _text, blocks = case_message(view(status="awaiting_requester", answer_due=None), NOW, w=EN)
    assert "clock stopped: waiting on the requester" in all_text(blocks)


def test_an_overdue_case_says_so() -> None:
    _text, blocks = case_message(view(answer_due=NOW - timedelta(hours=30)), NOW, w=EN)
    assert "OVERDUE by 1d 6h" in all_text(blocks)


@pytest.mark.parametrize("where", ["excerpt", "requester", "flags"])
def test_nothing_from_an_email_can_ping_or_hide_a_link(where: str) -> None:
    hostile: dict[str, object] = {
        "excerpt": {"excerpt": HOSTILE},
        "requester": {"requester": HOSTILE + "@example.jp"},
        "flags": {"flags": (HOSTILE,)},
    }[where]
    mode = "full" if where == "requester" else "partial"
    text, blocks = case_message(view(**hostile), NOW, w=EN, mask_mode=mode)
    for chunk in [text, *re.findall(r'"text": "((?:[^"\\]|\\.)*)"', all_text(blocks))]:
        # the only angle brackets left are the desk's own mention of a known assignee
        assert "<!" not in chunk and "<@U012" not in chunk and "<https://" not in chunk
    assert "&lt;!channel&gt;" in all_text(blocks)


def test_escape_keeps_the_text_readable() -> None:
    assert escape("A & B <x>") == "A &amp; B &lt;x&gt;"


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        ("partial", "h***@example.jp"),
        ("domain", "***@example.jp"),
        ("none", "(hidden)"),
        ("full", "hanako@example.jp"),
    ],
)
def test_the_operator_chooses_how_much_of_the_address_shows(mode: str, shown: str) -> None:
    assert mask("hanako@example.jp", mode, w=EN) == shown


def test_a_huge_mail_is_cut_with_a_marker_within_the_limits() -> None:
    _text, blocks = case_message(view(excerpt="長い本文です。" * 2000), NOW, w=EN)
    for block in blocks:
        body = block.get("text")
        if isinstance(body, dict):
            assert len(body["text"]) <= SECTION_TEXT
    assert "…(truncated)" in all_text(blocks)


def test_never_more_than_fifty_blocks() -> None:
    many = [{"type": "divider"} for _ in range(80)]
    cut = limit(many, w=EN)
    assert len(cut) == MAX_BLOCKS and "31 more blocks not shown" in all_text(cut)


def test_a_known_assignee_is_mentioned_and_anything_else_is_text() -> None:
    _t, blocks = case_message(view(assignee="U0ABCDEF12"), NOW, w=EN)
    assert "<@U0ABCDEF12>" in all_text(blocks)
    _t, blocks = case_message(view(assignee="<!channel>"), NOW, w=EN)
    assert "<!channel>" not in all_text(blocks) and "&lt;!channel&gt;" in all_text(blocks)


def test_the_reasons_name_the_phrases_escaped() -> None:
    text = reasons_text({"deletion": ("削除してください", "<b>erase</b>")}, w=EN)
    assert "`削除してください`" in text and "&lt;b&gt;erase&lt;/b&gt;" in text
    assert "triage" in reasons_text({}, w=EN)


def test_a_draft_offers_approve_edit_discard_for_its_revision() -> None:
    draft = DraftView(7, 3, "deletion_done", "ja", "【PD-2026-000123】削除完了", HOSTILE, "draft")
    _text, blocks = draft_message(draft, w=EN)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == ["7:3"] * 3  # type: ignore[index]
    assert "<!channel>" not in all_text(blocks)
    sent = DraftView(7, 3, "deletion_done", "ja", "s", "b", "approved", approved_by="sato")
    _text, blocks = draft_message(sent, w=EN)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "approved by sato" in all_text(blocks)


CONTACT_EXCERPT = "佐藤です。会員番号：12345678、電話 090-1234-5678、hanako@example.jp、〒150-0001"


@pytest.mark.parametrize("mode", ["partial", "domain", "none"])
def test_a_masked_excerpt_has_no_contact_data(mode: str) -> None:
    _text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, w=EN, mask_mode=mode)
    shown = all_text(blocks)
    for data in ("12345678", "090-1234-5678", "hanako@", "150-0001"):
        assert data not in shown, (mode, data)
    assert "[phone]" in shown and "佐藤です" in shown


def test_full_shows_the_excerpt_whole() -> None:
    _text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, w=EN, mask_mode="full")
    assert "090-1234-5678" in all_text(blocks) and "hanako.sato@example.jp" in all_text(blocks)


def test_strict_shows_no_excerpt_no_requester_and_no_draft_text() -> None:
    text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, w=EN, mask_mode="strict")
    shown = all_text(blocks) + text
    assert "佐藤" not in shown and "hanako" not in shown and "example.jp" not in shown
    assert (
        "PD-2026-000123" in shown
        and mask("hanako@example.jp", "strict", w=EN) == "(in the case file)"
    )
    draft = DraftView(
        7, 3, "deletion_done", "ja", "【件名】佐藤様", "佐藤 花子 様\n削除しました", "draft"
    )
    text, blocks = draft_message(draft, w=EN, mask_mode="strict")
    shown = all_text(blocks) + text
    assert "佐藤" not in shown and "件名" not in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]  # type: ignore[index]
    assert ACTIONS["review"] in ids and ACTIONS["approve"] not in ids


def buttons(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]  # type: ignore[attr-defined]
        if e["type"] == "button"
    ]


def test_the_parent_message_speaks_japanese_by_default() -> None:
    text, blocks = case_message(view(assignee="U0ABCDEF12"), NOW, w=JA)
    shown = all_text(blocks)
    for label in ("請求内容", "状態", "請求者", "受付日時", "回答期限", "適用法", "担当者"):
        assert f"*{label}*" in shown, label
    assert "削除" in shown and "新規" in shown and "残り 13日5時間" in shown
    assert "<@U0ABCDEF12>" in shown  # a person is a mention
    assert "deletion" not in shown and "left" not in shown
    labels = [b["text"]["text"] for b in buttons(blocks)]  # type: ignore[index]
    assert labels == [
        "自分が担当",
        "分類を変更",
        "本人確認済み",
        "請求者に確認",
        "期限を延長",
        "差し戻し",
        "統合…",
        "終了",
        "判定の理由",
    ]
    assert text.startswith("PD-2026-000123: 削除 — 新規、残り 13日5時間")


def test_an_overdue_or_stopped_clock_says_so_in_japanese() -> None:
    _text, blocks = case_message(view(answer_due=NOW - timedelta(hours=30)), NOW, w=JA)
    assert "期限超過 1日6時間" in all_text(blocks)
    stopped = view(status="awaiting_requester", answer_due=None)
    _text, blocks = case_message(stopped, NOW, w=JA)
    assert "期限の計算を停止中: 請求者の返信待ち" in all_text(blocks)
    assert "請求者の返信待ち" in all_text(blocks)  # the status too


def test_triage_speaks_japanese_by_default() -> None:
    waiting = view(needs_triage=True, triage_due=NOW + timedelta(hours=20), intents=("inquiry",))
    text, blocks = case_message(waiting, NOW, w=JA)
    assert text.startswith("仕分け期限 2026-11-26 08:00 JST")
    assert "まだ誰も判断していません" in json.dumps(blocks[0], ensure_ascii=False)
    labels = [b["text"]["text"] for b in buttons(blocks)]  # type: ignore[index]
    assert "判定どおり: 問い合わせ" in labels and "請求ではない" in labels
    assert "第三者提供の停止" in labels and "料金の質問" in labels


def test_confirms_and_the_draft_speak_japanese_by_default() -> None:
    draft = DraftView(
        7, 3, "deletion_done", "ja", "件名", "本文", "draft", files=(("a.csv", 2048),)
    )
    text, blocks = draft_message(draft, w=JA)
    shown = all_text(blocks)
    assert text == "下書き 7 · deletion_done · 日本語 · 改訂 3"  # the letter's language, named
    assert "*件名:* 件名" in shown and "a.csv（2.0 KB）" in shown
    approve, edit, discard = buttons(blocks)
    assert [b["text"]["text"] for b in (approve, edit, discard)] == [  # type: ignore[index]
        "承認して送信",
        "編集",
        "破棄",
    ]
    asks = approve["confirm"]
    assert asks["title"]["text"] == "下書き 7 を請求者に送信しますか？"  # type: ignore[index]
    assert "添付ファイル 1 件" in asks["text"]["text"]  # type: ignore[index]
    assert asks["deny"]["text"] == "キャンセル"  # type: ignore[index]
    sent = DraftView(7, 3, "deletion_done", "ja", "s", "b", "approved", approved_by="U0APPROVE1")
    assert "_承認済み（<@U0APPROVE1>）_" in all_text(draft_message(sent, w=JA)[1])
    _text, parent = case_message(view(), NOW, w=JA)
    reject = next(b for b in buttons(parent) if b["action_id"] == ACTIONS["reject"])
    assert reject["confirm"]["title"]["text"] == "PD-2026-000123 を差し戻しますか？"  # type: ignore[index]


def test_masks_sizes_and_reasons_speak_japanese_by_default() -> None:
    assert mask("hanako@example.jp", "none", w=JA) == "（非表示）"
    assert mask("hanako@example.jp", "strict", w=JA) == "（ケースファイルに記載）"
    assert "仕分け" in reasons_text({}, w=JA)
    assert "*削除*: `消して`" in reasons_text({"deletion": ("消して",)}, w=JA)
    assert "ほか 31 件のブロック" in all_text(limit([{"type": "divider"}] * 80, w=JA))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_button_and_confirm_keeps_slacks_limits(language: str) -> None:
    """Button texts at most 75 characters; a confirm's title 100, text 300, buttons 30 — whole,
    not cut (a cut text would end in the truncation marker)."""
    w = words(language)
    long_ref_case = view(needs_triage=True, triage_due=NOW, intents=TRIAGE_CHOICES)
    _text, blocks = case_message(long_ref_case, NOW, w=w)
    draft = DraftView(9, 12, "disclosure_answer", "ja", "s", "b", "draft", files=(("a", 1),) * 9)
    _text, draft_blocks = draft_message(draft, w=w)
    for button in buttons(blocks) + buttons(draft_blocks):
        text: str = button["text"]["text"]  # type: ignore[index]
        assert len(text) <= 75, text
        if button["value"] != f"PD-2026-000123 {AS_READ}":  # a list of intents may be cut
            assert w("blocks.cut") not in text, text
        asks = button.get("confirm")
        if isinstance(asks, dict):
            for part, most in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                said = asks[part]["text"]
                assert len(said) <= most and w("blocks.cut") not in said, (part, said)


def test_a_cases_flags_are_named_in_the_staff_language() -> None:
    flagged = view(flags=("historic", "doubtful_sender", "some_new_flag"))
    _text, blocks = case_message(flagged, NOW, w=JA)
    shown = all_text(blocks)
    assert "過去のメール、送信者に疑い、some_new_flag" in shown  # one not listed: as stored
    _text, blocks = case_message(flagged, NOW, w=EN)
    assert "historic mail, doubtful sender, some_new_flag" in all_text(blocks)
