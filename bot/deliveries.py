"""The outbox's registry: every kind of exactly-once side effect and how it is delivered."""

from __future__ import annotations

from slack_sdk import WebClient

from bot import post_steps
from bot.context import BotContext
from bot.escalation_posts import escalation_deliveries
from bot.outbox import Delivery


def build_deliveries(context: BotContext, client: WebClient) -> dict[str, Delivery]:
    """One entry per outbox kind; each feature registers its own kind here."""
    deliveries: dict[str, Delivery] = {}
    deliveries[post_steps.OUTBOX_KIND] = post_steps.steps_delivery(context)
    deliveries.update(escalation_deliveries(context, client))
    return deliveries
