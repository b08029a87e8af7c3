"""Freshdesk v2: a private note, or a public reply when the agent chooses it."""

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
    not_before,
    object_in,
    parse_time,
    plain_words,
    text_to_html,
)
from commands.tickets import TICKET_NUMBER, RequesterProblem

_TICKET_PATH = re.compile(rf"/(?:a|helpdesk)/tickets/({TICKET_NUMBER})")
# Conversations are listed 100 to a page (the documented maximum), oldest first.
_PAGE_SIZE = 100
_MAX_PAGES = 30


class FreshdeskHelpdesk(HelpdeskClient):
    """``POST /api/v2/tickets/{id}/notes`` (private) or ``.../reply``; Basic auth ``(api_key, "X")``.

    ``base_url`` is the account address, e.g. ``https://acme.freshdesk.com``.
    """

    name = "freshdesk"
    display_name = "Freshdesk"
    ticket_word = "ticket"
    credential_settings = "HELPDESK_API_KEY setting"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(base_url, **connection)
        # Freshdesk ignores the password; "X" is what its own samples send.
        self._auth = (api_key, "X")

    def build_request(self, ticket_id: str, body: str, *, public: bool) -> HelpdeskRequest:
        # A Freshdesk "reply" is always public; the private kind is a note, so the endpoint differs.
        if public:
            url = f"{self.base_url}/api/v2/tickets/{ticket_id}/reply"
            payload: dict[str, object] = {"body": text_to_html(body)}
        else:
            url = f"{self.base_url}/api/v2/tickets/{ticket_id}/notes"
            payload = {"body": text_to_html(body), "private": True}
        return HelpdeskRequest(
            method="POST", url=url, json=payload, headers={"Accept": "application/json"}, auth=self._auth
        )

    def external_id(self, payload: object) -> object | None:
        return payload.get("id") if isinstance(payload, dict) else None

    def ticket_url(self, ticket_id: str) -> str:
        return f"{self.base_url}/a/tickets/{ticket_id}"

    def ticket_in_link(self, path: str) -> str | None:
        """``/a/tickets/123`` or ``/helpdesk/tickets/123``."""
        match = _TICKET_PATH.fullmatch(path)
        return match.group(1) if match else None

    # --- what Freshdesk documents about its own refusals -----------------------------------------

    def refusal_advice(self, status: int, ticket_id: str) -> str | None:
        if status == 403:
            return (f"Check the Freshdesk agent whose API key the bot uses (HELPDESK_API_KEY setting): it needs "
                    f"access to ticket {ticket_id}, and the account's plan must allow the API")
        if status == 409:
            return f"Check ticket {ticket_id} in Freshdesk: it is in a state that takes no note"
        return None

    # --- ticket to customer ----------------------------------------------------------------------

    def requester_email(self, ticket_id: str, read: ReadJson) -> str | RequesterProblem:
        """View a Ticket with `include=requester`: the requester's e-mail comes with the ticket, one call."""
        payload = read(f"{self.base_url}/api/v2/tickets/{ticket_id}", {"include": "requester"})
        if isinstance(payload, RequesterProblem):
            return payload
        return email_in(object_in(payload, "requester").get("email"))

    # --- Read-back -----------------------------------------------------------------------------
    # A note or reply takes no custom data, so a stored one is recognised by `GET /api/v2/tickets/{id}/
    # conversations`: outgoing (`incoming` false), private for a note and public for a reply, the same words
    # (`body_text`, or `body` without its HTML), created no earlier than the post was queued.

    def build_read(self, url: str) -> HelpdeskRequest:
        return HelpdeskRequest("GET", url, {}, {"Accept": "application/json"}, self._auth)

    def find_stored(self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime) -> str | None:
        words = plain_words(text_to_html(body))
        url = f"{self.base_url}/api/v2/tickets/{ticket_id}/conversations"
        for page in range(1, _MAX_PAGES + 1):
            items = self.read_json(url, {"page": page, "per_page": _PAGE_SIZE}, ticket_id=ticket_id)
            if not isinstance(items, list):
                return None
            for item in items:
                if not isinstance(item, dict):
                    continue
                stored = str(item.get("body_text") or "") or plain_words(str(item.get("body") or ""))
                if (
                    item.get("incoming") is False and item.get("private") is (not public)
                    and not_before(parse_time(item.get("created_at")), since)
                    and plain_words(stored) == words
                ):
                    return str(item.get("id"))
            if len(items) < _PAGE_SIZE:
                return None
        return None
