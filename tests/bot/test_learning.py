"""The flywheel: labelled examples imported (no case, no listing), a model trained from them and
made active only when it is not worse, used by every command and by the intake workers; imported
examples purged after the retention period."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from handlers import model as learned
from handlers.classify import classify_text
from storage import repo
from storage.models import AuditEvent, ClassifierModel, LabelledExample

# Deletion requests in Indonesian (foreign residents write in their own language): no rule and
# no shipped training example reads them, so the desk misses them today.
ROMAJI_DELETION = [
    "Tolong hapus semua data pribadi saya.",
    "Saya ingin data saya dihapus sepenuhnya.",
    "Mohon hapus akun dan informasi pribadi saya.",
    "Hapus saja semua informasi tentang saya, terima kasih.",
    "Saya sudah berhenti, jadi tolong hapus data saya.",
    "Tolong hapus nomor telepon dan alamat email saya dari sistem Anda.",
    "Mohon menghapus seluruh data saya dari database Anda.",
    "Saya minta agar informasi pribadi saya dihapus.",
    "tolong hapus akun saya beserta datanya",
    "Bisakah Anda menghapus semua data yang Anda simpan tentang saya?",
    "Hapus semua riwayat dan data saya, ya.",
    "Saya tidak mau data saya disimpan lagi, tolong dihapus.",
    "Mohon dihapus data keanggotaan saya.",
    "tolong hapus semuanya tentang saya",
    "Data pribadi saya harap dihapus secepatnya.",
    "Silakan hapus informasi saya dari layanan ini.",
]
ROMAJI_OTHER = [
    ("Terima kasih banyak atas bantuannya.", []),
    ("Berapa tarif listrik untuk paket ini?", ["rate_question"]),
    ("Saya punya pertanyaan tentang kebijakan privasi Anda.", ["inquiry"]),
    ("Baik, tidak apa-apa. Terima kasih.", []),
]
UNSEEN = "Tolong hapus data pribadi saya semuanya. Saya tidak akan memakai layanan ini lagi."


def _mail(n: int, text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"User {n} <user{n}@example.jp>"
    msg["To"] = "privacy@example-hikaku.co.jp"
    msg["Subject"] = "onegai"
    msg["Message-ID"] = f"<romaji{n}@example.jp>"
    msg.set_content(text)
    return msg.as_bytes()


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    rows = [(text, ["deletion"]) for text in ROMAJI_DELETION] + ROMAJI_OTHER
    lines = []
    for n, (text, intents) in enumerate(rows, start=1):
        name = f"{n:03d}.eml"
        (folder / name).write_bytes(_mail(n, text))
        lines.append(json.dumps({"file": name, "intents": intents, "language": "ja"}))
    (folder / "labels.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _packaged_model_after() -> Iterator[None]:
    """A test that installs a trained model leaves the next test the packaged one."""
    yield
    learned.use_packaged()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The desk's SQLite database, created (reading commands and imports never create one)."""
    from storage.db import open_database

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    open_database(url).dispose()
    monkeypatch.setenv("PD_DATABASE_URL", url)
    return url


