"""Property-based fuzzing of the HTTP edge: the real app served over HTTP, one server and one connection
pool for the whole module. Generated command texts and interactive payloads are signed as Slack signs
them; unsigned and malformed bodies are sent as an attacker would. No response may be a 5xx, every
signed request is answered, and no traceback reaches the logs."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import messages
from bot.demo.harness import LocalBot
from bot.features.escalations.blocks import ESCALATE_ACTION, MODAL_CALLBACK, SHORTCUT_CALLBACK, TAKE_ACTION
from bot.features.post_steps.blocks import (
    CANCEL_ACTION,
    POST_NOTE_ACTION,
    TICKET_MODAL_CALLBACK,
    button_value,
)
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import FORM, JSON, SignedRequest
from commands.post_steps import PostRequest
from commands.rules import Action
from models import Database
from tests.clock import Clock
from tests.demo_dataset import load_demo_dataset

AGENT = "U0AGENT"
# The full counts run on PostgreSQL, the stricter database (it refuses NUL in text and integers past
# BIGINT, both of which reached it before); SQLite gets a tenth of them, to keep the suite's time.
EXAMPLES = {"postgres": (2000, 1000), "sqlite": (200, 100)}


def fuzz(examples: int) -> settings:
    """Fixed examples (derandomized): a run is reproducible, and the counts are the ones asked for."""
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


class Records(logging.Handler):
    """Every record of the run, as the production format writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalBot, Records]]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/reauth.db")
        db.upgrade()
    else:
        db = request.getfixturevalue("postgres_database")
        from tests.conftest import _truncate_all

        _truncate_all(db)
    load_demo_dataset(db)
    records = Records()
    root = logging.getLogger()
    root.addHandler(records)
    previous = root.level
    root.setLevel(logging.INFO)
    settings_ = Settings(allowed_users=frozenset({AGENT}), escalation_channel="C0ESCALATE")
    try:
        with SlackStandIn() as slack, LocalBot(db, clock=Clock(_now()), settings=settings_, slack=slack) as bot:
            yield bot, records
    finally:
        root.removeHandler(records)
        root.setLevel(previous)
        if request.param == "sqlite":
            db.dispose()


def _now() -> Any:
    from bot.demo.stage import DEMO_NOW

    return DEMO_NOW


def assert_clean_logs(records: Records) -> None:
    tracebacks = [line for line in records.lines if "Traceback" in line]
    assert not tracebacks, tracebacks[0][:2000]


# --- command texts ---------------------------------------------------------------------------------------

WORDS = st.sampled_from([
    "ana.flores@example.com", "C-1004", "C-1001", "4521", "#4521", "https://acme.zendesk.com/agent/tickets/4521",
    "<mailto:ana.flores@example.com|ana.flores@example.com>", "nobody@example.com", "C-", "@", "payloads",
    "99999999999999999999", "9" * 5000, "\x00", "\u200b", "\u202e", "'; DROP TABLE customers; --", "%00", "\r\n",
])
COMMAND_TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(WORDS, st.text(max_size=20)), max_size=5).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=600),
)


def test_generated_command_texts_are_all_answered_without_a_5xx(
    fuzzed: tuple[LocalBot, Records], request: pytest.FixtureRequest
) -> None:
    bot, records = fuzzed
    examples = EXAMPLES[request.node.callspec.params["fuzzed"]][0]
    pending: list[str] = []
    sent = [0]

    @fuzz(examples)
    @given(text=COMMAND_TEXTS)
    def one(text: str) -> None:
        key = f"fuzz-{uuid.uuid4().hex[:12]}"
        url = bot.slack.response_url(key)
        request = bot.requests.slash_command("/reauth-check", text, user_id=AGENT, response_url=url)
        response = bot.send(request)
        sent[0] += 1
        assert response.status_code == 200, (response.status_code, response.text[:300])
        if response.text:
            answer = json.loads(response.text)
            assert answer["text"]
            if any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in text):
                assert answer["text"] == messages.CONTROL_CHARACTERS
        else:
            pending.append(key)

    one()
    assert sent[0] >= examples
    for key in pending:  # every acked lookup is answered on its response_url
        assert bot.slack.wait_for_responses(key, 1, timeout=20)[0]["text"]
    assert_clean_logs(records)


