"""The classifier's knowledge, as data: phrases that signal each intent, and the cues that turn them.

Every pattern runs over text that was NFKC-folded and lower-cased (so full-width ＰＤＦ is ``pdf``,
half-width ｱｶｳﾝﾄ is アカウント, ``？`` is ``?``) with one sentence per line, so ``.`` never crosses a
sentence. A rule's weight is how sure one match makes us; evidence for an intent combines as
``1 - Π(1 - w)``. Edit these tables to teach the desk a new phrasing; ``tests/handlers`` and
``privacy-desk eval`` show what it changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.intents import (
    AUTO_REPLY,
    COMPLAINT,
    CORRECTION,
    DELETION,
    DISCLOSURE,
    INQUIRY,
    PROVIDER_CORRECTION,
    RATE_QUESTION,
    SPAM,
    STOP_PROVISION,
    STOP_USE,
)


@dataclass(frozen=True)
class Rule:
    intent: str
    weight: float
    pattern: re.Pattern[str]
    # A rule that states its own negation ("do not share", "渡さないで") is not undone by one.
    self_negating: bool = False
    # Inquiry rules only count when the sentence is about personal data, not plans or prices.
    needs_privacy_topic: bool = False
    # Context ("I have moved") that strengthens other evidence but never makes an intent alone.
    supporting: bool = False
    # A request named only to refuse it ("メルマガは止めないでください"): set aside as negated.
    refuses: bool = False


# re.ASCII: \b and \w follow ASCII words only, so "データもdeleteして" still has a word boundary
# before "delete" (with Unicode rules a kana next to a letter is no boundary).
def _rules(intent: str, weight: float, *patterns: str, **flags: bool) -> list[Rule]:
    return [Rule(intent, weight, re.compile(p, re.ASCII), **flags) for p in patterns]


# Building blocks -----------------------------------------------------------------------------
# After a right's name: only this one is wanted ("削除だけでいいです", "開示のみお願い").
ONLY_THIS = r"(?:だけ|のみ)(?:で|が|を)?(?:いい|良い|よい|結構|大丈夫|ok|お願い|希望)"
# What a person's data is called, in Japanese.
JA_DATA = (
    r"(?:個人情報|個人データ|保有個人データ|情報|データ|登録内容|登録情報|会員情報|顧客情報|アカウント|"
    r"会員登録|登録|履歴|記録|メアド|メールアドレス|アドレス|画像|写真|書類|ファイル|資料|保管されているもの)"
)
# Fields a person asks to have corrected.
JA_FIELD = (
    r"(?:住所|氏名|名前|なまえ|電話番号|電話|携帯番号|携帯|番号|メールアドレス|アドレス|メアド|生年月日|"
    r"誕生日|姓|苗字|名字|漢字|フリガナ|ふりがな|登録内容|登録情報|部屋番号|郵便番号|勤務先)"
)
EN_DATA = (
    r"(?:data|datas|information|info|details|account|accounts|records?|profile|everything|all of it|the lot|stuff|"
    r"it all|history|personal|what was entered|what you have|what you hold|"
    r"(?:old |saved |previous )+(?:comparisons?|quotes?|searches|simulations?)|comparison history|search history)"
)
EN_FIELD = (
    r"(?:(?<!company )(?<!plan )(?<!brand )(?<!product )name|address|phone(?: number)?|mobile(?: number)?|number|e-?mail(?: address)?|"
    r"date of birth|birthday|birth date|details|record|records|spelling|room number|surname|"
    r"last name|first name|given name|family name|postcode|postal code|zip code|apartment|"
    r"building name|room|flat number|personal information|information on file|data on file)"
)
EN_PARTY = (
    r"(?:third[- ]part(?:y|ies)|partners?|partner companies|providers?|other companies|"
    r"companies|anyone|anybody|advertisers?|affiliates?|power companies|energy companies)"
)
# Verbs of handing data on, in Japanese (stem before ない/ず).
JA_PASS_NEG = r"(?:(?:売っ|渡し|提供し|回し|流し|教え)たりし|提供し|渡さ|共有し|回さ|流さ|出さ|売ら|販売し|教え|伝え|開示し|あげ|まわさ|わたさ|送ら|お(?:伝え|渡し|出し|回し)にな[らり])(?:ないで|ないよう|ないこと|ない(?:で|よう)?(?:ください|ほしい|いただ|もらえ))"
JA_PARTY = (
    r"(?:提携先|提携|第三者|他社|他の会社|外部|パートナー|事業者|電力会社|ガス会社|回線事業者|"
    r"通信会社|会社|業者|よそ|ほか|外(?=に|へ))"
)

RULES: tuple[Rule, ...] = (
    # --- disclosure: see or receive the data, how it is used, to whom it went -----------------
    *_rules(DISCLOSURE, 0.85,
        r"開示(?:を|の)?(?:ご)?(?:請求|希望|求め|お願い|して|いただき|いただけ|ください|願|依頼|申請|申し込)",
        r"開示(?:の)?手続き?(?:を)?(?:お願い|して|ください|進めて|いただ)",
        r"第三者提供記録|提供記録",
        r"(?:どこの|どの|いずれの|何という|何と言う|なんという|どういう)(?:会社|事業者|企業|提携先|業者|ところ).{0,25}(?:渡|提供|共有|教え|伝え|伝わ|流)",
        r"(?:誰|だれ)に.{0,10}(?:渡|提供|共有|流|教え|伝え|売)(?:した|された|して|し|た)",
        r"\b(?:subject |data )?access request\b|\brequest (?:for )?access to\b|\baccess to (?:all |my |the |his |her |their )*(?:personal )?(?:data|information)\b",
        r"\bwhat (?:you(?:'ve| have)? )?(?:got|have|hold|keep) (?:on|about) me\b|\bwhat (?:you )?(?:have|hold|keep|got) on (?:file|record)\b",
        r"\bdisclose (?:to me )?(?:the|my|all|what)\b",
        r"(?:データ|情報)(?:を|は)?(?:何|なに)(?:を)?(?:持って|保有|登録)",
        r"私の(?:個人)?情報を?.{0,30}(?:何の目的|どういう目的|どのような目的|どういう経緯|どのような経緯|どう使|どのように使|どうやって入手|どこで入手)",
        r"\bright (?:of|to) access\b|\bright to know\b|\brequest to know\b",
        r"\bdisclosure of\b.{0,60}\b(?:data|records?|information|provision)\b",
        r"\b(?:request|want|like|ask) (?:that )?(?:you )?(?:to )?disclose\b",
        r"\b(?:copy|copies|list|summary|export|printout) of\b.{0,30}\b(?:data|information|info|records?|recordings?|file|everything|all)\b",
        r"\b(?:send|give|email|provide|show) me (?:a copy of )?(?:my|all my|all of my|all the) (?:personal )?(?:data|information|info|details|records)\b",
        r"\bwhat do you know about me\b",
        r"\brecords? of (?:the )?provision\b",
        r"\bportab(?:le|ility)\b|\bmachine[- ]readable\b|\breceive (?:a copy of )?(?:the |my )?personal data\b",
        r"\b(?:which|what)\b.{0,25}\b(?:companies|providers|parties|partners|firms|company|provider)\b.{0,40}\b(?:received|got|passed|shared|gave|given|sent|provided|disclosed|sold)\b",
        r"\b(?:who|which companies)\b.{0,30}\b(?:you|did you|have you)\b.{0,10}\b(?:shared?|pass(?:ed)?|gave|give|sold|sell|provided?|disclosed?)\b.{0,30}\b(?:my|me)\b",
        r"\b(?:which|what) (?:of )?my (?:details|data|information|info)\b.{0,40}\b(?:give|gave|given|pass|passed|share|shared|send|sent|provide|provided)\b",
        r"\bwho (?:gave|passed|sold|shared|provided)\b.{0,30}\bmy\b",
        r"\b(?:want|like|need) to know\b.{0,30}\bwhat (?:you(?:'ve| have)? )?(?:shared|gave|given|passed|sold|have|hold|provided|sent|disclosed|forwarded)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"(?:どんな|どのような|何の|なんの|どういう|何|どの)(?:個人)?(?:情報|データ|内容).{0,25}(?:登録|保有|持って|保管|残って|あり|把握)",
        r"(?:登録|保有|保管|保存)(?:されて|して)?(?:いる|る)?(?:私の|自分の)?(?:個人)?(?:内容|情報|データ|履歴).{0,25}(?:見せて|教えて|送って|確認させ|知りたい|一覧|開示)",
        r"(?:情報|データ|内容|履歴).{0,20}(?:一覧|コピー|写し|控え|csv|pdf|エクセル|excel|ファイル|電子データ|書面).{0,15}(?:送って|ください|いただ|もらえ|ほしい|欲しい)",
        r"(?:私の|自分の)?(?:情報|データ).{0,10}(?:見せて|開示して)|(?:私の|自分の)(?:個人)?(?:情報|データ)を?.{0,12}送って(?:ください|ほしい|もらえ|いただ)",
        r"(?:データ|情報|記録)(?:を|は)?(?:全部|すべて|全て)(?:ください|ちょうだい|見せて|送って)",
        r"\bwhat do you (?:do|use) with my\b",
        r"利用目的(?:の通知|を(?:教えて|知りたい|通知))",
        r"\bwhat (?:personal )?(?:data|information|info|details)\b.{0,40}\b(?:you )?(?:hold|have|keep|store|collected|process)\b",
        r"\b(?:send|give|provide|show|tell|email) me\b.{0,60}\b(?:data|information|info|details)\b.{0,40}\b(?:about me|on me|on file|of mine)\b",
        r"\b(?:see|know|find out|check)\b.{0,20}\bwhat(?:'s| is| you have| you hold)\b.{0,30}\b(?:on file|about me|on me|hold)\b",
        r"\bdsar\b|\bsar\b|\bart(?:icle|\.)? ?20\b",
    ),
    *_rules(DISCLOSURE, 0.4,
        r"開示",
        r"\bdisclos(?:e|ure)\b",
        r"\barticle 15\b|\bart\. ?15\b|第33条|第32条",
        r"\bhow (?:you(?:'re| are)|it is|it's) (?:being )?(?:using|used|processed)\b",
    ),
    # --- correction: fix, add to or update wrong data ------------------------------------------
    *_rules(CORRECTION, 0.8,
        JA_FIELD + r".{0,40}(?:訂正|変更|修正|更新|直して|直し|変えて|変えと|変えてもら|書き換え|追加|差し替え|入れ替え)",
        r"(?:訂正|変更|修正|更新)(?:を|の)?(?:お願い|して|ください|希望|依頼|請求|いただ).{0,5}" + r"(?=.*" + JA_FIELD + r")",
        r"\b(?:update|correct|fix|change|amend|rectify|modify|edit|replace|add)\b.{0,40}\b" + EN_FIELD + r"\b",
        r"\b(?:rectification|right to (?:rectification|correct))\b",
    ),
    *_rules(CORRECTION, 0.6,
        JA_FIELD + r".{0,20}(?:間違|誤|違って|違います|異な|古い|旧の|のまま|(?<!気)になっていま|となっていま|抜けて|漏れて|欠けて|入って(?:い)?ない)",
        JA_FIELD + r".{0,10}(?:変えました|変わりました|変更しました|変わった|変えた)",
        r"\b" + EN_FIELD + r"\b.{0,40}\bshould (?:be|read|say)\b",
        r"\b" + EN_FIELD + r"\b.{0,40}\b(?:wrong|incorrect|misspell(?:ed)?|misspelt|spelled wrong|out of date|outdated|old one|my old|a typo|missing|not correct|inaccurate|swapped|reversed|mixed up)\b",
        r"\b(?:wrong|incorrect|inaccurate|outdated|old)\b.{0,20}\b" + EN_FIELD + r"\b",
        r"\byour records? (?:have|has|show|shows|say|says|list|lists)\b",
        r"訂正",
    ),
    *_rules(CORRECTION, 0.5,
        r"(?:訂正|変更|修正|更新)(?:して|を)?(?:ください|いただけ|いただき|もらえ|お願い|ほしい|希望)|追加して(?:ください|いただけ|もらえ)",
        r"\b(?:could|can|would) (?:you|u) (?:please )?(?:fix|correct|update|change|amend) (?:it|this|that|them)\b|\bplease (?:correct|fix|update|amend) (?:it|this|that|them)\b",
        r"\b(?:changed|new) (?:my )?(?:e-?mail|address|phone|number|name|surname|mobile)\b|\bmy (?:e-?mail|address|phone number|surname) (?:has )?changed\b",
        r"\b(?:e-?mail|address|name|phone|number|surname)\b.{0,25}\bchanged to\b",
    ),
    *_rules(CORRECTION, 0.35,
        r"(?:引っ越|転居|結婚|改姓|旧姓)",
        r"正しくは",
        r"\b(?:i've|i have) moved\b|\bnew address\b|\bcorrect (?:spelling|address|name|one) is\b|\barticle 16\b|\binstead of\b",
        supporting=True,
    ),
    # --- deletion: erase data or the account ------------------------------------------------------
    *_rules(DELETION, 0.85,
        JA_DATA + r".{0,15}(?:削除|消去|抹消|消して|消しておいて|消しといて|消してもら|消してほし|消してくだ|破棄|廃棄)",
        r"(?:削除|消去|抹消|破棄)(?:を|の)?(?:請求|希望|依頼|お願い|して|ください|いただ|願)(?=.*" + JA_DATA + r")",
        r"\b(?:delete|erase|remove|wipe|purge|destroy|get rid of|scrub)\b.{0,50}\b" + EN_DATA + r"\b(?!.{0,30}\b(?:mailing|call|contact|marketing|e-?mail|sms|newsletter|distribution) list)",
        r"\b" + EN_DATA + r"\b.{0,30}(?<!been )(?<!was )(?<!were )\b(?:deleted|erased|removed|wiped|purged|destroyed)\b",
        r"(?:データ|情報|記録|履歴)(?:も|は|を)?残さないで",
        JA_DATA + r".{0,15}\b(?:delete|erase|remove|wipe|close)\b",  # "データもdeleteして"
        r"\bforget me\b|\bright to (?:erasure|be forgotten)\b|\berasure\b",
        r"\bdeletion (?:of|request)\b|\brequest(?:ing)? (?:for )?(?:the )?deletion\b",
    ),
    *_rules(DELETION, 0.55,
        r"(?:削除|消去|抹消)(?:して|を)?(?:ください|ほしい|いただきたい|いただけ|もらえ|お願い|希望)|消して(?:ください|ほしい|欲しい|もらえ|もらい|いただ|くれ|けろ|け[。!！\s]|け$|ちょうだい|たもれ)|消しておいて|消しといて|(?<![打取])消せ(?![るばなま])",
        JA_DATA + r".{0,20}処分(?:して|を)?(?:ください|いただけ|いただき|いただいて|もらえ|お願い|ほしい)",
        JA_DATA + r".{0,40}(?:破棄|廃棄)(?:して|を)?(?:ください|いただけ|いただき|もらえ|お願い|ほしい)",
        r"退会(?:したい|希望|させて|を希望|をお願い|手続き|処理|します|して)|(?:会員)?登録(?:の)?解除|アカウント(?:の)?(?:解除|解約)",
        r"\bclose (?:my|the|her|his|their|our) account\b|\bcancel (?:my|her|his|their) (?:membership|account)\b",
        r"お消し(?:ください|くださいませ|願|いただ)|(?:消去|削除|抹消)(?:され|せられ)たし",
        r"(?m)(?<!メール)(?:は|も)(?:削除|消去)(?:で|でお願い)?$",
        r"\bremove\b.{0,70}\bfrom (?:the|my|your) (?:account|records?|systems?|database|files?)\b",
        r"\b(?:delete|erase|wipe|remove) (?:it|them|all|everything)\b",
    ),
    *_rules(DELETION, 0.35,
        r"削除|消去|抹消",
        r"\bart(?:icle|\.)? ?17\b|第35条",
        r"\bdelete\b|\bdeletion\b|\berase\b",
    ),
    # --- stop_use: stop using the data, marketing mail and calls included --------------------
    *_rules(STOP_USE, 0.85,
        r"利用(?:の)?停止|利用を?(?:停止|止めて|やめて|中止)",
        r"(?:配信|送信|メール(?!アドレス)|メイル|メルマガ|メールマガジン|ニュースレター|お知らせ|案内|dm|広告|キャンペーン|宣伝|販促|ダイレクトメール).{0,30}(?:停止|止めて|止めていただ|止めてもら|止めてほし|やめて|不要|いらない|要らない|要りません|いりません|解除|中止|(?:は|も)(?:もう)?結構|ストップ|しないで|送らないで|控えて|外して|お断り)",
        r"配信停|メルマガ解除|購読解除|配信解除|購読停止",
        r"(?:電話(?!番号)|連絡(?!先)|営業|勧誘|案内|ご?提案|着信|sms|ショートメール|通知|line|ライン|プッシュ|はがき|ハガキ|葉書|郵便物).{0,15}(?:止めて|やめて|しないで|控えて|いらない|要らない|要りません|いりません|いらん|要らん|不要|結構|停止|お断り)",
        r"\bunsubscribe\b|\bstop sending me\b",
        r"\bno (?:more )?(?:promotional |marketing |sales |campaign )?(?:e-?mails?|mails?|calls?|newsletters?|texts?|spam|promotions?|marketing)(?: please)?\b",
        r"\b(?:don't|do not) add me to\b.{0,30}\b(?:e-?mails?|lists?|newsletters?|marketing|promotional|promotions)\b",
        r"\b(?:don't|do not|never) want to hear from (?:you|your company)\b",
        r"(?m)^(?:解除|配信解除|配信停止|停止|すとっぷ|ストップ|やめて)[。.!！]*$",
        r"(?m)^(?:stop|remove me|opt out|opt-out|no more|unsubscribe me)[.!]*$",
        r"(?<!right to )\bopt(?:ed)? (?:me )?out\b(?! of (?:the |my |third[- ]party )*(?:sale|sell|selling|sharing|share|provision|disclosure)\b)",
        r"\b(?:stop|cease|no more|halt)\b.{0,40}\b(?:e-?mails?|e-?mailing|newsletters?|marketing|promotions?|promotional|calls?|calling|phone calls|messages|messaging|sms|texts?|texting|contacting me|mailings?|spam(?:ming)?)\b",
        r"\b(?:e-?mails?|newsletters?|marketing|promotions?|calls?|mailings?)\b.{0,30}\bto stop\b",
        r"\b(?:remove|take)\b.{0,30}\b(?:off|from)\b.{0,20}\b(?:list|mailing|newsletter|call list)\b",
        r"\b(?:remove|take) me (?:from|off)\b",
        r"\bstop (?:using|processing) my\b|\bobject(?:ion)?\b.{0,40}\bprocessing\b|\brestrict(?:ion of)? processing\b|\bdirect marketing\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:かけてこないで|送ってこないで|連絡してこないで|電話してこないで|メールしてこないで|電話しないで|送らないで|かけないで|(?<![にへ])送らないよう|かけないよう)",
        r"(?:電話|連絡|メール|営業|勧誘)(?:して)?(?:くんな|くるな|するな|してくるな|かけてくるな)",
        r"\b(?:do not|don't|never)\b.{0,10}\b(?:contact|call|phone|e-?mail|text|message) me\b",
        r"\b(?:don't|do not) (?:want|need) (?:to receive |any more |any |to get )?.{0,20}\b(?:e-?mails?|calls?|newsletters?|marketing|messages|texts)\b(?! (?:preferences?|history|records?|logs?|data|consents?)\b)",
        r"\b(?:don't|do not|never) send (?:me )?(?:any )?.{0,20}\b(?:e-?mails?|newsletters?|marketing|promotions?|offers|messages)\b",
        self_negating=True,
    ),
    *_rules(STOP_USE, 0.7,
        r"利用(?:および|及び|と|や|、)?.{0,20}(?:停止|止め|やめ)",
        r"(?:に|へ|のために)(?:使う|使用する|利用する|つかう)(?:の|こと)(?:は|を|も)?(?:やめて|止めて|控えて|お控え|しないで|遠慮)",
        r"(?:情報|データ|番号|電話番号|アドレス|履歴|じょうほう|ばんごう)(?:を|は|も)?.{0,8}(?:使わないで|つかわないで|使用しないで|利用しないで)",
        r"\barticle 21\b",
    ),
    *_rules(STOP_USE, 0.4,
        r"(?:止めて|やめて|停止して)(?:ください|ほしい|いただけ|もらえ)",
        r"\bmake (?:it|them) stop\b|\bstop (?:it|this|them)\b",
    ),
    # --- stop_provision: stop giving the data to third parties -----------------------------------
    *_rules(STOP_PROVISION, 0.9,
        r"第三者(?:へ|に|への)?(?:の)?提供(?:の|を|は)?(?:停止|止め|やめ|しないで|中止|拒否|オプトアウト)",
        JA_PARTY + r"(?:へ|に|には|へは|にも|への)?.{0,25}(?:" + JA_PASS_NEG + r"|提供(?:すること|するの)?(?:を|は|も|のみ|だけ)?(?:停止|止め|やめ|中止))",
        r"(?:提供|渡す|共有|回す|流す|出す|売る|教える|伝える)(?:する)?(?:こと|の)?(?:を|は|も)?(?:停止|やめて|止めて|中止|やめても|止めても)",
        r"(?:提供|共有)しないで|(?:提供しないこと|渡さないこと|提供しないよう|渡さないよう)",
        r"(?:渡す|売る|流す|回す|教える)な(?![いくかさけどのら])",
        r"(?:渡|提供|教え|回)\S{0,6}(?:の|こと|事)(?:も|を|は)?(?:一切)?お?(?:止め|やめ)",
        r"\b(?:do not|don't|not to|never|stop|cease|no longer)\s+(?:sell(?:ing)?|shar(?:e|ing)|pass(?:ing)?|giv(?:e|ing)|provid(?:e|ing)|disclos(?:e|ing)|transfer(?:ring)?|forward(?:ing)?|hand(?:ing)? over|hand(?:ing)?)\b(?!.{0,20}\b(?:opinion|feedback|thoughts)\b)",
        r"\bdo not sell\b|\bopt[- ]out of (?:the |my |third[- ]party )*(?:sale|sharing|selling|provision|disclosure)\b|\bsale (?:and|or) sharing\b|\bright to opt[- ]out\b",
        r"\bobject(?:ion)? to (?:the )?(?:sharing|transfer|disclosure)\b",
        r"\b(?:don't|do not) want (?:my (?:data|details|information|info)|them|it)\b.{0,20}\b(?:handed|passed|shared|given|sold|sent|provided|disclosed|forwarded|going)\b",
        r"\brefus\w* (?:of|to) (?:the )?third[- ]party (?:provision|sharing)|\bnot (?:to )?sell\b",
        r"\bwithdraw (?:my )?consent\b.{0,30}\b(?:shar\w*|provi\w*|third|partners?)\b",
        # "...allowing you to share my data with partners. I withdraw that consent."
        r"\b(?:share|sharing|shared|pass|passing|provide|providing)\b[^\n]{0,80}\b(?:partners?|third[- ]part\w*|other companies)\b[^\n]{0,40}\n"
        r"(?:(?:i|we|and|so|please)(?:'d like to| would like to| want to| wish to)? )?(?:hereby |now |also |therefore )?"
        r"(?:withdraw|revoke|retract) (?:that|this|such|the) (?:consent|permission|agreement)\b",
        r"\b(?:stop|cease|end|halt|no)\b (?:any |all )?(?:further |future |onward )?(?:provision|sharing|transfers?|disclosures?)\b.{0,30}\b(?:third|partners?|compan|providers?|others)",
        r"\b(?:provision|sharing|transfers?|disclosures?)\b.{0,15}\bto (?:third[- ]part\w*|partners?|providers?|other companies)\b.{0,15}\b(?:cease|stop|end|be stopped)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.6,
        r"\b(?:handing|passing)[- ]on of my (?:details|data|information|info)\b",
        r"\b" + EN_PARTY + r"\b.{0,40}\b(?:not|stop|no longer)\b.{0,15}\b(?:share|pass|give|provide|sell|receive)\b",
        self_negating=True,
    ),
    # --- requests said in other words: the right is not named, what should happen is -----------
    *_rules(DELETION, 0.85,
        # "登録もなくしていただけますか", "記録は全部なかったことに": the data made to go away.
        JA_DATA + r"(?:を|も|は)?[、,]?(?:全部|すべて|全て|一切|きれいに)?(?:なくして|無くして|なくしてもら|なくしていただ|なくしてほし|なかったことに)",
        # "持っている私の情報を全部消すことを求めます", "情報はすべて消すこと。": an order.
        JA_DATA + r".{0,12}消す(?:こと|よう)(?:を)?(?:求め|要求|希望|お願い|。|$)",
        # "削除と提携先への提供停止おねがいします": the first of two asks joined by と.
        r"(?:削除|消去|抹消)(?:と|および|及び|&).{0,30}(?:お願い|ください|希望|求め|して)",
        r"(?:何も|なにも|一切|何一つ|なにひとつ)(?:情報(?:は|を)?)?残(?:して|さ)(?:ほしくない|欲しくない|ほしくありません|ないで|ないでほしい|ないでください)",
        r"\b(?:none|nothing|no trace|no record) of (?:my|me|mine|him|her|them|us)\b.{0,40}\b(?:left|remains?|stays?|kept|retained)\b",
        r"\bclear (?:them|it|everything|my (?:\w+ ){0,2}(?:data|details|information|account|records?)) (?:away|out|off)\b",
    ),
    *_rules(DELETION, 0.55,
        r"退会(?:&|と|・|、|および|及び|して)",
    ),
    *_rules(DELETION, 0.85,
        r"登録から(?:外して|はずして|削除して|消して|抜いて)",
        JA_DATA + r".{0,15}(?:消させて|削除させて(?!いただ))",
        r"\bundo (?:my |the |this )?(?:registration|sign[- ]?up|account)\b",
        r"\bproceed with (?:the |my )?(?:deletion|erasure)\b",
    ),
    *_rules(DELETION, 0.7,
        r"\bwant (?:it|them|my (?:data|info|details|information)) (?:all )?gone\b",
    ),
    *_rules(DISCLOSURE, 0.85,
        r"(?:持って|保有して|もって)(?:る|いる)(?:私の)?(?:データ|情報).{0,10}(?:送って|見せて)",
        r"\bproceed with (?:the |my )?(?:disclosure|access request)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"(?:情報|データ)(?:は|を)?[、,]?\s?(?:何|なに)(?:を|が)\s?(?:持って|もって|あり|保有|登録)",
        r"(?:保有|登録|保管|保存)(?:して|されて)(?:いる|る).{0,15}(?:内容|情報|データ|履歴).{0,10}(?:知りたい|見せて|教えて|確認したい|見たい)",
        r"(?:何|なに)を(?:送った|渡した|提供した|伝えた)(?:の|ん)?か.{0,20}(?:教えて|知りたい|説明|お答え)",
        r"どこから.{0,15}(?:入手|手に入れ|知った|取得).{0,20}(?:教えて|知りたい|説明|お答え|答えて)",
        r"(?:同意|承諾)の(?:記録|履歴|ログ).{0,10}(?:お示し|示して|見せて|開示|提示|送って)",
        r"(?:データ|登録情報|履歴)を?(?:まとめて|一括で|全部|すべて)送って",
        r"(?:全部|ぜんぶ|すべて|全て)見せて",
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:連絡|電話|メール|営業|勧誘)(?:を|は|も)?(?:一切|二度と)?(?:しない|せん)(?:よう|ごと)",
        r"(?:電話|連絡|営業|勧誘|メール|案内).{0,15}(?:止めさせ|やめさせ)",
        r"\b(?:mail|e-?mail|meru)\b.{0,10}(?:止めて|やめて|停止)",
        r"\b(?:don't|do not|never) send (?:me )?anything\b",
        r"\b(?:stop|cease|halt)\b.{0,40}\b(?:correspondence|letters|leaflets|post addressed|tracking|profiling)\b",
        r"\bstop (?:tracking|profiling|targeting) me\b",
        r"(?:情報|データ|番号)(?:を|は|も)?(?:もう|今後)?(?:使わない|利用しない|使用しない)よう",
        r"\bcessation of (?:the )?(?:use|utili[sz]ation|processing)\b",
        self_negating=True,
    ),
    *_rules(STOP_USE, 0.85,
        # "先方にやめるよう伝えて", "電話をやめるよう伝えてください": the desk to pass the stop on.
        r"(?:に|にも|を)(?:止める|やめる)よう(?:に)?(?:言って|伝えて|お伝え)",
    ),
    # "まず開示の方だけ先に進めてください": a request already made, the desk told to go on with it.
    *_rules(DISCLOSURE, 0.85,
        r"開示(?:の方|のほう)?(?:だけ|のみ)?(?:を)?(?:先に|先行して)?(?:進めて|進行して)",
        r"\btell me what (?:you|your company) (?:shared|gave|passed|sent|disclosed|sold)\b",
        r"\brequest[_ ]type\s*:\s*(?:access|disclosure)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"\bwho (?:it|my data|they|my (?:details|information|info)|(?:his|her|their) (?:data|details|information)) (?:was|were|has been|have been) (?:shared|given|passed|sent|sold) (?:with|to)\b",
    ),
    *_rules(DELETION, 0.85,
        r"削除(?:の方|のほう)?(?:だけ|のみ)?(?:を)?(?:先に|先行して)?(?:進めて|進行して)",
        r"\brequest[_ ]type\s*:\s*(?:erasure|deletion)\b",
    ),
    *_rules(DELETION, 0.85,
        r"(?:データ|情報|記録|履歴|名前|電話番号|番号|住所)(?:は|も|を)?残さなくて(?:結構|いい|良い|大丈夫|構いません|かまいません)",
        r"(?:名前|電話番号|番号|住所)(?:や|も|は|を)?.{0,10}残さないで",
    ),
    *_rules(DELETION, 0.7,
        r"(?:アカウント|登録|会員)(?:は|を|も)?(?:閉じて|閉鎖して|削除して|消して|解約して)(?:いただいて|もらって|くれて)?(?:構いません|かまいません|結構|大丈夫|いい)",
    ),
    *_rules(DISCLOSURE, 0.85,
        r"(?:渡した|提供した|共有した|送った|教えた)か(?:どうか)?(?:だけ)?.{0,10}(?:教えて|知りたい|確認させ|お知らせ)",
        r"提供先を(?:明らかに|開示|教えて|知らせ|お知らせ)",
        r"\brecords? of (?:whom|who|which (?:companies|parties)|the (?:companies|parties))\b.{0,40}\bprovided\b|\bprovision records?\b",
        r"\b(?:explanation|details?|list|record) of who (?:received|got|has|was given)\b",
        r"\blist(?:ing)? (?:of )?(?:the |all )?(?:information|data|details) (?:you|we) (?:keep|hold|have|store)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"登録(?:が|は)?(?:ある|あるか|されている|されているか)(?:か)?どうか.{0,20}(?:確認|教えて|調べて)",
        r"\b(?:tell|show|check)\b.{0,30}\bwhat i (?:agreed|consented) to\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"\bno longer (?:wants?|wish(?:es)?|likes?) to (?:receive|get)\b",
        r"\bcease (?:using|processing|the use of)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"\bcease\b.{0,20}\bto (?:disclose|share|provide|transfer|sell|pass)\b.{0,60}\b(?:third|partners?|providers?|compan)",
        r"\bobject(?:s|ing|ion)? to (?:any |the )?(?:further |future |onward )?(?:disclosure|sharing|transfer|provision)s?\b",
        self_negating=True,
    ),
    *_rules(DELETION, 0.85,
        r"\bnuke\b.{0,20}\b(?:account|data|profile|it|everything)\b",
    ),
    *_rules(DISCLOSURE, 0.85,
        r"\bconfirm whether you (?:hold|have|keep|process)\b|\bgive (?:me|us) access\b",
        r"\b(?:tell|confirm|inform)\b.{0,15}\b(?:us|me)\b.{0,10}\bwhether you (?:provided|shared|passed|gave|sold|disclosed|sent)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"(?:私の|自分の|登録)\S{0,10}(?:データ|情報|履歴)を?(?:もらえ|いただけ|頂け)",
    ),
    *_rules(STOP_USE, 0.85,
        r"\b(?:don't|do not) use my\b.{0,40}\b(?:for|to)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"\bcease\b.{0,40}\b(?:provision|sharing|transfer|disclosure)s? of\b.{0,40}\b(?:third|partners?|retailers|compan)",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"(?:渡さ|教え|流さ|回さ|売ら)(?:んといて|んとって|んでください|んで(?:よか|ええ|いい))",
        r"どこにも(?:教え|渡さ|出さ|流さ|伝え|回さ)(?:ない|ん)",
        r"\bnothing (?:else )?(?:of mine|about me)\b.{0,20}\b(?:gets? |is |be )?(?:sent|passed|shared|given)\b",
        r"\b(?:do not|don't|not to|never|stop|cease|no longer)\s+send(?:ing)?\s+(?:my|our|his|her|their)\s+(?:postal |home |e-?mail )?address\s+to\b",
        JA_PARTY + r"(?:とか|など)?(?:に|へ).{0,12}(?:行く|いく|渡る|流れる|回る)(?:の|こと)(?:は|を|も)?(?:止め|やめ|停止|嫌|困)",
        r"\bcessation of (?:the )?(?:third[- ]party )?provision\b|\bsuspension of (?:the )?third[- ]party provision\b",
        self_negating=True,
    ),
    *_rules(DISCLOSURE, 0.85,
        r"\b(?:copy|list|printout|summary) of (?:what|everything|all that|whatever) (?:you|we) (?:hold|have|keep|store)\b",
        r"\b(?:send|give|show|provide|e-?mail|forward|tell|ask(?:s|ing)? for|request(?:s|ing)?|see|know)\b(?: (?:me|us|him|her))?(?: a copy of)? (?:everything|all|whatever|what) (?:you|we) (?:hold|have|keep|store) (?:on|about) (?:me|him|her|them|us|my \w+)\b",
        r"\b(?:disclosure|copy|data|records?|access request|information) (?:i|we) (?:asked|requested|applied) for\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        # "主人に何が登録されているのか、教えていただく": what is on file, to be told.
        r"(?:何|なに)(?:が|を)(?:登録|保存|保管|保有|記録|把握|残)(?:され|して|っ)?.{0,30}(?:知りたい|教えて|教え(?:ていただ|てもら)|確認したい|見たい|見せて)",
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"\b(?:do not|don't|not to|never|stop|cease|no longer)\s+send(?:ing)?\s+(?:my|our|his|her|their|any of my)\s+(?:personal )?(?:details|data|information|info|number|phone number|contact details)\s+(?:on )?to\b",
        r"(?:データ|情報|個人情報|番号|電話番号|アドレス|名簿)(?:を|は|も)?(?:勝手に)?(?:売らないで|売るな|販売しないで|横流ししないで|横流しするな)",
        r"\btell (?:whoever|anyone|everyone|the (?:companies|company|partners?|providers?))\b.{0,40}\b(?:gave|passed|shared|sold|sent)\b.{0,40}\bstop\b",
        self_negating=True,
    ),
    *_rules(STOP_USE, 0.85,
        # "御社から先方に、もう私の家に来たり連絡したりしないよう伝えてください"
        r"(?:先方|提携先|業者|会社|相手|営業)(?:に|へ|には).{0,40}(?:連絡|電話|訪問|来|営業|送)(?:したり|たり)?(?:しない|こない|来ない|かけない)よう(?:に)?.{0,6}(?:伝えて|言って|お伝え|してください|させて)",
        r"(?:に|へ|のために)(?:使う|使用する|利用する|つかう)(?:の|こと)(?:は|を|も)?.{0,6}(?:やめさせ|止めさせ)",
        r"リスト(?:から)?.{0,20}(?:外して|はずして|抜いて)",
        r"受け取りたく(?:ありません|ない)|受信したく(?:ありません|ない)",
        r"\b(?:texts?|messages|sms|promos?|promotions?)\b.{0,30}\bto stop\b",
        r"\bstop (?:that|this|the|any|all) (?:use|processing|usage) of my\b",
        r"\b(?:don't|do not) want my\b.{0,40}\bused (?:for|to)\b",
        self_negating=True,
    ),
    # Phrasings from writer-bq .. writer-bv and writer-cb (tuned on, 2026-12-04).
    *_rules(DISCLOSURE, 0.85,
        # "どのような情報を渡しているのかの説明を求めます", "どこに出したのか教えてください"
        r"(?:どのような|どんな|どういう|何の|なんの)(?:個人)?(?:情報|データ)を?.{0,15}(?:渡し|提供し|伝え|共有し|流し|出し)て(?:いる|る|い)?.{0,20}(?:説明|教えて|知りたい|お示し|開示|明らかに)",
        r"(?:どこ|どちら|どの会社|どこの会社)(?:に|へ)(?:出した|渡した|提供した|流した|売った|教えた|伝えた|回した|しゃべっ|伝わった|渡った|流れた).{0,10}(?:教えて|知りたい|説明|開示|明らかに|お知らせ)(?!ほしいくらい|欲しいくらい|もらいたいくらい)",
        r"(?:どこ|誰|だれ|どなた)(?:の\S{0,4})?(?:に|へ)(?:伝わ|渡|流れ|行)った(?:のか|か).{0,10}(?:知りたい|教えて|お知らせ|説明)",
        r"\brecords? of (?:the )?(?:disclosures?|provisions?|sharing|transfers?) to\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        # "どのようなことが書き留められておりますのか…書面にてお知らせ下さい"
        r"(?:どのような|どんな|何が|なにが)(?:こと|事|内容|もの)?(?:が|を)?.{0,12}(?:書き留め|記録され|記載され|登録され|残され|控えられ|保管され|把握され)(?:.|\n){0,60}(?:お知らせ|教えて|知らせて|見せて|開示|送って)",
        r"\b(?:include|send|provide|give me|tell me)\b.{0,80}\b(?:calculated|inferred|derived|collected|recorded|stored|kept|generated|profiled)\b.{0,15}\babout me\b",
        r"\b(?:i'm|i am) (?:mainly |mostly |really |only |just )?after (?:the |my |a copy of |copies of )\b.{0,30}\b(?:recordings?|records?|notes|data|information|logs?)\b",
    ),
    *_rules(CORRECTION, 0.8,
        # "今の住所は…です。こちらが正しいものになるようにお願いします"
        r"正しい(?:もの|の|情報|内容|住所|名前|番号)?に(?:なるよう|して|直して|変えて|修正|訂正|更新)",
    ),
    *_rules(DELETION, 0.85,
        # "それは全部なくしてほしいんです", Kansai "わしの情報ほかすようにしといて"
        r"(?:全部|すべて|全て|ぜんぶ)\s*(?:なく|無く)して(?:ほしい|欲しい|ください|下さい|もらえ|いただ)",
        JA_DATA + r".{0,8}(?:ほかし|ほかす|ほかして|捨て(?:て|る))",
    ),
    *_rules(STOP_USE, 0.8,
        r"\b(?:i'd|i would) rather not (?:get|receive|be sent|have)\b.{0,20}\b(?:promotional|marketing|newsletters?|e-?mails?|offers|calls|texts)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        # "止めてほしいのは「みなとエナジー」への情報提供です", Nagoya "よそに出さんでちょう"
        r"(?:止めて|やめて|停止して)(?:ほしい|欲しい|いただきたい)のは.{0,30}(?:情報提供|提供|共有)",
        r"(?:出さ|渡さ|流さ|回さ|売ら|教え)ん(?:でちょう|でちょ|でくれ|ようにして)",
        # "もし提携先の電力会社に情報が渡る設定になっているなら、それも止めてください"
        JA_PARTY + r"(?:に|へ).{0,6}(?:情報|データ)?(?:が|を)?.{0,4}(?:渡る|渡って|流れる|提供される|共有される|送られる).{0,25}(?:止めて|やめて|停止)",
        self_negating=True,
    ),
    # Phrasings from writer-ci .. writer-cn (tuned on, 2026-12-04 evening).
    *_rules(DISCLOSURE, 0.85,
        r"\b(?:see|know|tell me|show me)\b.{0,15}\bwhat(?:ever)? (?:you(?:'ve| have)? )?(?:got|have|hold|keep) (?:on|about) me\b",
        r"\b(?:see|know|tell me|show me)\b.{0,15}\b(?:exactly )?what (?:was|were|got|has been) (?:passed on|passed|shared|sent|given|handed over|provided)\b",
        r"\bwhat (?:information|data|details|info) did you (?:actually )?(?:send|give|pass|share|provide|sell)\b",
        r"\b(?:want|like|need) to know (?:which|what|who)\b.{0,40}\b(?:provide|provided|give|gave|share|shared|send|sent|pass|passed|sell|sold)\b",
        r"\btell me (?:every|each|all|which|the) (?:compan(?:y|ies)|partners?|providers?|firms?|parties)\b.{0,30}\b(?:sent|gave|passed|shared|provided|sold|disclosed)\b",
        r"(?:何|なに)が残って(?:いる|る)(?:のか|か).{0,15}(?:確認させ|教えて|知りたい|見せて|お知らせ)",
        r"(?:渡した|提供した|共有した|教えた|売った|流した)(?:会社|先|相手|企業|業者)(?:名|の名前)?(?:と|や|を|、|は).{0,15}(?:教えて|開示|知りたい|お知らせ|明らかに)",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"見して(?:けさい|けれ|けろ|ください|くれ|ちょうだい|ほしい)",
    ),
    *_rules(CORRECTION, 0.8,
        r"\b" + EN_FIELD + r"\b.{0,40}\bbe (?:updated|corrected|changed|amended|rectified|fixed)\b",
    ),
    *_rules(DELETION, 0.85,
        JA_DATA + r"(?:は|も|を)?.{0,6}片付け(?:て|る)",
        r"跡形も(?:なく|残さず|残らず)",
        r"(?:私|わたし|僕|俺|自分|うち)のこと(?:は|を|も)?(?:全部|すべて|もう)?忘れて(?:ください|下さい|ほしい|欲しい|くれ|もらえ)",
        r"(?:持って(?:る|いる|います)|残って(?:る|いる|います)|保管して(?:る|いる|います))(?:なら|のなら|のであれば|んなら).{0,15}(?:捨てて|処分して|破棄して|消して)",
        r"(?:アカウント|会員登録|登録)(?:は|を|も)?(?:閉じて|閉鎖して)(?:いただ|ください|下さい|ほしい|もらえ|くれ)",
        r"消して(?:もらって|いただいて|くれて)(?:大丈夫|構いません|かまいません|結構|いい|OK)",
        r"(?:消さ|削除し|消去し)(?:ない|ん)(?:なら|のであれば|場合は?)",
        r"\bif (?:my |all my |all of my )?(?:personal )?(?:data|information|details|account)\b.{0,20}\b(?:has|have|is|are) not been (?:deleted|erased|removed)\b",
        r"\bnothing (?:needs to|should|has to|must|is to) (?:stay|remain|be kept|be retained)\b|\bnothing stored\b",
        r"\b(?:disappear|vanish) from (?:your|the) (?:systems?|database|records|files|site)\b|\bforget (?:that )?i (?:exist|existed|was ever)\b",
        r"\btake\b.{0,30}\bout of (?:your|the) (?:systems?|database|records|files)\b",
        r"\bthrow (?:away|out)\b.{0,30}\b(?:account|data|details|info|information|records?|stuff|memories)\b",
        r"\b(?:get rid of|wipe|nuke|scrap|trash) (?:it|them|my stuff|all of it|everything)\b|\bwipe my stuff\b",
        r"退会\s*(?:too|as well|also)\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:メール|連絡|電話|案内|dm|お知らせ|sms)(?:も|は)?(?:もう|今後)?(?:届かない|来ない|こない)よう",
        r"(?:もう)?何も(?:読みたくない|見たくない|受け取りたくない|届けないで)",
        r"\bleave me alone\b",
        r"\bwant (?:out|off) (?:of )?(?:whatever|every|all|any|your|the)? ?(?:lists?|mailing lists?|marketing)\b",
        r"\bnothing (?:more|else|further) (?:is|gets|will be|to be) sent\b",
        r"\bplease (?:do )?not send (?:me )?(?:any )?(?:more )?(?:e-?mails?|mails?|messages|newsletters?)\b",
        r"\b(?:don't|do not|not to) use (?:my|this|the|that|these) (?:data|information|details|history|info)\b",
        r"\bstop (?:the )?(?:utili[sz]ation|use|usage|processing) of (?:my|the|our)\b",
        r"\b(?:will not|won't|do not|don't) (?:accept|want|tolerate) (?:any )?(?:further |more )?(?:marketing|e-?mails?|calls|newsletters?|promotions?)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"\b(?:not|never) (?:be )?(?:passed|handed|given|sold|shared|sent) (?:on )?to (?:anybody|anyone|any ?one|third|partners?|others?|any other)\b",
        r"\b(?:do not|don't|never|not)\b.{0,60}\bsend (?:it|them|this|my data|my details|my information) to (?:any|a|the|other|third|your)\b.{0,20}\b(?:retailers?|providers?|compan|partners?|third)",
        r"\bno passing (?:me|my \w+) (?:along|on)\b",
        r"提供(?:を|は)?(?:直ちに|ただちに|即刻|すぐに|今すぐ)\s?停止",
        self_negating=True,
    ),
    # Phrasings from writer-co .. writer-ct (tuned on, 2026-12-04 evening).
    *_rules(DISCLOSURE, 0.85,
        # "Not sure who you've shared my details with, but I'd love to know": no negation.
        r"\b(?:want|like|need|love) to know (?:who|which compan\w+|where)\b.{0,20}\b(?:you(?:'ve| have)?|you've) (?:shared|given|passed|sold|sent|provided)\b",
        r"\bwho (?:you(?:'ve| have)?|you've) (?:shared|given|passed|sold|sent|provided) my (?:details|data|information|info|number)\b",
        self_negating=True,
    ),
    *_rules(DISCLOSURE, 0.85,
        r"\bwho (?:exactly )?(?:have|did) you (?:given|give|passed|pass|shared|share|sold|sell|sent|send|provided|provide)\b.{0,40}\b(?:my|our)\b",
        r"\b(?:want|like|need) to know what\b.{0,30}\b(?:was|were|is|are) (?:registered|stored|recorded|kept|held|on file)\b",
        r"\bwhich of my (?:data|details|information|info)\b.{0,20}\b(?:was|were|has been|have been|is|are) (?:exposed|leaked|shared|sold|passed|given)\b",
        r"\b(?:send|give|show|provide|e-?mail)\b(?: me)? (?:everything|all|whatever|what) (?:you|we) (?:hold|have|keep|store) on (?:file|record)\b",
        r"\bshow me\b.{0,20}\b(?:login|access|activity|change|usage) (?:history|log|logs|records?)\b",
        r"\bwhich\b.{0,30}\b(?:retailers?|compan(?:y|ies)|providers?|partners?)\b.{0,40}\b(?:was|were) (?:sent|passed|given|provided|forwarded) to\b",
        r"(?:個人データ|個人情報|データ)へのアクセス(?:を)?(?:要求|請求|求め|希望)",
        r"(?:どこ|どちら|どの会社|誰|だれ)(?:に|へ)(?:渡した|提供した|出した|流した)(?:の)?か(?:くらい|だけ)?(?:は|を)?.{0,6}(?:知っておきたい|把握したい|知りたい)",
        r"(?:どう|どのように|何に|なにに)使われて(?:いる|る)のか(?:を)?.{0,10}(?:教えて|知りたい|お知らせ|説明)",
    ),
    *_rules(CORRECTION, 0.8,
        r"(?:カタカナ|フリガナ|ふりがな|読み仮名|よみがな)(?:を|も)?\s?(?:追加|入れて|登録して|足して)",
    ),
    *_rules(DELETION, 0.85,
        r"\bforget about me\b",
        r"\bcancell?ation of my (?:registration|account|membership)\b",
        JA_DATA + r".{0,12}(?:消えて|なくなって)(?:くれたら|くれれば|ほしい|欲しい|もらえたら)",
        r"(?:持って|保管して|保存して|残して)(?:いて|て)?(?:いただか|もらわ)?なくて(?:結構|いい|良い|大丈夫|構いません|かまいません)",
        r"(?:持って|保管して|残して)(?:いて)?も.{0,8}(?:意味|仕方)(?:が|は|も)?(?:ない|ありません|なし)",
        r"\bno (?:point|need|reason) (?:in |for )?(?:you )?(?:keeping|to keep|holding|to hold|storing|to store)\b",
        r"\bno reason for (?:it|them|my \w+) to (?:be there|stay|remain|be kept|be stored)\b",
        r"\b(?:no longer|not) comfortable with you (?:holding|keeping|having|storing)\b",
        r"\b(?:i'd|i would) prefer (?:it|they|my \w+(?: \w+)?) (?:wasn't|weren't|isn't|aren't|not be|was not|were not) (?:just )?(?:sitting|kept|stored|held|lying)\b",
        r"\baccount\b[\s\S]{0,120}?\b(?:close|delete|cancel|remove) it\b",
        r"(?:名前|氏名|本名)の?表示(?:を|は)?(?:消して|削除して|非表示に)",
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:配信|メール|メルマガ|電話|連絡|案内)(?:を|も)?(?:止め|やめ|停止し)[、,]",
        r"(?:ニュースレター|メルマガ|メール|案内|お知らせ)を受け取る(?:の|こと)を(?:やめ|止め|停止)",
        r"(?:郵送|発送|送付|郵便)(?:を|も|は)?(?:停止|止め|やめ|中止)",
        r"\bsend (?:nothing|no(?: more)? \w+) (?:further|more|else)?\b.{0,10}\bto (?:him|her|them|me|this address)\b",
        r"\b(?:do not|don't|not to) use (?:it|them|my data|my information) for anything\b",
        r"\bstop (?:using|processing) (?:the|this|that|these|those) (?:usage )?(?:data|information|details|history)\b",
        r"\b(?:data|information|details)\b.{0,20}\bnot (?:more |any more |anymore |longer )?(?:be )?used for\b",
        r"\bwhy am i still (?:getting|receiving) (?:your|these|the|this)\b.{0,10}\b(?:newsletters?|e-?mails?|messages|texts|calls|mails)\b",
        r"(?:なんで|なぜ|何で)(?:まだ|いまだに)(?:メール|メルマガ|電話|sms|案内)(?:が)?(?:来る|届く|くる|かかってくる)",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.9,
        r"\bno (?:information|data|details|personal data)(?: about me| of mine)? (?:is|be|will be|gets) (?:provided|passed|shared|given|sold|disclosed) to\b",
        r"\bprovision\b.{0,20}\bto (?:the |any )?third[- ]part(?:y|ies)\b.{0,10}\bbe (?:stopped|ceased|halted|suspended|ended)\b",
        r"(?:電力|ガス|でんき|電気|光|ネット)(?:には|に|へは|へ)(?:送らないで|渡さないで|提供しないで|出さないで)",
        self_negating=True,
    ),
    # Phrasings from writer-cu .. writer-cz (tuned on, 2026-12-04 evening).
    *_rules(DISCLOSURE, 0.85,
        r"\blist of (?:every|all|each|the) (?:third[- ]part(?:y|ies)|compan(?:y|ies)|partners?|providers?)\b.{0,30}\b(?:given|shared|sent|passed|provided|sold|disclosed)\b",
    ),
    *_rules(DISCLOSURE, 0.7,
        r"\b(?:doesn't|does not|didn't|did not) include\b.{0,40}\b(?:records?|recordings?|logs?|notes|history)\b",
    ),
    *_rules(CORRECTION, 0.8,
        r"\byou have me (?:down|listed|registered|recorded|on file|as)\b",
    ),
    *_rules(DELETION, 0.8,
        r"\b(?:don't|do not) want an account\b",
        self_negating=True,
    ),
    *_rules(STOP_USE, 0.85,
        r"\bstop sending (?:anything|stuff|things|mail|post)\b",
    ),
    *_rules(STOP_PROVISION, 0.85,
        r"(?:情報|データ)が.{0,12}(?:回る|渡る|流れる|提供される)(?:こと|の)(?:は|を)?(?:認められません|許しません|困ります|お断り)",
        r"(?:回る|渡る|流れる|提供される)ことの?ないよう",
    ),
    # Phrasings from writer-bw .. writer-ca, writer-cc .. writer-ch and writer-da .. writer-df
    # (held out until 2026-12-04 night, tuned on since).
    *_rules(DISCLOSURE, 0.85,
        r"\b(?:provide|send|e-?mail|give) (?:me )?the copy\b",
        r"\b(?:please|go ahead (?:with|and)|could you|can you|kindly|just) (?:\w+ )?send(?:ing)? me my (?:data|information|info|details|file|records?|personal data)\b",
        r"\bi (?:still )?want my (?:data|information|personal data|file)[.!]",
        r"\bi (?:want|need|would like|'d like) the records? of (?:every|each|all|when|which|who|where)\b",
        r"\btell me what (?:details|data|information|info|personal data)\b.{0,20}\b(?:were|was|are|is) (?:entered|registered|stored|held|on file|recorded|submitted|kept)\b",
        r"(?:一覧|リスト|記録|履歴)(?:を|も)(?:ぜひ)?(?:拝見し|見せて|確認させて)",
        r"(?:履歴|記録|一覧|リスト|控え)(?:を|も)(?:私に|こちらに)?(?:送って|送付して|お送り|メールで送って|出して)(?:ください|下さい|ほしい|欲しい|いただ|もらえ)",
        r"(?:申込み?|申し込み|契約|登録)の?内容.{0,30}(?:を|も)?(?:教えて|お知らせ(?:ください|いただ|願)|開示して)",
        r"(?:渡した|渡っている|提供した|送った|流した)(?:情報|データ|個人情報)の(?:中身|内容|項目)",
        r"(?:どう|どのように|何に|なにに)使われて(?:いる|る)か(?:を)?.{0,10}(?:教えて|知りたい|お知らせ|説明)",
        r"登録(?:内容|情報)(?:を)?確認(?:したい|させて)",
    ),
    *_rules(CORRECTION, 0.8,
        r"\bcorrection of (?:my|the|his|her) (?:registered |recorded |current )?(?:name|address|phone(?: number)?|mobile(?: number)?|e-?mail(?: address)?|date of birth|birthday|surname|last name|first name|postcode|postal code|spelling)\b",
        r"\b(?:is|are) (?:listed|registered|recorded|spelled|spelt|shown|written|entered) (?:incorrectly|wrong(?:ly)?)\b",
        r"\bupdate (?:the|my)\b.{0,40}\bfield\b",
        r"\b(?:my )?new (?:addr|address|phone(?: number)?|mobile(?: number)?|e-?mail(?: address)?) is\b",
    ),
    *_rules(CORRECTION, 0.6,
        r"\b(?:spelled|spelt|spelling)\b.{0,80}\bplease (?:fix|correct)\b",
        r"(?:ではなく|じゃなくて)[^。]{0,30}です。?\s*(?:直して|訂正して|修正して)",
    ),
    *_rules(DELETION, 0.85,
        r"記録から(?:外して|消して|削除して|抹消して|除いて)",
        r"控え(?:を|も)?(?:残さ|残され|お残しにな)(?:ない|ませぬ|ぬ)よう",
        r"\b(?:details|data|information|name|number|records?|info) (?:taken|removed|deleted|wiped|erased) (?:off|from) your (?:system|systems|records|database|list|lists|files|servers?)\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:メール|お知らせ|案内|メルマガ|dm|郵便|郵送物)(?:は|も)?(?:もう)?(?:送って|お送り)(?:もらわ|いただか)?なくて(?:大丈夫|結構|いい|良い|構いません)",
        # Not a lawyer's "依頼者への直接のご連絡はお控えください" (write to me, not my client).
        r"(?<!直接)(?<!直接の)(?<!直接のご)(?:電話|連絡|案内|勧誘|営業|メール|dm|郵送|訪問)(?:で|に|による)?の?(?:ご?案内|ご?連絡|勧誘|営業)?(?:は|を|も)(?:今後は?)?(?:ご遠慮|お控え|遠慮して|控えて)(?!なく)",
        r"\b(?:doesn't|don't|does not|do not) want any more (?:phone |sales |marketing )?(?:calls|e-?mails|mails?|messages|texts|newsletters|contact)\b",
        r"\bstop (?:all )?(?:contact|contacting) (?:with )?(?:him|her|them|my (?:mother|father|parents?|wife|husband|son|daughter|client))\b",
        r"\b(?:isn't|is not|aren't|are not|not be|never be|won't be|will not be) used for (?:ads|advertising|advertisements|marketing|targeting|promotions?|sales)\b",
        r"\bmeeru (?:iranai|irimasen|fuyou|teishi|tomete|yamete)\b",
        r"(?:メール|案内|お知らせ|dm|メルマガ|電話|連絡)(?:だけ|は|も)?(?:届かない|来ない|こない|かかってこない)ように(?:して|しても|お願い|設定して)",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.85,
        JA_PARTY + r"(?:へ|に)の?(?:情報|データ|個人情報)?(?:提供|共有|受け渡し)(?:は|も)(?:しないで|お控え|控えて|やめて|止めて|ご遠慮)",
        r"(?:送って|渡して|提供して|流して)(?:いる|る)(?:の)?(?:なら|であれば|のであれば|場合は)[、,]?.{0,10}(?:止めて|やめて|停止して)",
        r"\bwhat i (?:don't|do not) want is\b.{0,60}\b(?:providers?|partners?|third[- ]part(?:y|ies)|companies|retailers?)\b",
        r"\bmake sure (?:it|they|my \w+|this|that|nothing)(?: is| are)? (?:not |never )?(?:sent|passed|given|shared|provided|forwarded) (?:on )?to\b",
        r"\b(?:don't|do not) (?:send|pass|give|forward) (?:them|the provider|the retailer|the partner)\b.{0,10}\b(?:anything|any (?:more|further)|my)\b",
        self_negating=True,
    ),
    # Phrasings from writer-dg .. writer-dl (held out until 2026-12-04 night, tuned on since).
    *_rules(CORRECTION, 0.8,
        r"(?:連絡先|住所|電話番号|メールアドレス|アドレス|送付先|届け先).{0,40}(?:に|へ|を)(?:改めて|変えて|書き換えて)(?:いただ|ください|ほしい|もらえ)",
        r"(?:電話番号|携帯番号|住所|メールアドレス|アドレス|苗字|名字|姓)(?:が|を|は)?(?:変わりました|変わった|変わります|変更になりました)",
        r"(?:電話番号|携帯番号|住所|メールアドレス|アドレス)(?:が|は)[^。]{1,30}に(?:なりました|変わりました|変更になりました)",
        r"\brectif(?:y|ied|ication)\b",
        # Romaji, whose nouns the desk reads as kanji ("juusho" is "住所" by then).
        r"(?:住所|電話番号|名前|メールアドレス|\bjuusho|\bdenwa ?bangou|\bnamae|\bmeeru ?adoresu)\s?(?:ga|wa|wo|no)?\s.{0,20}\b(?:henkou|teisei|furui|chigau|chigaimasu|kawarimashita|kaete)\b",
    ),
    *_rules(CORRECTION, 0.6,
        # Also a retailer's way to fix its listing: a correction only where no listing is named.
        r"(?:以下|下記)の(?:とおり|通り|ように)(?:修正|訂正|変更)(?:を|して)?(?:お願い|ください|いただ)",
    ),
    *_rules(DELETION, 0.85,
        r"\bexpunge\b",
        # Not "take my number off your call list": that stops the calls.
        r"\btake (?:my|his|her|their|our) (?:number|phone number|details|data|info|information|name|e-?mail|address) off (?:(?:whatever|everything|anything|all) (?:you(?:'ve| have| hold| keep| got| store)|is (?:held|stored|kept))|your (?:system|systems|records|database|files|servers?))\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"\bnothing (?:more|further|else) (?:arriving|coming|sent|landing|turning up) (?:in|to|at) (?:my|our|his|her) (?:inbox|mailbox|e-?mail|phone|letterbox)\b",
        r"(?:案内|メールマガジン|メルマガ|営業|連絡|メール|dm|郵便物?).{0,20}(?:お送り|送付|送信|ご連絡)(?:いただかない|なさらない|されない|しない)よう",
        r"(?:かけて|して|送って)(?:こられ|来られ|こ|来)ないよう(?:に)?[、,]?\s?(?:お取り?計らい|お願い|して|ご配慮|ご手配)",
        r"\b(?:no|neither|none)\b.{0,30}\bshould (?:get|receive) (?:any )?(?:sales|marketing|promotional|more) (?:calls|e-?mails|mails?|messages|texts)\b",
        r"\b(?:do not|don't|not to) use (?:any |the )?(?:data|information|details|my data|my information)\b.{0,40}\bfor (?:advertising|marketing|profiling|ads|targeting|targeted)\b",
        self_negating=True,
    ),
    # Phrasings from writer-dm .. writer-dr (held out until 2026-12-04 night, tuned on since).
    *_rules(DISCLOSURE, 0.8,
        r"開示の方法は.{0,24}(?:で|にて)(?:お願い|結構|送って|お送り)",
    ),
    *_rules(CORRECTION, 0.8,
        # (Not "wrong address" or "wrong number" here: often mail or a call that reached the wrong
        # person.)
        r"\bwrong (?:last |first |family |given |sur)?(?:name|birthday|date of birth|spelling)\b(?! (?:on|in) (?:the|your) (?:site|page|listing|plan))",
        r"\b(?:i'd|i would) like (?:it|them|that|this|my name|my address) (?:right|fixed|corrected)\b",
        r"\b(?:has|have|had) come through as\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"\b(?:prefer|rather) not (?:to )?(?:get|receive)\b.{0,20}\b(?:newsletters?|offers|e-?mails|marketing|calls|mail|messages|texts)\b",
        r"\b(?:wish|want) to receive any (?:further|more)\b.{0,12}\b(?:surveys?|e-?mails|newsletters?|offers|calls|messages|mail|texts)\b",
        r"(?:メール|お知らせ|案内|メルマガ|dm|郵便|郵送物)(?:は|も)?(?:もう)?送らなくて(?:大丈夫|結構|いい|良い|構いません)",
        r"(?:一切|二度と|今後は?)[、,]?.{0,12}(?:ご?連絡|電話|郵送|郵便)(?:を)?しない(?:こと|よう)",
        r"(?:メール|案内|お知らせ|メルマガ)(?:も|は)?\s?(?:todokanai|konai)\s?you\s?に",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.85,
        r"(?:送られる|渡る|提供される)(?:仕組み|こと|よう)(?:なら|であれば|でしたら)[、,]?.{0,10}(?:送らないで|渡さないで|提供しないで|止めて|やめて)",
        self_negating=True,
    ),
    # Phrasings from writer-dy .. writer-ed (held out until 2026-12-04 night, tuned on since).
    *_rules(DISCLOSURE, 0.8,
        r"(?:いつ|どんな内容|どのような内容|何が|なにが).{0,20}(?:送られた|渡された|提供された|伝えられた)(?:の)?か(?:を)?.{0,6}(?:教えて|知りたい|お知らせ|確認したい)",
    ),
    *_rules(CORRECTION, 0.8,
        r"\bchange my (?:household size|household|family size|number of (?:people|residents|occupants))\b",
    ),
    *_rules(DELETION, 0.85,
        r"(?:削除|消去|退会|抹消)の?(?:手続き|手続|処理)(?:を)?(?:進めて|お願い|進めていただ|してください)",
        r"\bgo ahead (?:with|and) (?:the |my |his |her )?(?:deletion|erasure|removal|delete|deleting|erase|remove)\b",
        r"(?:番号|情報|データ|名前|登録|アカウント)(?:を|も)(?:消して|削除して)(?:もらって|もらい|いただいて|いただき)",
    ),
    *_rules(STOP_USE, 0.85,
        r"\bmake sure (?:nobody|no one|no-one)\b.{0,20}\b(?:contacts?|calls?|phones?|e-?mails?|writes? to|rings?)\b",
        self_negating=True,
    ),
    *_rules(STOP_PROVISION, 0.85,
        r"\b(?:don't|doesn't|do not|does not) want\b.{0,30}\bpassing (?:my|his|her|their|them|it|any)\b",
        r"\b(?:details|data|information|info) to stop being (?:passed|shared|sold|given|sent|handed)\b",
        self_negating=True,
    ),
    # Phrasings from writer-ek .. writer-ep (held out until 2026-12-05, tuned on since).
    *_rules(STOP_USE, 0.85,
        r"(?:メルマガ|メールマガジン|ニュースレター|メール配信|配信)(?:の|を)?(?:解約|退会)",
        r"\b(?:add|put|place)\b.{0,40}\bdo[- ]not[- ](?:call|contact|mail|email|e-mail)\b|\bdnc request\b",
        r"(?:そっと|ほうって|放って)(?:して)?おいて(?:ほしい|欲しい|ください|もらえ|いただけ|くれ)",
    ),
    *_rules(DISCLOSURE, 0.85,
        r"\b(?:like|likes|want|wants|wish|wishes|asks?|asked) to (?:see|view|receive|get|know)\b.{0,30}"
        r"\b(?:data|information|info|details|records?)\b.{0,20}\b(?:you|your company) (?:hold|have|keep|store)\b",
    ),
    *_rules(DELETION, 0.85,
        r"\b(?:be|been|being|get|got|have me|have myself) (?:removed|erased|deleted|wiped|purged) (?:completely |entirely |fully |altogether )?"
        r"(?:from|off|out of) (?:your|the|all (?:of )?your) (?:records?|systems?|database|databases|files|books|servers?)\b",
        r"\bmake (?:it|them|me|my (?:data|account|details|information|info)|everything|all of it|all that) (?:all )?(?:disappear|vanish|go away)\b",
        r"\bno more me in your (?:files|records|system|systems|database)\b",
        r"(?:私|わたし|自分)(?:ごと|のこと|の存在)?(?:を|も)?(?:まるごと|丸ごと)?(?:無くして|なくして|消して)(?:もら|いただ|ほしい|欲しい|ください)",
    ),
    *_rules(STOP_PROVISION, 0.85,
        r"\b(?:not (?:to )?be|not being|(?:don't|do not) want to be|stop being) (?:anybody's|anyone's|a|your|their|somebody's|someone's) (?:sales )?lead\b",
    ),
    *_rules(STOP_USE, 0.85,
        r"\brestrict (?:the )?(?:processing|use) of (?:my|his|her|our|their|the) (?:personal )?(?:data|information|details)\b",
        r"\bstop to send (?:me )?(?:any )?(?:more )?(?:publicity|advertis\w*|ads|promotions?|marketing|e-?mails?|newsletters?|mails?)\b",
    ),
    # "削除だけでいいです": of what was offered, only this right is wanted.
    *(
        rule
        for intent, words in (
            (DELETION, r"(?:削除|消去|退会|抹消)"),
            (STOP_USE, r"(?:配信停止|利用停止|配信解除|メルマガ解除)"),
            (DISCLOSURE, r"開示"),
            (CORRECTION, r"(?:訂正|変更)"),
        )
        for rule in _rules(intent, 0.85, words + ONLY_THIS)
    ),
    # What the sender refuses in so many words: "消さないでください", "メルマガは止めないで" name a
    # right only to say it is not wanted (the rules set it aside; the model reads it masked).
    *_rules(DELETION, 0.85,
        r"(?:消さ|けさ|(?:削除|消去|抹消)(?:は|を)?し|(?:退会|解約)(?:は|を)?(?:させ|し))ないで(?:ください|ほしい|欲しい|いただ|もらえ|ね|よ|[。!、]|$)",
        refuses=True,
    ),
    *_rules(STOP_USE, 0.85,
        r"(?:配信|メール|メルマガ|ニュースレター|案内|お知らせ)(?:は|を|も)?(?:止め|とめ|停止し|やめ|解除し)ないで(?:ください|ほしい|欲しい|いただ|もらえ|ね|よ|[。!、]|$)",
        refuses=True,
    ),
    # --- complaint: a grievance about how data was handled ---------------------------------------
    *_rules(COMPLAINT, 0.8,
        r"苦情|\bcomplain(?:t|ts|ing)?\b",
        r"(?:漏洩|漏えい|流出)|情報が?漏れ|\b(?:leak(?:ed|s|ing)?|data breach|privacy breach|breach)\b",
        r"不信感|不愉快|不満|\bunacceptable\b",
    ),
    # Asking again because the first ask went unanswered: a request ignored (LABELS.md), a
    # grievance whatever else the mail says.
    *_rules(COMPLAINT, 0.8,
        r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th) time (?:i'm|i am|i've|i have|that i'm|that i am|we are|we're) (?:asking|writing|requesting|emailing|e-mailing|contacting)\b",
        r"(?:再三|何度目か|二度目|2度目|三度目|3度目|2回目|二回目|3回目|三回目|4回目)の(?:お願い|ご依頼|依頼|ご連絡|連絡|請求|申し出|問い合わせ|お問い合わせ)",
    ),
    *_rules(COMPLAINT, 0.8,
        r"\bnot acceptable\b",
        self_negating=True,
    ),
    *_rules(COMPLAINT, 0.55,
        r"不快|憤り|怒り|腹が立|腹立たし|がっかり|迷惑して|納得(?:でき|い)かない|納得でき(?:ません|ない)|遺憾|ずさん|杜撰|雑では|問題だと思|信じられ(?:ません|ない)|ありえない|あり得ない|ひどい|不安です|不安に|いい加減に|誠意が|誠意ある対応|こんな対応|大丈夫なのでしょうか|怖い|恐怖|無視され|としか思えません|自覚が(?:足りない|ない)|一方的に|残念です|残念に思",
        r"(?:何度も|再三|繰り返し|2回|二度|何回も|3回|三度).{0,20}(?:連絡|お願い|依頼|問い合わせ|伝え|申し上げ)",
        r"(?:したのに|しているのに|お願いしたのに|依頼したのに|のに)、?.{0,25}(?:まだ|いまだに|未だに|また)",
        r"今後このようなことがないよう",
        r"他人の個人情報|他人宛",
        r"\b(?:disappointed|disappointing|outraged|angry|furious|annoyed|upset|shocked|appalled|frustrated|disgusted|unhappy|ridiculous|disrespectful|outrageous|misleading|deceptive|creepy|alarmed)\b",
        r"\bexposed\b|\bexpected better\b|\bbasic mistake\b",
        r"\b(?:second|third|fourth|3rd|2nd|4th) time\b|\btwice\b|\bagain and again\b|\bnobody has\b|\bno one has\b|\bstill nothing\b|\b(?:was|been|were|being) ignored\b|\bkeep coming\b",
        r"\b(?:violation|violat(?:e|ed|es|ing)|illegal|unlawful|in breach of)\b",
    ),
    *_rules(COMPLAINT, 0.55,
        r"(?:同意|了承|承諾|許可)(?:を|も|は)?(?:して|した覚えは|した覚えも)(?:い)?(?:ない|ません)|(?:同意|了承|承諾|許可)した覚え(?:は|が|も)(?:あり|ござい)?(?:ません|ない)|(?:同意|了承|承諾|許可)は(?:い)?(?:ない|ません)|一言も(?:言って|伝えて)(?:い)?(?:ない|ません)",
        r"\b(?:not happy|not ok|not okay|without my (?:consent|permission|agreement)|never (?:agreed|consented|gave (?:my )?(?:consent|permission))|did not (?:agree|consent)|didn't (?:agree|consent)|my choice was ignored)\b",
        self_negating=True,
    ),
    *_rules(COMPLAINT, 0.4,
        r"気持ち(?:が|の)悪",
    ),
    *_rules(COMPLAINT, 0.35,
        r"勝手に|どうなんでしょうか|いかがなものか|(?:いまだに|未だに).{0,20}(?:届|来|連絡|対応|返事|回答|返信)|対応(?:して)?(?:いただけて|されて)(?:い)?ない",
        r"(?:個人情報保護委員会|消費者センター|消費生活センター|弁護士)",
        r"\b(?:heard nothing|no (?:reply|response|answer)|been ignored|still (?:receiving|getting|get|receive)|take this to|protection commission|regulator|seriously\?)\b",
        r"\bunchecked\b|\bdid not give\b|\bnever gave\b",
        self_negating=True,
    ),
    # --- inquiry: a question about handling, policy or procedure --------------------------------
    *_rules(INQUIRY, 0.6,
        r"(?:どのような|どういう|どんな|どの|どこまで|どれくらい|どのくらい)の?(?:目的|会社|項目|基準|方法|範囲|書類|手続き|運用|文言|期間|形|程度|意味|こと|ルール|仕組み).{0,60}(?:\?|でしょうか|ですか|ますか|か。|か$)",
        r"どのように(?:扱|管理|利用|使|保管|取り?扱|監督|保護|守)",
        r"(?:手数料|本人確認書類|委任状|代理人|必要書類|費用|期間).{0,30}(?:\?|でしょうか|ですか|ますか)",
        r"(?:どうなりますか|どうなるのでしょうか|どうなるか|どう扱われ|どういう状況|どうなって(?:い)?ますか)",
        r"(?:について|に関して)(?:教えて|質問|お伺い|伺いたい|知りたい|ご教示|お尋ね)",
        r"\bhow (?:do|can|would|should|could) (?:i|we|one)\b.{0,30}\b(?:request|ask|submit|make|exercise|get|delete|access|opt|remove|correct|turn (?:them|it|this) off|disable|reject)\b",
        r"\b(?:do|does) (?:you|your (?:site|company)) (?:use|share|sell|keep|store|track|collect|record)\b.{0,80}\?",
        r"\b(?:data protection officer|dpo|eu representative|privacy officer)\b",
        r"\b(?:which|what) (?:kind of |type of )?(?:id|identity|identification|proof)\b|\bwhat (?:would|do|will) you need\b",
        r"\bhow long\b.{0,40}\b(?:keep\w*|take\w*|stor\w*|retain\w*|kept|hold\w*)\b",
        r"\blegal basis\b|\bon behalf of\b.{0,60}\?",
        r"(?:もし|仮に).{0,40}(?:場合|たら|れば).{0,40}(?:\?|でしょうか|ますか|ですか)",
        r"(?:消える|消えます|残る|残ります|保管され|保存され)(?:る|ます)?(?:の)?(?:でしょうか|ですか|か\?)",
        r"\bis there a (?:form|way|process|procedure)\b|\bcan i (?:make|submit|send) (?:a|my|the) (?:request|application)\b",
        needs_privacy_topic=True,
    ),
    *_rules(INQUIRY, 0.4,
        r"(?:教えて|ご教示|お教え|知りたい|伺いたい|お伺い|質問|相談|確認させて|お尋ね)",
        r"(?:できますか|可能でしょうか|可能ですか|できるのでしょうか|できますでしょうか|でしょうか)",
        r"(?:ますか|ですか|でしょうか)(?:[?。]|$)",
        r"\b(?:could you (?:tell|explain|clarify|let me know)|i'?d like to understand|question (?:about|regarding)|(?:a|one|quick) question|i was wondering|wondering (?:if|whether)|just curious|curious (?:about|whether|if))\b",
        r"プライバシーポリシー|個人情報保護方針|\bprivacy (?:policy|notice)\b",
        r"\b(?:do|does|are|is|can|will|would)\b.{0,80}\?",
        r"\b(?:how|what|which|when|where|why)\b.{0,80}\?",
        needs_privacy_topic=True,
    ),
    # --- rate_question: a consumer asks about plans and prices -------------------------------------
    *_rules(RATE_QUESTION, 0.75,
        r"(?:安くなる|安い|お得な|おすすめ|オススメ|お勧め|最安|一番安い|お得に)(?:の)?(?:プラン|会社|回線|電力|電気|ガス|sim|キャリア|ところ).{0,40}(?:\?|ありますか|でしょうか|ですか|教えて|知りたい)",
        r"乗り換え(?:たら|ると|れば|る場合|た場合).{0,30}(?:いくら|安く|\?|ますか|ですか|でしょうか)",
        r"(?:安くなりますか|安くなるの|いくら安く|どのくらい安く|どれくらい安く|安く(?:する|なる)方法)",
        r"(?:切り替え|乗り換え)(?:は|の)?(?:どうすれば|方法|手続き).{0,20}(?:\?|教えて|ますか|ですか|でしょうか)",
        r"おすすめ(?:は|の)?(?:あります|ある|教えて)|(?:乗り換えたい|切り替えたい|替えたい|変えたい)(?:んです|のです|と思って).{0,60}(?:\?|ますか|ですか|ありますか)",
        r"\bis there a (?:cheaper |better |good )?(?:plan|deal|provider|option|tariff)\b",
        r"(?:どこ|どれ|何|なに|どっち|どちら)が(?:おすすめ|オススメ|安い|お得|いい|良い)",
        r"(?:いちばん|一番|最も)安い|安い(?:の|ところ)(?:って|は)?どこ|(?:料金|プラン)(?:も|を)?(?:比べたい|比較したい)",
        r"\bare there\b.{0,40}\b(?:plans?|deals?|options?|carriers?|providers?)\b.{0,80}\?",
        r"\b(?:can|could|is|are|do|does|which|what|how)\b.{0,30}\b(?:gas|electricity|internet|fibre|fiber|mobile|broadband|power)\b.{0,40}\b(?:discount|bundle|cheaper|cheapest|price|deal)\b.{0,60}\?",
        r"(?:切り替え|乗り換え).{0,30}(?:必要ですか|\?|ますか|ですか|でしょうか)",
        r"\b(?:plans?|tariffs?)\b.{0,20}\b(?:cheaper|cheapest|better|worth it)\b.{0,60}\?",
        r"\b(?:mobile|fibre|fiber|internet|electricity|gas|phone|sim|broadband) (?:plan|price|fee|tariff|contract)s?\b.{0,80}\?",
        r"(?:どの|どこの)(?:プラン|電力会社|ガス会社|回線|キャリア|sim).{0,30}(?:\?|ますか|ですか|でしょうか|いい|向いて)",
        r"\b(?:cheapest|cheaper|best|recommend(?:ed)?|good)\b.{0,40}\b(?:plans?|providers?|deals?|options?|internet|electricity|gas|fibre|fiber|sim|rates?)\b.{0,100}\?",
        r"\b(?:which|what)\b.{0,30}\b(?:plans?|providers?|retailers?|suppliers?|carriers?)\b.{0,80}\?",
        r"\b(?:which|what) compan(?:y|ies)\b.{0,60}\b(?:electricity|gas|internet|solar|power|fibre|fiber|mobile|rates?|cheap\w*)\b",
        r"\bhow (?:do|can) i switch\b|\bswitch(?:ing)? (?:my )?(?:electricity|gas|internet|mobile|power|provider|supplier|plan)\b.{0,100}\?",
    ),
    *_rules(RATE_QUESTION, 0.5,
        r"(?:プラン|料金|電気代|ガス代|スマホ代|通信費|ネット代|単価|月額).{0,30}(?:ありますか|いくら|どれ|どこ|安くな|でしょうか|教えて|わかりません|分かりません|\?)",
        r"(?:解約|違約金|工事費).{0,30}(?:\?|ますか|ですか|でしょうか)",
        r"(?:月|毎月)(?:々)?(?:いくら|何円)",
        r"\bhow much\b.{0,40}\b(?:per month|a month|monthly|cost|would i|will i|is (?:the )?(?:gas|electricity|internet|plan|fibre|fiber|sim|city gas))\b|\bhow much is\b",
        r"\bcancellation fee\b.{0,60}\?",
        r"\bwhat would you recommend\b|\bcompare with\b",
    ),
    # --- provider_correction: a retailer asks to fix what the site says about its plans --------------
    *_rules(PROVIDER_CORRECTION, 0.7,
        r"(?:掲載|記載|表記|表示)(?:内容|料金|情報|中|いただいて|されて|の)?.{0,30}(?:修正|訂正|削除|変更|更新|誤り|間違|差し替え)",
        r"(?:比較ページ|プラン一覧|サイト上|ページ上|掲載ページ|貴社サイト|御社サイト|貴サイト|御サイト).{0,40}(?:修正|訂正|誤|のまま|記載|掲載|表記|差し替え)",
        r"(?:該当箇所|社名|ロゴ|掲載情報)の?(?:修正|訂正|差し替え|変更|更新)",
        r"(?:表記|記載|掲載|表示)(?:されて|されており|となって).{0,40}(?:揃え|合わせ|変更|修正|訂正|お願い|いただけ)",
        r"\b(?:update|correct|fix|move|remove|change)\b.{0,20}\b(?:the|our) (?:listing|price|prices|page|plan|entry|information|figures?|rate|coverage|area|company name|logo|fees?)\b",
        r"\b(?:listing|rate card|comparison page|lists us)\b",
        r"\b(?:banner|promotion|campaign)\b.{0,40}\b(?:ended|expired|finished|is over)\b|\bremove the\b.{0,30}\b(?:banner|campaign|promotion|listing)\b",
        r"(?:比較ページ|プラン一覧|サイト上|ページ上|掲載ページ|貴社サイト|御社サイト|貴サイト|御サイト).{0,60}(?:含まれて(?:い|おり)ません|載って(?:い|おり)?ません|抜けて)",
    ),
    *_rules(PROVIDER_CORRECTION, 0.5,
        r"(?:弊社|当社)(?:の)?.{0,30}(?:プラン|料金|単価|キャンペーン|サービス|商品|掲載|表記|記載|表示|エリア|社名|ロゴ)",
        r"(?:単価|料金|金額|価格|違約金|基本料金).{0,30}(?:修正|訂正|改定|誤り|正しい|のまま|となっており)",
        r"\bour\b.{0,30}\b(?:plan|price|rate|campaign|product|offer|tariff|coverage|company name)s?\b",
        r"\b(?:shown|listed) (?:under|with|on|at)\b|\bpartner (?:marketing|team)\b|\bcontent team\b|\bon your (?:page|site|comparison)\b|\b(?:the|your) site (?:still )?(?:says|shows|lists)\b",
    ),
    # --- auto_reply: out of office, receipts, acknowledgements, bounces ----------------------------
    *_rules(AUTO_REPLY, 0.7,
        r"不在にして|不在のため|出張のため|出張中(?:のため|の為|につき|にて|です|でございます|となって|により)|帰社予定|戻り予定|夏季休業|冬季休業|休業期間|休業とさせて|休暇をいただ|休暇のため|夏季休暇|年末年始休業|外出しており|不在の間|育児休業|産休|休職|お休みをいただ",
        r"\b(?:out of (?:the )?office|on (?:annual |parental |maternity |paternity |sick )?leave|limited access to e-?mail|away from (?:the |my )?(?:office|desk))\b",
        r"開封されました|開封確認|表示されました|\bwas read on\b|\bread receipt\b",
        r"配信できませんでした|届けできませんでした|\bcould not be delivered\b|\bcouldn't be delivered\b|\bundeliverable\b|\bdelivery (?:status )?notification\b|\bdelivery has failed\b|\bfailed permanently\b|\bpermanent failure\b|\bdelivery to the following\b|\b550 5\.\d\.\d\b",
    ),
    *_rules(AUTO_REPLY, 0.55,
        r"自動返信|自動応答|自動送信|自動的に送信|自動配信|自動で(?:お知らせ|送信|配信|返信)|受付完了",
        r"\b(?:not monitored|unmonitored|has not been read|do not reply to this (?:e-?mail|message))\b",
        r"(?:受け付けました|受付いたしました|受付けいたしました|承りました)(?![」』])|このメールに返信すると",
        r"\b(?:automatic reply|auto[- ]?reply|auto[- ]?response|automated message|this is an automated)\b",
        r"\b(?:we have received your (?:request|message|email|e-mail|inquiry|enquiry)|has been received|request received|ticket (?:number|#))\b",
    ),
    *_rules(AUTO_REPLY, 0.3, r"受付番号|問い合わせ番号|チケット番号|送信専用"),
    # --- spam: unsolicited marketing, phishing, SEO ------------------------------------------------
    *_rules(SPAM, 0.7,
        r"\b(?:seo|search engine optimi[sz]ation|link building|backlinks?|guest post|do-?follow|sponsored post)\b|検索順位|上位表示|検索流入|被リンク",
        r"(?:ウェビナー|セミナー).{0,40}(?:開催|申し込|参加費|無料)",
        r"\b(?:webinar|book a (?:\d+-minute )?(?:demo|call)|schedule a demo|want to see it live|free (?:\d+[- ]day )?(?:audit|trial|demo|sample))\b",
        r"見込み客(?:リスト|の?獲得|データ|情報を?(?:ご提供|販売|提供))|リスト.{0,30}\d+万件|テレアポ|プライバシーマーク取得|pマーク取得|最短\d+(?:ヶ月|か月|カ月)",
        r"\b(?:verify your (?:account|identity|mailbox)|upgrade (?:your )?storage|storage quota|release messages|mailbox (?:is |has )?(?:full|reached))\b",
        r"(?:カード情報を更新|パスワードの?(?:再設定|更新)|一時的に制限|不正利用の可能性|本日中に.{0,20}(?:支払|手続|更新)|供給を停止させていただきます|サービスを停止いたします|アカウント(?:が|は)(?:停止|制限|凍結)|異常なログイン|不正なログイン|アカウントを保護)",
        r"(?:容量|メールボックス).{0,20}(?:上限|いっぱい|拡張)",
        r"https?://\S+\.(?:top|xyz|click|biz|icu|buzz)\b",
        r"\b(?:email lists?|consumer emails?|contact lists?|verified .{0,20}(?:emails|contacts))\b|法人リスト|リスト\d+万件",
        r"\b(?:congratulations|gift card|claim (?:it |your prize )?within|you(?:'ve| have) (?:won|been selected)|was selected to receive|secure document|invoice #?\d+ is overdue|avoid suspension)\b",
    ),
    *_rules(SPAM, 0.45,
        r"無料(?:診断|相談|お試し|トライアル)|特別価格|サンプルデータ|お申込みで|詳細はwebで|初回相談無料|着手金0円|初期費用0円|先着\d+社|今なら|今だけ|半額|実施中です|キャンペーン実施中|(?<=\d)%off|安定収益|代理店.{0,10}募集|新規開拓",
        r"突然の(?:メール|ご連絡)(?:にて|で)?(?:失礼|申し訳)|ご購読いただき|配信停止をご希望|(?:ご案内|配信)(?:が|を)?(?:不要な場合|希望されない)|公開アドレスに送信|(?:配信停止|登録解除|購読解除)は(?:こちら|以下|下記)",
        r"導入企業|導入実績|取得実績|(?<=\d)社以上|(?<=\d)社様|(?<=\d)月号|第\d+号|週刊|ご登録いただいた方に(?:お送り|配信)",
        r"\b(?:unsubscribe\s*:|unsubscribe here|to stop receiving|reply (?:remove|stop|list)|if you don't want to hear from me|this week only|limited time|this week in|in this issue|read more|issue #?\d+)\b|(?<=\d)% off\b",
        r"\b(?:grow your|boost your|increase your (?:traffic|sales|sign-ups)|we(?:'ve| have) helped \d+|click (?:below|here)|if no action is taken|will be deleted in \d+ hours|make payment today|open the (?:secure )?document)\b",
        r"▼.{0,20}(?:こちら|お申し込み|詳しく)|以下のリンクから",
    ),
)  # fmt: skip

# Common misspellings, folded before matching so "pls delet my acount" still reads as deletion.
TYPOS: dict[str, str] = {
    "delet": "delete",
    "deleat": "delete",
    "deleate": "delete",
    "dlete": "delete",
    "delte": "delete",
    "deelte": "delete",
    "acount": "account",
    "accout": "account",
    "acconut": "account",
    "accunt": "account",
    "unsubcribe": "unsubscribe",
    "unsuscribe": "unsubscribe",
    "unsubscibe": "unsubscribe",
    "unsubsribe": "unsubscribe",
    "unsubscirbe": "unsubscribe",
    "infomation": "information",
    "informaton": "information",
    "imformation": "information",
    "informations": "information",
    "datas": "data",
    "adress": "address",
    "addres": "address",
    "pls": "please",
    "plz": "please",
    "personnal": "personal",
    "persnal": "personal",
    "privasy": "privacy",
    "privicy": "privacy",
    "shre": "share",
    "shar": "share",
    "dont": "don't",
    "cant": "can't",
    "解時": "開示",  # かいじ converted wrongly
}

# Words written in kana by learners of Japanese, folded to the usual spelling (only where the kana
# do not continue another word: "おかけして" is not "お消して").
KANA_FOLDS: tuple[tuple[str, str], ...] = (
    ("じょうほう", "情報"), ("けして", "消して"), ("なまえ", "名前"), ("でんわ", "電話"),
    ("なおして", "直して"), ("まちがって", "間違って"), ("かいしゃ", "会社"), ("さくじょ", "削除"),
    ("ていしゅつ", "提出"), ("じゅうしょ", "住所"), ("けしといて", "消しといて"),
    ("けしておいて", "消しておいて"), ("きろく", "記録"), ("とうろく", "登録"),
    ("でんわばんごう", "電話番号"),
    # The rights and their objects as a person writes them without kanji (elderly writers, old
    # phones' half-width katakana, which is read as hiragana when a text has no kanji at all).
    ("かいじょ", "解除"), ("かいじ", "開示"), ("ていせい", "訂正"), ("ていし", "停止"),
    ("はいしん", "配信"), ("ていきょう", "提供"), ("ていけいさき", "提携先"), ("へんこう", "変更"),
    ("こじんじょうほう", "個人情報"), ("たいかい", "退会"), ("わたさないで", "渡さないで"),
    ("おくらないで", "送らないで"), ("おしえて", "教えて"), ("めーる", "メール"),
    ("めるまが", "メルマガ"), ("あかうんと", "アカウント"), ("でーた", "データ"),
    ("しょーとめーる", "ショートメール"), ("れんらく", "連絡"), ("おねがい", "お願い"),
    ("がいしゃ", "会社"), ("でんき", "電気"), ("おしえない", "教えない"),
    ("たしゃ", "他社"), ("ていけい", "提携"), ("ばんごう", "番号"), ("とうろくして", "登録して"),
    ("みせて", "見せて"), ("かえて", "変えて"), ("もっています", "持っています"),
    # Telegrams and old phones write small kana large ("ジヨウホウ", "サクジヨ", "イツサイ").
    ("こじんじようほう", "個人情報"), ("じようほう", "情報"), ("ていきよう", "提供"),
    ("さくじよ", "削除"), ("いつさい", "一切"), ("ねがう", "願う"), ("ねがい", "願い"),
    ("ついか", "追加"), ("かわりました", "変わりました"), ("ひっこしました", "引っ越しました"),
)  # fmt: skip

# Japanese written in romaji (writers abroad without a Japanese keyboard): whole ASCII words
# read as the Japanese they spell, so the rules' phrases meet them.
ROMAJI: dict[str, str] = {
    "sakujo": "削除", "kaiji": "開示", "teisei": "訂正", "teishi": "停止", "haishin": "配信",
    "teikyou": "提供", "teikyo": "提供", "teikeisaki": "提携先", "henkou": "変更",
    "henko": "変更", "kojin jouhou": "個人情報", "kojin johou": "個人情報",
    "kojin joho": "個人情報", "kojinjouhou": "個人情報", "jouhou": "情報", "johou": "情報",
    "joho": "情報", "taikai": "退会", "touroku": "登録", "denwa": "電話", "merumaga": "メルマガ",
    "keshite": "消して", "tomete": "止めて", "yamete": "やめて", "kudasai": "ください",
    "onegai": "お願い", "shimasu": "します", "shite": "して", "watasanaide": "渡さないで",
    "okuranaide": "送らないで", "juusho": "住所", "jusho": "住所", "namae": "名前",
    "seikyuu": "請求", "seikyu": "請求", "irai": "依頼", "riyou": "利用", "riyo": "利用",
    "oshiete": "教えて", "renraku": "連絡", "shinaide": "しないで",
    "nani": "何", "hozon": "保存", "sarete": "されて", "misete": "見せて", "motte": "持って",
    "watashita": "渡した", "watashi": "私", "kaisha": "会社", "gaisha": "会社", "dono": "どの",
    "doko": "どこ", "dare": "誰",
}  # fmt: skip
# ...and, where a text is written in romaji (two of these words), its particles too.
ROMAJI_TEXT = re.compile(r"\b(?:kudasai|onegai|shimasu|desu|masu|shite|imasu|arimasen)\b")
ROMAJI_PARTICLES: dict[str, str] = {
    "wo": "を", "no": "の", "wa": "は", "ga": "が", "ni": "に", "de": "で", "mo": "も", "to": "と",
    "ka": "か",
    "mail": "メール", "meeru": "メール",
}  # fmt: skip

# A heading over a list of what the sender does not want ("■してほしくないこと", "What I don't
# want:"): the rights named in the list under it are not asked.
NOT_WANTED_HEADING = re.compile(
    r"^\W{0,3}(?:(?:して)?ほしくない(?:こと|もの)|希望しない(?:こと|もの)|不要な(?:こと|もの)|"
    r"お願いしない(?:こと|もの)|求めない(?:こと|もの)|(?:what )?i (?:don't|do not) want|"
    r"not (?:requested|wanted|needed)|please do not)\W{0,3}$",
    re.MULTILINE,
)
# A form's option left unticked ("( ) Deletion", "[ ] 利用停止", "□ 開示", "× 削除"): not asked.
UNTICKED = re.compile(r"^\s*(?:\(\s*\)|\[\s*\]|[□☐×✕✗])")
# ...and one ticked ("[x] Access / disclosure", "☑ 削除", and "■ 削除" in a list that has "□"
# options too; alone, "■" opens a heading): the right on that short line is asked outright.
TICKED = re.compile(r"^\s*(?:[☑☒✅✓✔]|\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔●]\s*\))")
TICKED_IN_CHECKLIST = re.compile(r"^\s*■")
TICKS = re.compile(r"^\s*(?:[☑☒✅✓✔■]|\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔●]\s*\))", re.MULTILINE)
CHECKLIST = re.compile(r"^\s*[□☐]", re.MULTILINE)
TICKED_LINE_MAX = 40  # characters: an option, not a sentence that starts with a mark
TICKED_WEIGHT = 0.85

# "Keep my account": whatever else the mail says, it is not asking for deletion.
KEEP = re.compile(
    r"(?:アカウント|登録|会員|情報|データ)(?:は|も)?(?:残して|そのままに|消さないで)|"
    r"(?<!have to )(?<!has to )(?<!need to )(?<!needs to )(?<!must )(?<!required to )(?<!obliged to )(?<!you )(?<!they )(?<!we )\bkeep (?:my|the) (?:account|data|profile|membership)\b"
)
KEEP_FACTOR = 0.4
# A web form relayed by the site: its acknowledgement lines are not an auto-reply.
FORM_RELAY = re.compile(
    r"フォームから|送信がありました|(?:お問い合わせ|ご相談|ご依頼)(?:内容|本文)\s*:|"
    r"\b(?:form submission|new submission|submitted via|message|comments?)\s*:"
)
# ...and one that says a form's submission came in ("フォームより、以下の内容で送信がありました")
# relays a person's text even where it adds that a machine sent the notification itself.
# The same holds for the site's other channels that pass a person's words on by machine: the app's
# feedback form ("アプリからご意見が送信されました"), a survey's free-text answer ("新しい回答が送信
# されました"), the member page's request form and a chatbot handing over a conversation it could
# not finish ("解決できなかった会話を転送します").
FORM_SUBMISSION = re.compile(
    r"(?:以下の内容で)?送信がありました|"
    r"(?:フォーム|アプリ|マイページ|アンケート|サイト|ページ)(?:から|より|で).{0,20}?(?:送信|投稿)されました|"
    r"新しい回答|(?:会話|チャット|やり取り|やりとり)(?:の内容|の履歴|ログ)?を(?:自動)?転送|"
    r"\b(?:new (?:form )?(?:submission|response|entry)|form submission|submitted via)\b|"
    r"\b(?:feedback|response|message|request) (?:was |has been )?(?:submitted|sent) "
    r"(?:from|via|through|in|on) (?:the |our )?(?:app|form|web ?site|site|my ?page|member page)\b|"
    r"\b(?:chat|conversation) (?:transcript|log|history)\b"
)
# ...and so does a privacy-request service's system sending a person's request as their agent
# ("as authorized agent for the consumer", "has asked us to send you this request on his behalf"):
# its mail carries Auto-Submitted, its request is the person's.
AGENT_RELAY = re.compile(
    r"\bauthori[sz]ed agent\b|\basked us to (?:send|submit|forward) (?:you )?(?:this|the following|a) "
    r"request\b|\bon (?:his|her|their) behalf\b|\bon behalf of (?:the |our )?(?:consumer|user|"
    r"customer|client|data subject)s?\b|(?:代理人|代理)として.{0,30}(?:請求|依頼|申請|申し入れ)"
)
# ...but not a system's acknowledgement of a request it received ("Your request (#NW-48213) has been
# received"), which may quote an agent's subject.
ACKNOWLEDGEMENT = re.compile(
    r"\b(?:has been received|we have received your|reply above this line|ticket (?:number|#|id))|"
    r"受け付けました|受付いたしました|受付番号"
)
# A system telling the sender it received their request speaks to them ("We have received your
# request: 'please delete…'"): the request it quotes is not a person's, relayed, however a model
# reads its words (``handlers.classify._relayed_by_model``). A relay speaks of the person
# ("お客様より…とのこと", "CUSTOMER: …") or gives their words in a form's content field
# ("お問い合わせフォームから以下の内容を受け付けました … お問い合わせ内容：…"); a helpdesk's
# "reply above this line" is in both.
RECEIVED = re.compile(
    r"\b(?:has been received|(?:we|i) (?:have )?received your)\b|"
    r"受け付けました|受付いたしました|受け付けいたしました|お受けしました"
)
# ...unless the mail says outright that a machine sent it.
MACHINE_TEXT = re.compile(
    r"自動送信|自動返信|自動配信|自動で(?:お知らせ|送信|配信|返信)|ご返信いただいても|送信専用|"
    r"\b(?:automated message|automatic reply|auto-?reply|do not reply|not monitored)\b"
)

# Cues over one sentence -------------------------------------------------------------------------
# A rights phrase inside a question about procedure or possibility is an inquiry, not the request.
PROCEDURAL = re.compile(
    r"(?<!いただく)(?<!もらう)(?<!頂く)(?:ことは|のは|ことが|ことも)(?:できますか|できるでしょうか|できますでしょうか|できるのでしょうか|可能でしょうか|可能ですか)"
    r"|(?:どうすれば|どのようにすれば|どうしたら|どうやれば|どうやったら|どうやって(?:頼|依頼|申請|請求|手続|お願い)|(?:どちら|どれ)を(?:申請|請求|依頼|選べ)|何が違う|違いは|どのように(?:申請|請求|手続|すれば|頼め|依頼)|方法を?(?:教えて|知りたい)|手続き(?:の方法|方法|を教えて)|手順|必要な(?:書類|もの)|何が必要)"
    r"|(?:しようか|するか|しようと|するべきか)(?:検討|考えて|迷って)|(?:を|の)?(?:検討して(?:い|おり)ます|検討している|考えています|考えているのですが)|決めて(?:いません|おりません)"
    r"|(?:する前に|前に確認)|(?:どの|どんな)書類|(?:手数料|費用)は?(?:いくら|かかり)|支払い?方法|手続き(?:について|に関して|に関する|の流れ|の方法)"
    r"|(?:する|した|お願いする|依頼する|請求する|申請する)場合"
    r"|(?:したら|すると|した場合|しても(?!ら)).{0,30}(?:どうなり|どうなる|消え|残り|残る|見られ)"
    r"|\b(?:how (?:do|can|would|should|could) (?:i|we|one)(?! make you\b)|how to|is it possible to|(?:can|could) i(?! (?:get|have|receive|obtain|see)\b)|"
    r"am i able to|would i be able to|what (?:do i|would i) need|what\b.{0,20}\b(?:do|would|will) i need|(?:which|what) (?:kind of )?(?:identity |id |identification )?documents?|do you accept|"
    r"before i (?:submit|send|make|decide|request)|do i (?:have|need) to|is there (?:a|any) (?:fee|charge|cost)|fee for|how long does it|how much does it|"
    r"if i (?:asked|ask|were to|want|wanted|request|requested|decide|close|delete)|not requesting|"
    r"thinking (?:about|of) (?:requesting|asking|making)|"
    r"(?:would|will|does|do|is|are) (?:my|the) (?:data|account|information|details|records?)\b.{0,30}\b(?:be |get )?(?:deleted|erased|removed|kept|stored|shared))\b"
)
# ...and a hypothetical ("もし退会したら、データは消えますか") is one too, unless the request itself
# follows it firmly ("もし難しければ、会員登録を抹消していただいても構いません": a conditional request).
HYPOTHETICAL = re.compile(
    r"(?:もし|仮に)(?!(?:可能|よろしけ|差し支えな|お手数|ご面倒|ご迷惑))(?!で(?:き|あ)).{0,40}(?:たら|れば|場合)"
)
FIRM_REQUEST = re.compile(
    r"[^。!?？\n]{0,20}?(?:ください|下さい|構いません|かまいません|結構です|お願いします|お願いいたします|"
    r"お願い致します|ほしいです|欲しいです)"
)
QUESTION_END = re.compile(r"(?:[?？]|か[。.]?|ですか|ますか|でしょうか)\s*$")
# English negation in the words before a phrase ("I'm not asking you to delete").
NEGATION_BEFORE = re.compile(r"\b(?:not|never|no need to|rather than|instead of|without)\b|n't\b")
# A request the sender made before and mentions now ("I submitted an access request on 2 Sept").
PAST_REQUEST_BEFORE = re.compile(
    r"\b(?:i|we) (?:already |have |had )?(?:submitted|sent|made|filed|asked(?: you)?(?: to)?|requested|emailed)\b[^.]{0,40}$"
    r"|\basked you to\b[^.]{0,10}$"
    r"|(?:お願いした|依頼した|請求した|申請した|送った|お送りした|申し込んだ)[^。、]{0,2}$"
)
PAST_REQUEST_AFTER = re.compile(
    r"^[^。!?\n]{0,14}?(?:ましたが|ましたけど|ましたのに|したのに|ったのに|たのですが|した際|した時|したとき|"
    r"したところ|ておりますが|ていますが|ているのに|ていたのに|送ったが|したが)"
)
PAST_TENSE_END = re.compile(r"(?:ました|でした)[。!]?$")
# A request someone asked the writer to pass on ("組合員さんから「登録を消して」と頼まれました"):
# told in the past tense, but the person's request, not an earlier one of the writer's.
RELAYED_AFTER = re.compile(
    # "サポート宛に開示請求が届きました。ご対応お願いします": a request that came in, passed on.
    r"^(?:の)?(?:ご)?(?:依頼|請求|申し出|申出|要望|希望)?(?:が|も)(?:届きました|ありました|入りました|来ました|届いて|入って|来て)|"
    r"^[^。!?\n」』]{0,20}?(?:て|で|ください|下さい|ほしい|欲しい|たい|お願い(?:します)?|もらって|もらいたい|ちょうだい|くれ)"
    r"[。!?]?[」』]\s*(?:と|って)[^。!?\n]{0,6}?"
    r"(?:頼まれ|依頼され|言われ|言って|申して|おっしゃ|希望され|連絡があり|連絡を受け|相談され|伝えて)"
)
# What the sender wants now, told before a past tense that explains ("変更をしたいのですが、
# 当てはまる項目がなかったのでこちらを選びました"): not a request told as history.
WANTING = re.compile(r"^[^。!?\n]{0,8}?たい(?:の|ん|です|と|けど|が|[、,])")
# The desk's acknowledgement quoted in the sentence that tells of a request ("削除をお願いして、
# 「承りました」と返信ももらっています"): the request is history.
ACK_QUOTED = re.compile(
    r"[「『][^」』]{0,20}?(?:受け付けました|受付いたしました|承りました|受付完了|受け付けております)[^」』]{0,10}[」』]"
)
ASKING = re.compile(
    r"ください|下さい|ほしい|欲しい|願いします|願います|願いいたします|願い申し上げ|"
    r"いただけ(?:ますか|ないでしょうか|れば)|いただきたい|もらえ(?:ますか|ない)|頂け"
)
# Japanese negation right after a phrase ("削除をしたいわけではなく").
NEGATION_AFTER = re.compile(
    r"^(?:いただいた|していただいた|頂いた|してもらった|してくださった)(?!ら)|^い(?:ありません|ございません|ない|なし)"
    r"|^[^。!?\n]{0,6}?(?:とか|や|も)、?[^。!?\n]{0,25}?(?:わけでは|訳では)"
    r"|^[^、,。!?\n]{0,15}?(?:わけでは|訳では|話では|ことでは|ではなく|ではありません|じゃなく|じゃない|は不要|は必要(?:ありません|ない)|"
    r"しなくて|しないで|されたくない|したくない|たくありません|は結構|つもりは|予定は(?:ない|ありません)|ないでください|"
    r"済ませ|済み|完了しています|することになって(?:いる|います|おり)|"
    r"(?:して|し)(?:い|おり)?ません(?!か)|していない|は(?:あり|ござい)ません(?!か)|はない|なし(?!で))"
)
# A sentence is about personal data (so a question in it is a privacy inquiry).
PRIVACY_TOPIC = re.compile(
    r"個人情報|個人データ|情報|データ|cookie|クッキー|プライバシー|同意|提供|開示|削除|訂正|利用停止|本人確認|委任状|代理|"
    r"録音|記録|共同利用|利用目的|未成年|保存|保管|特定でき|履歴|退会|\b(?:data|information|info|privacy|consent|shared?|sharing|personal|recordings?|"
    r"cookies?|deletion|delete|erasure|access request|documents?|details|policy|retention|records?|tracking|analytics|"
    r"processing|retained|behalf|request)\b"
)
# A web form's category field names a topic the sender picked, not what they wrote.
FORM_FIELD = re.compile(
    r"^(?:お問い合わせ)?(?:種別|区分|カテゴリ|カテゴリー|内容区分|topic|category|subject|件名|type)\s*:"
)
FORM_FIELD_WEIGHT = 0.5
# The sender takes back an earlier request: rights phrases in the message are history, not asks.
WITHDRAWAL = re.compile(
    r"(?:依頼|請求|申請|申し出|お願い|申し込み)(?:を|は)?(?:取り下げ|撤回|取り消|キャンセル)|取り下げさせて|取り下げます|取り下げたい|"
    r"(?:依頼|請求|申請|お願い)(?:は|が)?不要になりました|\b(?:disregard|ignore) (?:my|the) (?:previous|earlier|last)\b|"
    r"\bwithdraw\b.{0,30}\brequest\b|\bcancel\b.{0,30}\brequest\b|\bchanged my mind\b"
)
# The sender speaks of their own (or their family's) personal data: a question or a grievance
# about it may be a request in other words, so a person decides (DESIGN rule 6).
OWN_DATA = re.compile(
    r"(?:私|わたし|わたくし|自分|僕|ぼく|俺|本人|家族|母|父|妻|夫|娘|息子|子供|子ども)(?:の|が|について|に関する)"
    r".{0,12}(?:個人情報|情報|データ|電話番号|番号|住所|メールアドレス|アドレス|氏名|名前|登録|アカウント|会員|履歴|記録)|"
    r"登録(?:情報|内容|した情報|している情報)|"
    r"\b(?:my|our|his|her|their) (?:own )?(?:personal )?(?:data|information|info|details|account|"
    r"phone(?: number)?|(?:mobile|cell) number|number|address|e-?mail(?: address)?|records?|profile|name)\b|"
    r"\b(?:about|on) me\b"
)
# Text that names machine mail only to say it is missing ("not even an auto-reply", "is this a
# bot?") is a person talking: without machine headers, such words do not make machine mail.
MACHINE_NEGATED = re.compile(
    r"(?:自動返信|自動応答|受付完了|返信)(?:の(?:メール|連絡))?(?:すら|さえ|も)(?:(?:来|き)(?:ない|ません|ず)|(?:届|とど)(?:かない|きません|かず)|ない|ありません)|"
    r"\b(?:not even|no|never (?:got|received|had)|didn't (?:even )?(?:get|receive)|did not (?:even )?(?:get|receive)|without)"
    r" (?:an? |any )?(?:automatic reply|auto[- ]?reply|auto[- ]?response|automated (?:reply|response|message)|acknowledge?ment|confirmation)\b|"
    r"\b(?:is|are) (?:this|you|anyone) (?:a )?(?:bot|robot|machine)\b|\bbot\?"
)
# A note that passes someone else's mail on (a partner's support desk, a colleague): "転送いたします",
# "the customer below", "forwarding so you can process it". Such a note, longer than a line or
# two, still asks nothing of its own; what is asked is in the mail it passes on.
PASSING_ON = re.compile(
    r"転送(?:いた|さ|を)?(?:し|せ)(?:ます|ました|ていただ|させていただ)|転送いたします|転送します|"
    r"転送(?:する|して)(?:よう|ように)?(?:頼まれ|依頼され|言われ)|(?:送って|転送して)(?:おいて|ほしい)と(?:頼まれ|言われ)|"
    r"回します|お回しします|下記(?:の|は)?(?:お客様|お客さま|ご請求|ご依頼|メール|お申し出|お問い合わせ)|"
    r"(?:お客様|お客さま|会員(?:の方|様))(?:から|より)(?:の|届いた)?(?:メール|ご依頼|お申し出|ご請求|お問い合わせ|ご連絡)|"
    r"\bforward(?:ing|ed)?\b|\b(?:the|this|his|her|their|our) (?:customer|message|e-?mail|mail|request|note) below\b|"
    r"\bpass(?:ing)? (?:this|it) (?:on|along)\b|\bfyi\b|\basked me to (?:forward|pass on|send)\b|"
    r"\bpass(?:ing|ed)? (?:this |it )?(?:on |along )?to (?:you|privacy|the privacy (?:team|desk))\b|"
    r"\bcame (?:in)?to our\b.{0,30}\b(?:inbox|mailbox|address|queue)\b",
    re.IGNORECASE,
)
# A confidentiality disclaimer's sentence ("If you received this in error, please notify the
# sender and delete it") asks nothing of the desk: from the sentence's start to the end of its
# line it is set aside before the rules read (``handlers.classify.without_disclaimers``).
DISCLAIMER = re.compile(
    r"(?:received (?:this|it|this (?:e-?mail|message|communication)) in error|"
    r"(?:intended|meant) (?:only|solely) for the (?:use of the )?(?:addressee|intended recipient|named)|"
    r"誤って(?:本|この)?(?:メール|電子メール)を受信|(?:本|この)メールにお心当たりのない場合)",
    re.IGNORECASE,
)
# Words one of which every DISCLAIMER match holds (lower case): without them it is not searched.
DISCLAIMER_HINTS = ("in error", "intended", "meant", "誤って", "お心当たり")
# Subjects of replies and forwards say what an earlier message was about, not this one.
REPLY_SUBJECT = re.compile(r"^\s*(?:re|fw|fwd|aw|tr|返信|転送)\s*(?:\[\d+\])?\s*[:：]", re.I)
SUBJECT_WEIGHT = 0.7  # subject evidence counts for less than the body's
# A body that points at the subject ("件名のとおりです", "as per subject") says the subject is its
# request: the subject's evidence then counts as the body's.
AS_SUBJECT = re.compile(
    r"件名(?:の|に)?(?:とおり|通り|どおり|記載|書いた|のまま|の件|にある)|題名(?:の|に)?(?:とおり|通り)|"
    r"\b(?:as|see) (?:per |in |the )?(?:the )?subject\b|\bsubject says it all\b"
)

# A subject that is a request and nothing more ("Delete", "Unsubscribe please", "削除依頼",
# "配信停止希望"): the body beneath it (a member number, a name) does not have to repeat it.
BARE_REQUEST_SUBJECT = re.compile(
    r"\W*(?:(?:please|pls|plz)\s+)?(?:delete(?: me| my account| my data)?|erase(?: me| my data)?|unsubscribe(?: me)?|"
    r"opt[- ]?out|remove me|data deletion|account deletion|access request|subject access request|"
    r"削除|消去|抹消|退会|配信停止|配信解除|メルマガ解除|開示|訂正|利用停止|第三者提供(?:の)?停止|"
    r"(?:個人)?情報(?:の)?(?:削除|開示|訂正|利用停止))"
    r"(?:\s*(?:please|pls|plz|request|依頼|希望|請求|申請|お願い(?:します|いたします)?|して(?:ください|下さい)?|願い))?\W*",
    re.IGNORECASE,
)
BARE_SUBJECT_WEIGHT = 0.85
# ...and a request the sender put in brackets into a subject, their own or a reply's ("Re: Autumn
# Fibre Deal [please remove me from this list]", "【配信停止希望】都市ガスの比較について"): a tag that
# asks is the request, beside whatever the body asks.
SUBJECT_TAG = re.compile(r"[【\[（(]([^】\]）)]{2,60})[】\]）)]")
TAG_ASKS = re.compile(
    r"希望|ください|下さい|お願い|して$|please|pls|\bno more\b|\bstop\b", re.IGNORECASE
)
TAG_WEIGHT_MIN = 0.8  # the tag's own rule must be this sure

# Header signals (mail.machine) that prove a machine sent the message.
STRONG_MACHINE_SIGNALS = frozenset(
    {"auto-submitted", "delivery-report", "read-receipt", "return-path-null", "x-autoreply", "x-autorespond",
     "x-autogenerated", "feedback-report", "x-fc-machinegenerated"}
)  # fmt: skip
BULK_SIGNALS = frozenset({"precedence", "list-id", "list-unsubscribe"})
# Signals a web form's notification carries too (its system sends it, with Auto-Submitted or an
# empty Return-Path): with a form's fields in the text and no machine words, the mail is the
# person's, relayed. Bounces, read receipts and out-of-office flags never are.
RELAY_SIGNALS = frozenset(
    {"auto-submitted", "return-path-null", "x-autogenerated", "x-fc-machinegenerated"}
)
# Auto-Submitted: auto-replied (mail.machine): a reply to a message, never a relay.
REPLY_SIGNAL = "auto-replied"
MACHINE_SENDER_WEIGHT = 0.3
BULK_WEIGHT = 0.35

# Decision thresholds: rights requests are taken at lower confidence because missing one is worst.
THRESHOLDS: dict[str, float] = {
    "disclosure": 0.45, "correction": 0.45, "deletion": 0.45, "stop_use": 0.45,
    "stop_provision": 0.45, "complaint": 0.5, "inquiry": 0.5, "provider_correction": 0.6,
    "rate_question": 0.5, "auto_reply": 0.5, "spam": 0.6,
}  # fmt: skip
TRIAGE_BAND = 0.2  # confidence within this distance under a threshold sends the message to a human


# Words of each right anywhere in a text (after prepare(): folded, kana and romaji read): no
# request by themselves, but where the learned model reads a second request beside the rules'
# one, they are the lexical evidence that lets it be added (handlers.classify.combine).
MENTIONS: dict[str, re.Pattern[str]] = {
    "disclosure": re.compile(
        # Records are named to be shown ("提供記録", "records of who received it"), but as often
        # to be erased ("私の記録はすべてお消しください"): only the first are a disclosure's words.
        r"開示|見せて|教えて|写し|コピー|一覧|提供記録|記録(?:を|も)?(?:見|確認|閲覧|送|出し|いただ)|どんな情報|何を持って|"
        # A copy to be sent ("a copy of my data", "send me a copy"), not the copies an erasure
        # reaches ("any copies held by your processors").
        r"\b(?:access|cop(?:y|ies) of|(?:send|give|provide|email|receive|get|want|request)(?: me)? (?:a |an |the )?(?:electronic |full |complete )?cop(?:y|ies)|disclos\w*|what (?:data|information|personal|you hold)|"
        r"which (?:companies|third|partners|ones)|list of|records? of|(?:see|view|get|send|receive) (?:the |my |your )?records?|"
        r"who (?:received|has)|sar|"
        r"confirm whether|tell me)\b"
    ),
    "correction": re.compile(
        r"訂正|変更|修正|間違|誤り|直して|改め|正し|になりました|に変わ|を登録して(?:ください|ほしい|もらえ|いただ)|"
        r"\b(?:correct\w*|wrong|updat\w*|outdated|mistake\w*|chang\w*|misspel\w*|spel(?:led|t|ling)|fix|"
        r"rectif\w*|should be|(?:registered|stored|recorded|listed) as)\b"
    ),
    "deletion": re.compile(
        r"削除|消去|抹消|消して|消し|退会|破棄|処分|引き取り|"
        r"\b(?:delet\w*|eras\w*|remov\w*|forget|close (?:my|the|his|her) account)\b"
    ),
    "stop_use": re.compile(
        r"メール|メルマガ|配信|電話|sms|ショートメール|連絡|案内|広告|お便り|勧誘|"
        # An "email address" or a "phone number" identifies the sender; it names no contact. CCPA's
        # "opt out of the sale and sharing" of data "for cross-context behavioral advertising" is
        # its provision to others.
        r"\b(?:e-?mails?(?! address)|newsletters?|marketing|calls?|phon\w*(?! number)|texts?|unsubscrib\w*|"
        r"opt(?:[- ]?out| me out)(?! of (?:the )?(?:sale|sharing|selling))|contact\w*|"
        r"(?<!behavioral )(?<!behavioural )advertis\w*|ads|promot\w*|letters|profiling)\b"
    ),
    "stop_provision": re.compile(
        r"第三者|提携|他社|ほかの会社|渡さ|渡して|提供|売|共有|名簿|お出し|お回し|教えるの|"
        r"\b(?:partners?|partner's|third[- ]part\w*|shar(?:e|ed|ing)|sell\w*|sale|sold|"
        r"pass(?:ed|ing)?|providers?|disclos\w* to|companies)\b"
    ),
}
