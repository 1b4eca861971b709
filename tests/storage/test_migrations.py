"""The Alembic migrations are one chain: one base, exactly one head, no merge, each file numbered
for its place. Two branches that each add a migration leave two heads (or one number twice); these
tests name them, so the later branch is rebased onto the other's chain before it lands."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory


def _migrations() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    with warnings.catch_warnings():
        # a revision id given twice is a warning in Alembic; here it is the failure to name
        warnings.simplefilter("ignore")
        return ScriptDirectory.from_config(config)


def test_alembic_has_exactly_one_head() -> None:
    heads = _migrations().get_heads()
    assert len(heads) == 1, (
        f"Alembic has {len(heads)} heads ({', '.join(sorted(heads))}): parallel work added "
        "migrations on different chains; rebase the newer one onto the other (its down_revision "
        "the other's revision, its number the next)"
    )


def test_the_migrations_are_one_chain_numbered_in_order() -> None:
    script = _migrations()
    chain = list(reversed(list(script.walk_revisions())))  # the base first
    merges = [r.revision for r in chain if r.is_merge_point]
    assert merges == [], f"merge revisions {merges}: rebase onto one chain instead of merging"
    assert [r.revision for r in chain] == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    files = sorted(p.name for p in Path(script.versions).glob("[0-9]*.py"))
    assert [Path(r.path).name for r in chain] == files, "a migration file outside the chain"