@pytest.mark.longest
def test_importing_a_missed_phrasing_and_training_makes_the_desk_recognise_it(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0  # a desk's database (reading commands create none)
    capsys.readouterr()
    unseen = tmp_path / "unseen.eml"
    unseen.write_bytes(_mail(99, UNSEEN))
    assert main(["classify", "--json", str(unseen)]) == 0
    before = json.loads(capsys.readouterr().out)
    assert "deletion" not in before["intents"]  # the desk misses it today

    corpus = _corpus(tmp_path / "indonesian")
    assert main(["examples", "import", str(corpus), "--as", "yamada"]) == 0
    assert "20 labelled examples imported" in capsys.readouterr().out

    assert main(["train", "--as", "yamada"]) == 0
    out = capsys.readouterr().out
    version = re.search(r"model (\d{8}-\d{6}-[0-9a-f]{8}):", out)
    assert version is not None, out
    assert "(20 from the database)" in out
    assert re.search(
        r"macro-F1 \d\.\d{4}\s+rights recall \d\.\d{4} \(\d\.\d{4} counting those sent to a person\)",
        out,
    )
    assert f"{version.group(1)} is now the active model" in out

    learned.use_packaged()  # as a new process would start: the database says which model
    assert main(["classify", "--json", str(unseen)]) == 0
    after = json.loads(capsys.readouterr().out)
    assert "deletion" in after["intents"]
    assert after["model_version"] == version.group(1)
    assert after["model_features"]["deletion"]  # the features that weighed most
    assert any("the model" in reason for reason in after["reasons"]["deletion"])

    # Imported examples opened no case; the export of staff examples does not list them.
    assert main(["cases", "--json"]) == 0
    assert json.loads(capsys.readouterr().out or "[]") == []
    assert main(["examples", "export", str(tmp_path / "export")]) == 0
    assert "0 labelled examples written" in capsys.readouterr().out

    # ingest takes it in with the active model too (workers: see the test below).
    assert main(["ingest", "--workers", "1", str(unseen)]) == 0
    assert "deletion" in capsys.readouterr().out


def test_an_example_is_read_for_training_as_intake_reads_it(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helpdesk ticket whose person's words sit under a rule line (writer-jm 098): intake reads
    them (the ticket alone reads as machine mail), so the model trains on them too, not on the
    ticket's fields alone."""
    from bot import learning
    from handlers.classify import classify_read, read
    from mail.parse import parse_message

    ticket = Path(__file__).resolve().parents[1] / "fixtures/corpus/writer-jm/098.eml"
    folder = tmp_path / "ticket"
    folder.mkdir()
    (folder / "001.eml").write_bytes(ticket.read_bytes())
    row = {"file": "001.eml", "intents": ["disclosure", "stop_use"], "language": "ja"}
    (folder / "labels.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["examples", "import", str(folder), "--as", "yamada"]) == 0

    msg = parse_message(ticket.read_bytes())
    _, (subject, text) = classify_read(msg)
    assert text != read(msg)[1] and msg.signature.strip()[:40] in text
    with Session(engine) as session:
        [example] = learning.database_examples(session)
    assert (example.subject, example.text) == (subject, text)
    assert example.intents == {"disclosure", "stop_use"}


def test_importing_the_same_mail_again_relabels_it(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    corpus = _corpus(tmp_path / "indonesian")
    assert main(["examples", "import", str(corpus), "--as", "yamada"]) == 0
    assert main(["examples", "import", str(corpus), "--as", "sato"]) == 0
    assert "0 labelled examples imported, 20 relabelled" in capsys.readouterr().out
    with Session(engine) as session:
        rows = session.exec(select(LabelledExample)).all()
        assert len(rows) == 20
        assert {r.case_id for r in rows} == {None} and {r.message_id for r in rows} == {None}
        assert {r.labelled_by for r in rows} == {"sato"}
        assert repo.list_cases(session) == []
        actions = [e.action for e in session.exec(select(AuditEvent))]
        assert actions.count("examples imported") == 2


def test_a_folder_that_is_not_a_corpus_is_refused(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["examples", "import", str(tmp_path), "--as", "yamada"]) == 2
    assert "no labels.jsonl" in capsys.readouterr().err


def test_imported_examples_are_purged_after_the_retention_period(
    engine: Engine, tmp_path: Path
) -> None:
    from bot.learning import import_examples
    from bot.retention import purge

    imported_at = datetime(2026, 1, 5, tzinfo=UTC)
    import_examples(engine, _corpus(tmp_path / "c"), actor="yamada", now=imported_at)
    kept = purge(engine, imported_at + timedelta(days=364), 365)
    assert kept.examples == 0
    dry = purge(engine, imported_at + timedelta(days=366), 365, dry_run=True)
    assert dry.examples == 20
    done = purge(engine, imported_at + timedelta(days=366), 365)
    assert done.examples == 20
    with Session(engine) as session:
        assert session.exec(select(LabelledExample)).all() == []
        assert "examples purged" in [e.action for e in session.exec(select(AuditEvent))]


def _fake_training(
    monkeypatch: pytest.MonkeyPatch, scores: Callable[[bool], tuple[float, float, float]]
) -> learned.Model:
    """``train`` fits the packaged model again (renamed) and scores the new model and the one in
    use as ``scores(is_new)`` says (macro-F1, rights recall over 1,000 requests, and recall
    counting those sent to a person): the gate alone is under test."""
    from handlers import training

    packaged = learned.active()
    assert packaged is not None

    def fit(examples: object, *, version: str, **_: object) -> training.Fitted:
        import dataclasses

        import numpy as np

        return training.Fitted(dataclasses.replace(packaged, version=version), np.zeros((0, 0)))

    def evaluate(model: learned.Model | None, examples: object) -> training.Scores:
        macro_f1, rights_recall, covered = scores(
            model is not None and model.version != packaged.version
        )
        return training.Scores(
            macro_f1, rights_recall, 211, rights_labels=1000, rights_covered=covered
        )

    monkeypatch.setattr(training, "fit", fit)
    monkeypatch.setattr(training, "evaluate", evaluate)
    return packaged


@pytest.mark.parametrize(("drop", "activated"), [(0.0015, True), (0.003, False)])
def test_macro_f1_may_move_by_refitting_noise_but_no_further(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, drop: float, activated: bool
) -> None:
    from bot import learning

    _fake_training(monkeypatch, lambda new: (0.94 - drop if new else 0.94, 0.98, 0.99))
    done = learning.train(engine, actor="yamada", now=datetime(2026, 12, 2, 9, tzinfo=UTC))
    assert done.activated is activated
    assert (learning.active_version(engine) == done.version) is activated
    if not activated:
        assert done.why_not == "macro-F1 0.9370 < 0.9400 - 0.002 (refitting noise)"


@pytest.mark.parametrize(
    ("lost", "covered", "why_not"),
    [
        # One or two requests the refit reads the other way, each still sent to a person.
        (1, 0.995, ""),
        (2, 0.995, ""),
        # Three are more than refitting noise.
        (3, 0.995, "rights recall 0.9770 < 0.9800 (3 of 1000 requests; refitting noise is 2)"),
        # One that no person would be asked about loses its clock: worse.
        (
            1,
            0.994,
            "rights recall 0.9790 < 0.9800, and a request no longer read is not sent to a "
            "person (recall counting triage 0.9940 < 0.9950)",
        ),
    ],
)
def test_rights_recall_may_lose_a_request_to_refitting_noise_only_if_a_person_still_sees_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, lost: int, covered: float, why_not: str
) -> None:
    from bot import learning

    _fake_training(
        monkeypatch,
        lambda new: (0.94, 0.98 - lost / 1000 if new else 0.98, covered if new else 0.995),
    )
    done = learning.train(engine, actor="yamada", now=datetime(2026, 12, 2, 9, tzinfo=UTC))
    assert done.why_not == why_not
    assert done.activated is (why_not == "")
    assert (learning.active_version(engine) == done.version) is (why_not == "")


def test_a_model_that_scores_worse_is_kept_but_not_used(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import learning

    # The new model (not the packaged one) loses rights recall.
    packaged = _fake_training(
        monkeypatch, lambda new: (0.95, 0.90 if new else 0.99, 0.95 if new else 0.995)
    )
    done = learning.train(engine, actor="yamada", now=datetime(2026, 12, 2, 9, tzinfo=UTC))
    assert not done.activated
    assert done.why_not == (
        "rights recall 0.9000 < 0.9900 (90 of 1000 requests; refitting noise is 2)"
    )
    assert learned.active_version() == packaged.version
    assert learning.active_version(engine) is None
    with Session(engine) as session:
        [row] = session.exec(select(ClassifierModel)).all()
        assert row.status == "rejected" and row.version == done.version
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "model trained"))
        assert event.actor == "yamada" and event.detail["activated"] is False


def test_a_running_desk_and_new_workers_pick_up_the_active_model(engine: Engine) -> None:
    import asyncio

    from bot import learning
    from bot.intake import new_pool
    from storage.db import writer

    packaged = learned.active()
    assert packaged is not None
    import dataclasses

    newer = dataclasses.replace(packaged, version="20261202-090000-0badcafe")
    with Session(writer(engine)) as session:
        session.add(
            ClassifierModel(
                version=newer.version,
                status="active",
                trained_by="yamada",
                activated_at=datetime.now(UTC),
                data=newer.dumps(),
            )
        )
        session.commit()
    states: list[tuple[str, str]] = []

    async def look_once() -> None:
        stop = asyncio.Event()

        def report(state: str, detail: str) -> None:
            states.append((state, detail))
            stop.set()  # one look is enough here

        await learning.ModelWatch(engine, every=0.01).serve(stop, report)

    asyncio.run(look_once())
    assert states == [("ok", f"model {newer.version}")]
    assert learned.active_version() == newer.version
    with new_pool(1) as pool:
        assert pool.submit(learned.active_version).result(timeout=60) == newer.version


def test_intake_never_imports_scikit_learn(tmp_path: Path) -> None:
    mail = tmp_path / "m.eml"
    mail.write_bytes(_mail(1, "Please delete my account and all my data."))
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        f"assert main(['classify', '--json', {str(mail)!r}]) == 0\n"
        f"assert main(['ingest', '--workers', '0', {str(mail)!r}]) == 0\n"
        "assert not [m for m in sys.modules if m.startswith(('sklearn', 'scipy'))], 'loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PD_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_a_stored_model_must_be_arrays_not_code() -> None:
    with pytest.raises(learned.ModelError):
        learned.loads(b"\x80\x04K\x01.")  # a pickle
    with pytest.raises(learned.ModelError):
        learned.loads(b"not a model at all")


def test_the_model_reads_folded_text_alike() -> None:
    model = learned.active()
    assert model is not None
    full = model.predict("", "ｱｶｳﾝﾄを削除してください").probability
    kata = model.predict("", "アカウントを削除してください").probability
    assert full == kata
    assert classify_text("", "アカウントを削除してください", model=None).model_version is None
