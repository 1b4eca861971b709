"""Small helpers the tests share: waiting for something to happen, a free port, letting a Slack
handler's after-ack work finish. (Loaded by tests/conftest.py: ``from support import ...``.)"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], what: str = "", *, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something true (returned), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what or check}"
        time.sleep(0.05)
    return found


def free_port() -> int:
    """A loopback port nothing listens on (the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def settle(rounds: int = 100) -> None:
    """Let the work a Slack handler does after its ack finish (bolt runs it after answering)."""
    for _ in range(rounds):
        if not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            return
        await asyncio.sleep(0.05)
