"""`reauth-bot demo`: the real app on localhost against a stand-in Slack, one customer per recommendation.

No network and no credentials: the Slack Web API is a local stand-in, requests are signed as Slack
signs them, and the clock is fixed so every run prints the same answers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot.demo.harness import LocalBot
from bot.demo.outcome_history import insert_outcome_history
from bot.demo.population import insert_population
from bot.demo.stage import DATASET, DEMO_NOW, banner, say
from bot.demo.tour_access import DEMO_AGENTS, DEMO_GROUP, DEMO_GROUP_MEMBERS, tour_access, tour_audit
from bot.demo.tour_check import tour_check
from bot.demo.tour_digest import tour_digest
from bot.demo.tour_escalations import tour_escalations
from bot.demo.tour_post_steps import tour_post_steps
from bot.demo.tour_sync import tour_sync
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from commands.imports import ImportFailed
from models import Database
from models.imports import import_files

DEMO_DATABASE = Path("var/demo.db")
GENERATED_CUSTOMERS = 3000
OUTCOME_WEEKS = 12



def build_demo_database(url: str | None) -> Database:
    if url is None:
        DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{DEMO_DATABASE}"
    db = Database(url)
    db.upgrade()
    try:
        for result in import_files(db, sorted(DATASET.glob("*.csv")), now=DEMO_NOW):
            say(f"  imported {result.rows} {result.kind} from bot/demo/{result.source}")
    except ImportFailed as failed:
        say(f"  the bundled dataset did not import: {failed}")
        raise
    insert_population(db, GENERATED_CUSTOMERS, now=DEMO_NOW)
    say(f"  generated {GENERATED_CUSTOMERS} more customers with about 3 authorizations each")
    procedures, transitions = insert_outcome_history(db, now=DEMO_NOW, weeks=OUTCOME_WEEKS)
    say(f"  generated {OUTCOME_WEEKS} weeks of history: {procedures} procedures sent, {transitions} transitions")
    return db


TOUR: list[Callable[[LocalBot], None]] = [
    tour_access, tour_check, tour_escalations, tour_post_steps, tour_digest, tour_sync, tour_audit,
]


def run_tour(database_url: str | None = None) -> int:
    banner(f"reauth-bot demo: as of {DEMO_NOW:%A %Y-%m-%d %H:%M} UTC, stand-in Slack on 127.0.0.1")
    db = build_demo_database(database_url)
    slack = SlackStandIn()
    slack.set_usergroup(DEMO_GROUP, DEMO_GROUP_MEMBERS)
    access = Settings(allowed_users=DEMO_AGENTS, allowed_usergroups=(DEMO_GROUP,))
    with slack, LocalBot(db, clock=lambda: DEMO_NOW, settings=access, slack=slack) as bot:
        say(f"  the real Bolt app serves http://127.0.0.1:{bot.port}/slack/events; Slack stand-in at "
            f"{bot.slack.api_url}")
        for step in TOUR:
            step(bot)
    banner("done: every answer above came from the real app over HTTP")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(run_tour())
