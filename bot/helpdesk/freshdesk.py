"""Freshdesk v2: a private note, or a public reply when the agent chooses it."""

from __future__ import annotations

import re
from typing import Unpack

from bot.helpdesk.base import (
    Connection,
    HelpdeskClient,
    HelpdeskRequest,
    text_to_html,
)
from commands.tickets import TICKET_NUMBER

_TICKET_PATH = re.compile(rf"/(?:a|helpdesk)/tickets/({TICKET_NUMBER})")


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
