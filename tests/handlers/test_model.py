"""The learned model at intake: stable features, arrays only, linear time, and how it combines
with the rules (the rules decide; the model adds what they miss; disagreements go to triage)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import growth

from handlers import model as learned
from handlers.classify import MODEL_BESIDE_ADD, Classification, classify_text, combine
from handlers.features import MASK, char_ngrams, extract, mask, normalise, word_hashes
from handlers.intents import ALL_INTENTS

THRESHOLDS = dict.fromkeys(ALL_INTENTS, 0.3)


def _prediction(**probability: float) -> learned.Prediction:
    p = dict.fromkeys(ALL_INTENTS, 0.0) | probability
    return learned.Prediction("test-model", p, lambda intent: (f"feature of {intent}",))


def _ruled(
    *intents: str, set_aside: frozenset[str] = frozenset(), sentences: int = 1
) -> Classification:
    return Classification(
        intents=intents,
        confidence=dict.fromkeys(intents, 0.9),
        reasons={i: (f"rule for {i}",) for i in intents},
        needs_triage=False,
        set_aside=set_aside,
        sentences=sentences,
    )


def test_features_are_the_same_on_every_machine_and_run() -> None:
    # A stored model's vocabulary is these hashes: changing them silently breaks every model.
    assert [int(h) for h in char_ngrams("削除")[0]] == [
        5041125339537785011,
        5819354536618812968,
        17402339149901755269,
    ]
    assert [int(h) for h in word_hashes("delete me")[0]] == [
        11095271826956051542,
        16068667652207351687,
        12361332011321715361,
    ]


def test_folding_makes_spellings_meet() -> None:
    assert normalise("ｻｸｼﾞｮ　ＰＬＥＡＳＥ") == "さくじょ please"
    assert normalise("サクジョ\n\n please") == "さくじょ please"
    # Every katakana letter from ァ to ヶ meets its hiragana; ー, ヷ and other marks stay as written.
    assert normalise("ァヴヵヶ ヷー") == "ぁゔゕゖ ヷー"
    # Any white space the str type knows (no-break, ideographic, line and record separators).
    assert normalise("a\u00a0b\u3000c\u2028d\x1ce\t\r\n f") == "a b c d e f"


def test_text_a_broken_mail_left_half_a_character_in_is_read_not_refused() -> None:
    # A lone surrogate (half of a character, as a broken charset can leave) is a code point too.
    assert normalise("\ud800 サ") == "\ud800 さ"
    assert len(extract("\ud800", "削除\udcff").hashes) > 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=60),
    st.integers(0, 3),
    st.integers(1, 300),
)
def test_a_long_messages_features_are_counted_as_a_short_ones_are(
    picks: list[int], high: int, repeat: int
) -> None:
    # Values that share their low bits and values that do not, repeated as a long message's are.
    values = np.array([(k % 7) | (((k // 7) + high) << 40) for k in picks], dtype=np.uint64)
    hashes = np.tile(values, 4096 // len(values) + repeat)
    distinct, counts = learned.distinct_counts(hashes)
    expected, expected_counts = np.unique(hashes, return_counts=True)
    assert distinct.tolist() == expected.tolist()
    assert counts.tolist() == expected_counts.tolist()


_HASH = st.integers(0, 2**64 - 1)
# Hashes that crowd under the same top bits (many in one run of the lookup table), at the edges of
# those runs, and at the ends of the range.
_CROWDED = st.one_of(
    _HASH,
    st.integers(0, 2**20),
    st.integers(0, 7).map(lambda run: run << 46),
    st.integers(1, 8).map(lambda run: (run << 46) - 1),
    st.sampled_from([0, 2**64 - 1]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_CROWDED, max_size=300, unique=True),
    st.lists(_CROWDED, max_size=100),
    st.lists(st.integers(0, 299), max_size=100),
)
def test_a_feature_is_found_in_the_vocabulary_where_a_binary_search_finds_it(
    vocabulary: list[int], strangers: list[int], picks: list[int]
) -> None:
    words = np.array(sorted(vocabulary), dtype=np.uint64)
    chosen = [int(words[p % len(words)]) for p in picks] if len(words) else []
    keys = np.array(sorted({*strangers, *chosen}), dtype=np.uint64)
    position, hit = learned.VocabularyIndex(words).find(keys)
    expected = np.searchsorted(words, keys)
    there = np.array([k in set(vocabulary) for k in keys.tolist()], dtype=bool)
    assert hit.tolist() == there.tolist()
    assert position[hit].tolist() == expected[there].tolist()


def test_features_can_be_named_back_for_staff() -> None:
    found = extract("Delete", "アカウントを削除 please")
    assert found.names_of(found.hashes[:1]) == ["subject: d"]
    assert found.names_of(word_hashes("please")[0]) == ["please"]
    assert found.names_of(char_ngrams("を削除")[0][-1:]) == ["を削除"]


def test_a_huge_subject_and_text_cost_linear_time() -> None:
    model = learned.active()
    assert model is not None
    phrase = "個人情報を削除してください。please delete my data. "
    # 300 kB -> about 3 MB each: ten times the text, at most about ten times the work (quadratic
    # work would be a hundred times)
    times = growth(lambda n: model.predict(phrase * n, phrase * n), 10_000)
    assert times < 30, times


def test_the_model_adds_a_request_the_rules_missed_and_says_why() -> None:
    result = combine(_ruled(), _prediction(deletion=0.5), THRESHOLDS)
    assert result.intents == ("deletion",)
    assert result.reasons["deletion"] == ("the model (0.50): “feature of deletion”",)
    assert result.model_version == "test-model"
    assert result.model_features == {"deletion": ("feature of deletion",)}
    # Taken at a low probability: the clock starts, and a person checks the guess.
    assert result.triage_reasons == ("the model alone reads a deletion request (0.50)",)
    assert not combine(_ruled(), _prediction(deletion=0.7), THRESHOLDS).needs_triage


def test_the_rules_keep_their_decision_and_reasons() -> None:
    # However faintly the model reads the request (a tenth of its threshold is 0.03 here).
    result = combine(_ruled("disclosure"), _prediction(disclosure=0.04), THRESHOLDS)
    assert result.intents == ("disclosure",)
    assert result.reasons["disclosure"] == ("rule for disclosure",)


def test_a_request_the_model_reads_no_sign_of_is_for_a_person_to_decide() -> None:
    # "unsubscribe" in a newsletter's footer, "new address" told in passing: the rules read the
    # words, the model the mail, and reads no request of any kind in it. The request is set
    # aside, and the case waits for a person (who decides under the strictest clock, DESIGN
    # rule 6).
    thresholds = THRESHOLDS | {learned.ANY_RIGHTS: 0.3}
    alone = combine(_ruled("stop_use"), _prediction(stop_use=0.0, any_rights=0.1), thresholds)
    assert alone.intents == ()
    assert alone.needs_triage
    assert alone.triage_reasons[0] == "the rules read stop_use, the model no request (0.00)"
    assert "stop_use" in alone.set_aside
    # Where the model reads a request of some kind, or a faint sign of that one, the rules' stays.
    for kept in (
        _prediction(stop_use=0.0, any_rights=0.4),
        _prediction(stop_use=0.04, any_rights=0.1),
    ):
        assert combine(_ruled("stop_use"), kept, thresholds).intents == ("stop_use",)
    # A model with no any-request column (trained before it) never sets the rules' aside.
    assert combine(_ruled("stop_use"), _prediction(), thresholds).intents == ("stop_use",)


def test_a_request_beside_machine_mail_the_rules_read_is_never_set_aside() -> None:
    # Setting it aside would leave spam alone: archived, with no case and no clock.
    result = combine(
        _ruled("spam", "stop_use"), _prediction(spam=0.9, stop_use=0.0, any_rights=0.0), THRESHOLDS
    )
    assert "stop_use" in result.intents


def test_no_second_request_beside_the_rules_one_in_one_sentence_but_a_sure_model_asks_a_person() -> (
    None
):
    result = combine(_ruled("deletion"), _prediction(deletion=0.9, disclosure=0.95), THRESHOLDS)
    assert result.intents == ("deletion",)
    assert result.needs_triage
    assert "the model also reads a disclosure request (0.95)" in result.triage_reasons


def test_a_second_request_the_model_is_sure_of_in_another_sentence_gets_its_clock() -> None:
    # "1. Tell me what you hold about me. 2. Stop the sales calls.": the rules read the calls.
    ruled = _ruled("stop_use", sentences=2)
    result = combine(ruled, _prediction(stop_use=0.9, disclosure=0.85), THRESHOLDS)
    assert result.intents == ("disclosure", "stop_use")
    assert "the model adds a disclosure request (0.85)" in result.triage_reasons
    # Less sure: a person looks, the rules' request alone keeps its clock.
    result = combine(
        ruled, _prediction(stop_use=0.9, disclosure=MODEL_BESIDE_ADD - 0.05), THRESHOLDS
    )
    assert result.intents == ("stop_use",)
    # Never a correction the text does not name: the model reads the phone number and address
    # given to identify the sender as a new one to record.
    result = combine(ruled, _prediction(stop_use=0.9, correction=0.95), THRESHOLDS)
    assert result.intents == ("stop_use",)
    named = dataclasses.replace(ruled, mentioned=frozenset({"correction"}))
    result = combine(named, _prediction(stop_use=0.9, correction=0.95), THRESHOLDS)
    assert result.intents == ("correction", "stop_use")


def test_what_the_rules_set_aside_comes_back_only_when_the_model_is_sure() -> None:
    withdrawn = _ruled(set_aside=frozenset({"deletion"}))
    result = combine(withdrawn, _prediction(deletion=0.7), THRESHOLDS)
    assert result.intents == ()
    assert result.triage_reasons == ("the rules set deletion aside; the model reads it (0.70)",)
    # Sure enough: the request keeps its clock, and a person still sees why it is doubtful.
    result = combine(withdrawn, _prediction(deletion=0.9), THRESHOLDS)
    assert result.intents == ("deletion",)
    assert result.triage_reasons == ("the rules set deletion aside; the model reads it (0.90)",)


def test_machine_mail_by_its_headers_stays_machine_mail() -> None:
    result = combine(
        _ruled("auto_reply"),
        _prediction(deletion=0.9),
        THRESHOLDS,
        machine_signals=("auto-submitted",),
    )
    assert result.intents == ("auto_reply",)


def test_the_model_never_calls_mail_spam_on_its_own() -> None:
    result = combine(_ruled("stop_use"), _prediction(spam=0.95, stop_use=0.05), THRESHOLDS)
    assert result.intents == ("stop_use",)
    assert result.needs_triage
    # Nor where it reads no sign of the rules' request: a person decides, the mail is not archived.
    doubted = combine(_ruled("stop_use"), _prediction(spam=0.95, any_rights=0.0), THRESHOLDS)
    assert "spam" not in doubted.intents
    assert doubted.needs_triage


def test_a_request_just_under_the_threshold_goes_to_a_person() -> None:
    result = combine(_ruled(), _prediction(stop_provision=0.25), THRESHOLDS)
    assert result.intents == ()
    assert result.triage_reasons == ("the model: stop_provision uncertain (0.25)",)


def test_other_intents_need_a_sure_model_where_the_rules_found_nothing() -> None:
    assert combine(_ruled(), _prediction(complaint=0.6), THRESHOLDS).intents == ()
    assert combine(_ruled(), _prediction(complaint=0.85), THRESHOLDS).intents == ("complaint",)


def test_rules_alone_when_asked() -> None:
    result = classify_text("", "Please delete my account.", model=None)
    assert result.intents == ("deletion",)
    assert result.model_version is None
    assert result.as_dict()["model_features"] == {}


def test_spam_by_the_model_alone_is_archived_only_when_sure_and_nothing_is_requested() -> None:
    # Sure, and no request read by the rules or the model: spam (machine mail never, by text).
    result = combine(_ruled(), _prediction(spam=0.99, auto_reply=0.95), THRESHOLDS)
    assert result.intents == ("spam",)
    assert "the model reads spam (0.99)" in result.triage_reasons
    assert "the model reads auto_reply (0.95)" in result.triage_reasons
    # Less sure: a person decides, nothing is archived.
    unsure = combine(_ruled(), _prediction(spam=0.7), THRESHOLDS)
    assert unsure.intents == () and "the model reads spam (0.70)" in unsure.triage_reasons
    # The model also reads a request near its threshold: never spam.
    asked = combine(_ruled(), _prediction(spam=0.99, deletion=0.4), THRESHOLDS)
    assert "spam" not in asked.intents and asked.needs_triage


def test_a_request_is_never_archived_as_spam() -> None:
    rules_saw_spam = Classification(
        intents=("spam",), confidence={"spam": 0.9}, reasons={}, needs_triage=False
    )
    result = combine(rules_saw_spam, _prediction(spam=0.9, stop_use=0.8), THRESHOLDS)
    assert result.intents == ("stop_use",)
    assert "the model reads spam (0.90); the rules a request" in result.triage_reasons


def test_the_model_reads_what_is_not_a_request_beside_the_rules() -> None:
    # Held out by writer, the model reads complaints, questions and rates better than the rules.
    result = combine(_ruled("inquiry"), _prediction(inquiry=0.01, complaint=0.9), THRESHOLDS)
    assert result.intents == ("complaint",)
    assert result.reasons["complaint"] == ("the model (0.90): “feature of complaint”",)
    assert "inquiry doubted by the model (0.01)" in result.ignored
    kept = combine(_ruled("inquiry"), _prediction(inquiry=0.3, complaint=0.7), THRESHOLDS)
    assert kept.intents == ("inquiry",)
    assert kept.reasons["inquiry"] == ("rule for inquiry",)


def test_a_complaint_the_sender_named_stays_whatever_the_model_reads() -> None:
    # 苦情を申し立てます: the rules are sure of a named complaint (0.8); the model, reading
    # "…してください" as a deletion, gave it almost nothing.
    named = Classification(
        intents=("complaint",),
        confidence={"complaint": 0.8},
        reasons={"complaint": ("“苦情”",)},
        needs_triage=False,
    )
    result = combine(named, _prediction(complaint=0.05, deletion=0.49), THRESHOLDS)
    assert "complaint" in result.intents
    # A complaint the rules only guessed at is still the model's to doubt.
    guessed = Classification(
        intents=("complaint",), confidence={"complaint": 0.5}, reasons={}, needs_triage=False
    )
    assert "complaint" not in combine(guessed, _prediction(complaint=0.05), THRESHOLDS).intents


def test_a_named_question_stays_when_the_model_reads_nothing_in_its_place() -> None:
    # 個人情報の取り扱いについて教えてください: the rules' question about handling (0.6).
    named = Classification(
        intents=("inquiry",), confidence={"inquiry": 0.6}, reasons={}, needs_triage=False
    )
    assert combine(named, _prediction(inquiry=0.1), THRESHOLDS).intents == ("inquiry",)
    # ...but not beside what the model does read, nor when the rules only guessed at a question.
    assert (
        "inquiry"
        not in combine(named, _prediction(inquiry=0.1, rate_question=0.95), THRESHOLDS).intents
    )
    guessed = Classification(
        intents=("inquiry",), confidence={"inquiry": 0.5}, reasons={}, needs_triage=False
    )
    assert combine(guessed, _prediction(inquiry=0.1), THRESHOLDS).intents == ()


def test_a_request_the_sender_refused_comes_back_only_when_the_model_is_very_sure() -> None:
    refused = Classification(
        intents=("correction",),
        confidence={"correction": 0.8},
        reasons={},
        needs_triage=False,
        set_aside=frozenset({"deletion"}),
        refused=frozenset({"deletion"}),
    )
    # A character model reads "I do not want my account deleted" as a deletion at 0.97.
    doubt = combine(refused, _prediction(correction=0.9, deletion=0.97), THRESHOLDS)
    assert doubt.intents == ("correction",)
    assert doubt.needs_triage  # a person sees the model's reading
    sure = combine(refused, _prediction(correction=0.9, deletion=0.995), THRESHOLDS)
    assert "deletion" in sure.intents
    # A request set aside for another reason (told as history, asked about) comes back at 0.8.
    aside = dataclasses.replace(refused, refused=frozenset())
    assert (
        "deletion" in combine(aside, _prediction(correction=0.9, deletion=0.85), THRESHOLDS).intents
    )


def test_spam_the_rules_saw_a_sign_of_is_the_models_to_call() -> None:
    faint = Classification(intents=(), confidence={"spam": 0.3}, reasons={}, needs_triage=False)
    assert combine(faint, _prediction(spam=0.95), THRESHOLDS).intents == ("spam",)


def test_a_question_the_rules_took_for_a_request_is_an_inquiry_and_a_person_looks() -> None:
    result = combine(_ruled("deletion"), _prediction(deletion=0.05, inquiry=0.9), THRESHOLDS)
    assert result.intents == ("inquiry",)
    assert result.triage_reasons == ("the model reads a question, not a deletion request (0.05)",)
    # A request the model does not rule out stays, and the question the model reads stays
    # beside it (MODEL_INQUIRY_BESIDE); one it reads less surely belongs to the request.
    kept = combine(_ruled("deletion"), _prediction(deletion=0.2, inquiry=0.9), THRESHOLDS)
    assert kept.intents == ("deletion", "inquiry")
    kept = combine(_ruled("deletion"), _prediction(deletion=0.2, inquiry=0.7), THRESHOLDS)
    assert kept.intents == ("deletion",)


def test_a_second_request_the_text_names_is_added_and_checked_under_the_sure_bar() -> None:
    named = Classification(
        intents=("deletion",),
        confidence={"deletion": 0.9},
        reasons={"deletion": ("rule for deletion",)},
        needs_triage=False,
        mentioned=frozenset({"deletion", "stop_provision"}),
    )
    result = combine(named, _prediction(deletion=0.9, stop_provision=0.45), THRESHOLDS)
    assert result.intents == ("deletion", "stop_provision")
    assert result.triage_reasons == ("the model adds a stop_provision request (0.45)",)
    sure = combine(named, _prediction(deletion=0.9, stop_provision=0.7), THRESHOLDS)
    assert sure.intents == ("deletion", "stop_provision") and not sure.needs_triage
    # Words of a right the text does not name, or a model under the bar: no second request.
    assert combine(named, _prediction(deletion=0.9, disclosure=0.7), THRESHOLDS).intents == (
        "deletion",
    )
    assert combine(named, _prediction(deletion=0.9, stop_provision=0.3), THRESHOLDS).intents == (
        "deletion",
    )


def test_the_rules_note_which_rights_a_text_names() -> None:
    ruled = classify_text(
        "", "Please delete my account and stop sharing it with partners.", model=None
    )
    assert {"deletion", "stop_provision"} <= ruled.mentioned
    # An address or a number that identifies the sender names no contact to stop, nor does
    # CCPA's opt-out of the sale and sharing of data for cross-context behavioral advertising.
    ccpa = (
        "I am exercising my right to opt out of the sale and sharing of my personal information, "
        "including sharing for cross-context behavioral advertising. The email address on my "
        "account is this one; my phone number is 090-0000-0000."
    )
    assert "stop_use" not in classify_text("", ccpa, model=None).mentioned
    assert "stop_use" in classify_text("", "Please opt me out of marketing.", model=None).mentioned
    # A copy to be sent names a disclosure; the copies an erasure reaches do not.
    erasure = (
        "Please erase all personal data you hold about me, including my account details and "
        "any copies held by your processors."
    )
    assert "disclosure" not in classify_text("", erasure, model=None).mentioned
    for wanted in ("Please send me a copy of my data.", "I would like a copy of my records."):
        assert "disclosure" in classify_text("", wanted, model=None).mentioned


def test_a_subjects_request_beside_the_bodys_is_the_models_to_weigh() -> None:
    ruled = classify_text(
        "削除と第三者提供停止のお願い", "私の個人情報を削除してください。", model=None
    )
    assert ruled.intents == ("deletion",)
    assert "stop_provision" not in ruled.set_aside
    result = combine(ruled, _prediction(deletion=0.9, stop_provision=0.7), THRESHOLDS)
    assert result.intents == ("deletion", "stop_provision")


def test_a_request_in_text_that_reads_like_spam_is_the_models_to_weigh() -> None:
    spam_like = Classification(
        intents=("spam",), confidence={"spam": 0.9}, reasons={}, needs_triage=False
    )
    result = combine(spam_like, _prediction(spam=0.1, stop_use=0.95), THRESHOLDS)
    assert result.intents == ("stop_use",)


def test_a_forms_request_silenced_as_machine_mail_stands_when_the_model_doubts_it() -> None:
    # The site's form copies a person's text under "■お問い合わせ内容：" in a notice that says a
    # machine sent it: the rules read an auto-reply, the model reads a person.
    text = (
        "このメールはお問い合わせフォームから自動送信されています。\n"
        "■お問い合わせ種別：料金・プランについて\n"
        "■お問い合わせ内容：\n"
        "種別を間違えたかもしれませんが、退会と、登録した電話番号の削除をお願いします。"
    )
    rules_only = classify_text("お問い合わせを受け付けました", text, model=None)
    assert rules_only.intents == ("auto_reply",)
    assert set(rules_only.silenced_by_text) == {"deletion"}
    result = combine(rules_only, _prediction(deletion=0.1), THRESHOLDS)
    assert result.intents == ("deletion",)
    assert result.reasons["deletion"] == rules_only.silenced_by_text["deletion"]
    assert any("the rules' deletion request stands" in r for r in result.triage_reasons)
    # ...but not when the model reads machine mail or spam too.
    result = combine(rules_only, _prediction(deletion=0.1, spam=0.9), THRESHOLDS)
    assert "deletion" not in result.intents
    # Without a form's content field, text that reads like machine mail silences its words.
    plain = classify_text(
        "お問い合わせを受け付けました",
        "このメールは自動送信されています。お問い合わせを受け付けました。削除をお願いします。",
        model=None,
    )
    assert not plain.silenced_by_text


def test_what_the_rules_read_as_refused_the_model_reads_masked() -> None:
    text = "Please don't delete my account, I still use it."
    ruled = classify_text("", text, model=None)
    assert ruled.refused == {"deletion"}
    assert ruled.masked == ("delete my account", "delete")
    assert mask(
        normalise("削除は不要です。ＤＥＬＥＴＥ MY ACCOUNT"), ["削除", "delete my account"]
    ) == (f"{MASK}は不要です。{MASK}")
    model = learned.active()
    assert model is not None and model.masks
    plain = model.predict("", text).probability["deletion"]
    masked = model.predict("", text, ruled.masked).probability["deletion"]
    assert masked < plain
    assert "deletion" not in classify_text("", text).intents
    # A model trained before masking reads the text as it stands.
    older = dataclasses.replace(model, meta={k: v for k, v in model.meta.items() if k != "masked"})
    assert older.predict("", text, ruled.masked).probability["deletion"] == plain


def test_masking_costs_linear_time() -> None:
    phrases = [f"phrase {n} not wanted" for n in range(40)]
    text = "please do not delete my data. " + " ".join(phrases)
    times = growth(lambda n: mask(text * n, phrases), 2_000)
    assert times < 30, times


def test_beside_a_rate_question_alone_only_a_sure_reading_is_a_request() -> None:
    # "電気料金のプランについて教えてください": the model reads "教えて" as a disclosure at 0.31.
    rate = _ruled("rate_question")
    faint = combine(rate, _prediction(rate_question=0.9, disclosure=0.31), THRESHOLDS)
    assert faint.intents == ("rate_question",)
    assert not faint.needs_triage
    sure = combine(rate, _prediction(rate_question=0.9, disclosure=0.6), THRESHOLDS)
    assert sure.intents == ("disclosure", "rate_question")
    # Beside what reads as machine mail alone, a faint reading still goes to a person.
    machine = dataclasses.replace(_ruled("auto_reply"), confidence={"auto_reply": 0.6})
    doubt = combine(machine, _prediction(auto_reply=0.9, deletion=0.25), THRESHOLDS)
    assert any("deletion" in reason for reason in doubt.triage_reasons)


def test_a_request_of_no_one_kind_gets_the_likeliest_right_and_a_person_checks() -> None:
    # A wish never said outright: no right reaches its threshold, but the model reads a request
    # of some kind. The right closest to its threshold starts its clock; a person checks which.
    wish = {"stop_use": 0.2, "stop_provision": 0.25, "complaint": 0.6, learned.ANY_RIGHTS: 0.7}
    thresholds = THRESHOLDS | {learned.ANY_RIGHTS: 0.4}
    result = combine(_ruled("complaint"), _prediction(**wish), thresholds)
    assert result.intents == ("complaint", "stop_provision")
    assert result.reasons["stop_provision"] == ("the model (0.25): “feature of stop_provision”",)
    assert "the model reads a request (0.70), most likely stop_provision (0.25)" in (
        result.triage_reasons
    )
    # Under its threshold, or from a model without that column, nothing is added.
    quiet = _prediction(**(wish | {learned.ANY_RIGHTS: 0.3}))
    assert combine(_ruled("complaint"), quiet, thresholds).intents == ("complaint",)
    older = _prediction(**{k: v for k, v in wish.items() if k != learned.ANY_RIGHTS})
    assert combine(_ruled("complaint"), older, THRESHOLDS).intents == ("complaint",)
    # What the sender took back or refused is not the likeliest right, and machine mail or spam
    # gets none (it would be archived with no clock: the safety net's triage decides).
    aside = combine(
        _ruled("complaint", set_aside=frozenset({"stop_provision"})),
        _prediction(**wish),
        thresholds,
    )
    assert aside.intents == ("complaint", "stop_use")
    spam = combine(_ruled("spam"), _prediction(**(wish | {"spam": 0.9})), thresholds)
    assert not set(spam.intents) & {"stop_use", "stop_provision"}
    # Beside a question the rules read alone, only as surely as any right beside a question.
    question = _prediction(**(wish | {"inquiry": 0.9}))
    assert combine(_ruled("inquiry"), question, thresholds).intents == ("inquiry",)
    sure = _prediction(**(wish | {"inquiry": 0.9, learned.ANY_RIGHTS: 0.95}))
    assert "stop_provision" in combine(_ruled("inquiry"), sure, thresholds).intents


def test_a_right_read_in_a_question_with_no_request_of_any_kind_goes_to_a_person() -> None:
    # "個人情報の取り扱いについて教えてください": a model read disclosure at 0.92 and a question at
    # 0.96, and its own any-request column no request (0.03). Its columns disagree: the question
    # stands and a person decides (triage keeps the strictest clock meanwhile).
    thresholds = THRESHOLDS | {learned.ANY_RIGHTS: 0.1}
    read = {"disclosure": 0.92, "inquiry": 0.96}
    question = combine(_ruled(), _prediction(**(read | {learned.ANY_RIGHTS: 0.03})), thresholds)
    assert question.intents == ("inquiry",) and question.needs_triage
    assert (
        "the model reads disclosure (0.92) in a question, and no request of any kind (0.03)"
        in question.triage_reasons
    )
    # Where that column reads a request, or without a question, or from a model without the
    # column, the right is the model's reading as before.
    for probability, model_thresholds in (
        (read | {learned.ANY_RIGHTS: 0.5}, thresholds),
        ({"disclosure": 0.92, learned.ANY_RIGHTS: 0.03}, thresholds),
        (read, THRESHOLDS),
    ):
        found = combine(_ruled(), _prediction(**probability), model_thresholds)
        assert "disclosure" in found.intents


def test_the_shipped_model_reads_a_request_of_any_kind() -> None:
    # The column the combination's safety for unspoken wishes rests on ships with the package,
    # with a threshold chosen on the training data (not the 0.99 of a column never fitted).
    model = learned.active()
    assert model is not None and learned.ANY_RIGHTS in model.intents
    assert 0.0 < model.thresholds[learned.ANY_RIGHTS] < 0.5


def test_a_model_mapped_from_the_desks_memory_file_reads_as_the_model_does() -> None:
    import os

    model = learned.active()
    assert model is not None
    texts = [
        ("個人情報の削除", "私の個人情報を削除してください。会員番号は12345です。"),
        ("Re: question", "Please stop sending me marketing email and tell me what you hold."),
        ("", ""),
    ]
    before = [model.predict(s, t) for s, t in texts]
    given = learned.shared()
    assert given is not None and learned.shared() is given  # made once for the model in use
    learned.install_shared(learned.Shared(os.getpid(), given.fd, given.size, given.header))
    mapped = learned.active()
    assert mapped is not None and mapped is not model
    assert not mapped.weights.flags.writeable and not mapped.vocabulary.flags.writeable
    for (s, t), expected in zip(texts, before, strict=True):
        found = mapped.predict(s, t)
        assert found.probability == expected.probability
        assert [found.top_features(i) for i in ALL_INTENTS] == [
            expected.top_features(i) for i in ALL_INTENTS
        ]
    with pytest.raises(OSError):
        learned.install_shared(learned.Shared(os.getpid(), 10**6, given.size, given.header))
    assert learned.active() is mapped


def test_a_new_model_gets_a_memory_file_of_its_own_and_the_old_one_is_let_go() -> None:
    import dataclasses
    import os

    model = learned.active()
    assert model is not None
    first = learned.shared()
    assert first is not None
    newer = dataclasses.replace(model, version="20261206-120000-0badcafe")
    learned.use(newer, data=newer.dumps())  # as ``privacy-desk train`` installs one
    try:
        second = learned.shared()
        assert second is not None and second.fd != first.fd
        assert learned.active_version() == newer.version
        with pytest.raises(OSError):
            os.fstat(first.fd)  # closed: no descriptor leaks per model installed
        os.fstat(second.fd)
    finally:
        learned.use_packaged()
    assert learned.active_version() == model.version
