"""Where blocking work runs when the desk is one asyncio event loop.

The synchronous database (SQLAlchemy sessions) runs in the ``pd-db-*`` threads of one bounded
pool; async code awaits it with :func:`db`. Nothing else in the desk starts threads for the
database. The pool is made on first use and shut down by :func:`shutdown` (``serve`` does so when
it stops); outside a running loop, call the function directly.
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

_lock = threading.Lock()
_db_pool: ThreadPoolExecutor | None = None


def db_pool() -> ThreadPoolExecutor:
    """The bounded pool of ``pd-db-*`` threads (made on first use)."""
    global _db_pool
    with _lock:
        if _db_pool is None:
            _db_pool = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="pd-db")
        return _db_pool


async def db(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a ``pd-db`` thread, awaited from the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(db_pool(), partial(fn, *args, **kwargs))


def shutdown() -> None:
    """Wait for the database threads to finish what they hold, then let them go."""
    global _db_pool
    with _lock:
        pool, _db_pool = _db_pool, None
    if pool is not None:
        pool.shutdown(wait=True)
