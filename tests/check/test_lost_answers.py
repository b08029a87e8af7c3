"""An answer Slack's response_url no longer takes is not lost: logged by ids, then posted ephemerally.

A response_url takes five answers in 30 minutes; after that Slack answers 404 `used_url` (or
`expired_url`) without the SDK raising. The real app against the Slack stand-in, which enforces both.
"""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from bot.demo.harness import LocalBot
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.standins.slack_api import SlackCall, SlackStandIn
from models import Database
from tests.clock import Clock
from tests.post_steps.conftest import NOW, TICKET, add_customer, button, check, running_bot, standin_for

RESPONSE_URL_USES = 5


def used_up(slack: SlackStandIn, key: str) -> str:
    """A response URL whose five answers were already spent."""
    url = slack.response_url(key)
    with httpx.Client(trust_env=False) as client:
        for _ in range(RESPONSE_URL_USES):
            assert client.post(url, json={"text": "earlier answer"}).status_code == 200
        assert client.post(url, json={"text": "one too many"}).status_code == 404
    return url


def slash_with(bot: LocalBot, text: str, response_url: str) -> None:
    request = bot.requests.slash_command("/reauth-check", text, user_id="U0AGENT", response_url=response_url)
    response = bot.send(request)
    assert response.status_code == 200 and response.text == ""


@pytest.mark.parametrize("how", ["used_url", "expired_url"])
def test_a_check_answer_slack_refuses_comes_as_an_ephemeral_message(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    add_customer(sqlite_db, "C-3001")
    caplog.set_level(logging.INFO)
    with running_bot(sqlite_db, None, Clock(NOW)) as rig:
        slack = rig.bot.slack
        url = used_up(slack, "spent") if how == "used_url" else f"{slack.base_url}/response/never-issued"
        slash_with(rig.bot, "c-3001", url)
        [call] = slack.wait_for("chat.postEphemeral", 1, timeout=10.0)
    assert call.args["channel"] == "C0SUPPORT" and call.args["user"] == "U0AGENT"  # the same agent and channel
    assert "C-3001" in call.args["text"] and "C-3001" in json.dumps(call.args["blocks"])
    assert "response_type" not in call.args
    lost = [r.getMessage() for r in caplog.records if "not delivered to response_url" in r.getMessage()]
    assert len(lost) == 1 and how in lost[0] and "U0AGENT" in lost[0]
    assert all("@example.com" not in r.getMessage() for r in caplog.records)  # ids only, never the e-mail


def test_when_the_bot_cannot_post_there_either_it_is_logged(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    add_customer(sqlite_db, "C-3001")
    with running_bot(sqlite_db, None, Clock(NOW)) as rig:
        slack = rig.bot.slack
        slack.fail_next("chat.postEphemeral", status=200, error="channel_not_found")
        slash_with(rig.bot, "C-3001", used_up(slack, "spent"))
        [refused] = slack_wait_rejected(slack, "chat.postEphemeral")
    assert refused.error == "channel_not_found"
    assert any("not delivered as an ephemeral message either: error=channel_not_found" in r.getMessage()
               for r in caplog.records)


def slack_wait_rejected(slack: SlackStandIn, method: str) -> list[SlackCall]:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        found = [call for call in slack.rejected_calls if call.method == method]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no rejected {method} call within 10 s")


def test_a_posting_answer_slack_refuses_comes_as_an_ephemeral_message(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-3001")
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-3001 {TICKET}")
        slack = rig.bot.slack
        request = rig.bot.requests.block_actions(
            action_id=POST_NOTE_ACTION, value=button(answer, POST_NOTE_ACTION)["value"], user_id="U0AGENT",
            response_url=used_up(slack, "click-spent"),
        )
        assert rig.bot.send(request).status_code == 200
        [call] = slack.wait_for("chat.postEphemeral", 1, timeout=15.0)
    assert call.args["user"] == "U0AGENT" and call.args["channel"] == "C0SUPPORT"
    assert "as an internal note" in call.args["text"] and "replace_original" not in call.args
    assert len(standin.notes(TICKET)) == 1  # the post itself happened once
