"""The ``privacy-desk`` console script: Ctrl-C while the command line is still being imported
(its first tenth of a second) says ``interrupted`` and exits 130, as it does later, instead of
printing the traceback of an import. Kept free of imports so that nothing runs before the guard.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130  # as bot.cli.output.INTERRUPTED


def main() -> int:
    try:
        from bot.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    return command_line()
