"""Logs carry no customer data and cannot be forged: every record of a full run, the libraries' included
and at DEBUG (more than production allows), is searched for every e-mail of the data set."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bot import log_safety
from bot.demo.harness import LocalBot
from bot.demo.stage import DATASET, DEMO_NOW
from bot.demo.tour import run_tour
from bot.settings import Settings
from bot.standins.server import poll
from bot.standins.slack_requests import SlackRequests
from models import Database


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@pytest.fixture
def captured() -> Iterator[Capture]:
    log_safety.install()
    capture = Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)


def dataset_emails() -> list[str]:
    with (Path(DATASET) / "customers.csv").open() as handle:
        return sorted({row["email"] for row in csv.DictReader(handle) if row["email"]})


def test_a_full_run_with_failures_logs_no_customer_email(captured: Capture, tmp_path: Path) -> None:
    assert run_tour(database_url=f"sqlite:///{tmp_path}/demo.db") == 0  # every feature, as `make demo` runs it
    db = Database(f"sqlite:///{tmp_path}/demo.db")
    email = dataset_emails()[0]
    with LocalBot(db, clock=lambda: DEMO_NOW, settings=Settings(allowed_users=frozenset({"U0AGENT"}))) as bot:
        # Failures: a request signed with a rotated secret (Bolt logs the bodies of those), a lookup whose
        # answer cannot be delivered, a refused agent, a forged log line.
        rotated = SlackRequests("the-old-secret").slash_command("/reauth-check", email, response_url="http://x")
        assert bot.send(rotated).status_code == 401
        bot.slack.set_unavailable(True)
        # Nothing listens on port 9: the answer to this lookup cannot be delivered.
        bot.send(bot.requests.slash_command("/reauth-check", email, response_url="http://127.0.0.1:9/lost"))
        bot.slash(f"{email}\x00")
        bot.slash(email, user_id="U0OUTSIDER")
        bot.slash(f"{email}\nINFO bot.access forged")
        # The lookups run after their acks: wait until their failures (Slack unavailable) are logged, the
        # last one being the lost answer's fallback.
        _, logged = poll(lambda: [r for r in captured.records if r.levelno >= logging.WARNING
                                  and "not delivered as an ephemeral message either" in r.getMessage()], bool, 10)
        assert logged
        bot.slack.set_unavailable(False)
    db.dispose()
    text = captured.text()
    assert len(captured.records) > 200 and "Invalid request signature detected" in text  # the run was captured
    leaks = [e for e in dataset_emails() if re.search(re.escape(e) + "|" + re.escape(quote(e, safe="")), text, re.I)]
    assert leaks == []
    assert not re.search(r"^\S+ \S+ INFO bot\.access forged", text, re.MULTILINE)


def test_the_filter_masks_emails_and_escapes_control_characters_in_any_logger(captured: Capture) -> None:
    logging.getLogger("some.library").warning("user %s said %r", "ana.flores@example.com", "a\nFAKE LINE\x00")
    logging.getLogger("slack_bolt.RequestVerification").info("body: text=ana.flores%40example.com")
    try:
        raise ValueError("no customer ana.flores@example.com")
    except ValueError:
        logging.getLogger("bot.x").exception("failed for %s", "ana.flores@example.com")
    text = captured.text()
    assert "ana.flores" not in text
    assert "said 'a\\nFAKE LINE\\x00'" in text
    assert "request body not logged" in text
    assert "ValueError: no customer <e-mail>" in text  # the traceback is kept, masked


@pytest.mark.parametrize(("raw", "safe"), [
    ("C-10042 by U0ALICE", "C-10042 by U0ALICE"),
    ("<mailto:a.b@ex.co|a.b@ex.co>", "<mailto:<e-mail>|<e-mail>>"),
    ("text=a.b%40ex.co&x=1", "text=<e-mail>&x=1"),
    ("line\r\nINFO forged\x1b[31m", "line\\r\\nINFO forged\\x1b[31m"),
])
def test_safe_text(raw: str, safe: str) -> None:
    assert log_safety.safe_text(raw) == safe
