"""Settings from the environment, checked once at start-up.

Only the CLI loads `.env` (python-dotenv); tests and library callers pass a mapping explicitly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.helpdesk import HELPDESK_KINDS
from models.db import DEFAULT_DATABASE_URL

# Where `serve` listens by default: every interface, as a container needs (127.0.0.1 behind a local proxy).
ALL_INTERFACES = "0.0.0.0"
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
# Green Button Connect data custodians, one per utility: GREENBUTTON_<UTILITY>_<PART>.
GREENBUTTON_UTILITIES = ("SCE", "PGE", "SDGE")
_CUSTODIAN_PARTS = ("BASE_URL", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET")
DEFAULT_SYNC_INTERVAL = 3600.0


@dataclass(frozen=True)
class CustodianSettings:
    """How the company reads one utility's Green Button Connect data custodian (NAESB ESPI REST)."""

    base_url: str  # e.g. https://api.pge.com/GreenButtonConnect: the feed is {base}/espi/1_1/resource/Authorization
    token_url: str  # the custodian's OAuth 2 token endpoint (client credentials)
    client_id: str
    client_secret: str = field(repr=False)


class SettingsError(Exception):
    """One setting is missing or malformed; the message names it and says what to do."""


DEFAULT_HELP_ARTICLE_URL = "https://www.ohmconnect.com/faq/getting-started/how-to-reauthorize-your-utility-sce"


@dataclass(frozen=True)
class Settings:
    # repr=False: a logged Settings must not print a secret.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    port: int = 3000
    bind_address: str = ALL_INTERFACES
    helpdesk: str | None = None
    helpdesk_url: str | None = None
    helpdesk_credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    templates_dir: Path | None = None
    company_name: str = "OhmConnect"
    # The help article agents follow, linked from the Home tab.
    help_article_url: str = DEFAULT_HELP_ARTICLE_URL
    escalation_channel: str | None = None
    digest_channel: str | None = None
    digest_time: time = time(9, 0)
    digest_tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Los_Angeles"))
    # Utility -> its data custodian, for `reauth-bot sync greenbutton` and serve's sync every sync_interval.
    custodians: Mapping[str, CustodianSettings] = field(default_factory=dict)
    sync_interval: float = DEFAULT_SYNC_INTERVAL  # seconds
    # Who may use the bot (bot/access.py): these users, and the members of these Slack user groups.
    allowed_users: frozenset[str] = frozenset()
    allowed_usergroups: tuple[str, ...] = ()
    # Everyone in the workspace, on purpose: `serve` refuses to start with no allow-list unless this is set.
    allow_all_users: bool = False
    audit_retention_days: int = 400
    # How long an outbox row stays leased to the instance sending it; a crashed instance's rows wait this long.
    outbox_lease_seconds: float = 300.0
    # SIGTERM: stop accepting, finish in-flight requests and deliveries, release leases, exit within this.
    shutdown_grace: float = 20.0
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
            bind_address=_bind_address(get("BIND_ADDRESS")),
            helpdesk=helpdesk.lower() if helpdesk else None,
            helpdesk_url=helpdesk_url.rstrip("/") if helpdesk_url else None,
            helpdesk_credentials=credentials,
            templates_dir=Path(templates) if templates else None,
            company_name=get("COMPANY_NAME") or "OhmConnect",
            help_article_url=get("HELP_ARTICLE_URL") or DEFAULT_HELP_ARTICLE_URL,
            escalation_channel=_channel("ESCALATION_CHANNEL", get("ESCALATION_CHANNEL")),
            digest_channel=_channel("DIGEST_CHANNEL", get("DIGEST_CHANNEL")),
            digest_time=_clock_time(get("DIGEST_TIME")),
            digest_tz=_zone(get("DIGEST_TZ")),
            custodians=_custodians(get),
            sync_interval=_interval("SYNC_INTERVAL", get("SYNC_INTERVAL")),
            allowed_users=frozenset(_ids("ALLOWED_USERS", get("ALLOWED_USERS"), _USER, "U0123ABCD")),
            allowed_usergroups=tuple(_ids("ALLOWED_USERGROUPS", get("ALLOWED_USERGROUPS"), _USERGROUP, "S0123ABCD")),
            allow_all_users=_flag("ALLOW_ALL_USERS", get("ALLOW_ALL_USERS")),
            audit_retention_days=_days("AUDIT_RETENTION_DAYS", get("AUDIT_RETENTION_DAYS"), 400),
            outbox_lease_seconds=_seconds("OUTBOX_LEASE_SECONDS", get("OUTBOX_LEASE_SECONDS"), 300.0, minimum=1.0),
            shutdown_grace=_seconds("SHUTDOWN_GRACE", get("SHUTDOWN_GRACE"), 20.0, minimum=1.0),
            outcomes_weekday=_weekday(get("OUTCOMES_WEEKDAY")),
            history_retention_days=_retention_days(get("HISTORY_RETENTION_DAYS")),
        )

    def require_access(self) -> None:
        """`serve` fails closed: without an allow-list, anyone who can type the command could look anyone up."""
        if not self.allowed_users and not self.allowed_usergroups and not self.allow_all_users:
            raise SettingsError(
                "nobody may use the bot: set ALLOWED_USERGROUPS (S...) and/or ALLOWED_USERS (U.../W...), "
                "or ALLOW_ALL_USERS=1 to let everyone in the workspace use it"
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


def _ids(name: str, raw: str | None, shape: re.Pattern[str], example: str) -> list[str]:
    ids = [part for part in re.split(r"[\s,]+", raw or "") if part]
    for value in ids:
        if not shape.match(value):
            raise SettingsError(f"{name} must be a comma-separated list of ids such as {example}, not {value!r}")
    return ids


def _flag(name: str, raw: str | None) -> bool:
    if raw is None or raw.lower() in ("0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")


def _days(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) <= 100_000:
        raise SettingsError(f"{name} must be a whole number of days such as {default}, not {raw!r}")
    return int(raw)


def _port(raw: str | None) -> int:
    if raw is None:
        return 3000
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"PORT must be a number from 1 to 65535, not {raw!r}")
    return int(raw)


