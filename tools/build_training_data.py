"""Build the learned model's shipped data (handlers/data/) from the project's labelled messages.

    python tools/build_training_data.py [--dev ../shared/corpus/dev]

Reads the short messages of tests/fixtures/classifier/*.jsonl, the mail of the dev corpus and
of the writers' sets in ``TRAINED_CORPORA`` (parsed as intake parses it: the subject and text the
desk reads, ``handlers.classify.classify_read``: the newest text or a forwarding note and the mail
it forwards, a relay's words under a rule line where intake reads them; machine-mail signals),
puts near-duplicates in one group (cosine >= GROUP_SIMILARITY over character 3-grams, joined
transitively; a group larger than MAX_GROUP is split at a higher similarity), and splits by group:
a group's fold is a stable hash of its first member's id modulo 5; fold 0 is the shipped
evaluation data (``evaluation.jsonl``: what a newly trained model is measured on and the shipped
model is not trained on), folds 1-4 the training data (``training.jsonl``). The same input (with
the model in use, which decides how a relay is read) always gives the same files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.classify import classify_read
from handlers.features import normalise
from handlers.training import fold_of
from mail.parse import parse_message

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ("cases", "holdout", "blind", "blind2")
GROUP_SIMILARITY = 0.5
MAX_GROUP = 200
SPLIT_STEP = 0.05
SIMILARITY_BLOCK = 2_000  # rows of the similarity product taken at a time (``groups``)
FOLDS = 5


# Evaluation sets by independent writers that have been scored once, before any change made
# because of them, and are training data since (tests/fixtures/corpus/USE.md). The sets not
# named here stay held out: nothing is trained or tuned on them.
TRAINED_CORPORA = (
    "writer-a",
    "writer-b",
    "writer-c",
    "writer-d",
    "writer-e",
    "writer-f",
    "writer-g",
    "writer-h",
    "writer-i",
    "writer-j",
    "writer-k",
    "writer-l",
    "writer-m",
    "writer-n",
    "writer-o",
    "writer-p",
    "writer-q",
    "writer-r",
    "writer-s",
    "writer-t",
    "writer-u",
    "writer-v",
    "writer-w",
    "writer-x",
    "writer-y",
    "writer-z",
    "writer-aa",
    "writer-ab",
    "writer-ac",
    "writer-ad",
    "writer-ae",
    "writer-af",
    "writer-ag",
    "writer-ah",
    "writer-ai",
    "writer-aj",
    "writer-ak",
    "writer-al",
    "writer-am",
    "writer-an",
    "writer-ao",
    "writer-ap",
    "writer-aq",
    "writer-ar",
    "writer-as",
    "writer-at",
    "writer-au",
    "writer-av",
    "writer-aw",
    "writer-ax",
    "writer-ay",
    "writer-az",
    "writer-ba",
    "writer-bb",
    "writer-bc",
    "writer-bd",
    "writer-be",
    "writer-bf",
    "writer-bg",
    "writer-bh",
    "writer-bi",
    "writer-bj",
    "writer-bk",
    "writer-bl",
    "writer-bm",
    "writer-bn",
    "writer-bo",
    "writer-bp",
    "writer-bq",
    "writer-br",
    "writer-bs",
    "writer-bt",
    "writer-bu",
    "writer-bv",
    "writer-bw",
    "writer-bx",
    "writer-by",
    "writer-bz",
    "writer-ca",
    "writer-cb",
    "writer-cc",
    "writer-cd",
    "writer-ce",
    "writer-cf",
    "writer-cg",
    "writer-ch",
    "writer-ci",
    "writer-cj",
    "writer-ck",
    "writer-cl",
    "writer-cm",
    "writer-cn",
    "writer-co",
    "writer-cp",
    "writer-cq",
    "writer-cr",
    "writer-cs",
    "writer-ct",
    "writer-cu",
    "writer-cv",
    "writer-cw",
    "writer-cx",
    "writer-cy",
    "writer-cz",
    "writer-da",
    "writer-db",
    "writer-dc",
    "writer-dd",
    "writer-de",
    "writer-df",
    "writer-dg",
    "writer-dh",
    "writer-di",
    "writer-dj",
    "writer-dk",
    "writer-dl",
    "writer-dm",
    "writer-dn",
    "writer-do",
    "writer-dp",
    "writer-dq",
    "writer-dr",
    "writer-dy",
    "writer-dz",
    "writer-ea",
    "writer-eb",
    "writer-ec",
    "writer-ed",
    "writer-ee",
    "writer-ef",
    "writer-eg",
    "writer-eh",
    "writer-ei",
    "writer-ej",
    "writer-ek",
    "writer-el",
    "writer-em",
    "writer-en",
    "writer-eo",
    "writer-ep",
    "writer-eq",
    "writer-er",
    "writer-es",
    "writer-et",
    "writer-eu",
    "writer-ev",
    "writer-ew",
    "writer-ex",
    "writer-ey",
    "writer-ez",
    "writer-fa",
    "writer-fb",
    "writer-fc",
    "writer-fd",
    "writer-fe",
    "writer-ff",
    "writer-fg",
    "writer-fh",
    "writer-fo",
    "writer-fp",
    "writer-fq",
    "writer-fr",
    "writer-fs",
    "writer-ft",
    "writer-fu",
    "writer-fv",
    "writer-fw",
    "writer-fx",
    "writer-fy",
    "writer-fz",
    "writer-ga",
    "writer-gb",
    "writer-gc",
    "writer-gd",
    "writer-ge",
    "writer-gf",
    "writer-gg",
    "writer-gh",
    "writer-gi",
    "writer-gj",
    "writer-gk",
    "writer-gl",
    "writer-gm",
    "writer-gn",
    "writer-go",
    "writer-gp",
    "writer-gq",
    "writer-gr",
    "writer-gs",
    "writer-gt",
    "writer-gu",
    "writer-gv",
    "writer-gw",
    "writer-gx",
    "writer-gy",
    "writer-gz",
    "writer-ha",
    "writer-hb",
    "writer-hc",
    "writer-hd",
    "writer-he",
    "writer-hf",
    "writer-hg",
    "writer-hh",
    "writer-hi",
    "writer-hj",
    "writer-hk",
    "writer-hl",
    "writer-hm",
    "writer-hn",
    "writer-ho",
    "writer-hp",
    "writer-hq",
    "writer-hr",
    "writer-hs",
    "writer-ht",
    "writer-hu",
    "writer-hv",
    "writer-ie",
    "writer-if",
    "writer-ig",
    "writer-ih",
    "writer-ii",
    "writer-ij",
    "writer-ik",
    "writer-il",
    "writer-hw",
    "writer-hx",
    "writer-hy",
    "writer-hz",
    "writer-ia",
    "writer-ib",
    "writer-ic",
    "writer-id",
    "writer-im",
    "writer-in",
    "writer-io",
    "writer-ip",
    "writer-iq",
    "writer-ir",
    "writer-is",
    "writer-it",
    "writer-iu",
    "writer-iv",
    "writer-iw",
    "writer-ix",
    "writer-iy",
    "writer-iz",
    "writer-ja",
    "writer-jb",
    "writer-jc",
    "writer-jd",
    "writer-je",
    "writer-jf",
    "writer-jg",
    "writer-jh",
    "writer-ji",
    "writer-jj",
    "writer-jk",
    "writer-jl",
    "writer-jm",
    "writer-jn",
    "writer-jo",
    "writer-jp",
    "writer-jq",
    "writer-jr",
    "writer-js",
    "writer-jt",
    "writer-ju",
    "writer-jv",
    "writer-jw",
    "writer-jx",
    "writer-jy",
    "writer-jz",
    "writer-ka",
    "writer-kb",
    "writer-kc",
    "writer-kd",
    "writer-ke",
    "writer-kf",
    "writer-kg",
    "writer-kh",
    "writer-ki",
    "writer-kj",
    "writer-kk",
    "writer-kl",
    "writer-km",
    "writer-kn",
    "writer-ko",
    "writer-kp",
    "writer-kq",
    "writer-kr",
    "writer-ks",
    "writer-kt",
    "writer-ku",
    "writer-kv",
    "writer-kw",
    "writer-kx",
)


def _corpus(folder: Path, prefix: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        msg = parse_message((folder / obj["file"]).read_bytes())
        _, (subject, text) = classify_read(msg)
        rows.append(
            {
                "id": f"{prefix}:{obj['file']}",
                "subject": subject,
                "text": text,
                "machine": list(msg.machine_signals),
                "intents": sorted(obj["intents"]),
                "language": obj["language"],
            }
        )
    return rows


def load(dev: Path | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in FIXTURES:
        path = ROOT / "tests" / "fixtures" / "classifier" / f"{name}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            rows.append(
                {
                    "id": f"{name}:{obj['id']}",
                    "subject": obj["subject"],
                    "text": obj["text"],
                    "machine": [],
                    "intents": sorted(obj["intents"]),
                    "language": obj["language"],
                }
            )
    if dev is not None:
        rows += _corpus(dev, "dev")
    for name in TRAINED_CORPORA:
        rows += _corpus(ROOT / "tests" / "fixtures" / "corpus" / name, name)
    return rows


def groups(rows: list[dict[str, object]]) -> list[int]:
    """Each row's group: near-duplicates joined transitively (cosine >= GROUP_SIMILARITY over
    character 3-grams). A chain of merely similar mail can join thousands of messages that are
    no copies of each other (one such chain once held 5,291 messages, all of them evaluation
    data, never trained on): a group larger than ``MAX_GROUP`` is split again at a similarity
    ``SPLIT_STEP`` higher, until none is larger or only copies are left together."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [normalise(f"{r['subject']} {r['text']}") for r in rows]
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(texts)
    n = len(rows)
    # Nearly every pair shares some 3-gram: the whole product does not fit in memory (47,000
    # rows ran out of 24 GB), so it is taken a block of rows at a time, keeping the similar pairs.
    pairs = []
    for start in range(0, n, SIMILARITY_BLOCK):
        similar = (matrix[start : start + SIMILARITY_BLOCK] @ matrix.T).tocoo()
        row = similar.row + start
        keep = (row < similar.col) & (similar.data >= GROUP_SIMILARITY)
        pairs.append((row[keep], similar.col[keep], similar.data[keep]))
    i, j, v = (np.concatenate(parts) for parts in zip(*pairs, strict=True))
    threshold = GROUP_SIMILARITY
    while True:
        graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels)
        big = sizes[labels] > MAX_GROUP
        if not big.any() or threshold >= 1.0:
            break
        threshold = min(1.0, threshold + SPLIT_STEP)
        # Within a group too large, only the pairs at the higher similarity stay joined.
        stay = ~big[i] | (v >= threshold - 1e-9)
        i, j, v = i[stay], j[stay], v[stay]
    # A group is named by its first row, as before.
    first: dict[int, int] = {}
    for row, label in enumerate(labels.tolist()):
        first.setdefault(label, row)
    return [first[label] for label in labels.tolist()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    parser.add_argument("--out", type=Path, default=ROOT / "handlers" / "data")
    args = parser.parse_args()
    rows = load(args.dev if (args.dev / "labels.jsonl").is_file() else None)
    roots = groups(rows)
    first: dict[int, str] = {}
    for row, root in zip(rows, roots, strict=True):
        first.setdefault(root, str(row["id"]))
    training, evaluation = [], []
    for row, root in zip(rows, roots, strict=True):
        row["group"] = first[root]
        (evaluation if fold_of(first[root], FOLDS) == 0 else training).append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("training", training), ("evaluation", evaluation)):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in part:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    sizes = Counter(roots)
    multi = sum(1 for size in sizes.values() if size > 1)
    print(
        f"{len(rows)} messages in {len(sizes)} groups ({multi} of several, the largest "
        f"{max(sizes.values())}): "
        f"{len(training)} training, {len(evaluation)} evaluation"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
