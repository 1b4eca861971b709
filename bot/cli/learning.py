"""``privacy-desk train`` and ``privacy-desk examples import``: the classifier learns from staff."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.context import Context, Subcommands
from bot.cli.output import Progress
from bot.errors import UsageError

if TYPE_CHECKING:
    from handlers.training import Scores  # scikit-learn is imported only by ``train``


def cmd_examples_import(args: argparse.Namespace, ctx: Context) -> int:
    """A labelled corpus folder becomes labelled examples (no case, no listing)."""
    from bot.learning import LearningError, import_examples

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    if not (folder / "labels.jsonl").is_file():  # bad input is said before the database is opened
        raise UsageError(f"{folder}: no labels.jsonl (a corpus folder in the LABELS.md format)")
    with ctx.database() as engine:
        try:
            done = import_examples(engine, folder, actor=args.as_, now=datetime.now(UTC))
        except LearningError as exc:
            raise UsageError(str(exc)) from None
    ctx.out.write(
        f"{done.added} labelled examples imported, {done.updated} relabelled "
        f"(train with `privacy-desk train` to use them)\n"
    )
    for line in done.unreadable:
        ctx.out.write(f"unreadable: {line}\n")
    return 1 if done.unreadable else 0


def cmd_train(args: argparse.Namespace, ctx: Context) -> int:
    try:
        from bot.learning import TRAIN_STEPS, train
    except ImportError:  # pragma: no cover - an install without the extra
        raise UsageError("training needs scikit-learn: pip install 'privacy-desk[train]'") from None
    with ctx.database() as engine, Progress(len(TRAIN_STEPS), unit="step") as progress:
        try:
            done = train(engine, actor=args.as_, now=datetime.now(UTC), on_step=progress.step)
        except ImportError:
            raise UsageError(
                "training needs scikit-learn: pip install 'privacy-desk[train]'"
            ) from None
    previous = done.previous_version or "none (rules alone)"
    ctx.out.write(
        f"model {done.version}: {done.examples} examples ({done.from_database} from the database)\n"
        f"on the shipped evaluation data:  {_scores(done.scores)}\n"
        f"the model in use, {previous}:  {_scores(done.previous_scores)}\n"
    )
    if done.activated:
        ctx.out.write(f"{done.version} is now the active model\n")
        return 0
    ctx.out.write(f"{done.version} kept but not used: {done.why_not}\n")
    return 1


def _scores(scores: Scores) -> str:
    return (
        f"macro-F1 {scores.macro_f1:.4f}  rights recall {scores.rights_recall:.4f} "
        f"({scores.rights_covered:.4f} counting those sent to a person)"
    )


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "train", help="train the classifier on the shipped data and the labelled examples"
    )
    p.add_argument(
        "--as",
        dest="as_",
        required=True,
        metavar="NAME",
        help="who trains (recorded with the model)",
    )
    p.set_defaults(func=cmd_train)


def add_examples_import(examples: Subcommands) -> None:
    e = examples.add_parser(
        "import", help="a labelled corpus folder (LABELS.md format) as labelled examples"
    )
    e.add_argument("folder", metavar="FOLDER", help="a corpus folder: .eml files and labels.jsonl")
    e.add_argument(
        "--as", dest="as_", required=True, metavar="NAME", help="who imports (recorded with them)"
    )
    e.set_defaults(func=cmd_examples_import)
