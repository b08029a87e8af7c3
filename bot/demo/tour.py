"""`reauth-bot demo`: the real app on localhost against a stand-in Slack, one customer per recommendation.

No network and no credentials: the Slack Web API is a local stand-in, requests are signed as Slack
signs them, and the clock is fixed so every run prints the same answers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.blocks.text import blocks_as_text
from bot.demo.harness import LocalBot
from bot.demo.population import insert_population
from bot.demo.tour_digest import tour_digest
from bot.demo.tour_escalations import tour_escalations
from bot.demo.tour_post_steps import tour_post_steps
from commands.importing import ImportFailed
from models import Database
from models.imports import import_files

DATASET = Path(__file__).parent
DEMO_DATABASE = Path("var/demo.db")
# Monday 9:00 in California: the moment every demo answer is judged at.
DEMO_NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
GENERATED_CUSTOMERS = 3000

SHOWCASE = [
    ("C-1001", "rule 1, connected"),
    ("ben.okafor@example.com", "rule 1, connected but with a duplicate authorization (a warning)"),
    ("C-1003", "rule 2, no live authorization"),
    ("C-1004", "rule 3, steps already sent twice this month"),
    ("C-1005", "rule 4, three live authorizations"),
    ("C-1006", "rule 5, the data types were not all selected"),
    ("C-1007", "rule 6, authorized 3 days ago"),
    ("C-1008", "rule 7, re-authorized after our steps, still not connected"),
    ("C-1009", "rule 8, not connected for more than a week"),
    ("https://acme.zendesk.com/agent/tickets/4488", "looked up by the ticket support used"),
    ("pat.lee@example.com", "two customers share this e-mail"),
    ("nobody@example.com", "no such customer"),
    ("", "no text at all"),
]


def say(text: str = "") -> None:
    print(text, flush=True)


def banner(title: str) -> None:
    say()
    say("#" * 100)
    say(f"# {title}")
    say("#" * 100)


def build_demo_database(url: str | None) -> Database:
    if url is None:
        DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{DEMO_DATABASE}"
    db = Database(url)
    db.upgrade()
    for result in import_files(db, sorted(DATASET.glob("*.csv"))):
        say(f"  imported {result.source}: {result}" if isinstance(result, ImportFailed) else
            f"  imported {result.rows} {result.kind} from bot/demo/{result.source}")
    insert_population(db, GENERATED_CUSTOMERS, now=DEMO_NOW)
    say(f"  generated {GENERATED_CUSTOMERS} more customers with about 3 authorizations each")
    return db


def tour_reauth_check(bot: LocalBot) -> None:
    banner("/reauth-check: one customer per row of the rules table, then the bad inputs")
    for query, why in SHOWCASE:
        acked = bot.slash(query)
        say()
        say(f"$ /reauth-check {query}    ({why})")
        say(f"  acked: HTTP {acked.status} in {acked.seconds * 1000:.0f} ms")
        # Bad input is answered in the ack itself, with no lookup.
        answer = json.loads(acked.body) if acked.body.strip() else bot.answer(acked)
        say(_indent(blocks_as_text(answer.get("blocks") or []) or answer.get("text", "")))


TOUR: list[Callable[[LocalBot], None]] = [tour_reauth_check, tour_escalations, tour_post_steps, tour_digest]


def run_tour(database_url: str | None = None) -> int:
    banner(f"reauth-bot demo: as of {DEMO_NOW:%A %Y-%m-%d %H:%M} UTC, stand-in Slack on 127.0.0.1")
    db = build_demo_database(database_url)
    with LocalBot(db, clock=lambda: DEMO_NOW) as bot:
        say(f"  the real Bolt app serves http://127.0.0.1:{bot.port}/slack/events; Slack stand-in at "
            f"{bot.slack.api_url}")
        for step in TOUR:
            step(bot)
    banner("done: every answer above came from the real app over HTTP")
    db.dispose()
    return 0


def _indent(text: str) -> str:
    return "\n".join(f"  | {line}" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(run_tour())
