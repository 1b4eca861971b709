"""Cross-validate the classifier by holding out whole writers' sets (leave one writer out).

    python tools/cross_validate.py [--writers writer-a,writer-b] [--c 100] [--min-df 2] [--json]
    python tools/cross_validate.py --grouped [--folds 5]   # the older near-duplicate-group folds
    python tools/cross_validate.py --save held-out.jsonl  # and each held-out message's reading

Every shipped example (training and evaluation files together) whose id names a writer's set
(``writer-a:001.eml``) belongs to that writer. For each writer, a model is trained on everything
else (the other writers, the dev corpus, the classifier fixtures), picks its calibration and
thresholds by an inner cross-validation of that training part, and is scored on the held-out
writer's whole set: mail by a person whose phrasing the model never saw, which is what the desk
meets. Three predictors are scored: the rules alone, the model alone (each intent at its
threshold) and the combination the desk runs (``handlers.classify.combine``); per writer and as
the mean over writers.

Be honest about what this measures: the rules were tuned on some of these sets (USE.md), so
"rules alone" and, through them, "combined" are flattered; "model alone" is the fair figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from handlers import training
from handlers.classify import Classification, classify_rules, combine
from handlers.evaluate import Labelled, Report, rights_covered, score
from handlers.intents import ALL_INTENTS, RIGHTS
from handlers.model import Model

PREDICTORS = ("rules alone", "model alone", "combined")


def writer_of(example: training.Example) -> str:
    prefix = example.id.split(":", 1)[0]
    return prefix if prefix.startswith("writer-") else ""


def _report(
    examples: Sequence[training.Example], predicted: Sequence[frozenset[str]], triage: list[bool]
) -> Report:
    gold = [Labelled(e.id, e.intents, e.language) for e in examples]
    return score(gold, predicted, [e.language for e in examples], triage)


def _predict(
    model: Model, e: training.Example, ruled: Classification
) -> tuple[frozenset[str], bool, frozenset[str], bool]:
    prediction = model.predict(e.subject, e.text, ruled.masked)
    p = prediction.probability
    alone = frozenset(i for i in ALL_INTENTS if p[i] >= model.thresholds[i])
    alone_triage = any(t * 0.67 <= p[i] < t for i, t in model.thresholds.items() if i in RIGHTS)
    both = combine(ruled, prediction, model.thresholds, machine_signals=e.machine)
    return alone, alone_triage, frozenset(both.intents), both.needs_triage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grouped", action="store_true", help="near-duplicate-group folds")
    parser.add_argument("--folds", type=int, default=5, help="with --grouped")
    parser.add_argument("--writers", help="comma-separated writers to hold out (all by default)")
    parser.add_argument("--c", type=float, default=training.C)
    parser.add_argument("--min-df", type=int, default=training.MIN_DF)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the combination's mistakes")
    parser.add_argument(
        "--save",
        type=Path,
        help="write each held-out message's model probabilities and its fold's thresholds (JSON "
        "lines), so a change to how rules and model combine can be scored without refitting",
    )
    args = parser.parse_args()
    examples = training.shipped("training") + training.shipped("evaluation")
    if args.grouped:
        keys = [str(training.fold_of(e.fold_key, args.folds)) for e in examples]
        held_out = sorted(set(keys))
    else:
        keys = [writer_of(e) for e in examples]
        held_out = sorted(set(keys) - {""})
        if args.writers:
            held_out = [w for w in held_out if w in args.writers.split(",")]
    rules = [classify_rules(e.subject, e.text, machine_signals=e.machine) for e in examples]
    n = len(examples)
    preds: dict[str, list[frozenset[str]]] = {p: [frozenset()] * n for p in PREDICTORS}
    triage: dict[str, list[bool]] = {p: [False] * n for p in PREDICTORS}
    for i, r in enumerate(rules):
        preds["rules alone"][i], triage["rules alone"][i] = frozenset(r.intents), r.needs_triage
    per_fold: dict[str, dict[str, Report]] = {}
    saved: list[str] = []
    started = time.perf_counter()
    for key in held_out:
        train = [e for e, k in zip(examples, keys, strict=True) if k != key]
        held = [i for i, k in enumerate(keys) if k == key]
        model = training.fit(train, version=f"cv-{key}", c=args.c, min_df=args.min_df).model
        saved += [
            json.dumps(
                {
                    "id": examples[i].id,
                    "held_out": key,
                    "probability": model.predict(examples[i].subject, examples[i].text).probability,
                    "thresholds": model.thresholds,
                }
            )
            for i in held
        ]
        for i in held:
            (
                preds["model alone"][i],
                triage["model alone"][i],
                preds["combined"][i],
                triage["combined"][i],
            ) = _predict(model, examples[i], rules[i])
        part = [examples[i] for i in held]
        per_fold[key] = {
            p: _report(part, [preds[p][i] for i in held], [triage[p][i] for i in held])
            for p in PREDICTORS
        }
    seconds = time.perf_counter() - started
    if args.save:
        args.save.write_text("".join(f"{line}\n" for line in saved), encoding="utf-8")
    mean = {
        p: (
            float(np.mean([r[p].macro_f1 for r in per_fold.values()])),
            float(np.mean([r[p].rights_recall for r in per_fold.values()])),
        )
        for p in PREDICTORS
    }
    if args.json:
        print(
            json.dumps(
                {
                    "per_held_out": {
                        k: {p: r.as_dict() for p, r in v.items()} for k, v in per_fold.items()
                    },
                    "mean": {
                        p: {"macro_f1": round(f, 4), "rights_recall": round(r, 4)}
                        for p, (f, r) in mean.items()
                    },
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        how = f"{args.folds} near-duplicate-group folds" if args.grouped else "one writer out"
        print(f"{n} labelled messages, {how} (C={args.c}, min_df={args.min_df}), {seconds:.0f} s\n")
        print(
            f"{'held out':<10}"
            + "".join(f"{p + ' F1 / rights':>28}" for p in PREDICTORS)
            + "   combined: triaged, recall with triage"
        )
        for key, reports in per_fold.items():
            cells = "".join(
                f"{reports[p].macro_f1:>20.3f} / {reports[p].rights_recall:.3f}" for p in PREDICTORS
            )
            held = [i for i, k in enumerate(keys) if k == key]
            covered = rights_covered(
                [Labelled(examples[i].id, examples[i].intents, examples[i].language) for i in held],
                [preds["combined"][i] for i in held],
                [triage["combined"][i] for i in held],
            )
            share = reports["combined"].triaged / reports["combined"].messages
            print(f"{key:<10}{cells}{share:>14.0%} {covered:>10.3f}")
        cells = "".join(f"{mean[p][0]:>20.3f} / {mean[p][1]:.3f}" for p in PREDICTORS)
        print(f"{'mean':<10}{cells}")
        scored = [i for i, k in enumerate(keys) if k in per_fold]
        pooled = {
            p: _report(
                [examples[i] for i in scored],
                [preds[p][i] for i in scored],
                [triage[p][i] for i in scored],
            )
            for p in PREDICTORS
        }
        cells = "".join(
            f"{pooled[p].macro_f1:>20.3f} / {pooled[p].rights_recall:.3f}" for p in PREDICTORS
        )
        print(f"{'pooled':<10}{cells}")
        print("\nper intent F1 over the held-out sets (rules / model / combined):")
        for k, intent in enumerate(ALL_INTENTS):
            cells = " / ".join(f"{pooled[p].per_intent[k].f1:.3f}" for p in PREDICTORS)
            print(f"  {intent:<20} {cells}   support {pooled['rules alone'].per_intent[k].support}")
        labels = sum(len(examples[i].intents & set(RIGHTS)) for i in scored)
        silent = sum(
            len(examples[i].intents & set(RIGHTS) - preds["combined"][i])
            for i in scored
            if not triage["combined"][i]
        )
        print(
            "\ncombined: "
            f"{pooled['combined'].rights_messages_missed} rights messages missed, "
            f"{pooled['combined'].triaged} sent to triage of {len(scored)}; of {labels} rights "
            f"requests, {silent} missed without triage (which keeps the strictest clock): "
            f"recall with triage {1 - silent / labels:.3f}"
        )
    if args.errors:
        for i, k in enumerate(keys):
            if k in per_fold and preds["combined"][i] != examples[i].intents:
                print(
                    f"  {examples[i].id}: expected {sorted(examples[i].intents)} "
                    f"got {sorted(preds['combined'][i])}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
