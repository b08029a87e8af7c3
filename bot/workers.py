"""Background work inside `serve`: every instance runs the same workers; the database picks who acts."""

from __future__ import annotations

from bot.audit import prune_audit
from bot.context import BotContext
from bot.features.digest.service import digest_scheduler
from bot.features.escalations.follow_ups import FollowUpWorker
from bot.features.outcomes.service import prune_expired_history
from bot.features.sync.service import TICK_SECONDS, sync_scheduler
from bot.periodic import Periodic

# Seconds between passes. A queued post waits at most this long once its service is back.
OUTBOX_INTERVAL = 15.0
FOLLOW_UP_INTERVAL = 60.0
# The digest posts within this many seconds of DIGEST_TIME.
DIGEST_INTERVAL = 30.0
# The trail is pruned once a day (claimed per day in the database); hourly tries find that day soon enough.
AUDIT_RETENTION_INTERVAL = 3600.0

# History older than HISTORY_RETENTION_DAYS goes within the hour; deleting is idempotent, so every
# instance may run it and the database's row locks keep their batches apart.
HISTORY_PRUNE_INTERVAL = 3600.0


def start_workers(context: BotContext) -> list[Periodic]:
    """Start every background worker of one instance; `serve` stops them on shutdown."""
    workers = [
        Periodic("outbox", context.outbox.deliver_due, OUTBOX_INTERVAL),
        Periodic("follow-ups", FollowUpWorker(context).run_once, FOLLOW_UP_INTERVAL),
        Periodic("audit-retention", lambda: prune_audit(context), AUDIT_RETENTION_INTERVAL),
        Periodic("history", lambda: prune_expired_history(context), HISTORY_PRUNE_INTERVAL),
    ]
    scheduler = digest_scheduler(context)
    if scheduler is not None:
        workers.append(Periodic("digest", scheduler.tick, DIGEST_INTERVAL))
    # Green Button sync: every instance ticks; the database lets one sync each utility per SYNC_INTERVAL.
    sync = sync_scheduler(context)
    if sync is not None:
        workers.append(Periodic("greenbutton-sync", sync, min(TICK_SECONDS, context.settings.sync_interval)))
    return [worker.start() for worker in workers]
