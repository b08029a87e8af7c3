"""Who may use the bot, checked before any listener runs; a refusal is polite, audited, and changes nothing.

Fail closed: a user is allowed when listed in ALLOWED_USERS or a member of a group in ALLOWED_USERGROUPS
(or when ALLOW_ALL_USERS says everyone, on purpose). Group members come from `usergroups.users.list`,
kept in memory: loaded at start-up, refreshed in the background once older than the TTL, and changed
at once by the `subteam_members_changed` / `subteam_updated` events, so the ack never waits for Slack.
A request from another workspace, enterprise or app than this installation's is refused whoever sent it.

The check is one Bolt middleware (`register`), so every entry point (the slash command, every button,
the message shortcut, every form, the Home tab) passes through it; refused requests never reach a
listener. The same middleware refuses text carrying control characters (commands/input_text.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.models.blocks import HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from bot import messages
from bot.context import BotContext
from commands.input_text import control_character_fields, has_control_characters
from models.audit import record

log = logging.getLogger(__name__)

# How long a user group's members are trusted before they are fetched again (in the background).
MEMBERS_TTL_SECONDS = 300.0


class Source(StrEnum):
    """Where an act came from, as the audit trail names it."""

    SLASH_COMMAND = "slash_command"
    BUTTON = "button"
    SHORTCUT = "shortcut"
    FORM = "form"
    HOME = "home"
    EVENT = "event"
    CLI = "cli"


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"
    OTHER_WORKSPACE = "other_workspace"
    OTHER_APP = "other_app"
    CONTROL_CHARACTERS = "control_characters"


@dataclass(frozen=True)
class Installation:
    """This app's install, from `auth.test`: requests carrying other ids are not for us."""

    team_id: str | None
    enterprise_id: str | None
    app_id: str | None


def installation_of(client: WebClient) -> Installation:
    found = client.auth_test()
    return Installation(found.get("team_id"), found.get("enterprise_id") or None, found.get("app_id"))


