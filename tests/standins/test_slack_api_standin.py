"""The Slack stand-ins, driven by the real slack_sdk clients and a real Bolt app.

`SlackStandIn` must answer like Slack for what the bot relies on (threads, updates, limits, auth,
rate limits, uploads, response URLs), and `SlackRequests` must build requests that Slack's own
verifier accepts and Bolt routes to the right listener.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from bot.standins.slack_api import (
    MAX_MESSAGE_TEXT,
    REQUIRED_ARGS,
    RESPONSE_URL,
    RESPONSE_URL_USES,
    SlackStandIn,
)
from bot.standins.slack_requests import SignedRequest, SlackRequests, forged, unsigned

TOKEN = "xoxb-test-standin"
SECRET = "test-signing-secret"
CHANNEL = "C0SUPPORT"
CHAT_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "slack-web-chat-methods.json"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.api_url)


def _api_error(call: Callable[..., SlackResponse], /, **kwargs: Any) -> SlackResponse:
    """The response of a call that must fail with SlackApiError."""
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    response: SlackResponse = info.value.response
    return response


def _poll_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll every 20 ms for work done on other threads; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition still false after {timeout}s")
        time.sleep(0.02)


def _header(headers: Mapping[str, Any], name: str) -> Any:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str = "Approve", value: str = "v", action_id: str = "approve") -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}
        ],
    }


def _modal(blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "reauth_modal",
        "title": {"type": "plain_text", "text": "Reauth check"},
        "blocks": blocks,
        **extra,
    }


def _contract_required(method: str) -> list[str]:
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    required: list[str] = contract["methods"][method]["args"]["required"]
    return required


# ------------------------------------------------------------------ chat.*


def test_post_message_is_stored_and_recorded(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [_section("Reconnect *PG&E*"), _button()]
    first = client.chat_postMessage(channel=CHANNEL, text="Reconnect PG&E", blocks=blocks)
    second = client.chat_postMessage(channel=CHANNEL, text="second")

    assert first["ok"] is True and first["channel"] == CHANNEL
    assert first["ts"] == "1700000000.000100"
    assert second["ts"] > first["ts"]
    assert first["message"]["blocks"] == blocks and first["message"]["bot_id"] == "B0BOT"
    assert standin.message(CHANNEL, first["ts"]) == {
        "ts": first["ts"],
        "text": "Reconnect PG&E",
        "blocks": blocks,
        "thread_ts": None,
        "user": "U0BOT",
        "files": [],
    }
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["Reconnect PG&E", "second"]
    [call, _] = standin.calls_to("chat.postMessage")
    assert call.args == {"channel": CHANNEL, "text": "Reconnect PG&E", "blocks": blocks}
    assert _header(call.headers, "Authorization") == f"Bearer {TOKEN}"


def test_thread_replies_need_a_top_level_parent(standin: SlackStandIn, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="Escalation")
    reply = client.chat_postMessage(channel=CHANNEL, text="Details", thread_ts=parent["ts"])
    client.chat_postMessage(channel="C0OTHER", text="elsewhere")

    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m["text"] for m in standin.thread(CHANNEL, parent["ts"])] == ["Details"]
    for bad_parent, channel in ((reply["ts"], CHANNEL), ("1600000000.000100", CHANNEL), (parent["ts"], "C0OTHER")):
        error = _api_error(client.chat_postMessage, channel=channel, text="x", thread_ts=bad_parent)
        assert error["error"] == "thread_not_found"
    assert len(standin.messages(CHANNEL)) == 2


def test_update_replaces_text_and_blocks(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="v1", blocks=[_section("v1")])

    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert standin.message(CHANNEL, posted["ts"])["blocks"] == [_section("v1")]  # left out: kept

    updated = client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v3", blocks=[_section("v3")])
    assert updated["ts"] == posted["ts"] and updated["text"] == "v3"
    assert standin.message(CHANNEL, posted["ts"]) | {"files": []} == {
        "ts": posted["ts"],
        "text": "v3",
        "blocks": [_section("v3")],
        "thread_ts": None,
        "user": "U0BOT",
        "files": [],
    }
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v4", blocks=[])
    assert standin.message(CHANNEL, posted["ts"])["blocks"] is None  # an empty array removes them

    missing = _api_error(lambda: client.chat_update(channel=CHANNEL, ts="1600000000.000100", text="x"))
    assert missing["error"] == "message_not_found"


def test_ephemeral_is_answered_but_not_in_history(standin: SlackStandIn, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel=CHANNEL, user="U0AGENT", text="only you")
    assert answer["ok"] is True and answer["message_ts"]
    assert standin.messages(CHANNEL) == []
    [call] = standin.calls_to("chat.postEphemeral")
    assert call.args["user"] == "U0AGENT"


def test_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    no_text = _api_error(client.api_call, api_method="chat.postMessage", json={"channel": CHANNEL})
    assert no_text["error"] == "no_text"


def test_posting_to_a_user_id_lands_in_the_dm(standin: SlackStandIn, client: WebClient) -> None:
    opened = client.conversations_open(users="U0AGENT")
    again = client.conversations_open(users=["U0AGENT"])
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and dm == again["channel"]["id"] == standin.dm_channel("U0AGENT")
    assert again["already_open"] is True
    assert client.conversations_open(users="U0OTHER")["channel"]["id"] != dm

    posted = client.chat_postMessage(channel="U0AGENT", text="hello")
    assert posted["channel"] == dm
    assert [m["text"] for m in standin.messages(dm)] == ["hello"]


# ------------------------------------------------------------------ auth, arguments, unknown methods


def test_wrong_or_missing_token_is_refused_and_not_recorded_as_accepted(standin: SlackStandIn) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=standin.api_url)
    anonymous = WebClient(base_url=standin.api_url)

    assert _api_error(lambda: wrong.chat_postMessage(channel=CHANNEL, text="x"))["error"] == "invalid_auth"
    assert _api_error(anonymous.auth_test)["error"] == "not_authed"
    assert standin.calls == []
    assert [(c.method, c.error) for c in standin.rejected_calls] == [
        ("chat.postMessage", "invalid_auth"),
        ("auth.test", "not_authed"),
    ]
    assert standin.messages(CHANNEL) == []


def test_auth_test_answers_the_workspace(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["team_id"] == "T0STANDIN" and answer["user_id"] == "U0BOT" and answer["bot_id"] == "B0BOT"


def test_unknown_method(client: WebClient) -> None:
    assert _api_error(lambda: client.api_call("chat.teleport"))["error"] == "unknown_method"


def test_form_bodies_and_query_strings_are_flattened_and_json_fields_decoded(
    standin: SlackStandIn, client: WebClient
) -> None:
    blocks = [_section("from a form")]
    client.api_call("chat.postMessage", params={"channel": CHANNEL, "text": "[not json", "blocks": json.dumps(blocks)})
    [call] = standin.calls_to("chat.postMessage")
    assert call.args == {"channel": CHANNEL, "text": "[not json", "blocks": blocks}
    assert standin.messages(CHANNEL)[0]["blocks"] == blocks

    with httpx.Client(trust_env=False) as http:
        answer = http.get(standin.api_url + "auth.test", params=[("token", TOKEN), ("x", "1"), ("x", "2")])
    assert answer.json()["ok"] is True
    assert standin.calls_to("auth.test")[0].args == {"token": TOKEN, "x": "2"}


# ------------------------------------------------------------------ the docs.slack.dev contract


@pytest.mark.parametrize("method", CHAT_METHODS)
def test_stand_in_requires_what_the_docs_require(method: str) -> None:
    assert sorted(REQUIRED_ARGS[method]) == sorted(_contract_required(method))


def test_recorded_chat_requests_carry_every_required_arg(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="v1")
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    client.chat_postEphemeral(channel=CHANNEL, user="U0AGENT", text="psst")

    for method in CHAT_METHODS:
        [call] = standin.calls_to(method)
        for name in _contract_required(method):
            if name == "token":  # "passed as an HTTP Authorization header or alternatively, as a POST parameter"
                assert _header(call.headers, "Authorization") == f"Bearer {TOKEN}", method
            else:
                assert isinstance(call.args.get(name), str) and call.args[name], (method, name)


@pytest.mark.parametrize(
    ("method", "missing"),
    [(m, name) for m in CHAT_METHODS for name in REQUIRED_ARGS[m] if name != "token"],
)
def test_each_missing_required_arg_is_invalid_arguments(
    standin: SlackStandIn, client: WebClient, method: str, missing: str
) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="target")
    complete = {"channel": CHANNEL, "text": "x", "ts": posted["ts"], "user": "U0AGENT"}
    args = {k: v for k, v in complete.items() if k != missing}

    error = _api_error(lambda: client.api_call(method, json=args))

    assert error["error"] == "invalid_arguments"
    assert error["response_metadata"]["messages"] == [f"[ERROR] missing required field: {missing}"]
    assert standin.rejected_calls[-1].error == "invalid_arguments"


# ------------------------------------------------------------------ Block Kit limits


def _button_with(**element: Any) -> dict[str, Any]:
    base = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "ok"}, "value": "v"}
    return {"type": "actions", "elements": [base | element]}


LIMIT_CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    # name: (blocks at the limit, blocks one past it)
    "blocks per message": ([{"type": "divider"}] * 50, [{"type": "divider"}] * 51),
    "section text": ([_section("x" * 3000)], [_section("x" * 3001)]),
    "header": (
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    ),
    "button text": (
        [_button_with(text={"type": "plain_text", "text": "b" * 75})],
        [_button_with(text={"type": "plain_text", "text": "b" * 76})],
    ),
    "button value": ([_button_with(value="v" * 2000)], [_button_with(value="v" * 2001)]),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_block_kit_limits(standin: SlackStandIn, client: WebClient, case: str) -> None:
    at_limit, over_limit = LIMIT_CASES[case]
    client.chat_postMessage(channel=CHANNEL, text="fits", blocks=at_limit)

    error = _api_error(lambda: client.chat_postMessage(channel=CHANNEL, text="too big", blocks=over_limit))

    assert error["error"] == "invalid_blocks"
    assert error["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["fits"]


def test_fifty_one_blocks_names_the_limit(client: WebClient) -> None:
    error = _api_error(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=[{"type": "divider"}] * 51))
    assert error["response_metadata"]["messages"] == ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"]


def test_message_text_limit(client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="t" * MAX_MESSAGE_TEXT)
    too_long = _api_error(lambda: client.chat_postMessage(channel=CHANNEL, text="t" * (MAX_MESSAGE_TEXT + 1)))
    assert too_long["error"] == "msg_too_long"


def test_view_limits(client: WebClient) -> None:
    client.views_open(trigger_id="1.2.3", view=_modal([{"type": "divider"}] * 100, private_metadata="m" * 3000))

    too_many = _api_error(lambda: client.views_open(trigger_id="1.2.3", view=_modal([{"type": "divider"}] * 101)))
    metadata = _api_error(
        lambda: client.views_open(trigger_id="1.2.3", view=_modal([_section("x")], private_metadata="m" * 3001))
    )
    home_blocks = [{"type": "divider"}] * 101
    home = _api_error(lambda: client.views_publish(user_id="U0AGENT", view={"type": "home", "blocks": home_blocks}))

    assert too_many["error"] == metadata["error"] == home["error"] == "invalid_blocks"


# ------------------------------------------------------------------ views


def test_views_open_update_and_publish(standin: SlackStandIn, client: WebClient) -> None:
    opened = client.views_open(trigger_id="1.2.3", view=_modal([_section("step 1")], external_id="case-9"))
    view_id = opened["view"]["id"]

    updated = client.views_update(view_id=view_id, view=_modal([_section("step 2")]))
    by_external = client.views_update(external_id="case-9", view=_modal([_section("step 3")]))
    stale = _api_error(lambda: client.views_update(view_id=view_id, hash="0.stale", view=_modal([_section("x")])))
    unknown = _api_error(lambda: client.views_update(view_id="V0NOPE", view=_modal([_section("x")])))

    assert updated["view"]["id"] == by_external["view"]["id"] == view_id
    assert standin.view(view_id)["blocks"] == [_section("step 3")]
    assert (stale["error"], unknown["error"]) == ("hash_conflict", "not_found")

    client.views_publish(user_id="U0AGENT", view={"type": "home", "blocks": [_section("home")]})
    home = standin.home_view("U0AGENT")
    assert home is not None and home["blocks"] == [_section("home")]
    assert standin.home_view("U0NOBODY") is None


def test_views_open_needs_a_trigger_and_a_modal(client: WebClient) -> None:
    no_trigger = _api_error(lambda: client.api_call("views.open", json={"view": _modal([_section("x")])}))
    wrong_type = _api_error(lambda: client.views_open(trigger_id="1.2.3", view={"type": "home", "blocks": []}))
    assert no_trigger["error"] == wrong_type["error"] == "invalid_arguments"


# ------------------------------------------------------------------ faults and rate limits


def test_fail_next_429_reaches_the_client_with_retry_after(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=7)

    error = _api_error(lambda: client.chat_postMessage(channel=CHANNEL, text="x"))

    assert error.status_code == 429 and error["error"] == "ratelimited"
    assert _header(error.headers, "Retry-After") == "7"
    assert standin.calls_to("chat.postMessage") == []
    assert [(c.status, c.error) for c in standin.rejected_calls] == [(429, "ratelimited")]
    client.chat_postMessage(channel=CHANNEL, text="next one passes")


def test_rate_limit_retry_handler_gets_through(standin: SlackStandIn, client: WebClient) -> None:
    # retry_after=0: the handler sleeps Retry-After plus up to one random second.
    standin.fail_next("chat.postMessage", status=429, retry_after=0)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    posted = client.chat_postMessage(channel=CHANNEL, text="after one retry")

    assert posted["ok"] is True
    assert len(standin.calls_to("chat.postMessage")) == 1 and len(standin.rejected_calls) == 1


def test_fail_next_can_inject_a_plain_slack_error_several_times(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("chat.update", status=200, error="cant_update_message", retry_after=None, times=2)
    posted = client.chat_postMessage(channel=CHANNEL, text="v1")
    for _ in range(2):
        error = _api_error(lambda: client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2"))
        assert (error.status_code, error["error"]) == (200, "cant_update_message")
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")


def test_outage_answers_503_until_turned_off(standin: SlackStandIn, client: WebClient) -> None:
    standin.set_unavailable(True)
    assert _api_error(client.auth_test).status_code == 503
    standin.set_unavailable(False)
    assert client.auth_test()["ok"] is True


def test_per_channel_rate_limit(standin: SlackStandIn, client: WebClient) -> None:
    standin.rate_limit_per_channel(1.0)
    client.chat_postMessage(channel=CHANNEL, text="first")

    burst = _api_error(lambda: client.chat_postMessage(channel=CHANNEL, text="too soon"))
    client.chat_postMessage(channel="C0OTHER", text="another channel is fine")

    assert burst.status_code == 429 and _header(burst.headers, "Retry-After") == "1"
    standin.rate_limit_per_channel(None)
    client.chat_postMessage(channel=CHANNEL, text="limit off")
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["first", "limit off"]


# ------------------------------------------------------------------ files


def test_files_upload_v2_records_the_bytes_and_shares_the_file(standin: SlackStandIn, client: WebClient) -> None:
    content = "customer,utility\n42,PG&E\n"
    parent = client.chat_postMessage(channel=CHANNEL, text="digest")

    answer = client.files_upload_v2(
        channel=CHANNEL, filename="digest.csv", content=content, title="Digest", thread_ts=parent["ts"]
    )

    assert standin.uploads() == [("digest.csv", content.encode())]
    assert answer["file"]["name"] == "digest.csv" and answer["file"]["title"] == "Digest"
    assert [c.method for c in standin.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [shared] = standin.thread(CHANNEL, parent["ts"])
    assert shared["files"][0]["id"] == answer["file"]["id"]


def test_completing_an_upload_that_never_happened_is_refused(client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="x.txt", length=3)
    error = _api_error(lambda: client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "x"}]))
    assert error["error"] == "file_not_found"


# ------------------------------------------------------------------ response URLs


def test_response_url_takes_five_posts_then_refuses(standin: SlackStandIn) -> None:
    url = standin.response_url("cmd-1")
    hook = WebhookClient(url)

    statuses = [hook.send(text=f"reply {n}").status_code for n in range(RESPONSE_URL_USES)]
    sixth = hook.send(text="one too many")

    assert statuses == [200] * RESPONSE_URL_USES
    assert (sixth.status_code, json.loads(sixth.body)) == (404, {"ok": False, "error": "used_url"})
    assert [r["text"] for r in standin.responses("cmd-1")] == [f"reply {n}" for n in range(5)]
    assert standin.response_url("cmd-1") == url
    assert WebhookClient(url.replace("cmd-1", "never-issued")).send(text="x").status_code == 404


def test_response_url_validates_blocks_without_using_up_the_url(standin: SlackStandIn) -> None:
    hook = WebhookClient(standin.response_url("k"))
    refused = hook.send(text="x", blocks=[{"type": "divider"}] * 51)
    assert refused.status_code == 400 and json.loads(refused.body)["error"] == "invalid_blocks"
    assert hook.send(text="fine").status_code == 200
    assert standin.responses("k") == [{"text": "fine"}]


def test_response_url_replaces_and_deletes_the_message_it_belongs_to(
    standin: SlackStandIn, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="pick one", blocks=[_button()])
    hook = WebhookClient(standin.response_url(channel=CHANNEL, message_ts=posted["ts"]))

    hook.send(text="done", replace_original=True)
    assert standin.message(CHANNEL, posted["ts"])["text"] == "done"
    assert standin.message(CHANNEL, posted["ts"])["blocks"] is None

    hook.send(text="for everyone", response_type="in_channel")
    hook.send(delete_original=True)
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["for everyone"]


def test_fail_next_on_response_urls(standin: SlackStandIn) -> None:
    standin.fail_next(RESPONSE_URL, status=500, retry_after=None)
    hook = WebhookClient(standin.response_url())
    assert hook.send(text="x").status_code == 500
    assert hook.send(text="y").status_code == 200


# ------------------------------------------------------------------ waiting


def test_wait_for_times_out_with_a_clear_message(standin: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="one")
    with pytest.raises(AssertionError, match=r"at least 2 accepted chat\.postMessage call\(s\) within 0\.1s, got 1"):
        standin.wait_for("chat.postMessage", count=2, timeout=0.1)
    with pytest.raises(AssertionError, match=r"post\(s\) to response URL 'k' within 0\.1s, got 0"):
        standin.wait_for_responses("k", timeout=0.1)


def test_wait_for_sees_calls_made_from_another_thread(standin: SlackStandIn, client: WebClient) -> None:
    worker = threading.Thread(target=lambda: client.chat_postMessage(channel=CHANNEL, text="async"))
    worker.start()
    [call] = standin.wait_for("chat.postMessage", timeout=5)
    worker.join()
    assert call.args["text"] == "async"


def test_port_is_free_after_stop() -> None:
    standin = SlackStandIn(token=TOKEN).start()
    port = standin.port
    WebClient(token=TOKEN, base_url=standin.api_url).auth_test()
    standin.stop()
    with SlackStandIn(token=TOKEN, port=port) as again:
        assert again.port == port
    with pytest.raises(RuntimeError, match="not started"):
        _ = standin.api_url


# ------------------------------------------------------------------ signed requests


@pytest.fixture
def requests() -> SlackRequests:
    return SlackRequests(SECRET)


def _all_kinds(requests: SlackRequests, response_url: str, **kw: Any) -> dict[str, SignedRequest]:
    message = {"ts": "1700000000.000100", "text": "pick", "user": "U0BOT", "blocks": [_button()]}
    return {
        "slash_command": requests.slash_command("/reauth-check", "12345", response_url=response_url, **kw),
        "block_actions": requests.block_actions(
            action_id="approve", message=message, response_url=response_url, **kw
        ),
        "view_submission": requests.view_submission(
            callback_id="reauth_modal", private_metadata="case-1", state_values={}, **kw
        ),
        "message_action": requests.message_action(
            callback_id="check_this", message=message, response_url=response_url, **kw
        ),
        "event_callback": requests.event_callback({"type": "app_home_opened", "user": "U0AGENT"}, event_id="Ev1", **kw),
    }


def test_signed_requests_verify_and_tampering_does_not(requests: SlackRequests) -> None:
    verifier = SignatureVerifier(SECRET)
    six_minutes_ago = int(time.time()) - 6 * 60

    for kind, request in _all_kinds(requests, "http://127.0.0.1:1/response/x").items():
        assert verifier.is_valid_request(request.body, request.headers), kind
        assert not verifier.is_valid_request(forged(request).body, forged(request).headers), kind
        assert not verifier.is_valid_request(unsigned(request).body, unsigned(request).headers), kind
        assert not SignatureVerifier("another-secret").is_valid_request(request.body, request.headers), kind
    for kind, old in _all_kinds(requests, "http://127.0.0.1:1/response/x", timestamp=six_minutes_ago).items():
        assert old.headers["X-Slack-Request-Timestamp"] == str(six_minutes_ago)
        assert not verifier.is_valid_request(old.body, old.headers), kind


def test_slash_command_has_the_documented_fields(requests: SlackRequests) -> None:
    request = requests.slash_command("/reauth-check", "ticket 42", response_url="http://x/response/1")
    fields = dict(parse_qsl(request.text))
    # The docs-weather example's fields, without the Enterprise Grid ones.
    documented = {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "response_url", "trigger_id", "api_app_id",
    }  # fmt: skip
    assert documented <= set(fields)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (fields["command"], fields["text"], fields["team_id"]) == ("/reauth-check", "ticket 42", "T0STANDIN")


def test_block_actions_takes_block_id_and_value_from_the_message(
    standin: SlackStandIn, client: WebClient, requests: SlackRequests
) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="pick", blocks=[_button(value="case-7")])
    request = requests.block_actions(
        action_id="approve", message=standin.message(CHANNEL, posted["ts"]), response_url="http://x/r"
    )
    payload = _payload(request)

    assert set(payload) >= {
        "type", "team", "user", "api_app_id", "token", "container", "trigger_id", "channel", "message",
        "response_url", "actions",
    }  # fmt: skip
    assert payload["user"] == {"id": "U0AGENT", "username": "agent", "name": "agent", "team_id": "T0STANDIN"}
    assert payload["container"] == {
        "type": "message", "message_ts": posted["ts"], "channel_id": CHANNEL, "is_ephemeral": False,
    }  # fmt: skip
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "approve", "decision", "case-7", "button",
    )  # fmt: skip
    assert payload["message"]["blocks"] == [_button(value="case-7")]


def _payload(request: SignedRequest) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(dict(parse_qsl(request.text))["payload"])
    return payload


def test_block_actions_from_a_view_has_a_view_container(requests: SlackRequests) -> None:
    view = {"id": "V0HOME", "type": "home", "blocks": [_button(value="from-home")]}
    payload = _payload(requests.block_actions(action_id="approve", view=view))
    assert payload["container"] == {"type": "view", "view_id": "V0HOME"}
    assert "channel" not in payload and "response_url" not in payload
    assert payload["view"]["id"] == "V0HOME" and payload["actions"][0]["value"] == "from-home"


def test_view_submission_reuses_the_opened_view(
    standin: SlackStandIn, client: WebClient, requests: SlackRequests
) -> None:
    opened = client.views_open(trigger_id="1.2.3", view=_modal([_section("x")], private_metadata="case-3"))
    values = {"note": {"note_input": {"type": "plain_text_input", "value": "called PG&E"}}}
    payload = _payload(requests.view_submission(view=standin.view(opened["view"]["id"]), state_values=values))
    assert payload["type"] == "view_submission"
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        opened["view"]["id"], "reauth_modal", "case-3",
    )  # fmt: skip
    assert view["state"] == {"values": values}


def test_event_redelivery_carries_the_retry_headers(requests: SlackRequests) -> None:
    first = requests.event_callback({"type": "app_mention"}, event_id="Ev9")
    retry = requests.event_callback({"type": "app_mention"}, event_id="Ev9", retry_num=1)
    assert "X-Slack-Retry-Num" not in first.headers
    assert (retry.headers["X-Slack-Retry-Num"], retry.headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert json.loads(retry.body)["event_id"] == "Ev9" and retry.headers["Content-Type"] == "application/json"


def test_a_bolt_app_routes_every_kind_to_its_listener(standin: SlackStandIn, requests: SlackRequests) -> None:
    """Bolt verifies the signature, parses each body and calls the matching listener."""
    app = App(client=WebClient(token=TOKEN, base_url=standin.api_url), signing_secret=SECRET)
    seen: list[str] = []

    @app.command("/reauth-check")
    def on_command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"checking {command['text']}")

    @app.action("approve")
    def on_action(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.append(f"action:{body['actions'][0]['value']}")

    @app.view("reauth_modal")
    def on_view(ack: Ack, view: dict[str, Any]) -> None:
        ack()
        seen.append(f"view:{view['private_metadata']}")

    @app.shortcut("check_this")
    def on_shortcut(ack: Ack, shortcut: dict[str, Any]) -> None:
        ack()
        seen.append(f"shortcut:{shortcut['message']['ts']}")

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any]) -> None:
        seen.append(f"event:{event['user']}")

    for kind, request in _all_kinds(requests, standin.response_url("cmd")).items():
        response = app.dispatch(BoltRequest(body=request.text, headers=dict(request.headers)))
        assert response.status == 200, (kind, response.body)
        refused = app.dispatch(BoltRequest(body=forged(request).text, headers=dict(request.headers)))
        assert refused.status == 401, kind

    assert standin.wait_for_responses("cmd")[0]["text"] == "checking 12345"
    _poll_until(lambda: len(seen) >= 4)  # listeners run on Bolt's worker threads
    assert sorted(seen) == ["action:v", "event:U0AGENT", "shortcut:1700000000.000100", "view:case-1"]
    assert standin.calls_to("auth.test")  # Bolt checked the token against the stand-in
