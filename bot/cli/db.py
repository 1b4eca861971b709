"""``privacy-desk db upgrade``: create or upgrade the database's schema (and fill the search
index of a database that had none); ``db reindex``: rebuild the search index."""

from __future__ import annotations

import argparse

from bot.cli.context import Context, Subcommands


def cmd_db_upgrade(args: argparse.Namespace, ctx: Context) -> int:
    from bot.cli.output import Progress
    from bot.cli.search import needs_reindex, reindex
    from storage.db import describe, make_engine, upgrade

    engine = make_engine(ctx.settings.database.url, create=True)
    try:
        before, after = upgrade(engine)
        where = describe(engine.url)
        if before == after:
            ctx.out.write(f"{where}: schema already at {after}\n")
        else:
            ctx.out.write(f"{where}: schema upgraded from {before or 'nothing'} to {after}\n")
        if needs_reindex(engine):
            with Progress(None) as progress:
                messages, _ = reindex(engine, progress)
            ctx.out.write(f"{where}: search index filled from {messages} stored messages\n")
    finally:
        engine.dispose()
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("db", help="database maintenance")
    db = p.add_subparsers(dest="db_command", required=True, parser_class=type(p))
    p = db.add_parser("upgrade", help="create or upgrade the schema (the step for PostgreSQL)")
    p.set_defaults(func=cmd_db_upgrade)
    p = db.add_parser("reindex", help="rebuild the search index from the stored mail")
    p.set_defaults(func=cmd_db_reindex)


def cmd_db_reindex(args: argparse.Namespace, ctx: Context) -> int:
    from bot.cli.search import cmd_db_reindex as reindex

    return reindex(args, ctx)