# --- interactive payloads ------------------------------------------------------------------------------

def _bases(bot: LocalBot) -> list[dict[str, Any]]:
    url = bot.slack.response_url("fuzz-payloads")
    steps = button_value(PostRequest("C-1004", "4521", Action.REAUTH, False))
    field = {"type": "plain_text_input", "value": "C-1004"}
    message = {"type": "message", "ts": "1764500000.000100", "user": "U0CARE", "text": "C-1004 needs help, #4521"}
    requests = bot.requests
    return [
        requests.block_actions_payload(action_id=POST_NOTE_ACTION, value=steps, user_id=AGENT, response_url=url),
        requests.block_actions_payload(action_id=CANCEL_ACTION, value=steps, user_id=AGENT, response_url=url),
        requests.block_actions_payload(action_id=TAKE_ACTION, value="1", user_id=AGENT, response_url=url),
        requests.block_actions_payload(action_id=ESCALATE_ACTION, value=json.dumps({"customer": "C-1004"}),
                                       user_id=AGENT, response_url=url),
        json.loads(_form_payload(requests.message_action(callback_id=SHORTCUT_CALLBACK, message=message,
                                                         user_id=AGENT, response_url=url))),
        json.loads(_form_payload(requests.view_submission(
            callback_id=MODAL_CALLBACK, user_id=AGENT,
            state_values={"customer": {"value": field}, "reason": {"value": {**field, "value": "no data"}},
                          "ticket": {"value": {**field, "value": "4521"}}, "note": {"value": {**field, "value": ""}}},
        ))),
        json.loads(_form_payload(requests.view_submission(
            callback_id=TICKET_MODAL_CALLBACK, user_id=AGENT, private_metadata=steps,
            state_values={"ticket": {"value": {**field, "value": "4521"}}},
        ))),
    ]


def _form_payload(request: SignedRequest) -> str:
    from urllib.parse import parse_qs

    return parse_qs(request.text)["payload"][0]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


HOSTILE_STRINGS = st.sampled_from(["", "\x00", "99999999999999999999", "9" * 5000, "-1", "U0AGENT", "{}", "[]",
                                   "null", "C-1004\x00", "\u202e", "a" * 3001, '{"a":"note","c":"C-1004"}'])
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=30), HOSTILE_STRINGS),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=6,
)


@st.composite
def payloads(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(payload) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return payload


def test_generated_interactive_payloads_never_get_a_5xx(
    fuzzed: tuple[LocalBot, Records], request: pytest.FixtureRequest
) -> None:
    bot, records = fuzzed
    examples = EXAMPLES[request.node.callspec.params["fuzzed"]][1]
    bases = _bases(bot)
    sent = [0]
    statuses: dict[int, int] = {}

    @fuzz(examples)
    @given(payload=payloads(bases))
    def one(payload: dict[str, Any]) -> None:
        from urllib.parse import urlencode

        body = urlencode([("payload", json.dumps(payload, separators=(",", ":")))]).encode()
        response = bot.send(bot.requests.sign(body, FORM))
        sent[0] += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text[:300], payload)

    one()
    assert sent[0] >= examples
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0  # both well-formed and refused shapes were sent
    assert_clean_logs(records)


