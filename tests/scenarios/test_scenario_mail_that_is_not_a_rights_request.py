"""Mail that is not a data-rights request still gets handled, each in its own light way: a rate
question opens a case with a redirect draft, a retailer's correction goes to the content team,
spam is archived; none of it is mixed into a data-rights case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.intake import Intake
from storage import repo
from storage.models import Case, Draft

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def test_a_rate_question_gets_a_redirect_draft_in_the_senders_language(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(
        make_mail(
            "一人暮らしで電気代が月8000円くらいです。もっと安くなるプランはありますか？",
            subject="電気代について",
            message_id="<rate-1@example.jp>",
        )
    )
    assert result.action == "opened" and result.intents == ("rate_question",)
    assert result.ref is not None
    with Session(engine) as session:
        case = repo.case_by_ref(session, result.ref)
        assert case is not None and case.kind == "rate_question"
        drafts = list(session.exec(select(Draft).where(Draft.case_id == case.id)))
    assert [(d.template, d.language, d.status) for d in drafts] == [
        ("rate_redirect", "ja", "draft")
    ]
    assert result.ref in drafts[0].subject
    assert "当社の担当窓口" in drafts[0].body  # it sends them where such questions go
    assert drafts[0].approved_by is None  # a draft, not a sent mail


def test_a_retailers_correction_is_a_case_for_the_content_team(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(
        make_mail(
            "貴サイトの比較ページに掲載いただいている弊社プランの料金が改定前のままとなっております。"
            "お手数ですが掲載内容の修正をお願いいたします。",
            sender="Sakura Denki <tamura@example-sakura-denki.jp>",
            subject="掲載料金の修正のお願い",
            message_id="<provider-1@example-sakura-denki.jp>",
        )
    )
    assert result.action == "opened" and result.intents == ("provider_correction",)
    with Session(engine) as session:
        case = repo.case_by_ref(session, result.ref or "")
        assert case is not None
        assert (case.kind, case.assignee) == ("provider_correction", "content-team")
        # a receipt for the provider, drafted for staff to approve: nothing is sent by itself
        [draft] = session.exec(select(Draft)).all()
        assert (draft.template, draft.status, draft.case_id) == ("provider_ack", "draft", case.id)
        assert "Sakura Denki" in draft.body and case.ref in draft.subject


def test_spam_about_privacy_is_archived_not_a_request(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(
        make_mail(
            "開示請求・削除請求の対応を自動化しませんか？無料ウェビナーを開催します。"
            "参加費無料、お申し込みはこちら。配信停止をご希望の方はこちら。",
            sender="Vendor <news@example-vendor.jp>",
            subject="【無料ウェビナー】開示請求対応の実務",
            message_id="<spam-1@example-vendor.jp>",
            List_Unsubscribe="<https://example-vendor.jp/u>",
        )
    )
    assert (result.action, result.intents, result.ref) == ("archived", ("spam",), None)
    with Session(engine) as session:
        assert not list(session.exec(select(Case)))
