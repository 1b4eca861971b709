"""What staff see of a case in Slack: the facts they need, nothing an email can use to ping
anyone or hide a link, and always within Block Kit's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.blocks import (
    ACTIONS,
    MAX_BLOCKS,
    SECTION_TEXT,
    CaseView,
    DraftView,
    case_message,
    draft_message,
    escape,
    limit,
    mask,
    reasons_text,
)

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
        **changes,
    }
    return CaseView(**values)  # type: ignore[arg-type]


def all_text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_parent_message_shows_what_staff_need() -> None:
    text, blocks = case_message(view(), NOW)
    shown = all_text(blocks)
    assert blocks[0]["type"] == "header" and "PD-2026-000123" in shown
    assert "削除 deletion" in shown
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
    _text, blocks = case_message(view(**changes), NOW)
    actions = next(b for b in blocks if b["type"] == "actions")
    return [e["action_id"] for e in actions["elements"]]  # type: ignore[index]


def test_a_closed_case_offers_only_the_reasons() -> None:
    for status in ("answered", "closed", "rejected"):
        assert controls(status=status) == [ACTIONS["reasons"]]


def test_controls_follow_the_case() -> None:
    assert ACTIONS["verified"] not in controls(verified=True)
    assert ACTIONS["reject"] not in controls(intents=("inquiry",))  # nothing to refuse
    paused = controls(status="awaiting_verification", answer_due=None)
    assert ACTIONS["extend"] not in paused and ACTIONS["ask"] in paused


def test_a_stopped_clock_says_so() -> None:
    _text, blocks = case_message(view(status="awaiting_requester", answer_due=None), NOW)
    assert "clock stopped: waiting on the requester" in all_text(blocks)


def test_an_overdue_case_says_so() -> None:
    _text, blocks = case_message(view(answer_due=NOW - timedelta(hours=30)), NOW)
    assert "OVERDUE by 1d 6h" in all_text(blocks)


@pytest.mark.parametrize("where", ["excerpt", "requester", "flags"])
def test_nothing_from_an_email_can_ping_or_hide_a_link(where: str) -> None:
    hostile: dict[str, object] = {
        "excerpt": {"excerpt": HOSTILE},
        "requester": {"requester": HOSTILE + "@example.jp"},
        "flags": {"flags": (HOSTILE,)},
    }[where]
    mode = "full" if where == "requester" else "partial"
    text, blocks = case_message(view(**hostile), NOW, mask_mode=mode)
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
    assert mask("hanako@example.jp", mode) == shown


def test_a_huge_mail_is_cut_with_a_marker_within_the_limits() -> None:
    _text, blocks = case_message(view(excerpt="長い本文です。" * 2000), NOW)
    for block in blocks:
        body = block.get("text")
        if isinstance(body, dict):
            assert len(body["text"]) <= SECTION_TEXT
    assert "…(truncated)" in all_text(blocks)


def test_never_more_than_fifty_blocks() -> None:
    many = [{"type": "divider"} for _ in range(80)]
    cut = limit(many)
    assert len(cut) == MAX_BLOCKS and "31 more blocks not shown" in all_text(cut)


def test_a_known_assignee_is_mentioned_and_anything_else_is_text() -> None:
    _t, blocks = case_message(view(assignee="U0ABCDEF12"), NOW)
    assert "<@U0ABCDEF12>" in all_text(blocks)
    _t, blocks = case_message(view(assignee="<!channel>"), NOW)
    assert "<!channel>" not in all_text(blocks) and "&lt;!channel&gt;" in all_text(blocks)


def test_the_reasons_name_the_phrases_escaped() -> None:
    text = reasons_text({"deletion": ("削除してください", "<b>erase</b>")})
    assert "`削除してください`" in text and "&lt;b&gt;erase&lt;/b&gt;" in text
    assert "triage" in reasons_text({})


def test_a_draft_offers_approve_edit_discard_for_its_revision() -> None:
    draft = DraftView(7, 3, "deletion_done", "ja", "【PD-2026-000123】削除完了", HOSTILE, "draft")
    _text, blocks = draft_message(draft)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == ["7:3"] * 3  # type: ignore[index]
    assert "<!channel>" not in all_text(blocks)
    sent = DraftView(7, 3, "deletion_done", "ja", "s", "b", "approved", approved_by="sato")
    _text, blocks = draft_message(sent)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "approved by sato" in all_text(blocks)


CONTACT_EXCERPT = "佐藤です。会員番号：12345678、電話 090-1234-5678、hanako@example.jp、〒150-0001"


@pytest.mark.parametrize("mode", ["partial", "domain", "none"])
def test_a_masked_excerpt_has_no_contact_data(mode: str) -> None:
    _text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, mask_mode=mode)
    shown = all_text(blocks)
    for data in ("12345678", "090-1234-5678", "hanako@", "150-0001"):
        assert data not in shown, (mode, data)
    assert "[phone]" in shown and "佐藤です" in shown


def test_full_shows_the_excerpt_whole() -> None:
    _text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, mask_mode="full")
    assert "090-1234-5678" in all_text(blocks) and "hanako.sato@example.jp" in all_text(blocks)


def test_strict_shows_no_excerpt_no_requester_and_no_draft_text() -> None:
    text, blocks = case_message(view(excerpt=CONTACT_EXCERPT), NOW, mask_mode="strict")
    shown = all_text(blocks) + text
    assert "佐藤" not in shown and "hanako" not in shown and "example.jp" not in shown
    assert "PD-2026-000123" in shown and mask("hanako@example.jp", "strict") == "(in the case file)"
    draft = DraftView(
        7, 3, "deletion_done", "ja", "【件名】佐藤様", "佐藤 花子 様\n削除しました", "draft"
    )
    text, blocks = draft_message(draft, mask_mode="strict")
    shown = all_text(blocks) + text
    assert "佐藤" not in shown and "件名" not in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]  # type: ignore[index]
    assert ACTIONS["review"] in ids and ACTIONS["approve"] not in ids