# --- unsigned and malformed bodies -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["payload.team@example.com", "C-1004 payload", "payload=C-1004"])
def test_a_command_that_mentions_payload_is_answered_like_any_other(
    fuzzed: tuple[LocalBot, Records], text: str
) -> None:
    """Bolt alone reads any form body holding the word "payload" as an interaction, and a command such as
    this one would reach no listener: the agent would see Slack's own error and nothing to do about it."""
    bot, records = fuzzed
    key = f"payload-{uuid.uuid4().hex[:12]}"
    request = bot.requests.slash_command("/reauth-check", text, user_id=AGENT, response_url=bot.slack.response_url(key))
    assert "payload" in request.text

    response = bot.send(request)

    assert response.status_code == 200, response.text
    answer = json.loads(response.text) if response.text else bot.slack.wait_for_responses(key)[0]
    assert answer["text"]
    assert_clean_logs(records)


def test_a_command_that_mentions_payload_still_needs_slacks_signature(fuzzed: tuple[LocalBot, Records]) -> None:
    bot, _ = fuzzed
    body = (b"command=%2Freauth-check&user_id=U0AGENT&team_id=T0X&response_url=http%3A%2F%2Fx&trigger_id=1"
            b"&text=payload.team%40example.com")
    assert _raw(bot, body, FORM, "1764500000").status_code == 401
    assert _raw(bot, body, FORM).status_code == 200


def _raw(bot: LocalBot, body: bytes, content_type: str = FORM, timestamp: str | None = "sign") -> Any:
    headers = {"Content-Type": content_type}
    if timestamp == "sign":
        headers = bot.requests.sign(body, content_type).headers
    elif timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    return bot.http.post(bot.events_url, content=body, headers=headers)


@pytest.mark.parametrize(("body", "content_type", "timestamp", "status"), [
    (b"\xff\xfe payload", FORM, "1764500000", 400),
    (b"{not json", JSON, "1764500000", 400),
    (b"[1, 2, 3]", JSON, "1764500000", 400),
    (b"payload=not-json", FORM, "1764500000", 400),
    (b"payload=%5B%5D", FORM, "1764500000", 400),
    (b"text=hello", FORM, "", 400),
    (b"text=hello", FORM, "yesterday", 400),
    (b"text=hello", FORM, None, 400),
    (b"command=%2Freauth-check&user_id=U0X&team_id=T0X&response_url=http%3A%2F%2Fx&trigger_id=1"
     b"&text=ana.flores%40example.com%0AINFO bot.app forged line", FORM, "1764500000", 401),
    (b"x=" + b"a" * (2 * 1024 * 1024), FORM, "1764500000", 413),
    (b"<xml/>", "text/xml", "1764500000", 400),
])
def test_unsigned_and_malformed_bodies_get_a_4xx(
    fuzzed: tuple[LocalBot, Records], body: bytes, content_type: str, timestamp: str | None, status: int
) -> None:
    bot, records = fuzzed
    response = _raw(bot, body, content_type, timestamp)
    assert response.status_code == status, response.text
    assert_clean_logs(records)
    assert not any(line.startswith("INFO bot.app forged") for line in records.lines)
    assert not any("ana.flores" in line for line in records.lines)  # Bolt's log of a bad signature has no body


@pytest.mark.parametrize("payload", [
    {"actions": []}, {"actions": [None]}, {"view": "a string"}, {"user": {"id": 42}},
    {"actions": [{"action_id": TAKE_ACTION, "value": "99999999999999999999"}]},
    {"actions": [{"action_id": TAKE_ACTION, "value": "9" * 5000}]},
    {"trigger_id": None}, {"response_url": None},
])
def test_the_malformed_signed_payloads_of_the_report_are_refused_or_answered(
    fuzzed: tuple[LocalBot, Records], payload: dict[str, Any]
) -> None:
    bot, records = fuzzed
    base = bot.requests.block_actions_payload(action_id=TAKE_ACTION, value="1", user_id=AGENT,
                                              response_url=bot.slack.response_url("malformed"))
    for key, value in payload.items():
        if value is None:
            del base[key]
        else:
            base[key] = value
    from urllib.parse import urlencode

    body = urlencode([("payload", json.dumps(base))]).encode()
    response = bot.send(bot.requests.sign(body, FORM))
    assert response.status_code in (200, 400), response.text
    assert_clean_logs(records)
