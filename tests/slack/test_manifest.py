"""The Slack app manifest in the repository matches what the desk serves and calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack.http import PATH

MANIFEST = Path(__file__).resolve().parents[2] / "slack_app_manifest.yaml"


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
