"""The classifier sees only what the sender wrote now: history and signatures are set aside."""

from __future__ import annotations

import pytest
from mailbytes import CRLF, b64, message, multipart

from mail.newest import forwarded_text, passed_on_split, split_newest
from mail.parse import ParsedMessage, parse_message

NEW = "登録している個人情報を削除してください。\n会員番号は 12345 です。"
OLD = "This is the old message about a refund."


def parse_body(text: str) -> ParsedMessage:
    raw = message(
        [
            ("From", "taro@example.jp"),
            ("Subject", "Re: your request"),
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b64(text.replace("\n", "\r\n").encode()),
    )
    return parse_message(raw)


HISTORY_STYLES = {
    "angle-quotes": f"> {OLD}\n> \n> Regards",
    "on-wrote": f"On Sat, Nov 1, 2026 at 10:00 AM Yamada <yamada@example.jp> wrote:\n> {OLD}",
    "on-wrote-wrapped": f"On Sat, Nov 1, 2026 at 10:00 AM Taro Yamada <\nyamada@example.jp> wrote:\n\n{OLD}",
    "on-wrote-wrapped-name": f"On Sat, 1 Nov 2026 at 10:00, Privacy Desk of Example Corporation\n<privacy@example.co.jp> wrote:\n{OLD}",
    "original-message": f"-----Original Message-----\nFrom: desk@example.co.jp\n{OLD}",
    "japanese-original": f"---- 元のメッセージ ----\n差出人: desk@example.co.jp\n{OLD}",
    "japanese-gmail": f"2026年11月1日(土) 10:00 山田 <yamada@example.jp>:\n\n{OLD}",
    "japanese-gmail-wrapped": f"2026年11月1日(土) 10:00 個人情報保護窓口 <\nprivacy@example.co.jp>:\n\n{OLD}",
    "japanese-wrote": f"2026/11/01 10:00、山田さんは書きました:\n{OLD}",
    "outlook-english": f"From: Privacy Desk <privacy@example.co.jp>\nSent: Saturday, November 1, 2026 10:00 AM\nTo: Taro <taro@example.jp>\nSubject: Your request\n\n{OLD}",
    "outlook-rule": f"________________________________\nFrom: Privacy Desk <privacy@example.co.jp>\nSent: Saturday, November 1, 2026 10:00 AM\n\n{OLD}",
    "outlook-japanese": f"差出人: 個人情報窓口 <privacy@example.co.jp>\n送信日時: 2026年11月1日 10:00\n宛先: 山田 <taro@example.jp>\n件名: ご依頼について\n\n{OLD}",
    "gmail-forward": f"---------- Forwarded message ---------\nFrom: Yamada <yamada@example.jp>\nDate: Sat, Nov 1, 2026\n\n{OLD}",
    "apple-forward": f"Begin forwarded message:\n\nFrom: Yamada <yamada@example.jp>\n{OLD}",
}


@pytest.mark.parametrize("style", sorted(HISTORY_STYLES))
def test_history_is_separated(style: str) -> None:
    parsed = parse_body(NEW + "\n\n" + HISTORY_STYLES[style] + "\n")
    assert parsed.newest_text == NEW
    assert OLD in parsed.quoted_text
    assert OLD not in parsed.newest_text


def test_inline_reply_keeps_own_lines_and_sets_quotes_aside() -> None:
    body = "> Which data should we delete?\nAll of it, please.\n> Your member number?\n12345\n"
    parsed = parse_body(body)
    assert parsed.newest_text == "All of it, please.\n12345"
    assert "Which data should we delete?" in parsed.quoted_text
    assert "Your member number?" in parsed.quoted_text


def test_full_width_quote_marks() -> None:
    parsed = parse_body(NEW + "\n\n＞ 以前のお問い合わせ\n")
    assert parsed.newest_text == NEW
    assert "以前のお問い合わせ" in parsed.quoted_text


SIGNATURES = {
    "dash-dash-space": "-- \n山田 太郎\ntaro@example.jp",
    "heavy-rule": "━━━━━━━━━━━━━━━━\n山田 太郎\n株式会社サンプル\n━━━━━━━━━━━━━━━━",
    "equals-rule": "==========================\nTaro Yamada | Example Inc.",
    "iphone-en": "Sent from my iPhone",
    "iphone-ja": "iPhoneから送信",
    "outlook-mobile": "Get Outlook for iOS",
}


@pytest.mark.parametrize("style", sorted(SIGNATURES))
def test_signature_is_separated(style: str) -> None:
    parsed = parse_body(NEW + "\n\n" + SIGNATURES[style] + "\n")
    assert parsed.newest_text == NEW
    assert parsed.signature == SIGNATURES[style]


def test_signature_and_history_together() -> None:
    body = NEW + "\n\n-- \n山田 太郎\n\n" + HISTORY_STYLES["japanese-gmail"] + "\n"
    parsed = parse_body(body)
    assert parsed.newest_text == NEW
    assert parsed.signature == "-- \n山田 太郎"
    assert OLD in parsed.quoted_text


def test_a_message_that_is_only_a_signature_rule_keeps_its_text() -> None:
    # A rule at the very top is not a signature: there is no text above it.
    body = "━━━━━━━━━━━━━━━━\n退会したので個人情報を削除してください\n"
    assert split_newest(body).newest == body.strip("\n")


def test_plain_text_without_history() -> None:
    split = split_newest(NEW)
    assert (split.newest, split.quoted, split.signature) == (NEW, "", "")


def test_wrote_in_the_middle_of_a_sentence_does_not_cut() -> None:
    body = "I wrote to you last week and got no answer.\nPlease delete my account."
    assert split_newest(body).newest == body


def test_carriage_returns_do_not_hide_markers() -> None:
    parsed = parse_message(
        message(
            [("From", "taro@example.jp"), ("Content-Type", "text/plain; charset=UTF-8")],
            (NEW + "\n\n-----Original Message-----\n" + OLD).replace("\n", "\r\n").encode() + CRLF,
        )
    )
    assert parsed.newest_text == NEW


def test_multipart_alternative_uses_the_plain_part() -> None:
    plain = message([("Content-Type", "text/plain; charset=UTF-8")], NEW.encode())
    html = message([("Content-Type", "text/html; charset=UTF-8")], b"<p>HTML version</p>")
    ctype, body = multipart("alternative", [plain, html])
    parsed = parse_message(message([("From", "taro@example.jp"), ctype], body))
    assert parsed.newest_text == NEW
    assert parsed.html_only is False


def test_a_dated_sentence_ending_in_a_colon_is_not_an_attribution() -> None:
    body = "2026年11月1日に退会しましたが、次の情報が残っています:\n- メールアドレス\n- 住所"
    assert split_newest(body).newest == body


def test_a_dated_line_followed_by_a_colon_line_is_not_a_wrapped_attribution() -> None:
    body = "2026年11月1日 10:00 に申請しました。\n削除してほしい項目:\n- 住所"
    assert split_newest(body).newest == body


# Someone passes on another person's mail: what that person wrote, without the header block the
# client put above it, its own history or its signature.
ASKED = "登録している個人情報を全部消してください。\n会員番号は 12345 です。"
FORWARDS = {
    "gmail": (
        "Fwd: 削除",
        "---------- Forwarded message ---------\nFrom: Yamada <yamada@example.jp>\n"
        "Date: Sat, Nov 1, 2026 at 10:00 AM\nSubject: 削除\nTo: <support@example.co.jp>\n\n",
    ),
    "apple": (
        "Fwd: 削除",
        "Begin forwarded message:\n\nFrom: Yamada <yamada@example.jp>\nSubject: 削除\n"
        "Date: 1 November 2026 at 10:00:00 JST\nTo: support@example.co.jp\n\n",
    ),
    "thunderbird-japanese": (
        "Fwd: 削除",
        "-------- 転送メッセージ --------\n件名: \t削除\n日付: \tSat, 1 Nov 2026 10:00:00 +0900\n"
        "差出人: \t山田 <yamada@example.jp>\n宛先: \tsupport@example.co.jp\n\n",
    ),
    "outlook-fw": (
        "FW: 削除",
        "-----Original Message-----\nFrom: Yamada <yamada@example.jp>\n"
        "Sent: Saturday, November 1, 2026 10:00 AM\nTo: support@example.co.jp\nSubject: 削除\n\n",
    ),
    "outlook-japanese-header-block": (
        "転送: 削除",
        "差出人: 山田 <yamada@example.jp>\n送信日時: 2026年11月1日 10:00\n"
        "宛先: support@example.co.jp\n件名: 削除\n\n",
    ),
}


@pytest.mark.parametrize("style", sorted(FORWARDS))
def test_the_text_of_a_forwarded_mail_is_found(style: str) -> None:
    subject, header = FORWARDS[style]
    note = "個人情報の件なのでそちらでお願いします。"
    body = f"{note}\n\n{header}{ASKED}\n\n-- \n山田 太郎\n\n> {OLD}\n"
    parsed = parse_message(
        message(
            [
                ("From", "support@example.co.jp"),
                ("Subject", subject.encode()),
                ("Content-Type", "text/plain; charset=UTF-8"),
                ("Content-Transfer-Encoding", "base64"),
            ],
            b64(body.replace("\n", "\r\n").encode()),
        )
    )
    assert parsed.newest_text == note
    assert forwarded_text(parsed.quoted_text, parsed.subject) == ASKED


@pytest.mark.parametrize(
    "style", ["on-wrote", "japanese-gmail", "original-message", "outlook-japanese", "outlook-rule"]
)
def test_the_history_of_a_reply_is_no_forward(style: str) -> None:
    split = split_newest("はい、お願いします。\n\n" + HISTORY_STYLES[style] + "\n")
    assert forwarded_text(split.quoted, "Re: your request") == ""
    assert forwarded_text(split.quoted, "") == ""


def test_a_forward_with_nothing_below_its_headers_has_no_text() -> None:
    assert forwarded_text("---------- Forwarded message ---------\nFrom: a@example.jp\n") == ""
    assert forwarded_text("", "Fwd: x") == ""


@pytest.mark.parametrize("rule", ["-" * 49, "━" * 20, "─" * 20])
def test_a_rule_above_a_forms_fields_is_no_signature(rule: str) -> None:
    # A contact form's notification: the person's text sits between two rules near the end.
    body = (
        f"お問い合わせフォームから送信されました。\n{rule}\n【お名前】有賀 慎吾\n"
        "【お問い合わせ種別】その他\n【内容】\n登録の電話番号を 090-0000-8852 に変更してください。\n"
        f"{rule}\n送信日時：2026/10/25 12:03:19"
    )
    split = split_newest(body)
    assert "090-0000-8852 に変更してください" in split.newest
    assert split.signature == f"{rule}\n送信日時：2026/10/25 12:03:19"


@pytest.mark.parametrize(
    ("body", "postscript", "signature"),
    [
        ("Please stop the newsletter.\n\nThanks,\nAnna\n--\nAnna Smith\nTel 03-0000-0000\n\n"
         "P.S. Please also delete my old account.\n",
         "P.S. Please also delete my old account.", "--\nAnna Smith\nTel 03-0000-0000"),
        ("メルマガを止めてください。\n\n――――――\n山田花子\n〒100-0001\n――――――\n"
         "追伸　登録情報も消してください。\n",
         "追伸　登録情報も消してください。", "――――――\n山田花子\n〒100-0001\n――――――"),
        ("Please stop the newsletter.\n\nSent from my iPhone\n\nPS: also delete my account",
         "PS: also delete my account", "Sent from my iPhone"),
    ],
)  # fmt: skip
def test_a_postscript_under_the_signature_is_newest_text(
    body: str, postscript: str, signature: str
) -> None:
    split = split_newest(body)
    assert split.newest.endswith(postscript)
    assert split.signature == signature
    # A signature line that only starts like one is not a postscript.
    assert split_newest("Hi\n--\nJohn\nPsychology Dept").newest == "Hi"


@pytest.mark.parametrize(
    "announce",
    ["回答を本文中に書きました。", "ご質問の下に書きました。", "確認事項のあとに書いています。",
     "I answered below each question.", "My answers are under each point."],
)  # fmt: skip
def test_answers_written_between_the_quoted_questions_are_newest_text(announce: str) -> None:
    body = (
        f"野村です。{announce}\n\n"
        "2024年5月1日 10:00 ひかく電気 <privacy@example.jp>:\n"
        "> 1. ご登録のお名前を教えてください。\n\n野村 亜紀 です。\n\n"
        "> 3. ご希望の対応をお知らせください。\n\n"
        "メールの案内をやめてもらうのと、提携先に情報を渡すのをやめてほしいです。\n"
    )
    split = split_newest(body)
    assert split.newest.startswith("野村です。")
    assert "提携先に情報を渡すのをやめてほしい" in split.newest
    assert "ご希望の対応" in split.quoted
    # Without such a line, text above a quote is the reply and the quote is history.
    plain = body.replace(announce, "よろしくお願いします。")
    assert "提携先" not in split_newest(plain).newest


def test_a_bilingual_forms_message_field_is_no_signature() -> None:
    rule = "─" * 20
    body = (
        "以下の内容でお問い合わせを受け付けました。\n(The following inquiry was submitted.)\n\n"
        f"{rule}\nお名前 / Name: Mateo Alvarez\nお問い合わせ内容 / Message:\n"
        f"Please send me the information you hold about me.\n{rule}\n\n※自動送信されています。"
    )
    assert "Please send me the information" in split_newest(body).newest


def test_a_rule_above_a_pasted_forms_options_is_no_signature() -> None:
    # A person pastes the form the site would not send, framed by rules, and signs off below it.
    rule = "―" * 17
    body = (
        "サイトのフォームがエラーで送れなかったので、内容をそのまま貼ります。\n\n"
        f"{rule}\n【個人情報に関するご請求フォーム】\nお名前：北村 由香\n"
        "ご請求の種類(複数選択可)：\n　□ 開示\n　■ 削除\n　■ 第三者提供の停止\n"
        f"本人確認書類：後日郵送\n{rule}\n\nよろしくお願いします。"
    )
    split = split_newest(body)
    assert "■ 削除" in split.newest and "■ 第三者提供の停止" in split.newest
    # A newsletter's footer under a rule, with "■" headings, stays a signature.
    footer = f"今月のお知らせです。\n{'━' * 20}\n■セミナー案内\n配信停止はこちら\n{'━' * 20}"
    assert split_newest(footer).newest == "今月のお知らせです。"


@pytest.mark.parametrize(
    "body",
    [
        # Gmail's attribution, the desk's question quoted, the answer written under it.
        "On Mon, Dec 23, 2024 at 8:10 AM Privacy Desk <privacy@example.jp> wrote:\n"
        "> Please let us know your new phone number.\n\n"
        "It's 070-3318-4402. Please replace the old one.\n",
        # A Japanese client's attribution.
        "2024年4月18日(木) 14:19 ひかく電気 <privacy@example.jp>:\n"
        "> 停止をご希望のご連絡方法をお知らせください。\n\n"
        "It's 070-3318-4402. Please replace the old one.\n",
        # An "Original Message" header block over a quoted question.
        "-------- Original Message --------\nFrom: privacy@example.jp\nDate: 08/04/2025 03:47\n"
        "> Could you confirm which channels you want us to stop?\n\n"
        "It's 070-3318-4402. Please replace the old one.\n",
    ],
)
def test_a_reply_written_under_the_quote_is_the_newest_text(body: str) -> None:
    split = split_newest(body)
    assert split.newest == "It's 070-3318-4402. Please replace the old one."
    assert split.quoted.startswith(body.split("\n")[0])
    assert "It's 070" not in split.quoted


def test_older_history_under_a_bottom_posted_reply_stays_history() -> None:
    body = (
        "On Tue, Desk <privacy@example.jp> wrote:\n> Which account is it?\n\n"
        "The one under this address.\n\n"
        "On Mon, Taro <taro@example.jp> wrote:\nPlease delete my account.\n"
    )
    split = split_newest(body)
    assert split.newest == "The one under this address."
    assert "Please delete my account." in split.quoted


def test_a_top_posted_reply_keeps_what_is_above_the_quote() -> None:
    body = "Thanks, that is all.\n\nOn Mon, Desk <privacy@example.jp> wrote:\n> Done.\n\nP.S. old\n"
    assert split_newest(body).newest == "Thanks, that is all."


def test_what_a_mail_that_is_no_reply_quotes_is_read_without_its_marks() -> None:
    # A helpdesk's notice quoting the customer under an attribution line: the customer's words,
    # one level of quote marks off, their own quoted history and signature set apart.
    history = (
        "Ana Ruiz wrote:\n\n> Please erase everything you have about me.\n>\n> Ana\n"
        "> -- \n> Sent from my phone\n>> an older mail she quoted\n"
    )
    passed = passed_on_split(history)
    assert passed.newest.startswith("Please erase everything you have about me.")
    assert "wrote:" not in passed.newest and ">" not in passed.newest
    assert "an older mail" not in passed.newest
    # Nothing quoted and no attribution, nothing passed on; words a system puts under an
    # attribution without quote marks ("Visitor wrote:") are passed on all the same.
    assert passed_on_split("Ana Ruiz said on the phone\nno quote marks here\n").newest == ""
    unquoted = passed_on_split("Ana Ruiz wrote:\nno quote marks here\n")
    assert unquoted.newest == "no quote marks here"
    # A helpdesk that quotes with "|" passes the words on as one quoting with ">" does.
    bars = passed_on_split("Ana Ruiz wrote:\n| Please update my address.\n| Ana\n")
    assert bars.newest.startswith("Please update my address.") and "|" not in bars.newest
