"""The Slack app manifest in the repository matches what the desk serves and calls."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from bot.slack.home import COMMAND
from bot.slack.http import PATH

MANIFEST = Path(__file__).resolve().parents[3] / "slack_app_manifest.yaml"


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_request_url_is_the_path_the_desk_serves() -> None:
    settings = _manifest()["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert all(url.startswith("https://") and url.endswith(PATH) for url in urls)
    assert settings["interactivity"]["is_enabled"] is True


ROOT = MANIFEST.parent
# How the desk calls the Web API: the adapter (``.call("chat_postMessage", ...)``, the poster's
# ``_api``/``_call``), or a client method (``client.views_open(...)``).
_CALLS = (
    re.compile(r"""\.(?:call|_api|_call)\(\s*(?:[^()"']*?,\s*)?["']([a-z]+_[A-Za-z_]+)["']"""),
    re.compile(r"\b(?:client|_client|web|slack_client)\.([a-z]+_[A-Za-z_]+)\("),
)
# Scopes that are not for a Web API method: the slash command, and the events the app
# subscribes to (message.channels / message.groups need the history scopes).
NOT_FOR_METHODS = {"commands"}
EVENT_SCOPES = {"message.channels": "channels:history", "message.groups": "groups:history"}


def _slack_double() -> ModuleType:
    """tests/slack_double.py by path: conftest.py keeps tests/ off sys.path."""
    module = sys.modules.get("slack_double")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "slack_double", ROOT / "tests/slack_double.py"
        )
        assert spec is not None and spec.loader is not None
        module = sys.modules["slack_double"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def called_methods() -> set[str]:
    """Every Web API method the desk's code calls, in Slack's dotted names."""
    found: set[str] = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in _CALLS:
            found |= {m.replace("_", ".") for m in pattern.findall(text)}
    return found


def test_the_desk_calls_the_methods_we_know() -> None:
    """The grep finds the calls (a guard against a pattern that silently finds nothing)."""
    assert {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "conversations.history",
        "conversations.info",
        "conversations.members",
        "usergroups.users.list",
        "views.publish",
        "views.open",
        "auth.test",
    } <= called_methods()


def test_every_method_the_desk_calls_is_covered_by_a_manifest_scope() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    table = _slack_double().SCOPES
    for method in sorted(called_methods()):
        if method == "apps.connections.open":  # the app-level token's (connections:write)
            continue
        assert method in table, f"{method}: add the scope Slack asks for to SCOPES"
        needed = table[method]
        wanted = set(needed) if isinstance(needed, tuple) else {needed} - {None}
        assert wanted <= scopes, f"{method} needs {wanted - scopes}"


def test_the_manifest_grants_no_scope_the_desk_does_not_use() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    table = _slack_double().SCOPES
    used = set(NOT_FOR_METHODS)
    for method in called_methods():
        needed = table.get(method)
        used |= set(needed) if isinstance(needed, tuple) else {needed} - {None}
    events = _manifest()["settings"]["event_subscriptions"]["bot_events"]
    used |= {EVENT_SCOPES[e] for e in events if e in EVENT_SCOPES}
    assert scopes == used - {"connections:write"}


def test_thread_replies_reach_the_desk_as_events() -> None:
    events = set(_manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups"} <= events


def test_the_privacy_command_and_the_app_home_are_declared() -> None:
    manifest = _manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"] == manifest["settings"]["interactivity"]["request_url"]
    assert "case PD-" in command["usage_hint"] and "search" in command["usage_hint"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