def _bind_address(raw: str | None) -> str:
    if raw is None:
        return ALL_INTERFACES
    try:
        return str(ipaddress.ip_address(raw.strip("[]")))
    except ValueError:
        raise SettingsError(f"BIND_ADDRESS must be an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::, "
                            f"not {raw!r}") from None


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


def _custodians(get: Callable[[str], str | None]) -> dict[str, CustodianSettings]:
    """A utility whose GREENBUTTON_<UTILITY>_BASE_URL is set is synced; its other three settings are then
    required. The secret comes from the environment only (never a file the bot writes or a log line)."""
    custodians: dict[str, CustodianSettings] = {}
    for utility in GREENBUTTON_UTILITIES:
        names = {part: f"GREENBUTTON_{utility}_{part}" for part in _CUSTODIAN_PARTS}
        values = {part: get(name) for part, name in names.items()}
        if not any(values.values()):
            continue
        missing = [names[part] for part, value in values.items() if not value]
        if missing:
            raise SettingsError(f"{missing[0]} is not set: a Green Button custodian needs "
                                f"{', '.join(names.values())}")
        for part in ("BASE_URL", "TOKEN_URL"):
            if not str(values[part]).startswith(("https://", "http://")):
                raise SettingsError(f"{names[part]} must be an http(s) URL, not {values[part]!r}")
        custodians[utility] = CustodianSettings(
            base_url=str(values["BASE_URL"]).rstrip("/"), token_url=str(values["TOKEN_URL"]),
            client_id=str(values["CLIENT_ID"]), client_secret=str(values["CLIENT_SECRET"]),
        )
    return custodians


def _interval(name: str, raw: str | None) -> float:
    if raw is None:
        return DEFAULT_SYNC_INTERVAL
    match = re.fullmatch(r"([0-9]+)\s*([smh]?)", raw.strip().lower())
    seconds = int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)] if match else 0
    if seconds < 60:
        raise SettingsError(f"{name} must be a duration of a minute or more such as 3600, 30m or 1h, not {raw!r}")
    return float(seconds)

def _seconds(name: str, raw: str | None, default: float, *, minimum: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum or value == float("inf"):
        raise SettingsError(f"{name} must be a number of seconds, at least {minimum:g}, not {raw!r}")
    return value


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
