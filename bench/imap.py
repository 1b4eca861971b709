"""Measure IMAP intake on a real Dovecot: APPEND-to-committed latency, and a backlog's rate.

    python bench/imap.py [--latency-n 100] [--backlog-n 5000] [--size 5000] [--seed SEED]
                         [--large-n 8 --large-mb 52] [--fetch-workers N]

Latency: a fresh Dovecot and a fresh SQLite database in a temporary folder, the watcher running
in a thread as ``privacy-desk serve`` runs it (IDLE), and N messages appended one at a time; each
is timed from the return of its APPEND to the moment its Message-ID is committed in the
``message`` table (polled every 2 ms), before the next is appended.

Backlog: a second fresh Dovecot gets N typical messages (bench/parse_classify.py's mix), then a
plain imapclient ``UID FETCH BODY.PEEK[]`` of all of them in batches of 100 (the bytes only, no
processing) is timed, and then ``privacy-desk fetch`` end to end in a fresh process (it moves the
messages to the processed folder, so it goes second). Both rates and their ratio are printed, and
the peak RSS of the fetch process and its parse/classify workers together (sampled from /proc),
beside the largest single process (``RUSAGE_CHILDREN``).

Large mail (``--large-n``): N mails of ``--large-mb`` MiB each, fetched by ``privacy-desk fetch``;
the peak RSS and PSS (``/proc/PID/smaps_rollup``, shared pages split) of the fetch process and
its workers together.

Needs Dovecot (``tests/imap_server.py``); without it, says why and exits 0.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_classify import generate

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.002
COMMIT_TIMEOUT = 30.0  # beyond a re-IDLE
FETCH_BATCH = 100
RSS_POLL_SECONDS = 0.05
FETCH_WORKERS: int | None = None  # --fetch-workers: passed to `privacy-desk fetch --workers`


def imap_harness() -> ModuleType:
    """tests/imap_server.py, loaded by path (tests/ is not a package)."""
    if "imap_server" not in sys.modules:
        spec = importlib.util.spec_from_file_location("imap_server", ROOT / "tests/imap_server.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["imap_server"] = module
        spec.loader.exec_module(module)
    return sys.modules["imap_server"]


def _percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def latency(n: int, size: int, seed: int, idle_seconds: float, workers: int) -> int:
    from sqlmodel import Session, select

    from bot.watch import desk_watcher
    from mail.imap import parse_mailbox_url
    from mail.parse import parse_message
    from storage.db import open_database
    from storage.models import MailMessage

    messages = [raw for _kind, raw in generate(n, size, seed)]
    ids = [parse_message(raw).message_id for raw in messages]
    harness = imap_harness()
    with (
        harness.Dovecot(["desk"]) as server,
        tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp,
    ):
        url = f"sqlite:///{tmp}/latency.db"
        engine = open_database(url)
        watcher, sink = desk_watcher(
            engine,
            parse_mailbox_url(server.url("desk")),
            workers=workers,
            idle_seconds=idle_seconds,
        )
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), name="imap-watcher")
        thread.start()
        seconds: list[float] = []
        try:
            time.sleep(0.5)  # let it connect and enter IDLE on the empty folder
            with server.client("desk") as imap, Session(engine) as session:
                for raw, message_id in zip(messages, ids, strict=True):
                    imap.append("INBOX", raw)
                    appended = time.perf_counter()
                    query = select(MailMessage.id).where(MailMessage.message_id == message_id)
                    while session.exec(query).first() is None:
                        session.rollback()  # a fresh read transaction next time
                        if time.perf_counter() - appended > idle_seconds + COMMIT_TIMEOUT:
                            print(
                                f"{message_id} not committed after {idle_seconds:.0f} s + re-IDLE"
                            )
                            return 1
                        time.sleep(POLL_SECONDS)
                    seconds.append(time.perf_counter() - appended)
                    session.rollback()
        finally:
            stop.set()
            thread.join(timeout=30)
            sink.close()
            engine.dispose()
    ms = [s * 1000 for s in seconds]
    print(
        f"latency, APPEND returned -> case committed, {n} messages one at a time "
        f"(IDLE re-issued every {idle_seconds:g} s, {workers} worker process(es)):"
    )
    print(
        f"  median {statistics.median(ms):.1f} ms   p95 {_percentile(ms, 95):.1f} ms   "
        f"max {max(ms):.1f} ms   min {min(ms):.1f} ms   (reconnects: {watcher.reconnects})"
    )
    slow = [round(m) for m in ms if m > 1000]
    print(f"  over 1 s: {len(slow)} of {n} {slow if slow else ''}".rstrip())
    return 0


def _plain_fetch(server: object, user: str) -> tuple[float, int, int]:
    """(seconds, messages, bytes) of a batched UID FETCH BODY.PEEK[] of the whole INBOX."""
    started = time.perf_counter()
    count = total = 0
    with server.client(user, timeout=60) as imap:  # type: ignore[attr-defined]
        imap.select_folder("INBOX", readonly=True)
        uids = imap.search(["ALL"])
        for start in range(0, len(uids), FETCH_BATCH):
            fetched = imap.fetch(uids[start : start + FETCH_BATCH], [b"BODY.PEEK[]"])
            for data in fetched.values():
                count += 1
                total += len(data[b"BODY[]"])
    return time.perf_counter() - started, count, total


def _tree(pid: int, file: str, field: str) -> int:
    """``field`` (kB) of ``/proc/PID/file``, summed over a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/{file}").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in status.splitlines():
            if line.startswith(field):
                total += int(line.split()[1]) * 1024
    return total


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (shared pages counted in each)."""
    return _tree(pid, "status", "VmRSS:")


def _tree_pss(pid: int) -> int:
    """Proportional set size of a process and its descendants: shared pages split among them."""
    return _tree(pid, "smaps_rollup", "Pss:")


def _privacy_desk_fetch(
    mailbox: str, url: str, pss: list[int] | None = None
) -> tuple[float, int, str, int]:
    """(seconds, exit code, last line, peak RSS of the fetch process and its workers together);
    the peak of their summed PSS is appended to ``pss`` when given."""
    env = dict(os.environ, PD_MAILBOX=mailbox, PD_DATABASE_URL=url)
    workers = ["--workers", str(FETCH_WORKERS)] if FETCH_WORKERS is not None else []
    started = time.perf_counter()
    peak = pss_peak = 0
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; raise SystemExit(main())",
            "fetch",
            *workers,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            if pss is not None:
                pss_peak = max(pss_peak, _tree_pss(proc.pid))
            time.sleep(RSS_POLL_SECONDS)
        out, err = proc.communicate()
    if pss is not None:
        pss.append(pss_peak)
    seconds = time.perf_counter() - started
    last = (out.strip().splitlines() or err.strip().splitlines() or [""])[-1]
    return seconds, proc.returncode, last, peak


def backlog(n: int, size: int, seed: int) -> int:
    messages = [raw for _kind, raw in generate(n, size, seed)]
    size_total = sum(len(raw) for raw in messages)
    harness = imap_harness()
    with (
        harness.Dovecot(["desk"]) as server,
        tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp,
    ):
        started = time.perf_counter()
        server.append_many("desk", messages)
        append_seconds = time.perf_counter() - started
        del messages
        plain_seconds, plain_count, plain_bytes = _plain_fetch(server, "desk")
        if plain_count != n:
            print(f"plain fetch saw {plain_count} messages, not {n}")
            return 1
        url = f"sqlite:///{tmp}/backlog.db"
        fetch_seconds, code, last, tree_peak = _privacy_desk_fetch(server.url("desk"), url)
        if code != 0:
            print(f"privacy-desk fetch exited {code}: {last}")
            return 1
        with server.client("desk") as imap:
            left = imap.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    plain_rate, desk_rate = plain_count / plain_seconds, n / fetch_seconds
    print(
        f"backlog: {n} messages, {size_total / n:,.0f} bytes on average "
        f"(APPENDed in {append_seconds:.1f} s)"
    )
    print(f"  {'run':<44}{'seconds':>9}{'msg/s':>10}{'MiB/s':>9}")
    print(
        f"  {'plain imapclient UID FETCH BODY.PEEK[] x100':<44}{plain_seconds:>9.2f}"
        f"{plain_rate:>10,.0f}{plain_bytes / plain_seconds / 2**20:>9.1f}"
    )
    print(
        f"  {'privacy-desk fetch (fresh process, SQLite)':<44}{fetch_seconds:>9.2f}"
        f"{desk_rate:>10,.0f}{size_total / fetch_seconds / 2**20:>9.1f}"
    )
    print(f"  ratio privacy-desk / plain: {desk_rate / plain_rate:.2f}")
    print(f"  fetch said: {last}")
    print(f"  left in INBOX after fetch: {left}")
    print(f"  peak RSS of the largest single process: {peak:.1f} MiB")
    print(
        f"  peak RSS of fetch and its worker processes together "
        f"(sampled every {RSS_POLL_SECONDS * 1000:.0f} ms): {tree_peak / 2**20:.1f} MiB"
    )
    return 0


def large(n: int, megabytes: int) -> int:
    """``privacy-desk fetch`` of N mails of about ``megabytes`` each (a short request and a large
    attachment): its peak memory, which the byte bound on fetch batches keeps in check."""
    harness = imap_harness()
    blob = base64.encodebytes(os.urandom(megabytes * 2**20 * 3 // 4))
    with (
        harness.Dovecot(["desk"]) as server,
        tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp,
    ):
        for i in range(n):
            server.append(
                "desk",
                (
                    f"From: big{i}@example.jp\r\nTo: privacy@example-hikaku.co.jp\r\n"
                    f"Subject: delete my data {i}\r\nMessage-ID: <large-{i}@example.jp>\r\n"
                    "MIME-Version: 1.0\r\n"
                    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
                    "--b\r\nContent-Type: text/plain\r\n\r\nPlease delete my data.\r\n"
                    "--b\r\nContent-Type: application/octet-stream\r\n"
                    'Content-Disposition: attachment; filename="scan.bin"\r\n'
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                ).encode()
                + blob
                + b"\r\n--b--\r\n",
            )
        pss: list[int] = []
        seconds, code, last, rss = _privacy_desk_fetch(
            server.url("desk"), f"sqlite:///{tmp}/large.db", pss
        )
    if code != 0:
        print(f"privacy-desk fetch exited {code}: {last}")
        return 1
    print(f"large mail: {n} messages of {len(blob) / 2**20:.0f} MiB, fetched in {seconds:.1f} s")
    print(f"  fetch said: {last}")
    print(f"  peak RSS of fetch and its workers together: {rss / 2**20:.0f} MiB")
    print(f"  peak PSS of fetch and its workers together: {pss[0] / 2**20:.0f} MiB")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-n", type=int, default=100)
    parser.add_argument("--backlog-n", type=int, default=5000)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=240.0,
        help="the watcher's re-IDLE period (serve: 240)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(0, min(4, (os.cpu_count() or 1) - 1)),
        help="parse/classify processes for the latency run (serve's default: cores - 1)",
    )
    parser.add_argument("--large-n", type=int, default=0, help="large mails to fetch (0: none)")
    parser.add_argument(
        "--fetch-workers", type=int, default=None, help="fetch's --workers (its default if unset)"
    )
    parser.add_argument("--large-mb", type=int, default=52, help="size of each large mail")
    args = parser.parse_args(argv)
    global FETCH_WORKERS
    FETCH_WORKERS = args.fetch_workers

    reason = imap_harness().available()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    status = 0
    if args.latency_n > 0:
        status |= latency(args.latency_n, args.size, args.seed, args.idle_seconds, args.workers)
    if args.backlog_n > 0:
        status |= backlog(args.backlog_n, args.size, args.seed + 1)
    if args.large_n > 0:
        status |= large(args.large_n, args.large_mb)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
