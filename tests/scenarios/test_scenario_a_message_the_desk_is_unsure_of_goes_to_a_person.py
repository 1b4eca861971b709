"""A message the classifier is nearly sure asks for a right — its confidence for a disclosure just
under the disclosure threshold, within the triage band — is not quietly taken for a mere question:
its case needs triage, runs on the strictest clock until a person decides, and staff reading it
are told why ("disclosure uncertain (0.40)")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.intake import Intake
from handlers import rules
from handlers.classify import classify_text

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
SUBJECT = "本人確認書類について"
# a question about a disclosure's paperwork, or a disclosure request: a person must say which
QUESTION = (
    "すみません、開示の手続きに必要な本人確認書類ですが、学生証でも大丈夫ですか？\n"
    "免許もマイナンバーカードも持ってなくて…"
)


def test_a_request_just_under_its_threshold_is_left_to_a_person(
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    confidence = classify_text(SUBJECT, QUESTION).confidence["disclosure"]
    threshold = rules.THRESHOLDS["disclosure"]
    assert threshold - 0.1 < confidence < threshold, "the example is no longer just under"

    result = Intake(engine, clock=lambda: NOW).process(make_mail(QUESTION, subject=SUBJECT))
    assert result.action == "opened" and result.ref is not None
    assert "disclosure" not in result.intents  # not taken for a request by the machine...

    monkeypatch.setenv("PD_DATABASE_URL", url)
    assert main(["case", result.ref]) == 0
    shown = capsys.readouterr().out
    # ...nor for a mere question: a person decides, and is told why
    assert "TRIAGE      nobody has decided what it asks for" in shown
    assert f"triage: disclosure uncertain ({confidence:.2f})" in shown
