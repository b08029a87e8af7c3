"""The tour's digest step: today's digest posted once by two racing instances, its full list, the Home tab."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from pathlib import Path

from bot.app import build_context
from bot.context import BotContext
from bot.demo.harness import LocalBot
from bot.demo.stage import DEMO_NOW, banner, indent, quiet, say
from bot.features.digest.service import DigestOutcome, DigestPosted, DigestScheduler
from bot.features.escalations.service import Opened, escalate, post_now
from bot.settings import Settings
from bot.terminal_text import blocks_as_text
from commands.escalations import read_form

DIGEST_CHANNEL = "C0DIGEST"
ESCALATION_CHANNEL = "C0ESCALATE"
AGENT = "U0AGENT"


def tour_digest(bot: LocalBot) -> None:
    banner("Daily digest: today's stuck customers, posted once whatever the number of instances")
    with quiet("bot"):  # the tour's own lines say what happens
        settings = dataclasses.replace(bot.settings, digest_channel=DIGEST_CHANNEL)
        instances = [build_context(settings, db=bot.db, clock=bot.clock) for _ in range(2)]
        _before_today(bot, settings)
        say(f"  {DEMO_NOW:%H:%M} UTC is {settings.digest_time:%H:%M} in {settings.digest_tz.key}: the digest is due.")
        say("  Two instances' schedulers tick at the same moment; the database lets one of them post.")
        outcomes = _race([DigestScheduler(c, DIGEST_CHANNEL) for c in instances])
        for n, outcome in enumerate(outcomes, start=1):
            say(f"  instance {n}: {type(outcome).__name__}")
        posted = next(o for o in outcomes if isinstance(o, DigestPosted))
        message = bot.slack.message(DIGEST_CHANNEL, posted.ts)
        say()
        say(f"  #digest ({DIGEST_CHANNEL}), message {posted.ts}:")
        say(indent(blocks_as_text(message["blocks"] or [])))
        thread = bot.slack.thread(DIGEST_CHANNEL, posted.ts)
        for reply in thread:
            files = ", ".join(f"{f['name']} ({f['size']:,} bytes)" for f in reply["files"])
            say(f"  thread reply: {reply['text']}" + (f" [{files}]" if files else ""))
        _save_outcomes_chart(bot)
        if posted.csv:
            name, content = next(u for u in reversed(bot.slack.uploads()) if u[0].endswith(".csv"))
            lines = content.decode("utf-8").splitlines()
            say(f"  {name}, first lines:")
            say(indent("\n".join(lines[:4])))
        again = DigestScheduler(instances[0], DIGEST_CHANNEL)
        say(f"  a restarted instance ticks again: {type(again.tick()).__name__}; messages in #digest: "
            f"{len([m for m in bot.slack.messages(DIGEST_CHANNEL) if not m['thread_ts']])}")
        _home(bot, instances[0])


def _before_today(bot: LocalBot, settings: Settings) -> None:
    """A case escalated this morning that nobody took: what the digest's "Act today" is for."""
    escalating = dataclasses.replace(settings, escalation_channel=ESCALATION_CHANNEL)
    context = build_context(escalating, db=bot.db, clock=lambda: DEMO_NOW - timedelta(hours=1))
    form = read_form("C-1004", "Steps sent twice this month, still no data", "4488", "")
    assert not isinstance(form, dict)
    outcome = escalate(context, "C-1004", form, "U0ALICE")
    post_now(context, outcome.entries if isinstance(outcome, Opened) else [])
    say("  An hour ago @U0ALICE escalated C-1004; nobody has taken it yet.")

def _save_outcomes_chart(bot: LocalBot) -> None:
    """Monday's digest carries the outcomes chart in its thread: saved next to the demo database."""
    charts = [(name, png) for name, png in bot.slack.uploads() if name.startswith("outcomes-")]
    if not charts:
        say("  no outcomes chart in the thread (not the outcomes weekday, or no history yet)")
        return
    name, png = charts[-1]
    database = bot.db.url.database if bot.db.is_sqlite else None
    path = (Path(database).parent if database else Path("var")) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    say(f"  the outcomes chart from the thread ({len(png):,} bytes PNG), saved next to the demo database: {path}")


def _race(schedulers: list[DigestScheduler]) -> list[DigestOutcome | None]:
    outcomes: list[DigestOutcome | None] = [None] * len(schedulers)
    start = threading.Barrier(len(schedulers))

    def tick(n: int) -> None:
        start.wait()
        outcomes[n] = schedulers[n].tick()

    threads = [threading.Thread(target=tick, args=(n,)) for n in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _home(bot: LocalBot, context: BotContext) -> None:
    say()
    say(f"  An agent ({AGENT}) opens the bot's Home tab; Slack delivers app_home_opened, then retries it once:")
    event = {"type": "app_home_opened", "user": AGENT, "channel": "D0HOME", "tab": "home", "event_ts": "1.0"}
    for retry in (None, 1):
        response = bot.send(bot.requests.event_callback(event, event_id="Ev0HOME1", retry_num=retry))
        say(f"  delivery{' (retry)' if retry else ''}: HTTP {response.status_code}")
    bot.slack.wait_for("views.publish")
    view = bot.slack.home_view(AGENT) or {}
    say(f"  views.publish calls: {len(bot.slack.calls_to('views.publish'))}; the Home tab:")
    say(indent(blocks_as_text(view.get("blocks") or [])))

