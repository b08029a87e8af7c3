"""`/reauth-check` end to end: signed requests over HTTP to the real app, answers on response_url."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select, text

from bot.demo.harness import SIGNING_SECRET, LocalBot
from bot.demo.stage import DEMO_NOW
from bot.standins.slack_requests import SlackRequests, forged, unsigned
from models import Database
from models.customers import CustomerRow, LookupRow
from tests.demo_dataset import load_demo_dataset

SLACK_ACK_WINDOW = 3.0  # seconds Slack waits for the HTTP response before showing the agent an error


def answer_text(bot: LocalBot, key: str) -> str:
    answer = bot.slack.wait_for_responses(key, 1)[0]
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    return json.dumps(answer)


def test_a_good_command_is_acked_empty_then_answered_on_response_url(bot: LocalBot) -> None:
    acked = bot.slash("C-1007", user_id="U0ALICE")
    assert acked.status == 200
    assert acked.body == ""
    answer = bot.slack.wait_for_responses(acked.response_key, 1)[0]
    blocks = json.dumps(answer["blocks"])
    assert answer["blocks"][0]["text"]["text"] == "Wait until Fri Dec 4 \u00b7 C-1007 (SCE)"
    assert "check back on" in blocks and "Friday, December 4, 2026" in blocks
    assert "C-1007" in answer["text"] and "@" not in answer["text"]  # the notification text carries no e-mail
    with bot.db.sessions() as session:
        audit = session.scalars(select(LookupRow)).all()
    assert [(a.customer_id, a.agent, a.source) for a in audit] == [("C-1007", "U0ALICE", "slack")]


def test_the_ack_does_not_wait_for_the_database(bot: LocalBot) -> None:
    """Holding the database's write lock stalls the lookup, not the ack (Slack's 3-second window)."""
    database = bot.db.url.database
    assert database is not None
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        key = "held"
        request = bot.requests.slash_command("/reauth-check", "C-1005", response_url=bot.slack.response_url(key))
        with httpx.Client(timeout=SLACK_ACK_WINDOW, trust_env=False) as client:
            response = client.post(bot.events_url, content=request.body, headers=request.headers)
        assert response.status_code == 200
        assert bot.slack.responses(key) == []  # acked while the lookup is still waiting
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "Re-authorize" in answer_text(bot, key)


@pytest.mark.parametrize("tamper", ["unsigned", "forged", "six_minutes_old", "wrong_secret"])
def test_requests_not_signed_by_slack_get_401_and_no_answer(bot: LocalBot, tamper: str) -> None:
    key = f"tampered-{tamper}"
    url = bot.slack.response_url(key)
    if tamper == "six_minutes_old":
        # Bolt checks the signature time against the wall clock, not the demo's clock.
        request = bot.requests.slash_command("/reauth-check", "C-1001", response_url=url,
                                             timestamp=int(time.time()) - 360)
    elif tamper == "wrong_secret":
        request = SlackRequests("not-" + SIGNING_SECRET).slash_command("/reauth-check", "C-1001", response_url=url)
    else:
        good = bot.requests.slash_command("/reauth-check", "C-1001", response_url=url)
        request = unsigned(good) if tamper == "unsigned" else forged(good)
    response = bot.send(request)
    # Without a timestamp the request guard refuses it before Bolt (400); Bolt refuses a bad signature (401).
    assert response.status_code == (400 if tamper == "unsigned" else 401)
    # Nothing was looked up, nothing answered.
    with bot.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LookupRow)) == 0
    assert bot.slack.responses(key) == []


def test_empty_text_gets_usage_in_the_ack(bot: LocalBot) -> None:
    acked = bot.slash("   ")
    assert acked.status == 200
    body = json.loads(acked.body)
    assert "Tell me which customer to check" in body["text"]
    assert "Usage: `/reauth-check" in json.dumps(body["blocks"])


def test_an_unknown_customer_is_named_with_the_accepted_forms(bot: LocalBot) -> None:
    acked = bot.slash("nobody@example.com")
    answer = answer_text(bot, acked.response_key)
    assert "No customer matches `nobody@example.com`" in answer
    assert "customer e-mail | customer id | ticket id or URL" in answer


def test_several_matches_are_listed_not_guessed(bot: LocalBot) -> None:
    acked = bot.slash("PAT.LEE@example.com")
    answer = answer_text(bot, acked.response_key)
    assert "2 customers match" in answer
    assert "C-1010" in answer and "C-1011" in answer
    with bot.db.sessions() as session:  # an ambiguous lookup looked nobody up
        assert session.scalar(select(func.count()).select_from(LookupRow)) == 0


def test_four_kilobytes_of_text_is_refused_clearly(bot: LocalBot) -> None:
    acked = bot.slash("x" * 4096)
    assert acked.status == 200
    assert "too long to be a customer e-mail" in json.loads(acked.body)["text"]


@pytest.mark.parametrize("query", ["'; DROP TABLE customers; --", "C-1001' OR '1'='1", "%", "C-1001;DELETE"])
def test_sql_looking_text_changes_nothing(bot: LocalBot, query: str) -> None:
    with bot.db.sessions() as session:
        before = session.scalar(select(func.count()).select_from(CustomerRow))
    acked = bot.slash(query)
    assert acked.status == 200
    reply = acked.body or answer_text(bot, acked.response_key)
    assert "can't read that" in reply or "No customer matches" in reply or "Give one customer" in reply
    with bot.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CustomerRow)) == before


def test_a_lookup_that_fails_tells_the_agent_and_logs_no_email(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    # The lookup by e-mail fails in the very query that carries the e-mail as a parameter.
    with bot.db.transaction() as session:
        session.execute(text("ALTER TABLE customers RENAME TO customers_gone"))
    with caplog.at_level(logging.INFO):
        acked = bot.slash("eli.novak@example.com")
        answer = answer_text(bot, acked.response_key)
    assert "the lookup failed on our side" in answer and "reference" in answer
    assert "eli.novak" not in caplog.text and "Eli Novak" not in caplog.text
    assert "reauth-check failed ref=" in caplog.text


def test_concurrent_commands_are_each_answered_once(bot: LocalBot) -> None:
    customers = ["C-1001", "C-1003", "C-1005", "C-1007", "C-1009"] * 4
    keys: list[str] = []
    lock = threading.Lock()

    def run(customer: str) -> None:
        acked = bot.slash(customer)
        assert acked.status == 200
        with lock:
            keys.append(acked.response_key)

    threads = [threading.Thread(target=run, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in keys:
        assert len(bot.slack.wait_for_responses(key, 1)) == 1


def test_healthz_reports_the_database(bot: LocalBot) -> None:
    response = bot.http.get(f"http://127.0.0.1:{bot.port}/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True and response.json()["database"] == "up"


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path_factory: pytest.TempPathFactory) -> None:
    unreachable = Database("postgresql://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    with LocalBot(unreachable) as running:
        response = running.http.get(f"http://127.0.0.1:{running.port}/healthz")
    assert response.status_code == 503 and response.json()["database"] == "down"


def test_the_same_flow_on_both_databases(db: Database) -> None:
    load_demo_dataset(db)
    with LocalBot(db, clock=lambda: DEMO_NOW) as running:
        acked = running.slash("https://acme.zendesk.com/agent/tickets/4488")
        answer = answer_text(running, acked.response_key)
    assert "C-1004" in answer and "Escalate" in answer


def test_the_check_button_of_an_ambiguous_match_answers_for_that_customer(bot: LocalBot) -> None:
    acked = bot.slash("pat.lee@example.com", user_id="U0ALICE")
    listed = bot.slack.wait_for_responses(acked.response_key, 1)[0]
    [second] = [b["accessory"] for b in listed["blocks"][1:] if "C-1011" in b["text"]["text"]]
    key = "check-button"
    request = bot.requests.block_actions(action_id=second["action_id"], value=second["value"], user_id="U0ALICE",
                                         response_url=bot.slack.response_url(key))
    assert bot.send(request).status_code == 200
    answer = bot.slack.wait_for_responses(key, 1)[0]
    assert answer["replace_original"] is True
    assert answer["blocks"][0]["text"]["text"].endswith("· C-1011 (SCE)")
    with bot.db.sessions() as session:
        audit = session.scalars(select(LookupRow)).all()
    assert [(a.customer_id, a.agent) for a in audit] == [("C-1011", "U0ALICE")]
