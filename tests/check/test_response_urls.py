"""Slash command answers over kept-alive connections (`bot.answers.ResponseUrls`), against the Slack stand-in:
one connection carries many answers, a connection the server closed is replaced without losing the answer,
Slack's refusals come back as they are for `answer_agent`, and a proxy in the environment keeps Bolt's respond.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from slack_sdk.models.blocks import SectionBlock

from bot.answers import ResponseUrls
from bot.standins.slack_api import SlackStandIn

RESPONSE_URL_USES = 5


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def test_answers_share_one_connection_and_arrive_as_json(slack: SlackStandIn) -> None:
    responses = ResponseUrls(timeout=5)
    try:
        for n in range(3):
            reply = responses.replier(slack.response_url(f"k{n}"))
            assert reply is not None
            answer = reply(text=f"answer {n}", blocks=[SectionBlock(text="*bold*")], response_type="ephemeral",
                           replace_original=None)
            assert answer.status_code == 200
        assert len(responses._opened) == 1  # one connection for the three answers of this thread
    finally:
        responses.close()
    [first] = slack.responses("k0")
    assert first["text"] == "answer 0" and first["response_type"] == "ephemeral"
    assert first["blocks"][0]["type"] == "section" and "replace_original" not in first


def test_a_connection_the_server_closed_is_replaced_and_the_answer_sent_once(slack: SlackStandIn) -> None:
    responses = ResponseUrls(timeout=5)
    try:
        reply = responses.replier(slack.response_url("before"))
        assert reply is not None and reply(text="first").status_code == 200
        # The kept connection's far end is gone, as when a server or a load balancer closes an idle one.
        near, far = socket.socketpair()
        far.close()
        kept = responses._opened[0]
        kept.close()
        kept.sock = near
        again = responses.replier(slack.response_url("after"))
        assert again is not None and again(text="second").status_code == 200
        assert responses._opened != [kept] and len(responses._opened) == 1  # replaced, not added to
    finally:
        responses.close()
    assert [r["text"] for r in slack.responses("after")] == ["second"]


def test_slacks_refusal_is_returned_for_answer_agent_to_read(slack: SlackStandIn) -> None:
    responses = ResponseUrls(timeout=5)
    try:
        reply = responses.replier(slack.response_url("spent"))
        assert reply is not None
        statuses = [reply(text=f"answer {n}").status_code for n in range(RESPONSE_URL_USES + 1)]
        refused = reply(text="one more")
    finally:
        responses.close()
    assert statuses == [200] * RESPONSE_URL_USES + [404]
    assert refused.status_code == 404 and "used_url" in refused.body


def test_a_proxy_in_the_environment_keeps_bolts_respond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert ResponseUrls().replier("https://hooks.slack.com/commands/T1/1/abc") is None
    monkeypatch.setenv("no_proxy", "hooks.slack.com")
    assert ResponseUrls().replier("https://hooks.slack.com/commands/T1/1/abc") is not None
