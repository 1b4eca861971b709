"""Parsing and classifying in worker processes gives what doing it here gives, in order."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import eventually

from bot import intake
from bot.intake import new_pool, read, read_all

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mail"


def _summary(item: object) -> tuple[object, ...]:
    from bot.intake import Read

    assert isinstance(item, Read)
    msg, found = item.message, item.classification
    return (
        item.raw,
        msg.message_id if msg else None,
        msg.newest_text if msg else None,
        found.intents if found else None,
        found.reasons if found else None,
        item.error,
    )


def test_a_worker_reads_every_message_as_this_process_would(unreadable_mail: bytes) -> None:
    examples = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.eml"))]
    assert len(examples) >= 10
    # more than one chunk in flight, an unreadable message in the middle, a ragged tail
    raws = [*(examples * 5)[:23], unreadable_mail, *(examples * 5)[:20]]
    here = [_summary(read(raw)) for raw in raws]
    with new_pool(1) as pool:
        there = [_summary(r) for r in read_all(raws, pool=pool, ahead=8, chunk=3)]
    assert there == here
    assert here[23][1] is None and str(here[23][5]).startswith("unreadable")


def test_fewer_messages_than_one_look_ahead_start_no_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_pool(workers: int) -> None:
        raise AssertionError("a worker process was started for three messages")

    monkeypatch.setattr(intake, "new_pool", no_pool)
    raws = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.eml"))][:3]
    assert [_summary(r) for r in read_all(raws, workers=2)] == [_summary(read(r)) for r in raws]


def test_workers_do_not_outlive_a_desk_that_is_killed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    # A desk process that starts a worker, then dies without closing its pool (as under SIGKILL
    # or the OOM killer): the worker must not stay behind, idle, for ever.
    script = (
        "import os, sys\n"
        "from bot.intake import new_pool\n"
        "pool = new_pool(1)\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "os._exit(1)\n"
    )
    said = tmp_path / "worker.pid"  # a file, not a pipe: an orphan would hold a pipe open
    with said.open("w") as out:
        subprocess.run([sys.executable, "-c", script], stdout=out, timeout=60, check=False)
    worker = int(said.read_text().strip())
    eventually(lambda: not _alive(worker), "the worker ends with its desk")
    assert os.getpid() != worker


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone too
        return stat.read().split(") ")[-1][:1] != "Z"


@pytest.mark.parametrize(
    ("heard", "said"),
    [
        ("signal.default_int_handler", "interrupted"),
        ("signal.SIG_IGN", str(len(list(EXAMPLES.glob("*.eml"))))),
    ],
    ids=["foreground", "ignored"],
)
def test_ctrl_c_while_a_worker_starts_stops_the_desk_without_a_worker_traceback(
    heard: str, said: str
) -> None:
    import subprocess
    import sys

    # Ctrl-C reaches the whole process group, and any thread of the desk may take it (the mask
    # that keeps SIGINT from the worker is the starting thread's own). Here it comes, through
    # another thread, just after the worker process is spawned and before it is sent what it
    # needs to start: the worker must still get all of it (else it dies with a traceback on the
    # operator's terminal) and the desk must still stop.
    script = (
        "import os, signal, threading\n"
        # As in a terminal's foreground job; or ignored, as under nohup: then it stays ignored.
        f"signal.signal(signal.SIGINT, {heard})\n"
        "from multiprocessing import util\n"
        "from pathlib import Path\n"
        "from bot.intake import read_all\n"
        "spawn = util.spawnv_passfds\n"
        "def spawned(path, args, fds):\n"
        "    pid = spawn(path, args, fds)\n"
        "    if not any('spawn_main' in str(arg) for arg in args):  # the resource tracker\n"
        "        return pid\n"
        "    knock = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT))\n"
        "    knock.start()\n"
        "    knock.join()\n"
        "    return pid\n"
        "util.spawnv_passfds = spawned  # what multiprocessing's spawn calls\n"
        f"raws = [p.read_bytes() for p in sorted(Path({str(EXAMPLES)!r}).glob('*.eml'))]\n"
        "try:\n"
        "    print(len(list(read_all(raws, workers=1, ahead=4, chunk=2))), flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout == f"{said}\n", done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def _maps(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as maps:
        return maps.read()


def test_a_worker_maps_the_desks_model_instead_of_loading_a_copy() -> None:
    import os

    from handlers import model as learned

    with new_pool(1) as pool:
        worker = pool.submit(os.getpid).result(timeout=60)
        version = pool.submit(learned.active_version).result(timeout=60)
        worker_maps = _maps(worker)
    assert version == learned.active_version()
    # The worker and this process map the same memory file: one copy of the model between them.
    assert "/memfd:privacy-desk-model" in worker_maps
    assert "/memfd:privacy-desk-model" in _maps(os.getpid())
    model = learned.active()
    assert model is not None and not model.weights.flags.writeable


def test_a_worker_that_cannot_map_the_model_loads_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from handlers import model as learned

    given = learned.shared()
    assert given is not None
    # A file descriptor this process does not have: the worker cannot open it through /proc.
    broken = learned.Shared(given.pid, 10**6, given.size, given.header)
    monkeypatch.setattr(learned, "shared", lambda: broken)
    examples = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.eml"))]
    here = [_summary(read(raw)) for raw in examples]
    with new_pool(1) as pool:
        worker = pool.submit(os.getpid).result(timeout=60)
        assert "/memfd:privacy-desk-model" not in _maps(worker)
        there = [_summary(r) for r in read_all(examples, pool=pool, ahead=4, chunk=2)]
    assert there == here
