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
_pools: dict[str, ThreadPoolExecutor] = {}  # by thread-name prefix
_SIZES = {"pd-db": DB_THREADS, "pd-imap": IMAP_THREADS}


def _pool(prefix: str) -> ThreadPoolExecutor:
    """The bounded pool of ``prefix`` threads (made on first use)."""
    with _lock:
        if prefix not in _pools:
            _pools[prefix] = ThreadPoolExecutor(_SIZES[prefix], thread_name_prefix=prefix)
        return _pools[prefix]


def db_pool() -> ThreadPoolExecutor:
    """The bounded pool of ``pd-db-*`` threads."""
    return _pool("pd-db")


def imap_pool() -> ThreadPoolExecutor:
    """The bounded pool of ``pd-imap-*`` threads."""
    return _pool("pd-imap")


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
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True)
