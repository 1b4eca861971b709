"""``privacy-desk --help`` answers without loading the database or Slack libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "sqlmodel", "slack_sdk", "slack_bolt", "alembic", "numpy")

PROBE = f"""
import contextlib, io, json, sys
from bot.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--help"])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({{"code": code, "listed": "classify" in out.getvalue(),
                  "loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""


def test_help_loads_no_database_or_slack_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    said = json.loads(done.stdout)
    assert said == {"code": 0, "listed": True, "loaded": []}
