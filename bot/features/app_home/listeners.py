"""`app_home_opened`: publish the agent's Home tab (Bolt acknowledges events before this runs)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.context import BotContext
from bot.features.app_home.service import AppHome

log = logging.getLogger(__name__)


def register(app: App, context: BotContext) -> None:
    home = AppHome(context)

    @app.event("app_home_opened")
    def app_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        user, event_id = str(event.get("user") or ""), str(body.get("event_id") or "")
        # The event also fires for the Messages tab, which this app does not draw.
        if event.get("tab") != "home" or not user or not event_id:
            return
        try:
            home.publish(user, event_id)
        except Exception:
            log.exception("publishing the Home tab failed: user=%s event_id=%s", user, event_id)
