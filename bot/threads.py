"""Where blocking work runs when the desk is one asyncio event loop.

The synchronous database (SQLAlchemy sessions) runs in the ``pd-db-*`` threads of one bounded
pool; async code awaits it with :func:`db`. imapclient (the mailbox watcher's IDLE, copies into
the Sent folder) runs in the ``pd-imap-*`` threads of another, awaited with :func:`imap`. Nothing
else in the desk starts threads of its own. The pools are made on first use and shut down by
:func:`shutdown` (``serve`` does so when it stops); outside a running loop, call the function
directly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DB_THREADS = 4  # PostgreSQL's pool is 5 connections per engine; SQLite serialises writes anyway
IMAP_THREADS = 2  # the watcher holds one while it watches; copies to the Sent folder use the other

_lock = threading.Lock()
_db_pool: ThreadPoolExecutor | None = None
_imap_pool: ThreadPoolExecutor | None = None


def db_pool() -> ThreadPoolExecutor:
    """The bounded pool of ``pd-db-*`` threads (made on first use)."""
    global _db_pool
    with _lock:
        if _db_pool is None:
            _db_pool = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="pd-db")
        return _db_pool


def imap_pool() -> ThreadPoolExecutor:
    """The bounded pool of ``pd-imap-*`` threads (made on first use)."""
    global _imap_pool
    with _lock:
        if _imap_pool is None:
            _imap_pool = ThreadPoolExecutor(max_workers=IMAP_THREADS, thread_name_prefix="pd-imap")
        return _imap_pool


async def db(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a ``pd-db`` thread, awaited from the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(db_pool(), partial(fn, *args, **kwargs))


async def imap(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a ``pd-imap`` thread, awaited from the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(imap_pool(), partial(fn, *args, **kwargs))


def shutdown() -> None:
    """Wait for the worker threads to finish what they hold, then let them go."""
    global _db_pool, _imap_pool
    with _lock:
        pools, _db_pool, _imap_pool = (_db_pool, _imap_pool), None, None
    for pool in pools:
        if pool is not None:
            pool.shutdown(wait=True)
