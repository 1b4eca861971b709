"""``python -m bot.cli``: the ``privacy-desk`` console script."""

from bot.cli import main

raise SystemExit(main())
