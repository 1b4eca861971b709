"""The Slack app manifest in the repository matches what the desk serves and calls."""

from __future__ import annotations

from pathlib import Path
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


def test_the_scopes_cover_the_web_api_methods_the_desk_calls() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update/postEphemeral; conversations.history (lost posts);
    # usergroups.users.list (approver groups); users.info (staff names)
    assert {"chat:write", "channels:history", "usergroups:read", "users:read"} <= scopes


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
