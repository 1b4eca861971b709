"""Train the model that ships with the package (handlers/data/model.npz) from the shipped
training data (handlers/data/training.jsonl), and score it on the shipped evaluation data.

    python tools/train_shipped.py

The evaluation data (handlers/data/evaluation.jsonl) is never trained on: it is what
``privacy-desk train`` measures a new model against before it replaces the active one.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers import training

OUT = Path(__file__).resolve().parent.parent / "handlers" / "data" / "model.npz"


def main() -> int:
    examples = training.shipped("training")
    version = training.version_of(datetime.now(UTC).strftime("%Y%m%d-%H%M%S"), examples)
    fitted = training.fit(examples, version=version, meta={"trained_by": "tools/train_shipped.py"})
    scores = training.evaluate(fitted.model, training.shipped("evaluation"))
    model = training.with_scores(fitted.model, scores)
    OUT.write_bytes(model.dumps())
    print(
        f"{version}: {len(examples)} examples, {len(model.vocabulary)} features; on the shipped "
        f"evaluation data macro-F1 {scores.macro_f1:.3f}, rights recall {scores.rights_recall:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
