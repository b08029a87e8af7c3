"""Access control at every entry point: unlisted users and other workspaces are refused, nothing is
looked up or changed, and the trail records the refusal; group membership follows Slack."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from slack_sdk import WebClient

from bot import messages
from bot.access import Members
from bot.cli import main
from bot.demo.harness import SIGNING_SECRET, LocalBot
from bot.features.escalations.blocks import MODAL_CALLBACK, SHORTCUT_CALLBACK, TAKE_ACTION
from bot.features.post_steps.blocks import POST_NOTE_ACTION, button_value
from bot.settings import Settings, SettingsError
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SignedRequest, SlackRequests
from commands.post_steps import PostRequest
from commands.rules import Action
from models import Database
from tests.security.conftest import CHANNEL, GROUP, LISTED, MEMBER, STRANGER, counts, wait_for_refusals

NOTHING = {"lookups": 0, "escalations": 0, "outbox": 0, "acts": 0}


def entry_point(bot: LocalBot, kind: str, user: str, requests: SlackRequests | None = None) -> SignedRequest:
    """One signed request of each kind an agent can send."""
    sign = requests or bot.requests
    url = bot.slack.response_url(f"{kind}-{user}")
    if kind == "slash_command":
        return sign.slash_command("/reauth-check", "ana.flores@example.com", user_id=user, response_url=url)
    if kind == "post_steps_button":
        value = button_value(PostRequest("C-1004", "4521", Action.REAUTH, False))
        return sign.block_actions(action_id=POST_NOTE_ACTION, value=value, user_id=user, response_url=url)
    if kind == "take_button":
        return sign.block_actions(action_id=TAKE_ACTION, value="1", user_id=user, response_url=url,
                                  channel_id=CHANNEL)
    if kind == "shortcut":
        message = {"type": "message", "ts": "1764500000.000100", "user": "U0CUSTOMERCARE", "text": "C-1004 again"}
        return sign.message_action(callback_id=SHORTCUT_CALLBACK, message=message, user_id=user, response_url=url)
    if kind == "form":
        values = {"customer": {"value": {"type": "plain_text_input", "value": "C-1004"}},
                  "reason": {"value": {"type": "plain_text_input", "value": "still no data"}}}
        return sign.view_submission(callback_id=MODAL_CALLBACK, state_values=values, user_id=user)
    if kind == "home":
        event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
        return sign.event_callback(event, event_id=f"Ev{user}{kind}")
    raise AssertionError(kind)


KINDS = ["slash_command", "post_steps_button", "take_button", "shortcut", "form", "home"]
SOURCES = {"slash_command": "slash_command", "post_steps_button": "button", "take_button": "button",
           "shortcut": "shortcut", "form": "form", "home": "home"}


def told(bot: LocalBot, kind: str, user: str, response: Any) -> str:
    """What the refused agent was shown, wherever that entry point shows it."""
    if kind == "slash_command":
        return str(response.json()["text"])
    if kind == "form":
        return json.dumps(response.json())
    if kind == "home":
        views = bot.slack.wait_for("views.publish", 1)
        assert views[0].args["user_id"] == user
        return json.dumps(views[0].args["view"])
    return str(bot.slack.wait_for_responses(f"{kind}-{user}", 1)[0]["text"])


@pytest.mark.parametrize("kind", KINDS)
def test_an_unlisted_user_is_refused_at_every_entry_point(guarded: LocalBot, kind: str) -> None:
    response = guarded.send(entry_point(guarded, kind, STRANGER))
    assert response.status_code == 200
    assert "not on the list of people who may use" in told(guarded, kind, STRANGER, response)
    assert wait_for_refusals(guarded.db, 1) == [(STRANGER, SOURCES[kind], "not_allowed")]
    assert counts(guarded.db) == NOTHING
    # Nothing posted or opened in Slack: only the start-up calls, and the refusal itself.
    assert {c.method for c in guarded.slack.calls} <= {"auth.test", "usergroups.users.list", "views.publish"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_request_from_another_workspace_is_refused_whoever_sends_it(guarded: LocalBot, kind: str) -> None:
    other = SlackRequests(SIGNING_SECRET, team_id="T0ELSEWHERE")
    response = guarded.send(entry_point(guarded, kind, LISTED, other))
    assert response.status_code == 200
    if kind != "home":
        assert "another workspace" in told(guarded, kind, LISTED, response)
    assert wait_for_refusals(guarded.db, 1) == [(LISTED, SOURCES[kind], "other_workspace")]
    if kind == "home":  # audited after the refusal was handled: another workspace's Home tab is not ours to draw
        assert guarded.slack.calls_to("views.publish") == []
    assert counts(guarded.db) == NOTHING


def test_another_apps_request_is_refused(guarded: LocalBot) -> None:
    other = SlackRequests(SIGNING_SECRET, api_app_id="A0SOMEONEELSE")
    response = guarded.send(entry_point(guarded, "slash_command", LISTED, other))
    assert "another workspace or app" in response.json()["text"]
    assert wait_for_refusals(guarded.db, 1) == [(LISTED, "slash_command", "other_app")]
    assert counts(guarded.db) == NOTHING


@pytest.mark.parametrize("user", [LISTED, MEMBER])
def test_a_listed_user_and_a_group_member_are_answered_and_audited(guarded: LocalBot, user: str) -> None:
    acked = guarded.slash("C-1004", user_id=user)
    assert acked.status == 200 and acked.body == ""
    assert "C-1004" in guarded.answer(acked)["text"]
    assert counts(guarded.db)["lookups"] == 1


def test_a_member_removed_from_the_group_is_refused_after_the_event(guarded: LocalBot) -> None:
    assert guarded.slash("C-1004", user_id=MEMBER).body == ""
    event = {"type": "subteam_members_changed", "subteam_id": GROUP, "team_id": "T0STANDIN",
             "added_users": ["U0CAROL"], "added_users_count": 1, "removed_users": [MEMBER], "removed_users_count": 1}
    assert guarded.send(guarded.requests.event_callback(event, event_id="EvMembers")).status_code == 200
    assert messages.NOT_ALLOWED in guarded.slash("C-1004", user_id=MEMBER).body
    assert guarded.slash("C-1004", user_id="U0CAROL").body == ""  # added by the same event


def test_a_group_replaced_by_subteam_updated_is_honoured(guarded: LocalBot) -> None:
    event = {"type": "subteam_updated", "subteam": {"id": GROUP, "users": ["U0DAVE"], "user_count": 1}}
    guarded.send(guarded.requests.event_callback(event, event_id="EvUpdated"))
    assert messages.NOT_ALLOWED in guarded.slash("C-1004", user_id=MEMBER).body
    assert guarded.slash("C-1004", user_id="U0DAVE").body == ""


def test_membership_is_fetched_again_after_the_ttl_without_the_ack_waiting(slack: SlackStandIn) -> None:
    now = [0.0]
    slack.set_usergroup(GROUP, [MEMBER])
    members = Members(WebClient(token=slack.token, base_url=slack.api_url), [], [GROUP], ttl_seconds=60,
                      monotonic=lambda: now[0])
    members.load()
    assert members.allows(MEMBER) and not members.allows("U0NEW")
    slack.set_usergroup(GROUP, ["U0NEW"])
    now[0] = 30.0
    assert members.allows(MEMBER)  # within the TTL: the cached list, no call
    assert len(slack.calls_to("usergroups.users.list")) == 1
    now[0] = 61.0
    assert members.allows(MEMBER)  # stale: answered from the cache while the refresh runs in the background
    slack.wait_for("usergroups.users.list", 2)
    for _ in range(100):
        if members.allows("U0NEW"):
            break
        time.sleep(0.02)
    assert members.allows("U0NEW") and not members.allows(MEMBER)


def test_a_group_that_cannot_be_fetched_lets_nobody_in_through_it(slack: SlackStandIn) -> None:
    members = Members(WebClient(token=slack.token, base_url=slack.api_url), [], ["S0UNKNOWN"])
    members.load()  # no_such_subteam: logged, and the group stays empty
    assert not members.allows(MEMBER)


def test_serve_without_an_allow_list_exits_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-used")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "ALLOWED_USERGROUPS" in err and "ALLOW_ALL_USERS=1" in err


def test_allow_all_users_opens_the_bot_on_purpose_and_says_so(
    sqlite_db: Database, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    assert Settings.from_env({"ALLOW_ALL_USERS": "1"}).allow_all_users
    with caplog.at_level(logging.WARNING), LocalBot(sqlite_db, settings=Settings(allow_all_users=True), slack=slack):
        pass
    assert "ALLOW_ALL_USERS is set: everyone in the workspace may use the bot" in caplog.text


@pytest.mark.parametrize(("name", "value"), [("ALLOWED_USERS", "alice"), ("ALLOWED_USERGROUPS", "U0ALICE"),
                                             ("ALLOW_ALL_USERS", "maybe")])
def test_a_malformed_access_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_nul_in_a_command_or_a_form_field_is_refused_before_the_database(guarded: LocalBot) -> None:
    acked = guarded.slash("ana.flores@example.com\x00", user_id=LISTED)
    assert json.loads(acked.body)["text"] == messages.CONTROL_CHARACTERS
    values = {"customer": {"value": {"type": "plain_text_input", "value": "C-1004"}},
              "reason": {"value": {"type": "plain_text_input", "value": "no data\x00"}}}
    submitted = guarded.send(guarded.requests.view_submission(callback_id=MODAL_CALLBACK, state_values=values,
                                                              user_id=LISTED))
    assert submitted.json() == {"response_action": "errors", "errors": {"reason": messages.CONTROL_CHARACTERS}}
    assert wait_for_refusals(guarded.db, 2) == [(LISTED, "slash_command", "control_characters"),
                                                (LISTED, "form", "control_characters")]
    assert counts(guarded.db) == NOTHING


def test_slacks_url_verification_still_answers_the_challenge(guarded: LocalBot) -> None:
    response = guarded.send(guarded.requests.url_verification("challenge-accepted"))
    assert response.status_code == 200 and response.json() == {"challenge": "challenge-accepted"}
