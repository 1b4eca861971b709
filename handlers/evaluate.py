"""Score predicted intents against a labelled corpus (the LABELS.md format): pure arithmetic."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handlers.intents import ALL_INTENTS, AUTO_REPLY, PRIVACY, RIGHTS


@dataclass(frozen=True)
class Labelled:
    file: str
    intents: frozenset[str]
    language: str


@dataclass(frozen=True)
class IntentScore:
    intent: str
    support: int
    predicted: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Report:
    messages: int
    per_intent: tuple[IntentScore, ...]
    exact_set_accuracy: float
    rights_recall: float  # over every (message, rights intent) label
    rights_messages_missed: int  # messages with a rights request where none was predicted
    rights_covered: float  # rights recall counting a request sent to a person (triage)
    machine_as_request: int  # machine-sent mails given a privacy intent
    language_accuracy: float
    triaged: int

    @property
    def macro_f1(self) -> float:
        scored = [s for s in self.per_intent if s.support or s.predicted]
        return sum(s.f1 for s in scored) / len(scored) if scored else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "macro_f1": round(self.macro_f1, 4),
            "exact_set_accuracy": round(self.exact_set_accuracy, 4),
            "rights_recall": round(self.rights_recall, 4),
            "rights_messages_missed": self.rights_messages_missed,
            "rights_covered": round(self.rights_covered, 4),
            "machine_mail_treated_as_request": self.machine_as_request,
            "language_accuracy": round(self.language_accuracy, 4),
            "needs_triage": self.triaged,
            "per_intent": {
                s.intent: {
                    "support": s.support,
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                }
                for s in self.per_intent
            },
        }


class CorpusError(ValueError):
    """A corpus folder that does not follow the LABELS.md format."""


def load_labels(folder: Path) -> list[Labelled]:
    path = folder / "labels.jsonl"
    if not path.is_file():
        raise CorpusError(f"{folder}: no labels.jsonl")
    items: list[Labelled] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            intents = frozenset(obj["intents"])
            item = Labelled(str(obj["file"]), intents, str(obj.get("language", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{n}: not a label line ({exc})") from None
        unknown = intents - set(ALL_INTENTS)
        if unknown:
            raise CorpusError(f"{path}:{n}: unknown intents {sorted(unknown)}")
        items.append(item)
    return items


def rights_covered(
    gold: Sequence[Labelled], predicted: Sequence[frozenset[str]], triage: Sequence[bool]
) -> float:
    """Rights recall counting a request sent to a person (triage) as covered: it keeps the
    strictest clock while it waits (DESIGN rule 6)."""
    labels = sum(len(g.intents & set(RIGHTS)) for g in gold)
    silent = sum(
        len(g.intents & set(RIGHTS) - p)
        for g, p, t in zip(gold, predicted, triage, strict=True)
        if not t
    )
    return 1 - silent / labels if labels else 1.0


def score(
    gold: Sequence[Labelled],
    predicted: Sequence[frozenset[str]],
    languages: Sequence[str],
    triage: Sequence[bool],
) -> Report:
    per_intent = []
    for intent in ALL_INTENTS:
        support = sum(intent in g.intents for g in gold)
        pred = sum(intent in p for p in predicted)
        tp = sum(intent in g.intents and intent in p for g, p in zip(gold, predicted, strict=True))
        per_intent.append(IntentScore(intent, support, pred, tp))
    rights_total = sum(len(g.intents & set(RIGHTS)) for g in gold)
    rights_found = sum(
        len(g.intents & p & set(RIGHTS)) for g, p in zip(gold, predicted, strict=True)
    )
    missed = sum(
        1
        for g, p in zip(gold, predicted, strict=True)
        if g.intents & set(RIGHTS) and not p & set(RIGHTS)
    )
    machine = sum(
        1
        for g, p in zip(gold, predicted, strict=True)
        if AUTO_REPLY in g.intents and p & set(PRIVACY)
    )
    n = len(gold)
    return Report(
        messages=n,
        per_intent=tuple(per_intent),
        exact_set_accuracy=(
            sum(g.intents == p for g, p in zip(gold, predicted, strict=True)) / n if n else 1.0
        ),
        rights_recall=rights_found / rights_total if rights_total else 1.0,
        rights_messages_missed=missed,
        rights_covered=rights_covered(gold, predicted, triage),
        machine_as_request=machine,
        language_accuracy=(
            sum(g.language == lang for g, lang in zip(gold, languages, strict=True)) / n
            if n
            else 1.0
        ),
        triaged=sum(triage),
    )
