"""Intercom: an admin reply to a conversation, as a note (internal) or a comment (customer-visible)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Unpack

from bot.helpdesk.base import (
    Connection,
    HelpdeskClient,
    HelpdeskRequest,
    ReadJson,
    email_in,
    host_of,
    not_before,
    object_in,
    parse_time,
    plain_words,
    text_to_html,
)
from commands.tickets import TICKET_NUMBER, RequesterProblem

# Pinned: without the header Intercom applies whatever version the app package is set to.
INTERCOM_VERSION = "2.16"
DEFAULT_APP_URL = "https://app.intercom.com"
# Regional workspaces live on regional app hosts, matching their API host.
_APP_URL_FOR_API_HOST = {
    "api.intercom.io": DEFAULT_APP_URL,
    "api.eu.intercom.io": "https://app.eu.intercom.com",
    "api.au.intercom.io": "https://app.au.intercom.com",
}

# /a/inbox/<ws>/inbox/.../conversation/<id>, /a/apps/<ws>/conversations/<id> and the views between.
_CONVERSATION_PATH = re.compile(rf"/a/(?:inbox|apps)/([^/]+)(?:/[^/]+)*?/conversations?/({TICKET_NUMBER})")


class IntercomHelpdesk(HelpdeskClient):
    """``POST /conversations/{id}/reply`` as admin ``admin_id``, Bearer token, pinned ``Intercom-Version``.

    ``base_url`` is the API (``https://api.intercom.io``, or the EU/AU one); agents' links are on
    ``app_url`` (by default the app host of that region). With ``workspace_id`` the links open
    directly and links to other workspaces are refused; without it the link uses Intercom's ``_``
    (current workspace) placeholder.
    """

    name = "intercom"
    display_name = "Intercom"
    ticket_word = "conversation"
    credential_settings = "HELPDESK_API_TOKEN setting"

    def __init__(
        self,
        base_url: str,
        *,
        api_token: str,
        admin_id: str,
        workspace_id: str | None = None,
        app_url: str | None = None,
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(base_url, **connection)
        self._token = api_token
        self._admin_id = admin_id
        self._workspace_id = workspace_id or None
        regional = _APP_URL_FOR_API_HOST.get(host_of(self.base_url), DEFAULT_APP_URL)
        self.app_url = (app_url or regional).rstrip("/")

    def build_request(self, ticket_id: str, body: str, *, public: bool) -> HelpdeskRequest:
        return HelpdeskRequest(
            method="POST",
            url=f"{self.base_url}/conversations/{ticket_id}/reply",
            json={
                "message_type": "comment" if public else "note",
                "type": "admin",
                "admin_id": self._admin_id,
                "body": text_to_html(body),
            },
            headers={
                "Authorization": f"Bearer {self._token}",
                "Intercom-Version": INTERCOM_VERSION,
                "Accept": "application/json",
            },
        )

    def external_id(self, payload: object) -> object | None:
        """The id of the newest conversation part (the one just added)."""
        if not isinstance(payload, dict):
            return None
        parts = payload.get("conversation_parts")
        items = parts.get("conversation_parts") if isinstance(parts, dict) else None
        if isinstance(items, list) and items and isinstance(items[-1], dict):
            return items[-1].get("id")
        return None

    def bad_request_hint(self) -> str | None:
        return (
            "Check HELPDESK_ADMIN_ID (the Intercom teammate the bot writes as); if it is right, "
            "tell the bot's maintainers"
        )

    def ticket_url(self, ticket_id: str) -> str:
        return f"{self.app_url}/a/inbox/{self._workspace_id or '_'}/inbox/conversation/{ticket_id}"

    @property
    def links_url(self) -> str:
        return self.app_url

    def ticket_in_link(self, path: str) -> str | None:
        """An inbox link to a conversation, in this workspace (or Intercom's ``_``) when one is set."""
        match = _CONVERSATION_PATH.fullmatch(path)
        if match is None:
            return None
        workspace, conversation = match.groups()
        if self._workspace_id is not None and workspace not in (self._workspace_id, "_"):
            return None
        return conversation

    # --- what Intercom documents about its own refusals ------------------------------------------

    def refusal_advice(self, status: int, ticket_id: str) -> str | None:
        if status == 403:
            # Intercom's 403 is "api_plan_restricted": the workspace's plan, not this conversation.
            return "Check the Intercom workspace's subscription: Intercom's API needs an active plan"
        if status == 422:
            return f"Check conversation {ticket_id} in Intercom: it did not take a note as the bot's teammate"
        return None

    # --- ticket to customer ----------------------------------------------------------------------

    def requester_email(self, ticket_id: str, read: ReadJson) -> str | RequesterProblem:
        """Retrieve a conversation for its contact, then Retrieve a contact for the e-mail.

        A conversation names its contacts by reference only (id, external_id); the first is the customer
        who wrote in (more come only from group conversations).
        """
        conversation = read(f"{self.base_url}/conversations/{ticket_id}")
        if isinstance(conversation, RequesterProblem):
            return conversation
        contacts = object_in(conversation, "contacts").get("contacts")
        first = contacts[0] if isinstance(contacts, list) and contacts else None
        contact_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(contact_id, str) or not contact_id:
            return RequesterProblem.NO_EMAIL
        contact = read(f"{self.base_url}/contacts/{contact_id}")
        if isinstance(contact, RequesterProblem):
            return contact
        return email_in(contact.get("email"))

    # --- Read-back -----------------------------------------------------------------------------
    # An admin reply carries no custom data in API 2.16 (its request has no metadata or external id), so a
    # stored note is recognised by what the bot controls: a part of the right kind (`note` or `comment`),
    # written by the bot's own admin, with the same words, created no earlier than the post was queued.
    # `GET /conversations/{id}` returns the conversation's most recent 500 parts, newest last.

    def build_read(self, url: str) -> HelpdeskRequest:
        return HelpdeskRequest(
            "GET", url, {},
            {"Authorization": f"Bearer {self._token}", "Intercom-Version": INTERCOM_VERSION,
             "Accept": "application/json"},
        )

    def find_stored(self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime) -> str | None:
        conversation = self.read_json(f"{self.base_url}/conversations/{ticket_id}", {}, ticket_id=ticket_id)
        parts = conversation.get("conversation_parts") if isinstance(conversation, dict) else None
        items = parts.get("conversation_parts") if isinstance(parts, dict) else None
        words = plain_words(text_to_html(body))
        for part in reversed(items if isinstance(items, list) else []):
            if not isinstance(part, dict):
                continue
            author = part.get("author") or {}
            if (
                part.get("part_type") == ("comment" if public else "note")
                and author.get("type") == "admin" and str(author.get("id")) == self._admin_id
                and not_before(parse_time(part.get("created_at")), since)
                and plain_words(str(part.get("body") or "")) == words
            ):
                return str(part.get("id"))
        return None
