"""Cross-validate the classifier on the project's own labelled data (handlers/data/*.jsonl).

    python tools/cross_validate.py [--folds 5] [--c 10] [--min-df 2] [--json]

Every shipped example (training and evaluation files together) is scored by a model that never
saw it nor any near-duplicate of it: folds are whole groups (``tools/build_training_data.py``),
and each outer fold's model picks its calibration and thresholds by an inner cross-validation of
its own training part. Three predictors are scored: the rules alone, the model alone (each intent
at its threshold) and the combination the desk runs (``handlers.classify.combine``).

Be honest about what this measures: the rules were written from this same data (the dev corpus
and the fixtures were tuned on), so "rules alone" and, through them, "combined" are flattered
here; "model alone" is a fair held-out figure for mail like this data, and none of them is a
measure on mail from new writers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from handlers import training
from handlers.classify import classify_rules, combine
from handlers.evaluate import Labelled, Report, score
from handlers.intents import ALL_INTENTS, RIGHTS


def _report(examples, predicted, triage) -> Report:  # type: ignore[no-untyped-def]
    gold = [Labelled(e.id, e.intents, e.language) for e in examples]
    return score(gold, predicted, [e.language for e in examples], triage)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=training.C)
    parser.add_argument("--min-df", type=int, default=training.MIN_DF)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the combination's mistakes")
    args = parser.parse_args()
    examples = training.shipped("training") + training.shipped("evaluation")
    fold = np.array([training.fold_of(e.fold_key, args.folds) for e in examples])
    rules = [classify_rules(e.subject, e.text, machine_signals=e.machine) for e in examples]
    model_pred: list[frozenset[str]] = [frozenset()] * len(examples)
    model_triage = [False] * len(examples)
    combined_pred: list[frozenset[str]] = [frozenset()] * len(examples)
    combined_triage = [False] * len(examples)
    for f in range(args.folds):
        train = [e for e, g in zip(examples, fold, strict=True) if g != f]
        fitted = training.fit(train, version=f"cv-{f}", c=args.c, min_df=args.min_df)
        model = fitted.model
        for i in np.flatnonzero(fold == f):
            e = examples[i]
            prediction = model.predict(e.subject, e.text)
            p = prediction.probability
            model_pred[i] = frozenset(
                intent for intent in ALL_INTENTS if p[intent] >= model.thresholds[intent]
            )
            model_triage[i] = any(
                t * 0.67 <= p[intent] < t
                for intent, t in model.thresholds.items()
                if intent in RIGHTS
            )
            both = combine(rules[i], prediction, model.thresholds, machine_signals=e.machine)
            combined_pred[i] = frozenset(both.intents)
            combined_triage[i] = both.needs_triage
    reports = {
        "rules alone": _report(
            examples, [frozenset(r.intents) for r in rules], [r.needs_triage for r in rules]
        ),
        "model alone": _report(examples, model_pred, model_triage),
        "combined": _report(examples, combined_pred, combined_triage),
    }
    if args.json:
        print(
            json.dumps({k: v.as_dict() for k, v in reports.items()}, ensure_ascii=False, indent=1)
        )
    else:
        print(
            f"{len(examples)} labelled messages, {args.folds}-fold cross-validation grouped by "
            f"near-duplicates (C={args.c}, min_df={args.min_df})\n"
        )
        print(
            f"{'predictor':<14}{'macro-F1':>9}{'rights recall':>15}{'missed msgs':>12}{'exact':>7}{'triage':>8}"
        )
        for name, r in reports.items():
            print(
                f"{name:<14}{r.macro_f1:>9.3f}{r.rights_recall:>15.3f}"
                f"{r.rights_messages_missed:>12}{r.exact_set_accuracy:>7.3f}{r.triaged:>8}"
            )
        print("\nper intent F1 (rules / model / combined):")
        for k, intent in enumerate(ALL_INTENTS):
            cells = " / ".join(f"{r.per_intent[k].f1:.3f}" for r in reports.values())
            print(
                f"  {intent:<20} {cells}   support {reports['rules alone'].per_intent[k].support}"
            )
    if args.errors:
        for e, pred in zip(examples, combined_pred, strict=True):
            if pred != e.intents:
                print(f"  {e.id}: expected {sorted(e.intents)} got {sorted(pred)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
