"""The shipped data's near-duplicate groups (tools/build_training_data.py): copies stay together
on one side of the split, and a chain of merely similar mail is not one group."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_training_data", ROOT / "tools" / "build_training_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _rows(texts: list[str]) -> list[dict[str, object]]:
    return [{"subject": "", "text": t} for t in texts]


# Each text shares most of its words with the next and few with those further away: every
# neighbour is near (cosine over 3-grams >= 0.5), the two ends are not.
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
]
CHAIN = [" ".join(WORDS[k : k + 6]) for k in range(len(WORDS) - 5)]


def test_copies_share_a_group_and_strangers_do_not(build: ModuleType) -> None:
    texts = ["please delete my account and all my data", "unrelated words about the weather"]
    roots = build.groups(_rows([texts[0], texts[1], texts[0]]))
    assert roots[0] == roots[2] != roots[1]


def test_a_chain_of_similar_mail_is_one_group_while_it_is_small(build: ModuleType) -> None:
    roots = build.groups(_rows(CHAIN))
    assert len(set(roots)) == 1


def test_a_chain_larger_than_max_group_is_split_at_a_higher_similarity(
    build: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "MAX_GROUP", 3)
    copies = ["one and the same complaint, word for word"] * 5
    roots = build.groups(_rows(CHAIN + copies))
    chain, copied = roots[: len(CHAIN)], roots[len(CHAIN) :]
    sizes = {r: roots.count(r) for r in set(chain)}
    assert max(sizes.values()) <= 3
    assert len(set(chain)) > 1
    # Copies are never parted, even beyond MAX_GROUP: splitting stops at identical text.
    assert len(set(copied)) == 1
    assert copied[0] not in chain
    # A group is named by its first member.
    assert all(roots[r] == r for r in roots)


def test_groups_are_the_same_whatever_block_of_rows_the_product_is_taken_in(
    build: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The similarity product is taken a block of rows at a time (the whole one does not fit in
    # memory for the shipped data): pairs across blocks join as pairs within one do.
    texts = ["please delete my account and all my data", "unrelated words about the weather"]
    rows = _rows(CHAIN + texts + CHAIN[::-1] + texts)
    whole = build.groups(rows)
    monkeypatch.setattr(build, "SIMILARITY_BLOCK", 2)
    assert build.groups(rows) == whole
    assert whole[len(CHAIN)] == whole[-2] != whole[len(CHAIN) + 1]
