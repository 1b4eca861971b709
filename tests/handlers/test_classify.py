"""The classifier on messages the project writes: the cases LABELS.md and the issue single out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import growth

from handlers import rules
from handlers.classify import classify, classify_text, prepare, without_disclaimers
from handlers.evaluate import Labelled, Report, score
from handlers.intents import RIGHTS
from mail.parse import parse_message


def intents(text: str, subject: str = "", signals: tuple[str, ...] = ()) -> set[str]:
    return set(classify_text(subject, text, machine_signals=signals).intents)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Plain requests, both languages, several registers.
        ("貴社が保有する私の保有個人データの開示を請求いたします。", {"disclosure"}),
        ("私のデータ、全部消してもらえますか？", {"deletion"}),
        ("Please erase all personal data you hold about me under Article 17 GDPR.", {"deletion"}),
        ("登録しているメアドをこのアドレスに変えといてください。", {"correction"}),
        ("My phone number on file is wrong. Please update it to 090-0000-1111.", {"correction"}),
        ("メルマガの配信を停止してください。", {"stop_use"}),
        ("unsubscribe", {"stop_use"}),
        ("Please take me off your call list, no more phone calls.", {"stop_use"}),
        ("提携先の会社に私の情報を渡さないでください。", {"stop_provision"}),
        ("Do not sell or share my personal information.", {"stop_provision"}),
        # Several at once.
        ("まず保有している私の情報を開示してください。確認後、すべて削除してください。",
         {"disclosure", "deletion"}),
        ("Send me a copy of my data, then delete my account.", {"disclosure", "deletion"}),
        # Negations keep only what is asked.
        ("I do not want my account deleted, just fix my address.", {"correction"}),
        ("I'm not using the site anymore so could you remove my account?", {"deletion"}),
        ("退会や削除をしたいわけではなく、キャンペーンのメールだけ止めてください。", {"stop_use"}),
        ("I'm not asking you to delete anything - please just stop the newsletter.", {"stop_use"}),
        # A withdrawal takes back what its sentence names, not a request made in another.
        ("先日お送りした削除のお願いは取り下げます。メールの配信停止だけお願いいたします。",
         {"stop_use"}),
        # Questions about the procedure are inquiries, not the right itself.
        ("How would I request deletion of my data? What ID do you need?", {"inquiry"}),
        ("開示請求をするにはどうすればいいですか？手数料はかかりますか？", {"inquiry"}),
        # Honorific, classical and blunt forms; one-word replies; clauses of a legal letter.
        ("貴社にある私の記録はすべてお消しください。", {"deletion"}),
        ("もう俺の番号どこにも渡すな。", {"stop_provision"}),
        ("解除", {"stop_use"}),
        ("Please don't add me to your promotional emails.", {"stop_use"}),
        ("My client requests that any further disclosure to third parties cease immediately.",
         {"stop_provision"}),
        # Width and typos.
        ("ﾃﾞｰﾀを全部消してください", {"deletion"}),
        ("ＰＤＦで開示してください", {"disclosure"}),
        ("pls delet my acount", {"deletion"}),
        # Not privacy.
        ("一人暮らしで電気代が高いです。安くなるプランはありますか？", {"rate_question"}),
        ("弊社プランの掲載料金に誤りがありますので、修正をお願いいたします。", {"provider_correction"}),
        # Nothing asked.
        ("はい、お願いします。", set()),
        ("Thanks, that's all sorted now!", set()),
    ],
)  # fmt: skip
def test_intents_of_newest_text(text: str, expected: set[str]) -> None:
    assert intents(text) == expected


def test_each_intent_comes_with_confidence_and_reasons() -> None:
    result = classify_text("", "Please delete my account and all my data.")
    assert result.intents == ("deletion",)
    assert result.confidence["deletion"] >= 0.8
    assert any("delete my account" in reason for reason in result.reasons["deletion"])


def test_negated_phrase_is_shown_as_set_aside() -> None:
    result = classify_text("", "I do not want my account deleted, just fix my address.")
    assert any("negated" in item for item in result.ignored)


def test_reply_subject_does_not_count_but_a_fresh_one_does() -> None:
    assert intents("Thank you!", subject="Re: deletion request") == set()
    assert intents("", subject="データ削除のお願い") == {"deletion"}


def test_machine_headers_silence_quoted_requests() -> None:
    text = "We have received your request: 'please delete all my personal data'."
    assert intents(text, signals=("auto-submitted",)) == {"auto_reply"}


def test_marketing_about_privacy_is_spam_not_a_request() -> None:
    text = (
        "開示請求・削除請求への対応を自動化しませんか？\n"
        "無料ウェビナーを開催します。参加費無料、お申し込みはこちら。\n"
        "配信停止をご希望の方はこちら"
    )
    assert intents(text, signals=("list-unsubscribe",)) == {"spam"}


def test_withdrawn_request_is_not_a_request_and_goes_to_triage() -> None:
    result = classify_text("", "先日お願いした情報削除の依頼ですが、取り下げさせてください。")
    assert "deletion" not in result.intents
    assert result.needs_triage


def test_unclear_privacy_mail_is_flagged_for_triage_not_guessed() -> None:
    result = classify_text("", "個人情報のことで少しお話があります。")
    assert result.intents == ()
    assert result.needs_triage


def test_a_confidence_just_under_a_threshold_goes_to_triage_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject, text = (
        "本人確認書類について",
        "開示の手続きに必要な本人確認書類は学生証でも大丈夫ですか？",
    )
    found = classify_text(subject, text).confidence["disclosure"]
    assert found > 0.1
    # the threshold put just above what this message scores: it is just under
    monkeypatch.setitem(rules.THRESHOLDS, "disclosure", found + 0.01)
    result = classify_text(subject, text)
    assert "disclosure" not in result.intents and result.needs_triage
    assert f"disclosure uncertain ({found:.2f})" in result.triage_reasons
    # further under than the band: no longer a reason to ask a person
    monkeypatch.setitem(rules.THRESHOLDS, "disclosure", found + rules.TRIAGE_BAND + 0.01)
    assert not any(r.startswith("disclosure") for r in classify_text(subject, text).triage_reasons)


def test_only_the_newest_text_counts() -> None:
    raw = (
        b"From: a@example.com\r\nTo: privacy@example.jp\r\nSubject: Re: erasure\r\n"
        b"Message-ID: <r1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Thank you very much!\r\n\r\nOn Mon, 3 Nov 2026 at 10:00, Desk <privacy@example.jp> wrote:\r\n"
        b"> Please delete all my personal data and stop sending me newsletters.\r\n"
    )
    assert classify(parse_message(raw)).intents == ()


def test_prepare_unwraps_japanese_lines_and_splits_sentences() -> None:
    text = "提携先の会社に私の情報を渡さないでくだ\nさい。よろしくお願いします。"
    assert prepare(text).split("\n") == [
        "提携先の会社に私の情報を渡さないでください。",
        "よろしくお願いします。",
    ]


def _score_fixture(name: str) -> Report:
    path = Path(__file__).parent.parent / "fixtures" / "classifier" / name
    gold: list[Labelled] = []
    predicted: list[frozenset[str]] = []
    triage: list[bool] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        result = classify_text(case["subject"], case["text"])
        gold.append(Labelled(case["id"], frozenset(case["intents"]), case["language"]))
        predicted.append(frozenset(result.intents))
        triage.append(result.needs_triage)
    languages = [g.language for g in gold]  # language is scored on parsed mail, not here
    return score(gold, predicted, languages, triage)


def test_a_score_says_how_many_requests_a_person_still_sees() -> None:
    gold = [
        Labelled("1", frozenset({"deletion", "stop_use"}), "ja"),  # one of two read
        Labelled("2", frozenset({"disclosure"}), "en"),  # missed, but sent to a person
        Labelled("3", frozenset({"correction"}), "en"),  # missed silently
        Labelled("4", frozenset(), "en"),
    ]
    predicted = [frozenset({"deletion"}), frozenset(), frozenset(), frozenset()]
    report = score(gold, predicted, ["ja", "en", "en", "en"], [False, True, False, True])
    assert report.rights_recall == 1 / 4
    assert report.rights_covered == 2 / 4  # the triaged disclosure keeps its clock
    assert report.as_dict()["rights_covered"] == 0.5


def test_kana_folding_leaves_other_words_alone() -> None:
    # "おかけして" (for the trouble) must not become "お消して" (delete).
    assert "消して" not in prepare("お手数をおかけして申し訳ありません。")
    assert "消して" in prepare("わたしのじょうほう、ぜんぶけしてください。")


def test_english_words_inside_japanese_are_read() -> None:
    assert intents("アカウントをcloseして、データもdeleteしてもらえますか?") == {"deletion"}


# The project's own labelled sets. cases.jsonl was written with the rules in view; the others were
# written by people who saw neither the rules nor the other sets, and their first (blind) scores
# are in the issue notes: the rules were generalised after each blind run.
@pytest.mark.parametrize(
    ("name", "size"),
    [("cases.jsonl", 250), ("holdout.jsonl", 200), ("blind.jsonl", 160), ("blind2.jsonl", 160)],
)
def test_labelled_sets_are_classified_well(name: str, size: int) -> None:
    report = _score_fixture(name)
    assert report.messages >= size
    assert report.rights_recall >= 0.98
    assert report.macro_f1 >= 0.95
    assert report.machine_as_request == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ﾜﾀｼﾉｼﾞｮｳﾎｳｻｸｼﾞｮｼﾃｸﾀﾞｻｲ", {"deletion"}),
        ("ﾃｲｹｲｻｷﾆﾜﾀｼﾉｼﾞｮｳﾎｳｦﾃｲｷｮｳｼﾅｲﾃﾞｸﾀﾞｻｲ", {"stop_provision"}),
        ("でんわを ていし して ください", {"stop_use"}),
        ("merumaga teishi onegai shimasu.", {"stop_use"}),
        ("namae no teisei onegai shimasu", {"correction"}),
        ("kojin jouhou kaiji seikyuu", {"disclosure"}),
    ],
)  # fmt: skip
def test_kana_only_and_romaji_japanese_are_read(text: str, expected: set[str]) -> None:
    assert set(classify_text("", text, model=None).intents) == expected


def test_elderly_polite_and_kana_provision_requests_are_read() -> None:
    assert intents(
        "わたしの なまえを でんきがいしゃや ほかの かいしゃに わたさないで ください。"
    ) == {"stop_provision"}
    assert "stop_provision" in set(
        classify_text(
            "", "わたくしのことは、ほかの会社さんにはお伝えにならないでくださいませ。", model=None
        ).intents
    )


def _mail(subject: str, body: str) -> bytes:
    return (
        f"From: support@example.jp\r\nTo: privacy@example.jp\r\nSubject: {subject}\r\n"
        "Message-ID: <f1@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\n", "\r\n")
    ).encode()


_FORWARDED = (
    "---------- Forwarded message ---------\n"
    "From: Tanaka <tanaka@example.com>\nDate: Sat, Nov 21, 2026 at 10:14 PM\n"
    "Subject: {subject}\nTo: <support@example.jp>\n\n{text}\n"
)


@pytest.mark.parametrize(
    ("note", "forwarded", "expected"),
    [
        ("個人情報の件なのでそちらでお願いします。",
         "もう使わないので、登録している私の情報を全部消してください。", {"deletion"}),
        ("Please handle - forwarding to the privacy desk.",
         "Please take me off your newsletter list, I never signed up for it.", {"stop_use"}),
        ("", "提携先の会社に私の電話番号を渡さないでください。", {"stop_provision"}),
        # A partner's support desk greets, explains and signs: longer than a line or two, but
        # it says it passes the mail on and asks nothing of its own.
        ("株式会社ヒカクプラス 個人情報お問い合わせ窓口 御中\n\nいつもお世話になっております。"
         "さくら電力お客様センターの松田でございます。\n弊社宛に届いたお客様からのメールですが、"
         "内容が貴社のメールマガジンに関するものでしたので転送いたします。\n"
         "お客様には貴社へ転送した旨ご案内済みです。\n\nさくら電力株式会社 お客様センター 松田",
         "ヒカクプラスのメルマガが毎週来ます。もう送らないでください。", {"stop_use"}),
        ("Dear privacy team,\n\nWe received the message below at our support address. As the "
         "customer refers to the account on your comparison site, we forward it to you for "
         "handling. We have dealt with our side separately.\n\nBest regards,\nYuta Sonoda\n"
         "NetWave Co., Ltd. Customer Support",
         "I signed up through your comparison site. Please erase my data from that account.",
         {"deletion"}),
        # An assistant's note whose signature carries a disclaimer ("...delete it").
        ("Forwarding on behalf of Mr Kenji Harada. Please action his request below.\n\n"
         "Natalie Brooks\n\nThis message is intended only for the addressee. If you received it "
         "in error please inform the sender and delete it.",
         "Please tell Hikaku Denki: no more newsletters to my personal address, and they are not "
         "to pass my details to any utility companies.", {"stop_use", "stop_provision"}),
        # Support staff: "FYI", the sender's mood, and nothing asked of their own.
        ("FYI. I can't find his November mail in the support queue. He's pretty annoyed.\n\n"
         "Ayumi", "Second time I'm asking: delete my account and all my data.",
         {"complaint", "deletion"}),
        # A colleague asked to send it on, the owner away on business: a note, not an
        # out-of-office reply.
        ("ご担当者様\n\n隣の課の者から、下記を転送するよう頼まれました。\n"
         "本人は出張中で、私用のメールが使えないそうです。",
         "会員の者です。退会しますので、登録した情報もすべて削除してください。", {"deletion"}),
        ("This came into our group contact inbox in Singapore. I've told her we've passed it to "
         "you. Nothing for us to do here.\n\nBest,\nWei Jie\nGroup Legal & Compliance",
         "Please remove my account and delete my personal data.", {"deletion"}),
    ],
)  # fmt: skip
def test_a_forwarding_note_is_read_with_the_mail_it_passes_on(
    note: str, forwarded: str, expected: set[str]
) -> None:
    body = f"{note}\n\n" + _FORWARDED.format(subject="request", text=forwarded)
    result = classify(parse_message(_mail("Fwd: request", body)))
    assert set(result.intents) == expected


def _attached_forward(note: str, subject: str, forwarded: str, headers: str = "") -> bytes:
    """A note with the mail it forwards attached whole (message/rfc822), as Outlook sends it."""
    return (
        "From: support@example.jp\r\nTo: privacy@example.jp\r\nSubject: FW: request\r\n"
        f"Message-ID: <f2@example.jp>\r\n{headers}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{note}\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: tanaka@example.com\r\nSubject: {subject}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{forwarded}\r\n--b1--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("note", "subject", "forwarded", "expected"),
    [
        # A note passing mail on: the attached mail is what is asked.
        ("お客様からのメールを添付で転送します。", "request",
         "もう使わないので、登録している私の情報を全部消してください。", {"deletion"}),
        # A note that says something of its own is the message; the attachment is history.
        ("これ1か月前に送ったのに、いまだに返事がありません。対応ひどくないですか？",
         "削除お願いします", "登録している個人情報を削除してください。", {"complaint"}),
    ],
)  # fmt: skip
def test_a_mail_forwarded_as_an_attachment_is_read_as_an_inline_forward_is(
    note: str, subject: str, forwarded: str, expected: set[str]
) -> None:
    raw = _attached_forward(note, subject, forwarded)
    assert set(classify(parse_message(raw)).intents) == expected


def test_machine_mail_with_a_mail_attached_is_not_read_through_it() -> None:
    raw = _attached_forward(
        "Your request has been received. Ticket #4411.",
        "request",
        "Please delete all of my personal data.",
        headers="Auto-Submitted: auto-replied\r\n",
    )
    assert not set(classify(parse_message(raw)).intents) & set(RIGHTS)


def test_a_longer_note_that_asks_something_itself_is_the_message() -> None:
    # The note passes the mail on but asks its own question: the question is the message.
    note = (
        "いつもお世話になっております。下記のメールが母に届きました。転送いたします。\n"
        "これは本当に御社から送られたものでしょうか？個人情報の取扱いについて教えてください。"
        "母は最近ほかにも似たメールを受け取っており、家族で心配しています。よろしくお願いします。"
    )
    body = f"{note}\n\n" + _FORWARDED.format(
        subject="【重要】個人情報削除のご案内",
        text="お客様の個人情報を削除するには、下記のリンクからログインして手続きしてください。",
    )
    result = classify(parse_message(_mail("Fwd: 【重要】個人情報削除のご案内", body)))
    assert "deletion" not in result.intents


def test_a_forward_of_a_forward_is_read_through_to_the_mail_passed_on() -> None:
    # Her sister cannot mail out from work: she asked her sister, who forwards it on to the desk;
    # the request is in the ">"-quoted mail inside the first forward.
    body = (
        "姉から頼まれて転送します。下の姉のメールのとおり、お願いします。\n\n"
        + _FORWARDED.format(
            subject="Fwd: 退会について",
            text="里奈へ\nこれ送っておいてくれる？会社のアドレスからだと外部に送れなくて。\n\n"
            "> 比較でんき 御中\n> 退会して、登録した情報をすべて消してください。\n"
            "> あと、私の情報をどこの電力会社に渡したのかも教えてください。",
        )
    )
    result = classify(parse_message(_mail("Fwd: Fwd: 退会について", body)))
    assert set(result.intents) == {"deletion", "disclosure"}


def test_a_short_reply_over_quoted_history_of_a_forward_inherits_nothing() -> None:
    body = "はい、お願いします。\n\n> 登録している個人情報を削除してください。\n"
    assert classify(parse_message(_mail("Re: Fwd: 削除", body))).intents == ()


def test_a_note_that_says_something_of_its_own_is_the_message() -> None:
    # The sender forwards their own unanswered request and complains: the complaint is what the
    # newest text asks; the mail below is history (LABELS.md), as a reply's would be.
    note = "これ1か月前に送ったのに、いまだに返事がありません。対応ひどくないですか？"
    body = f"{note}\n\n" + _FORWARDED.format(
        subject="削除お願いします", text="登録している個人情報を削除してください。"
    )
    assert set(classify(parse_message(_mail("Fw: 削除お願いします", body))).intents) == {
        "complaint"
    }


def test_a_forwarded_request_taken_back_in_the_note_is_not_asked() -> None:
    note = "以前送ったメールを転送しておきます。こちらの削除依頼は取り下げます。"
    body = f"{note}\n\n" + _FORWARDED.format(
        subject="削除依頼", text="登録している個人情報をすべて削除して退会させてください。"
    )
    result = classify(parse_message(_mail("Fwd: 削除依頼", body)))
    assert "deletion" not in result.intents
    assert result.needs_triage


def test_a_short_reply_over_quoted_history_inherits_nothing() -> None:
    body = (
        "はい、お願いします。\n\n-----Original Message-----\n"
        "From: Tanaka <tanaka@example.com>\nSent: Saturday, November 21, 2026 10:14 PM\n"
        "To: privacy@example.jp\nSubject: 削除\n\n登録している個人情報を削除してください。\n"
    )
    assert classify(parse_message(_mail("RE: 削除", body))).intents == ()


def _with_attached_letter(
    body: str, letter: str, *, charset: str = "iso-2022-jp", headers: str = ""
) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage()
    msg["From"] = "Ito <ito@example.jp>"
    msg["To"] = "privacy@example.jp"
    msg["Subject"] = "書面を添付します"
    msg["Message-ID"] = "<letter@example.jp>"
    msg.set_content(body)
    msg.add_attachment(
        letter.encode(charset), maintype="text", subtype="plain", filename="letter.txt"
    )
    msg.get_payload()[1].set_param("charset", charset)
    return headers.encode() + msg.as_bytes(policy=SMTP)


LETTER = (
    "比較でんき 御中\n\n私の登録情報をすべて削除し、今後のメールの配信も停止してください。\n\n伊藤"
)


def test_a_letter_attached_to_a_short_message_is_read() -> None:
    msg = parse_message(_with_attached_letter("添付の書面のとおりお願いします。", LETTER))
    assert LETTER.split("\n")[2] in msg.attached_text
    assert set(classify(msg).intents) == {"deletion", "stop_use"}


def test_a_machine_mails_attached_text_is_not_the_senders() -> None:
    # An out-of-office reply with a copy of the mail it answers attached as text.
    raw = _with_attached_letter(
        "I am out of the office until Monday.", LETTER, headers="Auto-Submitted: auto-replied\r\n"
    )
    assert set(classify(parse_message(raw)).intents) == {"auto_reply"}


def test_a_long_message_is_not_read_with_its_attachment() -> None:
    # A long mail that asks a question of its own: the file beside it is a reference, not the ask.
    body = (
        "個人情報の取り扱いについて質問があります。提携先の電力会社には、申し込みのときに入力した"
        "情報のうち、どの項目が渡るのでしょうか。参考までに、以前に別の会社へ送った書面を添付します。"
    ) * 8
    msg = parse_message(_with_attached_letter(body, LETTER))
    assert "deletion" not in classify(msg).intents


def test_a_body_that_points_at_the_subject_makes_the_subject_the_request() -> None:
    raw = _mail("退会＆メール停止お願いします", "件名のとおりです。")
    assert set(classify(parse_message(raw)).intents) >= {"deletion", "stop_use"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("夫あてのメールを止めていただき、夫の登録もなくしていただけますでしょうか。",
         {"stop_use", "deletion"}),
        ("今後一切、私の情報を他社へ渡さないこと。貴社にある私どもの情報をすべて消すこと。",
         {"stop_provision", "deletion"}),
        ("削除と提携先への提供停止おねがいします", {"deletion", "stop_provision"}),
        ("もう何も残してほしくない。", {"deletion"}),
        ("Could you please send me a copy of what you hold on her?", {"disclosure"}),
        ("Please stop sending my details to Next Hikari or anyone else.", {"stop_provision"}),
        ("データ売らないで", {"stop_provision"}),
        ("何のリストに入ってるのか知りませんが、外してください。", {"stop_use"}),
        ("I want the texts to stop.", {"stop_use"}),
        # Telegram style in katakana, as a call centre's memo or an old phone writes it.
        ("ジョウホウヲ　タシャニ　ワタサナイデ　クダサイ", {"stop_provision"}),
        ("ナニヲ　トウロクシテイルカ　オシエテ　ホシイ", {"disclosure"}),
        ("このアドレスを登録から外して、今後メールを送らないようにしてください。",
         {"deletion", "stop_use"}),
        ("Can you undo the registration? I never meant to give you my details.", {"deletion"}),
        ("持ってるデータぜんぶ送って→そのあと消して", {"disclosure", "deletion"}),
        ("登録内容みせてください。", {"disclosure"}),
        ("そっちで何を送ったんか、いつ送ったんか教えてくれ。", {"disclosure"}),
        ("もうあの会社にうちの情報渡さんといて。電話も止めさせてや。",
         {"stop_provision", "stop_use"}),
        ("もう電話せんごと言うといて。うちの番号はどこにも教えんでよかけん。",
         {"stop_use", "stop_provision"}),
        ("アカウントは残しといていいんですけど、電力会社とかに情報が行くのは止めてほしいです。",
         {"stop_provision"}),
        ("Close my account, erase my details, and don't send me anything ever again.",
         {"deletion", "stop_use"}),
        ("Art. 35(5): cessation of third-party provision of my personal data.",
         {"stop_provision"}),
        ("もし可能であれば、アンケートの回答も含めて私の登録情報を削除いただけますと幸いです。",
         {"deletion"}),
        ("戸籍の書類に時間がかかるので、削除は後回しにして、まず開示の方だけ先に進めてください。",
         {"disclosure"}),
        ("watashi no touroku jouhou, nani ga hozon sarete iru ka oshiete kudasai.",
         {"disclosure"}),
        ("Please tell me what you shared with them, and stop sharing my details with anyone.",
         {"disclosure", "stop_provision"}),
        ("Our client requests that you cease, with immediate effect, any provision of her "
         "personal data to third parties.", {"stop_provision"}),
        ("Also, could you delete the old comparison I saved last summer?", {"deletion"}),
        ("メルマガの配信をやめて、退会処理もお願いします。データは残さなくて結構です。",
         {"stop_use", "deletion"}),
        ("削除の前に、「あおぞら電力」に私の情報を渡したかどうかだけ教えてください。",
         {"disclosure"}),
        ("I'd like to see the records of whom you have provided my data to.", {"disclosure"}),
        ("Our customer no longer wants to receive your newsletters.", {"stop_use"}),
        ("Stop any onward transfer of my data to your partners, effective immediately.",
         {"stop_provision"}),
        ("(b) that you cease forthwith to disclose our client's personal data to any third "
         "party, including any electricity provider.", {"stop_provision"}),
        ("Once I've got it please just nuke the whole account.", {"deletion"}),
        ("Please confirm whether you hold personal information about me and give me access to it.",
         {"disclosure"}),
        ("Please tell us whether you provided his personal data to Sunrise Energy.",
         {"disclosure"}),
        ("最後に私の登録情報と利用履歴のデータをもらえますか。", {"disclosure"}),
        ("Please take this email as my opt-out: don't use my browsing on your site for ad "
         "targeting.", {"stop_use"}),
        ("御社はそんなことまで提携先に伝えているのですか。どのような情報を渡しているのかの説明を求めます。",
         {"disclosure"}),
        ("どこに出したのか教えてください。", {"disclosure"}),
        ("あの時、私のことがどこのどなたに伝わったのか、まず知りたいのです。", {"disclosure"}),
        ("そちら様にどのようなことが書き留められておりますのか、気にかかっております。\n"
         "お手数ながら、書面にてお知らせ下さいますようお願い申し上げます。", {"disclosure"}),
        ("My request also covered the records of disclosure to third parties. Please send those "
         "as well.", {"disclosure"}),
        ("Please also include any risk score you've calculated about me.", {"disclosure"}),
        ("I'm mainly after the call recordings and notes from the two phone calls.", {"disclosure"}),
        ("今の住所は杉並区阿佐谷北3-3-3です。こちらが正しいものになるようにお願いします。",
         {"correction"}),
        ("確認できたら、それは全部なくしてほしいんです。", {"deletion"}),
        ("もう使わへんし、わしの情報ほかすようにしといてください。", {"deletion"}),
        ("I'd rather not get promotional emails. Only account-related ones are fine.",
         {"stop_use"}),
        ("止めてほしいのは「みなとエナジー」への情報提供です。", {"stop_provision"}),
        ("ほんで、これからはよそに出さんでちょう。", {"stop_provision"}),
        ("そして、これから先はどこにも伝えないでほしいのです。", {"stop_provision"}),
        ("もし提携先の電力会社に情報が渡る設定になっているなら、それも止めてください。",
         {"stop_provision"}),
        # The company's duty to keep data is not the sender keeping their account.
        ("You say you have to keep my data for legal reasons. Please erase my details.",
         {"deletion"}),
        ("I'd love to see whatever you've got on me, including anything you've inferred.",
         {"disclosure"}),
        ("What information did you actually send them? I'd like to see exactly what was passed on.",
         {"disclosure"}),
        ("Also I want to know which company you was provide my information.", {"disclosure"}),
        ("Please tell me every company you sent my application details to.", {"disclosure"}),
        ("(1)これまでに私の情報を渡した会社名と日付をすべて教えてください。", {"disclosure"}),
        ("残っているなら何が残っているのか、確認させてください。", {"disclosure"}),
        ("おらのごど、そっちでなんぼ知ってんのが、いっぺん見してけさい。", {"disclosure"}),
        ("I also request that my e-mail address in your records be updated to this address.",
         {"correction"}),
        ("私の記録も、片付けていただいてよろしゅうございます。", {"deletion"}),
        ("自分の登録ごと跡形もなくしてほしいんです。", {"deletion"}),
        ("持ってるならもう要らないはずなので、捨ててください。", {"deletion"}),
        ("父のアカウントは閉じていただき、今後は何も送らないようお願いいたします。",
         {"deletion", "stop_use"}),
        ("昔作った別のアカウントはもう使わないので消してもらって大丈夫です。", {"deletion"}),
        ("私のことは忘れてください。登録していたことも含めて。", {"deletion"}),
        ("If my personal data has not been deleted by Friday 5pm, I will file a complaint.",
         {"deletion"}),
        ("Everything. Account, quote history, the lot. Nothing needs to stay.", {"deletion"}),
        ("I want to disappear from your systems. No emails, no calls, nothing stored.",
         {"deletion", "stop_use"}),
        ("How do I make you forget I exist?", {"deletion"}),
        ("Could you please take my phone number out of your system?", {"deletion"}),
        ("Consider us broken up: you can throw away the memories (my account).", {"deletion"}),
        ("hii so i made an account for the giveaway. can u just get rid of it?? thx",
         {"deletion"}),
        ("Please do 配信停止 on this address, and 退会 too if that's easy.",
         {"stop_use", "deletion"}),
        ("ワガ コジンジヨウホウ イツサイ サクジヨ ネガウ。", {"deletion"}),
        ("退会して登録した情報も消してください。メールも届かないようにお願いします。",
         {"deletion", "stop_use"}),
        ("疲れました。もう何も読みたくないです。", {"stop_use"}),
        ("Please leave me alone.", {"stop_use"}),
        ("I want out of whatever list I'm on. Thanks.", {"stop_use"}),
        ("Could you please close her account and make sure nothing more is sent?",
         {"deletion", "stop_use"}),
        ("I want delete my account please. Also please not send me email anymore.",
         {"deletion", "stop_use"}),
        ("I hereby apply to stop the utilization of my personal information.", {"stop_use"}),
        ("I will not accept any further marketing from you.", {"stop_use"}),
        ("Until it is corrected, I ask that you do not use this data to make recommendations to "
         "me or send it to any retailer.", {"stop_use", "stop_provision"}),
        ("Please make sure my info is deleted and not passed on to anybody after I leave.",
         {"deletion", "stop_provision"}),
        ("No emails, no calls, no passing me along to your partners.", {"stop_provision"}),
        ("テイケイサキ ヘノ ジヨウホウ テイキヨウ タダチニ テイシ サレタシ。", {"stop_provision"}),
        # A complaint quoting what a partner called the sender is not a sales pitch.
        ("御社から「見込み客」として情報を受け取ったとのことです。御社に残っている私の情報を削除する"
         "ことを求めます。", {"deletion"}),
        ("Not sure who you've shared my details with, but I'd love to know.", {"disclosure"}),
        ("1. Who exactly have you given my phone number and address to?", {"disclosure"}),
        ("Also I'd like to know what name/address was registered with my email.", {"disclosure"}),
        ("I want an explanation of which of my data was exposed.", {"disclosure"}),
        ("Please send me everything you have on file for me.", {"disclosure"}),
        ("Can you show me the login history for my account?", {"disclosure"}),
        ("I just need to know which electricity retailer her application was sent to.",
         {"disclosure"}),
        ("GDPR第15条に基づき、私の個人データへのアクセスを要求します。", {"disclosure"}),
        ("せめてどこに渡したのかくらいは知っておきたいです。", {"disclosure"}),
        ("私の場合、具体的にどう使われているのかを教えてもらえるとすっきりします。", {"disclosure"}),
        ("カタカナ を ついか してください。", {"correction"}),
        ("Would you please forget about me. My account is under this address.", {"deletion"}),
        ("I come to request the cancellation of my registration in your site.", {"deletion"}),
        ("そちらの手元からも私の情報が消えてくれたら、それで気が済みます。", {"deletion"}),
        ("その時に書きました住所やお電話番号は、もうそちら様で持っていていただかなくて結構でございます。",
         {"deletion"}),
        ("以前の住所や使用量のデータをそちらで持っていても、もう何の意味もないですよね？", {"deletion"}),
        ("There's really no point in you keeping my Tokyo address.", {"deletion"}),
        ("There's no reason for it to be there anymore, is there?", {"deletion"}),
        ("I'm no longer comfortable with you holding my contract number.", {"deletion"}),
        ("I'd prefer it wasn't just sitting around somewhere.", {"deletion"}),
        ("Do I even have an account with you? If I do, close it please.", {"deletion"}),
        ("口コミ自体は残してもらってよいので、名前の表示を消して「匿名」にしてください。", {"deletion"}),
        ("改めて、メールの配信を止め、私の登録情報をすべて削除してください。", {"stop_use", "deletion"}),
        ("私はあなたのニュースレターを受け取るのをやめ、アカウントを削除したいと思います。",
         {"stop_use", "deletion"}),
        ("当該住所宛ての郵送を停止していただけますでしょうか。", {"stop_use"}),
        ("His family has asked us to request that you send nothing further to him at this address.",
         {"stop_use"}),
        ("Until it is deleted, do not use it for anything, including e-mails.", {"stop_use"}),
        ("Please stop using the usage data and delete it.", {"stop_use", "deletion"}),
        ("I request that my data are not more used for the advertising.", {"stop_use"}),
        ("Why am I still getting your newsletter? I moved back to the UK in March.", {"stop_use"}),
        ("Kindly ensure that no information about me is provided to any third party.",
         {"stop_provision"}),
        ("I request that the provision to the third party be stopped from now.", {"stop_provision"}),
        ("キャンセルの場合、入力した私の情報はH電力には送らないでください。", {"stop_provision"}),
        ("I'd like a list of every third party you have given my information to.", {"disclosure"}),
        ("The file doesn't include the record of my phone call with your support team. Please "
         "send that as well.", {"disclosure"}),
        ('You have me down as "Mr Jordan Blake". I\'m Ms.', {"correction"}),
        ("I don't want an account with you that I didn't make, holding my details.", {"deletion"}),
        ("Could you please stop sending anything to this address?", {"stop_use"}),
        ("こちらから提携先に連絡して、電話をやめるよう伝えてください。", {"stop_use"}),
        ("後見人として、これ以上父の情報が業者に回ることは認められません。", {"stop_provision"}),
        ("これ以上その情報があちこちに回ることのないようにしてください。", {"stop_provision"}),
        # writer-bw..ca, cc..ch, da..df (tuned on since 2026-12-04 night)
        ("I still want my data. Please provide the copy I originally asked for.", {"disclosure"}),
        ("Please do: I want the record of every time my data was given to a partner.",
         {"disclosure"}),
        ("I've attached my passport scan - please go ahead with sending me my data.",
         {"disclosure"}),
        ("Please don't delete it yet; just send me the copy for now.", {"disclosure"}),
        ("Please tell me what details were entered on that account, then delete it.",
         {"disclosure", "deletion"}),
        ("その一覧をぜひ拝見したいものです。", {"disclosure"}),
        ("私がどのプランを見積もったか、履歴を送ってください。", {"disclosure"}),
        ("父の申込み内容（申込先、契約番号、申込日）を教えていただけないでしょうか。", {"disclosure"}),
        ("みなと電力に渡した情報の中身と日付を教えてください", {"disclosure"}),
        ("アンケートの回答内容が今どう使われているか知りたいです。", {"disclosure"}),
        ("登録内容確認したいです", {"disclosure"}),
        ("2. correction of my registered date of birth (correct: 14 March 1982);", {"correction"}),
        ("On account B, my phone number is listed incorrectly.", {"correction"}),
        ("Could you update the current provider field?", {"correction"}),
        ("moved. new addr is 3-4-12 Shimokitazawa, Setagaya-ku Tokyo", {"correction"}),
        ("「高橋」ではなく、はしご高の「髙橋」です。直してください。", {"correction"}),
        ("間違っている番号のほうはその方にご迷惑なので、そちらの記録から外してください。", {"deletion"}),
        ("御社のほうでも控えを残されませぬよう、重ねてお願い申し上げます。", {"deletion"}),
        ("I would like my details taken off your system.", {"deletion"}),
        ("あと、お知らせメールはもう送ってもらわなくて大丈夫です。", {"stop_use"}),
        ("今後、お電話でのご案内はご遠慮いただけますでしょうか。", {"stop_use"}),
        ("She would like her account deleted, and she doesn't want any more phone calls.",
         {"deletion", "stop_use"}),
        ("Mr. Allen asks that you stop contacting him.", {"stop_use"}),
        ("Please stop all contact with him.", {"stop_use"}),
        ("Please make sure any tracking data you collected isn't used for ads.", {"stop_use"}),
        ("(c) 提携先への情報提供はしないでください（勧誘電話を避けたいため）", {"stop_provision"}),
        ("御社からさくら光に私の情報を今も送っていたりしますか？送っているなら止めてほしいです。",
         {"stop_provision"}),
        ("What I don't want is my name and number going out to the providers. Can you switch "
         "that off for me?", {"stop_provision"}),
        ("Please delete the application data and make sure it is not sent to the provider.",
         {"deletion", "stop_provision"}),
        ("Please don't send them anything further about me.", {"stop_provision"}),
        ("キャンペーンのメールだけ届かないようにしてほしいです。", {"stop_use"}),
        # writer-dg..dl (tuned on since 2026-12-04 night)
        ("To be clear: nothing more arriving in my inbox from you after that.", {"stop_use"}),
        ("ご本人の連絡先を、今後は当事務所の下記連絡先に改めていただきたく存じます。", {"correction"}),
        ("メールマガジン、お電話での営業のご連絡は、今後お送りいただかないようお願いいたします。",
         {"stop_use"}),
        ("I should be grateful if you would expunge all records held in my name.", {"deletion"}),
        ("can you make them stop calling her and take her number off whatever you have.",
         {"stop_use", "deletion"}),
        ("電話番号変わりました 090-0000-7713です", {"correction"}),
        ("Sorekara, juusho ga furui mama ni natte iru kamo shiremasen.", {"correction"}),
        ("どうか今後は、営業のお電話はかけてこられないよう、お取り計らい願います。", {"stop_use"}),
        ("And please, neither number should get sales calls.", {"stop_use"}),
        ("Please do not use any data collected from my visits for advertising or profiling.",
         {"stop_use"}),
        ("(b) my surname is stored as \"Backer\". It's Baker. Please rectify.", {"correction"}),
        ("電話番号が090-3318-2270になりました。登録の方もお願いします。", {"correction"}),
        # writer-dm..dr (tuned on since 2026-12-04 night)
        ("もし送られる仕組みなら、送らないでください。", {"stop_provision"}),
        ("Until that's done I'd also prefer not to get any more newsletters or offers.",
         {"stop_use"}),
        ("wrong last name on my account - it's Whitfield not Whitfeld", {"correction"}),
        ("新しいアドレスの方にはメルマガは送らなくて大丈夫です。", {"stop_use"}),
        ("開示の方法は書面（郵送）でお願いします。", {"disclosure"}),
        ("I'd like it right before I apply for anything.", {"correction"}),
        ("・今後、母に電話や郵便で一切連絡しないこと", {"stop_use"}),
        ("I do not wish to receive any further surveys, ever.", {"stop_use"}),
        ("Mail mo todokanai you ni shite hoshii desu.", {"stop_use"}),
        # writer-dy..ed (tuned on since 2026-12-04 night)
        ("ひかく電気さんからひまわり光へ、いつ、どんな内容で私の情報が送られたのか教えていただけますか。",
         {"disclosure"}),
        ("b) change my household size to 4 people (2 adults, 2 children).", {"correction"}),
        ("運転免許証の画像を添付します。これで削除の手続きを進めてください。", {"deletion"}),
        ("Attached is my residence card. Please go ahead with the deletion.", {"deletion"}),
        ("ひかく電気にもこの番号を消してもらって、ほかの会社にも二度と回さないようにしてほしい。",
         {"deletion", "stop_provision"}),
        ("Please make sure nobody contacts that address or phone number about him again.",
         {"stop_use"}),
        ("I don't want Hikaku Denki passing my name, number or address to any other company.",
         {"stop_provision"}),
        ("I want my details to stop being passed to other companies.", {"stop_provision"}),
        # writer-ek..ep (tuned on since 2026-12-05)
        ("めーるの　はいしんを　ていし　してください\nあと　でんわばんごうが　かわりました\n"
         "０９０－００００－３３１８　です", {"stop_use", "correction"}),
        ("ニュースレター解約", {"stop_use"}),
        ("Pls put her on your do-not-call list. Thx", {"stop_use"}),
        ("He would like to see the data you hold on him.", {"disclosure"}),
        ("添付のとおり、サポート宛に個人情報の削除依頼が届きました。ご対応お願いします。", {"deletion"}),
        ("退会だけでいいです。", {"deletion"}),
        ("毎月のキャンペーンメールはつらいので、そっとしておいてほしいです。", {"stop_use"}),
        ("Once that's done, I'd like to be removed from your records completely.", {"deletion"}),
        ("I'd like a copy first. After that, please make it all disappear.", {"deletion"}),
        ("No more emails, please, and no more me in your files.", {"deletion", "stop_use"}),
        ("いっそ昔の私ごと無くしてもらった方が早い気がしています。", {"deletion"}),
        ("I'd just prefer not to be anybody's lead.", {"stop_provision"}),
        # writer-eq..ev (tuned on since 2026-12-05 night)
        ("8月8日には「受け付けました」というメールもいただきました。\n早急に開示してください。",
         {"disclosure"}),
        ("配信停止ではなく、メールアドレスの変更をしたいのですが、当てはまる項目がなかったので"
         "こちらを選びました。", {"correction"}),
        ("dono kaisha ni watashi no jouhou wo watashita no ka oshiete kudasai.", {"disclosure"}),
        ("Under Article 18 GDPR I also ask that you restrict the processing of my data.",
         {"stop_use"}),
        ("I demand that you stop to send me publicity.", {"stop_use"}),
        # Consent to share, then taken back in the next sentence (writer-bz).
        ('I ticked the box allowing you to share my data with "selected partners". '
         "I withdraw that consent.", {"stop_provision"}),
        # A disclaimer asks nothing of the desk.
        ("This message is intended only for the addressee. If you received it in error please "
         "inform the sender and delete it.", set()),
        # A conditional request is a request; a hypothetical question is not.
        ("もしそれが難しいということであれば、会員登録そのものを抹消していただいても構いません。",
         {"deletion"}),
        # Nearby, not a request: a retailer asks to take its plan off the comparison.
        ("比較対象からの削除、もしくは受付終了の表示をお願いいたします。", set()),
    ],
)  # fmt: skip
def test_requests_said_without_the_usual_words(text: str, expected: set[str]) -> None:
    found = set(classify_text("", text, model=None).intents)
    assert expected <= found if expected else not found & {"deletion"}


@pytest.mark.parametrize(
    "text",
    [
        # A lawyer: write to me, not to my client.
        "なお、依頼者への直接のご連絡はお控えください。",
        # Thanks for what was done.
        "Thanks for sending me my data last week.",
        # A web form's category, not the person's words.
        "Category: Correction of my data",
        # writer-ek..ep's phrasings' near twins: what was done, or is told as news.
        "削除完了のお知らせが届きました。ありがとうございました。",
        "I was removed from your records last year, thanks.",
        "The magic trick made the coin disappear.",
        "Are you on the national do-not-call registry?",
        "I agreed to share my data with partners. I do not withdraw that consent.",
    ],
)
def test_near_twins_of_new_phrasings_ask_nothing(text: str) -> None:
    found = set(classify_text("", text, model=None).intents)
    assert not found & {"disclosure", "correction", "deletion", "stop_use"}


def test_a_number_taken_off_a_call_list_stops_the_calls_and_stays() -> None:
    assert intents("Please take my number off your call list.") == {"stop_use"}


def test_a_forms_options_left_unticked_are_not_asked() -> None:
    text = (
        "Request type:\n(x) Disclosure of retained personal data\n( ) Deletion\n"
        "[ ] Suspension of third-party provision\n□ 利用停止\n■ 訂正（住所）\n× 削除"
    )
    result = classify_text("", text, model=None)
    assert set(result.intents) == {"disclosure", "correction"}
    assert any("not ticked" in reason for reason in result.ignored)


def test_a_forms_ticked_options_are_asked_outright() -> None:
    # "[x] Access / disclosure" alone names the right in a word the rules weigh lightly.
    text = "Request type (tick all that apply):\n [x] Access / disclosure\n [ ] Deletion"
    result = classify_text("", text, model=None)
    assert set(result.intents) == {"disclosure"}
    assert any("ticked" in reason for reason in result.reasons["disclosure"])
    # "■" is a tick only in a list that has "□" options; elsewhere it opens a heading.
    form = "ご請求の種類：\n　□ 開示\n　■ 削除\n　■ 第三者提供の停止"
    assert set(classify_text("", form, model=None).intents) == {"deletion", "stop_provision"}
    assert "deletion" not in classify_text("", "■ 削除について", model=None).intents


def test_a_ticked_option_naming_several_rights_is_the_first_it_names() -> None:
    # The statutory form's "訂正・追加・削除" option, ticked with "（内容の訂正）".
    form = "■請求の種類\n　□ 開示\n　■ 訂正・追加・削除（内容の訂正）\n　□ 利用停止・消去"
    assert set(classify_text("", form, model=None).intents) == {"correction"}


def test_disclaimers_are_set_aside_in_linear_time() -> None:
    text = "Please stop the newsletter.\nThis e-mail is confidential. If you received it in error "
    assert without_disclaimers(text) == "Please stop the newsletter.\nThis e-mail is confidential."
    # One long line, no sentence end, a disclaimer's words again and again: ten times the text,
    # about ten times the work (quadratic work would be a hundred times).
    unit = "x" * 60 + " if you received it in error delete it "
    assert growth(lambda n: without_disclaimers(unit * n), 2_000) < 30


def test_a_hypothetical_is_a_question_unless_the_request_follows_it_firmly() -> None:
    assert classify_text("", "もし退会したら、データは消えますか？", model=None).intents == (
        "inquiry",
    )
    asked = classify_text("", "もし提携先に渡っているなら、それも止めてください。", model=None)
    assert asked.intents == ("stop_provision",)


def test_a_request_in_brackets_in_the_subject_is_asked() -> None:
    # The sender edited a reply's subject; the body asks about something else.
    reply = classify_text(
        "Re: Autumn Fibre Deal [please remove me from this list]",
        "Does the cashback require a 2-year contract?",
        model=None,
    )
    assert "stop_use" in reply.intents
    tagged = classify_text(
        "【配信停止希望】都市ガスの比較について", "ガス代が高いです。", model=None
    )
    assert "stop_use" in tagged.intents
    # A bracket that does not ask (a brand, a ticket) adds nothing.
    ticket = classify_text("Re: [Ticket #4411] Your deletion request", "Thanks!", model=None)
    assert not set(ticket.intents) & {"deletion"}


def test_a_subject_that_is_only_a_request_is_the_request() -> None:
    body = "Member ID: HK-0091377\nBen Scott"
    assert classify_text("Delete", body, model=None).intents == ("deletion",)
    assert classify_text("配信停止希望", "会員番号 HK-1", model=None).intents == ("stop_use",)
    assert classify_text("pls delete", "username zoek08", model=None).intents == ("deletion",)
    # A subject that says more than the request is weighed as subjects are.
    assert "deletion" not in classify_text("Delete button broken?", body, model=None).intents


def test_a_change_of_mind_takes_back_what_came_before_it_not_what_follows() -> None:
    text = (
        "Sorry, I've changed my mind on part of this. Please do NOT delete my account after all."
        "\n\nWhat I actually want is just for the weekly emails to stop. That's all."
    )
    assert classify_text("", text, model=None).intents == ("stop_use",)
    before = "Please delete my account.\nActually, I have changed my mind: disregard my last mail."
    result = classify_text("", before, model=None)
    assert result.intents == ()
    assert "the sender seems to withdraw a request" in result.triage_reasons


def test_a_form_notice_that_says_a_system_sent_it_still_relays_the_persons_text() -> None:
    body = (
        "ひかく電気 お問い合わせフォームより、以下の内容で送信がありました。\n"
        "このメールはシステムから自動送信されています。\n\n"
        "お問い合わせ種別：個人情報の取り扱いについて\nお名前：小林 信也\n内容：\n"
        "9月に転居しました。登録住所を 埼玉県川越市新宿町3-14-2 に変更してください。\n"
        "あと、前の住所で作った料金シミュレーションの履歴はもう不要なので消してください。"
    )
    found = set(classify_text("【お問い合わせ】新規受付", body, model=None).intents)
    assert found == {"correction", "deletion"}


def test_words_a_system_passes_on_under_an_attribution_without_quote_marks_are_read() -> None:
    raw = (
        b"From: Chat Widget <widget@hikaku-denki.example.jp>\r\n"
        b"To: privacy@hikaku-denki.example.jp\r\n"
        b"Subject: Chat C-1182 converted to ticket\r\n"
        b"Message-ID: <c-1182@widget.example.jp>\r\n"
        b"Auto-Submitted: auto-generated\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"New conversation converted to ticket\r\nTicket: C-1182\r\n"
        b"Page: https://hikaku-denki.example.jp/en/faq\r\n\r\n"
        b"Customer wrote:\r\n"
        b"I never agreed to have my number handed to the gas companies. Stop sharing my "
        b"details with your partners, please.\r\n\r\n"
        b"Bot: Thanks, a person from our team will follow up.\r\n"
    )
    result = classify(parse_message(raw))
    assert "stop_provision" in result.intents
    assert "auto_reply" not in result.intents
    # In a reply, the same lines are the history of the thread, not words passed on.
    reply = raw.replace(b"Subject: Chat", b"In-Reply-To: <x@example.jp>\r\nSubject: Re: Chat")
    assert "stop_provision" not in classify(parse_message(reply)).intents


def _notice(subject: str, body: str, extra: str = "") -> bytes:
    return (
        "From: Partner Portal <portal@hikaku-denki.example.jp>\r\n"
        "To: privacy@hikaku-denki.example.jp\r\n"
        f"Subject: {subject}\r\nMessage-ID: <n-77@portal.example.jp>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode()


def test_a_person_s_words_under_a_notice_s_rule_line_are_read_when_no_header_says_machine() -> None:
    body = (
        "パートナーポータル：お客様対応依頼\n\n"
        "──────────────────\n"
        "依頼番号：PQ-2231　提携先：みどり電力\n"
        "──────────────────\n"
        "ご紹介いただいた大野様から、弊社窓口に次のお申し出がありました。\n"
        "「比較サイトに登録した私の情報は、もう全部消してほしい。二度と連絡しないでほしい。」\n"
        "ひかく電気様の側でのご対応をお願いいたします。\n"
        "──────────────────\n"
    )
    raw = _notice("依頼 PQ-2231", body)
    assert parse_message(raw).signature  # the words sit under a rule the parser took for one
    assert "deletion" in classify(parse_message(raw)).intents
    # In a reply the same lines are a signature's place: the notice is read as it stands.
    reply = _notice("Re: 依頼 PQ-2231", body, "In-Reply-To: <x@example.jp>\r\n")
    assert "deletion" not in classify(parse_message(reply)).intents


def test_a_list_under_a_heading_of_what_is_not_wanted_is_not_asked() -> None:
    text = (
        "■してほしいこと\n・私について御社が保有している情報の開示（メールでPDFを送ってください）\n\n"
        "■してほしくないこと\n・削除（まだサービスを使う予定があります）\n・退会処理\n\n"
        "会員ID：HK-7204415"
    )
    result = classify_text("", text, model=None)
    assert result.intents == ("disclosure",)
    assert any("listed as not wanted" in reason for reason in result.ignored)
    # The list ends where the bullets do: a request after it stands.
    after = "What I don't want:\n- deletion of my account\nPlease erase my old data though."
    assert "deletion" in classify_text("", after, model=None).intents


@pytest.mark.parametrize(
    ("text", "refused", "asked"),
    [
        ("メルマガは止めないでください。楽しみにしています。", {"stop_use"}, set()),
        ("アカウントは消さないでください。メールだけ止めてください。", {"deletion"}, {"stop_use"}),
        ("退会はさせないでください、住所だけ変えて。", {"deletion"}, {"correction"}),
    ],
)
def test_a_right_named_only_to_refuse_it_is_set_aside(
    text: str, refused: set[str], asked: set[str]
) -> None:
    ruled = classify_text("", text, model=None)
    assert ruled.refused == refused
    assert set(ruled.intents) & set(RIGHTS) == asked
    assert ruled.masked  # the model reads the refusal masked
    assert set(classify_text("", text).intents) & set(RIGHTS) == asked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Someone asked the writer to pass a request on: the request is asked, though told in
        # the past tense (writer-eg, tuned on since 2026-12-05).
        ("組合員さんから「登録を消して、メールも止めてもらって」と頼まれました。",
         {"deletion", "stop_use"}),
        ("祖母に「もう電話はやめてほしい」と言われましたので、代わりにご連絡します。", {"stop_use"}),
    ],
)  # fmt: skip
def test_a_request_someone_asked_the_writer_to_pass_on_is_asked(
    text: str, expected: set[str]
) -> None:
    assert expected <= set(classify_text("", text, model=None).intents)


@pytest.mark.parametrize(
    "text",
    [
        # What a partner says it has done is history, not a request passed on.
        "ガス会社から「ひかく電気からの連絡を受けて情報を削除した」と言われました。",
        # The writer's own earlier request, told as history.
        "先月「メルマガを止めてください」とお願いしましたが、まだ届きます。",
    ],
)
def test_a_quoted_report_of_what_was_done_or_asked_before_is_not_asked(text: str) -> None:
    found = set(classify_text("", text, model=None).intents)
    assert not found & {"deletion", "stop_use"}


def test_a_person_away_on_business_is_no_out_of_office_reply() -> None:
    def by_rules(text: str) -> set[str]:
        return set(classify_text("", text, model=None).intents)

    assert "auto_reply" not in by_rules(
        "夫は出張中で、代わりに私が連絡しています。退会をお願いします。"
    )
    assert "auto_reply" in by_rules("現在出張中のため、ご返信が遅れます。12月8日に戻ります。")


@pytest.mark.parametrize(
    "text",
    [
        "Second time I'm asking: delete my account and all my data.",
        "This is the third time I am writing about this. Stop the newsletter.",
        "二度目のお願いです。退会させてください。",
    ],
)
def test_asking_again_after_no_answer_is_a_complaint_whatever_the_model_says(text: str) -> None:
    assert "complaint" in intents(text)


def test_a_second_visit_is_no_second_ask() -> None:
    assert "complaint" not in intents("The second time I used your site I found a cheaper plan.")


def test_consent_to_share_kept_is_no_stop_of_provision() -> None:
    text = "I agreed to share my data with partners. I do not withdraw that consent."
    assert "stop_provision" not in set(classify_text("", text, model=None).intents)


@pytest.mark.parametrize(
    "text",
    [
        # The desk's acknowledgement quoted beside the request: the request is history.
        "10月の初めに削除をお願いして、「承りました」と返信ももらっています。",
        # What the law says, not a request.
        "法律では遅滞なく開示することになっているはずですが、どうなっているのでしょうか。",
        # A wish in someone else's quoted words, passed on as a question.
        "お客様から「開示請求をしたいが、どこに連絡すればよいか」とのお問い合わせがありました。",
        # A wish that was, told in the past.
        "住所の変更をしたかったのですが、自分で手続きしました。",
    ],
)
def test_requests_told_as_history_or_rule_are_not_asked(text: str) -> None:
    found = set(classify_text("", text, model=None).intents)
    assert not found & {"deletion", "disclosure", "correction"}


def test_an_acknowledgement_quoted_by_a_person_is_no_machine_mail() -> None:
    text = "8月8日には「受け付けました」というメールもいただきました。何の連絡もありません。"
    assert "auto_reply" not in set(classify_text("", text, model=None).intents)
