"""One path from "Slack sent X" to "this function runs": each module exposes `register(app, context)`."""

from __future__ import annotations

from slack_bolt import App

from bot.context import BotContext
from bot.listeners import app_home, escalations, post_steps, reauth_check


def register_listeners(app: App, context: BotContext) -> None:
    reauth_check.register(app, context)
    post_steps.register(app, context)
    escalations.register(app, context)
    app_home.register(app, context)
