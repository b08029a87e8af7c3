"""The composition root: `build_context` and the Bolt app factory; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import datetime, timedelta

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import access, log_safety
from bot.context import BotContext, utc_now
from bot.features.app_home import listeners as app_home_listeners
from bot.features.check import listeners as check_listeners
from bot.features.escalations import listeners as escalation_listeners
from bot.features.escalations.posts import escalation_deliveries
from bot.features.post_steps import listeners as post_steps_listeners
from bot.features.post_steps.service import OUTBOX_KIND as STEPS_OUTBOX_KIND
from bot.features.post_steps.service import steps_delivery
from bot.features.post_steps.template_files import load_templates
from bot.helpdesk import Helpdesk, RetryPolicy
from bot.helpdesk.configured import configured_helpdesk
from bot.outbox import Delivery, Outbox
from bot.settings import Settings
from commands.post_steps import StepTemplate
from models import Database

log = logging.getLogger(__name__)


class _SkipUnusedTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns at every
    start that the token is unused; the client carries that same token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


log.addFilter(_SkipUnusedTokenWarning())


def make_client(settings: Settings) -> WebClient:
    """A Web API client that waits out Slack's 429s (slack_sdk retries only connection errors by default)."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def build_context(
    settings: Settings,
    client: WebClient | None = None,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    helpdesk: Helpdesk | None = None,
    retry_policy: RetryPolicy | None = None,
    templates: Mapping[str, StepTemplate] | None = None,
) -> BotContext:
    """Everything the listeners and workers share. The step templates are loaded and checked here, so a
    broken template stops start-up (`TemplateError`); `helpdesk` and `retry_policy` let tests and the
    demo choose the helpdesk client, which is otherwise built from the HELPDESK settings."""
    context = BotContext(
        settings=settings,
        db=db or Database(settings.database_url),
        client=client or make_client(settings),
        clock=clock,
        helpdesk=helpdesk or configured_helpdesk(settings, retry_policy),
        templates=templates if templates is not None else load_templates(settings.templates_dir),
    )
    context.outbox = Outbox(context.db, outbox_deliveries(context, context.client), clock=clock,
                            lease=timedelta(seconds=settings.outbox_lease_seconds))
    return context


def outbox_deliveries(context: BotContext, client: WebClient) -> dict[str, Delivery]:
    """The outbox's registry: every kind of exactly-once side effect and how it is delivered."""
    return {STEPS_OUTBOX_KIND: steps_delivery(context), **escalation_deliveries(context, client)}


def register_listeners(app: App, context: BotContext) -> None:
    """One path from "Slack sent X" to "this function runs": each feature's `register(app, context)`."""
    check_listeners.register(app, context)
    post_steps_listeners.register(app, context)
    escalation_listeners.register(app, context)
    app_home_listeners.register(app, context)


def create_app(
    settings: Settings,
    client: WebClient | None = None,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    context: BotContext | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """Build the Bolt app; `auth.test` runs here (Bolt's token check, then the access guard reads the
    installation's ids), so a bad token fails at start-up.

    `listener_executor` runs the listeners' work after their ack; `serve` passes its own, to wait for it on
    SIGTERM (Bolt's default pool cannot be waited for)."""
    settings.require_slack()
    log_safety.install()
    context = context or build_context(settings, client, db=db, clock=clock)
    socket_mode = settings.slack_app_token is not None
    app = App(
        client=context.client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not socket_mode,
        logger=log,
        listener_executor=listener_executor,  # None: Bolt's own pool
    )
    # First: a refused request reaches no listener.
    access.register(app, context)
    register_listeners(app, context)
    return app
