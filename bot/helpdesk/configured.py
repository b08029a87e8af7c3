"""The helpdesk client the settings name, built once for the whole bot."""

from __future__ import annotations

from bot.helpdesk import Helpdesk, RetryPolicy, make_helpdesk
from bot.settings import Settings, SettingsError

# The configured client posts for clicks, where an agent waits: a helpdesk asking for more than 10 s
# is answered "queued" instead, and the outbox worker tries again later.
CLICK_RETRY_POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0)


def configured_helpdesk(settings: Settings, policy: RetryPolicy | None = None) -> Helpdesk | None:
    """The helpdesk client the settings name, or None when HELPDESK is not set."""
    if settings.helpdesk is None:
        return None
    if not settings.helpdesk_url:
        raise SettingsError(
            f"HELPDESK is {settings.helpdesk} but HELPDESK_URL is not set: set it to the helpdesk's address, "
            "e.g. https://acme.zendesk.com"
        )
    try:
        return make_helpdesk(
            settings.helpdesk,
            base_url=settings.helpdesk_url,
            credentials=settings.helpdesk_credentials,
            policy=policy or CLICK_RETRY_POLICY,
        )
    except ValueError as exc:
        raise SettingsError(f"{exc} (set them in .env)") from None
