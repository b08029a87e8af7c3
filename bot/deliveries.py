"""The outbox's registry: every kind of exactly-once side effect and how it is delivered."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.context import BotContext
from bot.outbox import Delivery


def build_deliveries(context: BotContext, client: WebClient) -> dict[str, Delivery]:
    """One entry per outbox kind; each feature registers its own kind here."""
    deliveries: dict[str, Delivery] = {}
    return deliveries
