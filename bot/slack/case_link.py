"""The **Case file** button (``pd.case.file``, on a case's parent message and its follow-up lines):
answers the clicker alone with a signed link to the case-file page (``bot.web.links``).

The gate of ``bot.slack.staff`` has already let only staff through (anyone else got the short
refusal, audited). The reference the button carries is looked up; the link is made for the
clicker's own Slack user ID, so it works for nobody else, and expires after
``PD_LINK_TTL_MINUTES``. It is told ephemerally (``chat.postEphemeral``, through the adapter;
through the click's response URL when Slack will not post to someone outside the channel, an
approver say), with unfurling asked off: a link preview would be Slack's server opening the
link. The handing out is audited (``case file link``); the link never reaches a log. What the
clicker reads is in the staff language (``bot.words``, table ``[link]``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import threads
from bot.slack.api import Refused, SlackAPI, SlackError
from bot.slack.blocks import ACTIONS
from bot.web.links import REF, Links
from bot.words import Words
from storage import repo
from storage.db import writer

log = logging.getLogger("privacy_desk.slack")

AUDIT_ACTION = "case file link"


def link_text(ref: str, url: str, minutes: int, *, w: Words) -> str:
    """What the clicker reads (mrkdwn; the reference and URL are the desk's own)."""
    return w("link.text", ref=ref, url=url, minutes=minutes)


def register(
    app: AsyncApp,
    engine: Engine,
    links: Links,
    *,
    client: AsyncWebClient,
    channel: str,
    w: Words,
) -> None:
    """Answer ``pd.case.file`` clicks on ``app`` with a signed link for the clicker."""
    api = SlackAPI(client)
    engine = writer(engine)
    minutes = int(links.ttl.total_seconds() // 60)

    @app.action(ACTIONS["case_file"])
    async def case_file(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        ref = str(body["actions"][0].get("value", "")).split(" ", 1)[0]
        found = REF.fullmatch(ref) is not None and await threads.db(_given, engine, ref, user)
        where = (body.get("container") or {}).get("channel_id") or channel
        thread = (body.get("message") or {}).get("thread_ts")
        text = link_text(ref, links.url(ref, user), minutes, w=w) if found else w("link.no_case")
        try:
            await api.call(
                "chat_postEphemeral",
                channel=where,
                user=user,
                text=text,
                thread_ts=thread,
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        except Refused as exc:  # e.g. an approver outside the channel: their response URL
            log.info("case-file link for %s not posted in the channel: %s", user, exc.error)
        except SlackError as exc:
            log.warning("case-file link for %s not told: %s", user, exc.error)
            return
        url = str(body.get("response_url") or "")
        if url:
            try:
                await AsyncWebhookClient(url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
            except Exception as exc:  # an unreachable hook: nothing more to try
                log.warning("case-file link for %s not told: %s", user, type(exc).__name__)


def _given(engine: Engine, ref: str, user: str) -> bool:
    """Record that ``user`` was given a link to ``ref``; whether that case exists."""
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        if case is None:
            return False
        repo.audit(session, case.id, user, AUDIT_ACTION)
        session.commit()
        return True
