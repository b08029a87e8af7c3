"""Zendesk Support: a comment is added by updating the ticket (there is no create-comment endpoint)."""

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
    object_in,
)
from commands.tickets import TICKET_NUMBER, RequesterProblem

_AGENT_TICKET_PATH = re.compile(rf"/agent/tickets/({TICKET_NUMBER})")
# The audit's custom metadata key that names the outbox row a comment came from.
MARKER_KEY = "reauth_bot_outbox_key"
# Audits are read 100 to a page (the documented maximum); a ticket with more updates than this is not searched further.
_MAX_AUDIT_PAGES = 50


class ZendeskHelpdesk(HelpdeskClient):
    """``PUT /api/v2/tickets/{id}.json`` with a comment; auth ``{email}/token:{api_token}``.

    ``base_url`` is the account address, e.g. ``https://acme.zendesk.com``; agents' ticket links
    are on the same host.
    """

    name = "zendesk"
    display_name = "Zendesk"
    ticket_word = "ticket"
    credential_settings = "HELPDESK_EMAIL and HELPDESK_API_TOKEN settings"

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        api_token: str,
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(base_url, **connection)
        self._auth = (f"{email}/token", api_token)

    def build_request(self, ticket_id: str, body: str, *, public: bool) -> HelpdeskRequest:
        # `public` always goes on the wire: Zendesk otherwise reuses the ticket's first comment's
        # visibility, which would make an "internal" note public on most tickets.
        return HelpdeskRequest(
            method="PUT",
            url=f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
            json={"ticket": {"comment": {"body": body, "public": public}}},
            headers={"Accept": "application/json"},
            auth=self._auth,
        )

    def external_id(self, payload: object) -> object | None:
        """The audit's Comment event id (the comment's id), else the audit id."""
        if not isinstance(payload, dict):
            return None
        audit = payload.get("audit")
        if not isinstance(audit, dict):
            return None
        events = audit.get("events")
        if isinstance(events, list):
            for event in events:
                if isinstance(event, dict) and event.get("type") == "Comment" and "id" in event:
                    comment_id: object = event["id"]
                    return comment_id
        audit_id: object = audit.get("id")
        return audit_id

    def ticket_url(self, ticket_id: str) -> str:
        return f"{self.base_url}/agent/tickets/{ticket_id}"

    def ticket_in_link(self, path: str) -> str | None:
        """``/agent/tickets/123``."""
        match = _AGENT_TICKET_PATH.fullmatch(path)
        return match.group(1) if match else None

    # --- what Zendesk documents about its own refusals -------------------------------------------

    def also_retried(self) -> dict[int, str]:
        # Zendesk answers 409 when two updates of one ticket collide, and documents that the update
        # should be retried: another agent's or trigger's update landed at the same moment.
        return {409: "Zendesk reported a conflicting update of the ticket (HTTP 409)"}

    def refusal_advice(self, status: int, ticket_id: str) -> str | None:
        if status == 422:
            return (f"Check ticket {ticket_id} in Zendesk: a closed ticket, or one at its comment limit, "
                    "takes no new comments")
        return None

    # --- ticket to customer ----------------------------------------------------------------------

    def requester_email(self, ticket_id: str, read: ReadJson) -> str | RequesterProblem:
        """Show Ticket with the users sideloaded (`include=users`): the requester is among them, one call.

        Without the sideload (an account that turned it off), Show User reads the requester's e-mail.
        """
        payload = read(f"{self.base_url}/api/v2/tickets/{ticket_id}.json", {"include": "users"})
        if isinstance(payload, RequesterProblem):
            return payload
        requester_id = object_in(payload, "ticket").get("requester_id")
        if not isinstance(requester_id, int):
            return RequesterProblem.NO_EMAIL
        users = payload.get("users")
        for user in users if isinstance(users, list) else []:
            if isinstance(user, dict) and user.get("id") == requester_id:
                return email_in(user.get("email"))
        shown = read(f"{self.base_url}/api/v2/users/{requester_id}.json")
        if isinstance(shown, RequesterProblem):
            return shown
        return email_in(object_in(shown, "user").get("email"))

    # --- Read-back -----------------------------------------------------------------------------
    # Zendesk keeps custom metadata on the update's audit (`ticket.metadata` is written to the audit's
    # `metadata.custom`); the audits of a ticket are listed by `GET /api/v2/tickets/{id}/audits`. The marker
    # is exact, invisible to agents and customers, and survives edits of the comment's text.

    def with_marker(self, request: HelpdeskRequest, marker: str) -> HelpdeskRequest:
        ticket = dict(request.json["ticket"])  # type: ignore[call-overload]
        ticket["metadata"] = {MARKER_KEY: marker}
        return HelpdeskRequest(request.method, request.url, {"ticket": ticket}, request.headers, request.auth)

    def build_read(self, url: str) -> HelpdeskRequest:
        return HelpdeskRequest("GET", url, {}, {"Accept": "application/json"}, self._auth)

    def find_stored(self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime) -> str | None:
        url: str | None = f"{self.base_url}/api/v2/tickets/{ticket_id}/audits.json"
        params: dict[str, str | int] = {"page[size]": 100}
        for _ in range(_MAX_AUDIT_PAGES):
            if url is None:
                break
            page = self.read_json(url, params, ticket_id=ticket_id)
            if not isinstance(page, dict):
                return None
            for audit in page.get("audits") or []:
                custom = (audit.get("metadata") or {}).get("custom") if isinstance(audit, dict) else None
                if isinstance(custom, dict) and custom.get(MARKER_KEY) == marker:
                    found = self.external_id({"audit": audit})
                    return None if found is None else str(found)
            links, meta = page.get("links") or {}, page.get("meta") or {}
            url, params = (links.get("next"), {}) if meta.get("has_more") else (None, {})
        return None
