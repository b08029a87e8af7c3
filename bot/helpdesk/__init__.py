"""Posting canned steps to the support team's helpdesk: Zendesk, Intercom or Freshdesk.

``make_helpdesk`` builds the configured client; every client answers ``post_note`` with one of
``Posted``, ``RetryLater`` or ``Rejected`` and never raises for what the helpdesk answers.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bot.helpdesk.base import HelpdeskClient, text_to_html
from bot.helpdesk.freshdesk import FreshdeskHelpdesk
from bot.helpdesk.intercom import INTERCOM_VERSION, IntercomHelpdesk
from bot.helpdesk.retry import RetryPolicy
from bot.helpdesk.types import Helpdesk, Posted, PostResult, Rejected, RetryLater
from bot.helpdesk.zendesk import ZendeskHelpdesk

# `configured_helpdesk` (bot.helpdesk.configured) is not re-exported: it reads bot.settings, which
# imports HELPDESK_KINDS from here, and importing it here would make that a cycle.

__all__ = [
    "HELPDESK_KINDS",
    "INTERCOM_VERSION",
    "FreshdeskHelpdesk",
    "Helpdesk",
    "HelpdeskClient",
    "IntercomHelpdesk",
    "PostResult",
    "Posted",
    "Rejected",
    "RetryLater",
    "RetryPolicy",
    "ZendeskHelpdesk",
    "make_helpdesk",
    "text_to_html",
]

# The settings each kind cannot work without, by their environment names; its keys are the kinds the
# HELPDESK setting accepts, in the order agents and operators read them.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "zendesk": ("HELPDESK_EMAIL", "HELPDESK_API_TOKEN"),
    "intercom": ("HELPDESK_API_TOKEN", "HELPDESK_ADMIN_ID"),
    "freshdesk": ("HELPDESK_API_KEY",),
}
HELPDESK_KINDS: tuple[str, ...] = tuple(_REQUIRED)


def make_helpdesk(
    kind: str,
    *,
    base_url: str,
    credentials: Mapping[str, str],
    policy: RetryPolicy | None = None,
    client: httpx.Client | None = None,
) -> Helpdesk:
    """Build the client for ``kind`` (zendesk, intercom or freshdesk).

    ``credentials`` is keyed by setting name (``HELPDESK_EMAIL``, ``HELPDESK_API_TOKEN``,
    ``HELPDESK_ADMIN_ID``, ``HELPDESK_API_KEY``; optional ``HELPDESK_WORKSPACE_ID`` for Intercom
    links). Raises ``ValueError`` naming an unknown kind or every missing credential.
    """
    key = kind.strip().lower()
    required = _REQUIRED.get(key)
    if required is None:
        raise ValueError(f"unknown helpdesk kind {kind!r}: expected one of {', '.join(HELPDESK_KINDS)}")
    missing = [name for name in required if not credentials.get(name, "").strip()]
    if missing:
        raise ValueError(
            f"the {key} helpdesk needs {' and '.join(required)}; missing: {', '.join(missing)}"
        )
    if key == "zendesk":
        return ZendeskHelpdesk(
            base_url,
            email=credentials["HELPDESK_EMAIL"].strip(),
            api_token=credentials["HELPDESK_API_TOKEN"].strip(),
            policy=policy,
            client=client,
        )
    if key == "intercom":
        return IntercomHelpdesk(
            base_url,
            api_token=credentials["HELPDESK_API_TOKEN"].strip(),
            admin_id=credentials["HELPDESK_ADMIN_ID"].strip(),
            workspace_id=credentials.get("HELPDESK_WORKSPACE_ID", "").strip() or None,
            policy=policy,
            client=client,
        )
    return FreshdeskHelpdesk(
        base_url, api_key=credentials["HELPDESK_API_KEY"].strip(), policy=policy, client=client
    )
