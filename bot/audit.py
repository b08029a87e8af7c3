"""The audit trail at the edges: `reauth-bot audit` and its exports, and the daily retention pass."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.context import BotContext
from commands.spreadsheet import safe_rows
from models.audit import AuditEntry, prune

log = logging.getLogger(__name__)

COLUMNS = ("at", "agent", "action", "customer_id", "source", "detail")


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(), "agent": entry.agent, "action": entry.action, "customer_id": entry.customer_id,
        "source": entry.source, "detail": entry.detail,
    }


def as_json(entries: Sequence[AuditEntry]) -> str:
    return json.dumps([entry_json(e) for e in entries], indent=None)


def as_csv(entries: Sequence[AuditEntry]) -> str:
    """Spreadsheet-safe: an agent or customer id written by another tool cannot become a formula."""
    return safe_rows([COLUMNS, *([e.at.strftime("%Y-%m-%d %H:%M:%S"), e.agent, e.action, e.customer_id or "",
                                  e.source, e.detail or ""] for e in entries)])


def as_text(entries: Sequence[AuditEntry]) -> str:
    lines = [f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.agent or '-':<14} {e.action:<18} {e.customer_id or '-':<12} "
             f"{e.source:<13} {e.detail or ''}".rstrip() for e in entries]
    return "\n".join(lines) if lines else "(no audit rows match)"


def prune_audit(context: BotContext) -> int | None:
    """Delete the trail older than AUDIT_RETENTION_DAYS; the database lets one instance do it per day."""
    now: datetime = context.clock()
    older_than = now - timedelta(days=context.settings.audit_retention_days)
    with context.db.transaction() as session:
        removed = prune(session, day=now.date(), now=now, older_than=older_than)
    if removed is not None:
        log.info("audit trail pruned: removed=%s older_than=%s", removed, older_than.date().isoformat())
    return removed