class Members:
    """The allowed users: listed ones, and the members of the allowed groups as last fetched."""

    def __init__(
        self,
        client: WebClient,
        users: Iterable[str],
        groups: Iterable[str],
        *,
        allow_all: bool = False,
        ttl_seconds: float = MEMBERS_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.users = frozenset(users)
        self.groups = tuple(groups)
        self.allow_all = allow_all
        self.ttl_seconds = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: dict[str, frozenset[str]] = {}
        self._loaded_at = float("-inf")
        self._refreshing = False

    def load(self) -> None:
        """Fetch every group's members now (start-up, and the background refresh). A group that cannot be
        fetched keeps the members it had: none at start-up, so its people are refused until it can."""
        fetched: dict[str, frozenset[str]] = {}
        for group in self.groups:
            try:
                answer = self.client.usergroups_users_list(usergroup=group)
                fetched[group] = frozenset(str(u) for u in answer.get("users") or [])
            except Exception as exc:
                log.warning("user group members not fetched: group=%s error=%s", group, exc.__class__.__name__)
        with self._lock:
            self._members.update(fetched)
            self._loaded_at = self._monotonic()
            self._refreshing = False

    def allows(self, user_id: str) -> bool:
        if self.allow_all or user_id in self.users:
            return True
        if not self.groups:
            return False
        with self._lock:
            stale = self._monotonic() - self._loaded_at >= self.ttl_seconds and not self._refreshing
            if stale:
                self._refreshing = True
            allowed = any(user_id in members for members in self._members.values())
        if stale:  # answer from what is known now; the next request sees the refreshed list
            threading.Thread(target=self.load, name="usergroup-refresh", daemon=True).start()
        return allowed

    def changed(self, group: str, *, added: Iterable[str] = (), removed: Iterable[str] = ()) -> None:
        """`subteam_members_changed`: apply the difference at once."""
        if group not in self.groups:
            return
        with self._lock:
            members = set(self._members.get(group, frozenset()))
            members |= set(added)
            members -= set(removed)
            self._members[group] = frozenset(members)

    def replaced(self, group: str, users: Iterable[str]) -> None:
        """`subteam_updated`: the group's whole list."""
        if group not in self.groups:
            return
        with self._lock:
            self._members[group] = frozenset(users)


def source_of(body: Mapping[str, Any]) -> Source:
    if "command" in body:
        return Source.SLASH_COMMAND
    kind = body.get("type")
    if kind == "block_actions":
        return Source.BUTTON
    if kind in ("message_action", "shortcut"):
        return Source.SHORTCUT
    if kind in ("view_submission", "view_closed"):
        return Source.FORM
    if kind == "event_callback":
        event = body.get("event") or {}
        return Source.HOME if event.get("type") == "app_home_opened" else Source.EVENT
    return Source.EVENT


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def user_of(body: Mapping[str, Any]) -> str:
    if "command" in body:
        return str(body.get("user_id") or "")
    event = body.get("event")
    if isinstance(event, dict):
        return _id(event.get("user")) or ""
    return _id(body.get("user")) or ""


def refusal_for(body: Mapping[str, Any], installation: Installation, members: Members) -> Refusal | None:
    """Why this request must be refused, or None. Pure apart from the membership cache."""
    source = source_of(body)
    # Message shortcuts carry no app id; the signature already proves which app Slack sent them to.
    view = body.get("view")
    app_id = body.get("api_app_id") or (view.get("app_id") if isinstance(view, dict) else None)
    if installation.app_id and app_id is not None and app_id != installation.app_id:
        return Refusal.OTHER_APP
    raw_user = body.get("user")
    user: Mapping[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    team = _id(body.get("team")) or body.get("team_id") or user.get("team_id")
    enterprise = _id(body.get("enterprise")) or body.get("enterprise_id") or (
        (body.get("team") or {}).get("enterprise_id") if isinstance(body.get("team"), dict) else None)
    if installation.enterprise_id:
        if enterprise != installation.enterprise_id:
            return Refusal.OTHER_WORKSPACE
    elif team != installation.team_id or (user.get("team_id") not in (None, installation.team_id)):
        # A user of another workspace (Slack Connect) carries their own team_id.
        return Refusal.OTHER_WORKSPACE
    if source is Source.EVENT:
        return None  # no agent acts: user group changes and the like
    if not members.allows(user_of(body)):
        return Refusal.NOT_ALLOWED
    if source is Source.SLASH_COMMAND and has_control_characters(str(body.get("text") or "")):
        return Refusal.CONTROL_CHARACTERS
    if source is not Source.HOME and next(control_character_fields(dict(body)), None) is not None:
        return Refusal.CONTROL_CHARACTERS
    return None


_WORDS = {
    Refusal.NOT_ALLOWED: messages.NOT_ALLOWED,
    Refusal.OTHER_WORKSPACE: messages.OTHER_WORKSPACE,
    Refusal.OTHER_APP: messages.OTHER_WORKSPACE,
    Refusal.CONTROL_CHARACTERS: messages.CONTROL_CHARACTERS,
}


def not_allowed_view(text: str = messages.NOT_ALLOWED, kind: str = "home") -> View:
    """The Home tab (or a form's last screen) of someone the bot refuses."""
    blocks = [HeaderBlock(text=messages.NOT_ALLOWED_TITLE), SectionBlock(text=MarkdownTextObject(text=text))]
    if kind == "home":
        return View(type="home", blocks=blocks)
    return View(type="modal", title=messages.NOT_ALLOWED_TITLE, blocks=blocks)


class AccessGuard:
    """The Bolt middleware: allowed requests go on to the listeners; refused ones are answered here."""

    def __init__(self, context: BotContext, installation: Installation, members: Members) -> None:
        self.context = context
        self.installation = installation
        self.members = members
        # Telling the agent and writing the audit row happen after the response: the ack never waits.
        self._after = ThreadPoolExecutor(max_workers=2, thread_name_prefix="refusals")

    def __call__(self, body: dict[str, Any], next: Callable[[], Any]) -> BoltResponse | None:
        reason = refusal_for(body, self.installation, self.members)
        if reason is None:
            next()
            return None
        source, user = source_of(body), user_of(body)
        log.info("request refused: reason=%s source=%s user=%s", reason.value, source.value, user or "-")
        text = _WORDS[reason]
        if source is Source.EVENT:
            self._after.submit(self._audit, user, source, reason)
            return BoltResponse(status=200, body="")
        self._after.submit(self._tell_and_audit, dict(body), source, user, reason, text)
        if source is Source.SLASH_COMMAND:
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if source is Source.FORM and body.get("type") == "view_submission":
            errors = _blocks_with_control_characters(body) if reason is Refusal.CONTROL_CHARACTERS else {}
            if errors:  # shown under the fields that hold them; anything else closes the form with the reason
                return BoltResponse(status=200, body={"response_action": "errors", "errors": errors})
            view = not_allowed_view(text, "modal").to_dict()
            return BoltResponse(status=200, body={"response_action": "update", "view": view})
        return BoltResponse(status=200, body="")

    def _tell_and_audit(self, body: dict[str, Any], source: Source, user: str, reason: Refusal, text: str) -> None:
        try:
            if source is Source.HOME:
                # Only a user of this workspace has a Home tab this token can draw.
                if user and reason is Refusal.NOT_ALLOWED:
                    self.context.client.views_publish(user_id=user, view=not_allowed_view(text, "home"))
            elif source in (Source.BUTTON, Source.SHORTCUT) and isinstance(body.get("response_url"), str):
                WebhookClient(body["response_url"]).send(text=text, response_type="ephemeral",
                                                         replace_original=False)
        except Exception as exc:
            log.warning("refusal not shown to the agent: source=%s error=%s", source.value, exc.__class__.__name__)
        self._audit(user, source, reason)

    def _audit(self, user: str, source: Source, reason: Refusal) -> None:
        try:
            with self.context.db.transaction() as session:
                record(session, at=self.context.clock(), agent=user, action="refused", source=source.value,
                       detail=reason.value)
        except Exception as exc:
            log.error("refusal not audited: source=%s error=%s", source.value, exc.__class__.__name__)


def _blocks_with_control_characters(body: Mapping[str, Any]) -> dict[str, str]:
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    return {
        str(block_id): messages.CONTROL_CHARACTERS
        for block_id, elements in values.items()
        if next(control_character_fields(elements), None) is not None
    }


def register(app: App, context: BotContext) -> Members:
    """Install the guard in front of every listener; keep the group members current from Slack's events."""
    settings = context.settings
    members = Members(context.client, settings.allowed_users, settings.allowed_usergroups,
                      allow_all=settings.allow_all_users)
    if settings.allow_all_users:
        log.warning("ALLOW_ALL_USERS is set: everyone in the workspace may use the bot")
    elif not settings.allowed_users and not settings.allowed_usergroups:
        log.warning("no ALLOWED_USERS or ALLOWED_USERGROUPS: every request will be refused")
    members.load()
    guard = AccessGuard(context, installation_of(context.client), members)
    app.use(guard)

    @app.event("subteam_members_changed")
    def group_members_changed(event: dict[str, Any]) -> None:
        members.changed(str(event.get("subteam_id") or ""),
                        added=[str(u) for u in event.get("added_users") or []],
                        removed=[str(u) for u in event.get("removed_users") or []])

    @app.event("subteam_updated")
    def group_updated(event: dict[str, Any]) -> None:
        subteam = event.get("subteam") or {}
        if isinstance(subteam, dict) and isinstance(subteam.get("users"), list):
            members.replaced(str(subteam.get("id") or ""), [str(u) for u in subteam["users"]])

    return members
