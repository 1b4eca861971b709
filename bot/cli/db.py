"""``privacy-desk db upgrade``: create or upgrade the database's schema."""

from __future__ import annotations

import argparse

from bot.cli.context import Context, Subcommands


def cmd_db_upgrade(args: argparse.Namespace, ctx: Context) -> int:
    from storage.db import describe, make_engine, upgrade

    engine = make_engine(ctx.settings.database.url, create=True)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    where = describe(engine.url)
    if before == after:
        ctx.out.write(f"{where}: schema already at {after}\n")
    else:
        ctx.out.write(f"{where}: schema upgraded from {before or 'nothing'} to {after}\n")
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("db", help="database maintenance")
    db = p.add_subparsers(dest="db_command", required=True, parser_class=type(p))
    p = db.add_parser("upgrade", help="create or upgrade the schema (the step for PostgreSQL)")
    p.set_defaults(func=cmd_db_upgrade)
