"""An operator runs the desk from a shell whose umask is the usual 022: mail is taken in, an answer
is approved and written to a ``file:`` outbox, the case is exported. Every file the desk wrote (the
SQLite database and its WAL, the outbox's ``.eml``, the export) is 0600 and every folder 0700:
nobody else on the machine can read the personal data in them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

SETTINGS = {
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "U0APPROVER1",
    "PD_DATABASE_URL": "sqlite:///var/privacy-desk.db",
    "PD_SMTP_URL": "file:var/outbox",
}


def _desk(folder: Path, *args: str) -> str:
    """One command, as the operator's shell runs it: umask 022."""
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", *args],
        cwd=folder,
        env={**os.environ, **SETTINGS},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _modes(top: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(top.stat().st_mode)}
    for path in top.rglob("*"):
        found[str(path.relative_to(top))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_what_the_desk_writes_only_its_owner_can_read(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    (tmp_path / "mail.eml").write_bytes(
        make_mail("個人情報の取り扱いについて教えてください。", subject="お問い合わせ")
    )
    _desk(tmp_path, "ingest", "--workers", "0", "mail.eml")
    [case] = _desk(tmp_path, "cases", "--json").splitlines()
    ref = json.loads(case)["ref"]
    _desk(tmp_path, "draft", ref, "inquiry_answer", "--set", "answer_text=はい。",
          "--as", "U0APPROVER1")  # fmt: skip
    drafts = json.loads(_desk(tmp_path, "drafts", ref, "--json"))
    [draft] = [d for d in drafts if d["template"] == "inquiry_answer"]
    _desk(tmp_path, "approve", str(draft["id"]), "--as", "U0APPROVER1")
    _desk(tmp_path, "send")
    _desk(tmp_path, "export", ref, "--out", "export")

    var = _modes(tmp_path / "var")
    assert "privacy-desk.db" in var and any(name.endswith(".eml") for name in var), var
    export = _modes(tmp_path / "export")
    assert "case.json" in export, export
    for name, mode in {**var, **{f"export/{k}": v for k, v in export.items()}}.items():
        path = tmp_path / "var" / name if not name.startswith("export/") else tmp_path / name
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode == wanted, f"{name} is {mode:o}, not {wanted:o}"


def test_a_database_left_readable_by_an_older_version_is_made_the_owners(tmp_path: Path) -> None:
    _desk(tmp_path, "db", "upgrade")
    database = tmp_path / "var" / "privacy-desk.db"
    os.chmod(database, 0o644)
    _desk(tmp_path, "cases")
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
