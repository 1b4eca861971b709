"""The running desk: intake, replies and case decisions, the scheduler, the Slack adapter
(``bot/slack/``), retention, health, settings, the service and the command line.

It calls ``handlers/`` for every decision, ``storage/`` for every row, ``mail/`` for every byte
in and out, and ``templates/`` for every text a requester reads; none of those imports it.
"""
