"""Settings from the environment, checked once at start-up.

Only the CLI loads `.env` (python-dotenv); tests and library callers pass a mapping explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.helpdesk import HELPDESK_KINDS
from models.db import DEFAULT_DATABASE_URL

_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")


class SettingsError(Exception):
    """One setting is missing or malformed; the message names it and says what to do."""


@dataclass(frozen=True)
class Settings:
    # repr=False: a logged Settings must not print a secret.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    port: int = 3000
    helpdesk: str | None = None
    helpdesk_url: str | None = None
    helpdesk_credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    templates_dir: Path | None = None
    company_name: str = "OhmConnect"
    escalation_channel: str | None = None
    digest_channel: str | None = None
    digest_time: time = time(9, 0)
    digest_tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Los_Angeles"))
    # The digest of this weekday (0 = Monday) carries the outcomes section and chart.
    outcomes_weekday: int = 0
    history_retention_days: int = 730

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every setting; raise `SettingsError` naming the first bad one."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        bot_token = get("SLACK_BOT_TOKEN")
        if bot_token and not bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions page)")
        app_token = get("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            raise SettingsError(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information page)"
            )
        api_url = get("SLACK_API_URL")
        if api_url and not api_url.startswith(("http://", "https://")):
            raise SettingsError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
        helpdesk = get("HELPDESK")
        if helpdesk and helpdesk.lower() not in HELPDESK_KINDS:
            raise SettingsError(f"HELPDESK must be one of {', '.join(HELPDESK_KINDS)}, not {helpdesk!r}")
        helpdesk_url = get("HELPDESK_URL")
        if helpdesk_url and not helpdesk_url.startswith(("http://", "https://")):
            raise SettingsError("HELPDESK_URL must be an http(s) URL such as https://acme.zendesk.com")
        credentials = {
            name: value
            for name in ("HELPDESK_EMAIL", "HELPDESK_API_TOKEN", "HELPDESK_ADMIN_ID", "HELPDESK_API_KEY")
            if (value := get(name))
        }
        templates = get("TEMPLATES_DIR")
        if templates and not Path(templates).is_dir():
            raise SettingsError(f"TEMPLATES_DIR {templates!r} is not a folder")
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=app_token,
            slack_api_url=api_url,
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            port=_port(get("PORT")),
            helpdesk=helpdesk.lower() if helpdesk else None,
            helpdesk_url=helpdesk_url.rstrip("/") if helpdesk_url else None,
            helpdesk_credentials=credentials,
            templates_dir=Path(templates) if templates else None,
            company_name=get("COMPANY_NAME") or "OhmConnect",
            escalation_channel=_channel("ESCALATION_CHANNEL", get("ESCALATION_CHANNEL")),
            digest_channel=_channel("DIGEST_CHANNEL", get("DIGEST_CHANNEL")),
            digest_time=_clock_time(get("DIGEST_TIME")),
            digest_tz=_zone(get("DIGEST_TZ")),
            outcomes_weekday=_weekday(get("OUTCOMES_WEEKDAY")),
            history_retention_days=_retention_days(get("HISTORY_RETENTION_DAYS")),
        )

    def require_slack(self) -> None:
        """`serve` needs a bot token, and a signing secret unless Socket Mode is used."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) into .env")
        if not self.slack_app_token and not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: copy it from the app's Basic Information page into .env "
                "(or set SLACK_APP_TOKEN to use Socket Mode)"
            )


def _port(raw: str | None) -> int:
    if raw is None:
        return 3000
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"PORT must be a number from 1 to 65535, not {raw!r}")
    return int(raw)


def _channel(name: str, raw: str | None) -> str | None:
    if raw is not None and not _CHANNEL.match(raw):
        raise SettingsError(f"{name} must be a channel ID such as C0123ABCD (channel details > About), not {raw!r}")
    return raw


def _clock_time(raw: str | None) -> time:
    if raw is None:
        return time(9, 0)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if not match:
        raise SettingsError(f"DIGEST_TIME must be a 24-hour time such as 09:00, not {raw!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(raw: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(raw or "America/Los_Angeles")
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"DIGEST_TZ must be an IANA time zone such as America/Los_Angeles, not {raw!r}") from None


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(raw: str | None) -> int:
    if raw is None:
        return 0
    name = raw.lower()
    for number, day in enumerate(WEEKDAYS):
        if name in (day, day[:3]):
            return number
    raise SettingsError(f"OUTCOMES_WEEKDAY must be a day of the week such as Monday, not {raw!r}")


def _retention_days(raw: str | None) -> int:
    if raw is None:
        return 730
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"HISTORY_RETENTION_DAYS must be a whole number of days such as 730, not {raw!r}")
    return int(raw)
