"""The ``templates`` commands of ``privacy-desk``: which letters the desk can write, and what
each one needs, so that whoever drafts a reply knows the values before ``draft`` refuses them.

``privacy-desk templates`` lists every template with its languages (an operator's folder,
``PD_TEMPLATES_DIR``, included) and what it answers; ``privacy-desk templates show NAME`` lists
each of its values with its kind, choices, default, whether it is required and what it is for.
"""

from __future__ import annotations

import argparse
import json

from bot.cli.context import Context, Subcommands
from bot.cli.output import table
from bot.errors import UsageError
from templates import (
    ABOUT,
    CHOICES,
    KINDS,
    MAY_BE_EMPTY,
    MEANINGS,
    OPTIONAL,
    REQUIRED,
    TEMPLATE_NAMES,
    Templates,
)

# How each kind of value is given to ``draft --set NAME=VALUE``.
_KIND_WORDS = {
    "text": "text",
    "texts": "list of texts (repeat --set; NAME= for none)",
    "date": "date (YYYY-MM-DD)",
    "moment": "time with its zone (ISO 8601)",
    "flag": "yes/no",
    "number": "whole number > 0",
}


def _templates(ctx: Context) -> Templates:
    from bot import wiring

    return wiring.reply_settings(ctx.settings).templates


def _default(value: object) -> str:
    if value is None:
        return "(left out)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "(none)" if not value else ", ".join(map(str, value))
    return '""' if value == "" else str(value)


def cmd_templates(args: argparse.Namespace, ctx: Context) -> int:
    desk = _templates(ctx)
    languages = {name: desk.languages(name) for name in TEMPLATE_NAMES}
    if args.json:
        rows = [
            {"template": name, "languages": list(languages[name]), "answers": ABOUT[name]}
            for name in TEMPLATE_NAMES
        ]
        ctx.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return 0
    table(
        ("TEMPLATE", "LANGUAGES", "ANSWERS"),
        [(name, ", ".join(languages[name]), ABOUT[name]) for name in TEMPLATE_NAMES],
        ctx.out,
    )
    return 0


def _values(name: str) -> list[dict[str, object]]:
    """Each value ``name`` takes, required ones first, as ``templates show`` tells them."""
    return [
        {
            "value": key,
            "kind": KINDS[key],
            "required": key in REQUIRED[name],
            "may_be_empty": key in MAY_BE_EMPTY,
            "default": None if key in REQUIRED[name] else _default(OPTIONAL[name][key]),
            "choices": list(CHOICES.get(key, ())),
            "meaning": MEANINGS[key],
        }
        for key in (*REQUIRED[name], *OPTIONAL[name])
    ]


def _row(value: dict[str, object]) -> tuple[str, ...]:
    required = "yes (may be empty)" if value["may_be_empty"] else "yes"
    choices = value["choices"]
    assert isinstance(choices, list)
    return (
        str(value["value"]),
        _KIND_WORDS[str(value["kind"])],
        required if value["required"] else "no",
        str(value["default"] or "-"),
        ", ".join(choices) or "-",
        str(value["meaning"]),
    )


def cmd_templates_show(args: argparse.Namespace, ctx: Context) -> int:
    name = args.name
    if name not in REQUIRED:
        raise UsageError(f"no mail template {name!r}; there are: {', '.join(TEMPLATE_NAMES)}")
    values = _values(name)
    languages = list(_templates(ctx).languages(name))
    if args.json:
        record = {"template": name, "languages": languages, "answers": ABOUT[name]}
        ctx.out.write(json.dumps({**record, "values": values}, ensure_ascii=False, indent=2) + "\n")
        return 0
    ctx.out.write(f"{name}: {ABOUT[name]}\nlanguages: {', '.join(languages)}\n\n")
    table(
        ("VALUE", "KIND", "REQUIRED", "DEFAULT", "CHOICES", "MEANING"),
        [_row(v) for v in values],
        ctx.out,
    )
    ctx.out.write(f"\nprivacy-desk draft REF {name} --set NAME=VALUE ... --as NAME\n")
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("templates", help="the mail templates, and the values each one takes")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_templates)
    shown = p.add_subparsers(dest="templates_command", parser_class=type(p), metavar="show")
    s = shown.add_parser("show", help="the values of one template")
    s.add_argument("name", metavar="NAME", help="the template, e.g. disclosure_answer")
    s.add_argument("--json", action="store_true", help="as JSON")
    s.set_defaults(func=cmd_templates_show)
