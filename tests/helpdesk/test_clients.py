"""The three helpdesk clients against their local stand-ins: success, retries, refusals, links."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate

import httpx
import pytest

from bot.helpdesk import (
    HELPDESK_KINDS,
    INTERCOM_VERSION,
    FreshdeskHelpdesk,
    Helpdesk,
    HelpdeskClient,
    IntercomHelpdesk,
    Posted,
    Rejected,
    RetryLater,
    RetryPolicy,
    ZendeskHelpdesk,
    make_helpdesk,
    text_to_html,
)
from bot.standins.helpdesk import FreshdeskStandIn, HelpdeskStandIn, IntercomStandIn, ZendeskStandIn
from bot.standins.server import poll

TICKET = "123"
STEPS = "Revoke every authorization.\nThen authorize once.\n\nWait 5 to 7 days."
NOW = 1_800_000_000.0


@dataclass
class FakeTime:
    """A clock that only moves when the policy sleeps, and remembers every sleep."""

    now: float = NOW
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def policy_for(fake: FakeTime, *, rng: Callable[[], float] = lambda: 1.0, **overrides: float) -> RetryPolicy:
    # rng = 1.0 makes full jitter deterministic: the backoff is exactly its ceiling (0.5, 1, 2 s).
    attempts = int(overrides.get("attempts", 4))
    max_delay = overrides.get("max_delay", 30.0)
    return RetryPolicy(
        attempts=attempts, base_delay=0.5, max_delay=max_delay, sleep=fake.sleep, clock=fake.clock, rng=rng
    )


def make_standin(kind: str) -> HelpdeskStandIn:
    if kind == "zendesk":
        return ZendeskStandIn(tickets=[TICKET])
    if kind == "intercom":
        return IntercomStandIn(tickets=[TICKET])
    return FreshdeskStandIn(tickets=[TICKET])


def make_client(
    standin: HelpdeskStandIn,
    policy: RetryPolicy,
    *,
    timeout: httpx.Timeout | float | None = None,
    wrong_credentials: bool = False,
) -> HelpdeskClient:
    bad = "wrong-" if wrong_credentials else ""
    if isinstance(standin, ZendeskStandIn):
        return ZendeskHelpdesk(
            standin.base_url, email=standin.email, api_token=bad + standin.api_token, policy=policy, timeout=timeout
        )
    if isinstance(standin, IntercomStandIn):
        return IntercomHelpdesk(
            standin.base_url,
            api_token=bad + standin.api_token,
            admin_id=standin.admin_id,
            policy=policy,
            timeout=timeout,
        )
    assert isinstance(standin, FreshdeskStandIn)
    return FreshdeskHelpdesk(standin.base_url, api_key=bad + standin.api_key, policy=policy, timeout=timeout)


@dataclass
class Rig:
    standin: HelpdeskStandIn
    client: HelpdeskClient
    time: FakeTime


@pytest.fixture(params=HELPDESK_KINDS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    fake = FakeTime()
    with make_standin(request.param) as standin, make_client(standin, policy_for(fake)) as client:
        yield Rig(standin, client, fake)


# --- success ---------------------------------------------------------------------------------


def test_posts_an_internal_note_by_default(rig: Rig) -> None:
    result = rig.client.post_note(TICKET, STEPS)

    [note] = rig.standin.notes(TICKET)
    assert result == Posted(external_id=str(note.id), url=rig.client.ticket_url(TICKET))
    assert note.public is False
    assert len(rig.standin.requests) == 1
    assert rig.time.sleeps == []


def test_public_posts_a_customer_visible_reply(rig: Rig) -> None:
    result = rig.client.post_note(TICKET, STEPS, public=True)

    assert isinstance(result, Posted)
    [note] = rig.standin.notes(TICKET)
    assert note.public is True
    [request] = rig.standin.requests
    assert isinstance(request.json, dict)
    if isinstance(rig.client, ZendeskHelpdesk):
        assert request.json["ticket"]["comment"]["public"] is True
    elif isinstance(rig.client, IntercomHelpdesk):
        assert request.json["message_type"] == "comment"
    else:
        assert request.path == f"/api/v2/tickets/{TICKET}/reply"
        assert "private" not in request.json


def test_zendesk_always_sends_public_false_for_a_note() -> None:
    fake = FakeTime()
    with ZendeskStandIn(tickets=[TICKET]) as standin, make_client(standin, policy_for(fake)) as client:
        client.post_note(TICKET, STEPS)
    [request] = standin.requests
    assert request.method == "PUT"
    assert request.path == f"/api/v2/tickets/{TICKET}.json"
    assert request.json == {"ticket": {"comment": {"body": STEPS, "public": False}}}


def test_intercom_and_freshdesk_get_escaped_html() -> None:
    fake = FakeTime()
    body = "Use <Select All Data Types> & submit.\nThen wait."
    with IntercomStandIn(tickets=[TICKET]) as intercom, make_client(intercom, policy_for(fake)) as client:
        client.post_note(TICKET, body)
    with FreshdeskStandIn(tickets=[TICKET]) as freshdesk, make_client(freshdesk, policy_for(fake)) as client:
        client.post_note(TICKET, body)
    expected = "<p>Use &lt;Select All Data Types&gt; &amp; submit.<br>Then wait.</p>"
    assert intercom.notes(TICKET)[0].body == expected
    assert freshdesk.notes(TICKET)[0].body == expected
    assert intercom.requests[0].headers["intercom-version"] == INTERCOM_VERSION
    assert intercom.requests[0].headers["accept"] == "application/json"


def test_text_to_html_paragraphs() -> None:
    assert text_to_html("a\nb\n\n\n c \n") == "<p>a<br>b</p><p>c</p>"
    assert text_to_html('"quoted" <b>') == "<p>&quot;quoted&quot; &lt;b&gt;</p>"


# --- retries ---------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_is_honoured(rig: Rig) -> None:
    rig.standin.fail_next(429, headers={"Retry-After": "3"})

    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)
    assert rig.time.sleeps == [3.0]
    assert len(rig.standin.requests) == 2
    assert len(rig.standin.notes(TICKET)) == 1


def test_429_with_retry_after_http_date_is_honoured(rig: Rig) -> None:
    rig.standin.fail_next(429, headers={"Retry-After": formatdate(NOW + 7, usegmt=True)})

    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)
    assert rig.time.sleeps == [7.0]


def test_429_without_header_backs_off(rig: Rig) -> None:
    rig.standin.fail_next(429, times=2)

    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)
    assert rig.time.sleeps == [0.5, 1.0]


def test_backoff_uses_full_jitter() -> None:
    fake = FakeTime()
    policy = policy_for(fake, rng=lambda: 0.25)
    assert [policy.backoff(attempt) for attempt in (1, 2, 3)] == [0.125, 0.25, 0.5]
    assert policy_for(fake, max_delay=1.5).backoff(10) == 1.5


def test_intercom_429_with_x_ratelimit_reset() -> None:
    fake = FakeTime()
    with IntercomStandIn(tickets=[TICKET]) as standin, make_client(standin, policy_for(fake)) as client:
        standin.fail_next(429, headers={"X-RateLimit-Reset": str(int(NOW) + 4), "X-RateLimit-Remaining": "0"})
        assert isinstance(client.post_note(TICKET, STEPS), Posted)
    assert fake.sleeps == [4.0]


def test_server_asking_longer_than_max_delay_ends_attempts_early(rig: Rig) -> None:
    rig.standin.fail_next(429, headers={"Retry-After": "120"})

    result = rig.client.post_note(TICKET, STEPS)

    assert isinstance(result, RetryLater)
    assert result.not_before == NOW + 120
    assert "429" in result.reason
    assert rig.time.sleeps == []
    assert len(rig.standin.requests) == 1


def test_500_then_success(rig: Rig) -> None:
    rig.standin.fail_next(500)

    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)
    assert rig.time.sleeps == [0.5]
    assert len(rig.standin.notes(TICKET)) == 1


def test_server_errors_until_attempts_run_out(rig: Rig) -> None:
    rig.standin.fail_next(500, times=4)

    result = rig.client.post_note(TICKET, STEPS)

    assert isinstance(result, RetryLater)
    assert result.not_before is None
    assert "500" in result.reason
    assert rig.time.sleeps == [0.5, 1.0, 2.0]
    assert len(rig.standin.requests) == 4
    assert rig.standin.notes(TICKET) == []


def test_helpdesk_down_gives_retry_later_with_its_instruction(rig: Rig) -> None:
    rig.standin.set_down(True)

    result = rig.client.post_note(TICKET, STEPS)

    assert isinstance(result, RetryLater)
    assert result.not_before == rig.time.now + 1  # the stand-in's 503 carries Retry-After: 1
    assert rig.time.sleeps == [1.0, 1.0, 1.0]
    rig.standin.set_down(False)
    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)


def test_a_post_that_timed_out_is_not_repeated_and_is_found_by_reading_the_ticket_back(rig: Rig) -> None:
    # The only real wait in this module: the client gives up after 0.2 s on a 0.5 s answer.
    client = make_client(rig.standin, policy_for(rig.time), timeout=httpx.Timeout(0.2))
    rig.standin.delay_next(0.5)
    since = datetime.now(UTC)
    with client:
        result = client.post_note(TICKET, STEPS, marker="steps|C-1|key")
        assert isinstance(result, RetryLater) and "did not answer in time" in result.reason
        assert rig.time.sleeps == [] and len(rig.standin.requests) == 1  # sent once: it may have landed
        notes, stored = poll(lambda: rig.standin.notes(TICKET), lambda found: len(found) == 1, 10)
        assert stored
        found = client.find_note(TICKET, STEPS, public=False, marker="steps|C-1|key", since=since)
        assert isinstance(found, Posted) and found.external_id == str(notes[0].id)
        # Another post (another key, or a public reply of the same words) is not that note.
        assert client.find_note(TICKET, STEPS, public=True, marker="steps|C-1|other", since=since) is None


def test_reading_back_a_ticket_without_the_note_finds_nothing(rig: Rig) -> None:
    with make_client(rig.standin, policy_for(rig.time)) as client:
        assert isinstance(client.post_note(TICKET, "Something else entirely", marker="steps|C-1|a"), Posted)
        since = datetime.now(UTC)
        assert client.find_note(TICKET, STEPS, public=False, marker="steps|C-1|b", since=since) is None
        rig.standin.set_down(True)
        assert isinstance(client.find_note(TICKET, STEPS, public=False, marker="steps|C-1|b", since=since),
                          RetryLater)  # cannot tell: the outbox waits rather than post blind


def test_refused_connection_gives_retry_later_then_recovers(rig: Rig) -> None:
    base_url = rig.standin.base_url
    rig.standin.stop()

    result = rig.client.post_note(TICKET, STEPS)

    assert isinstance(result, RetryLater)
    assert result.not_before is None
    assert "could not reach" in result.reason
    assert rig.time.sleeps == [0.5, 1.0, 2.0]
    assert rig.standin.requests == []

    rig.standin.start()
    assert rig.standin.base_url == base_url
    assert isinstance(rig.client.post_note(TICKET, STEPS), Posted)


# --- refusals: never retried -----------------------------------------------------------------


def test_bad_credentials_are_rejected_without_retry(rig: Rig) -> None:
    with make_client(rig.standin, policy_for(rig.time), wrong_credentials=True) as client:
        result = client.post_note(TICKET, STEPS)

    assert isinstance(result, Rejected)
    assert result.status == 401
    assert result.what_to_check.startswith("Check the bot's helpdesk credentials (HELPDESK_")
    assert len(rig.standin.requests) == 1
    assert rig.time.sleeps == []


def test_unknown_ticket_is_rejected_without_retry(rig: Rig) -> None:
    result = rig.client.post_note("999", STEPS)

    assert isinstance(result, Rejected)
    assert result.status == 404
    word = "conversation" if isinstance(rig.client, IntercomHelpdesk) else "ticket"
    assert result.what_to_check == f"Check the ticket number: the helpdesk has no {word} 999"
    assert len(rig.standin.requests) == 1


@pytest.mark.parametrize("status", [403, 409, 422])
def test_other_4xx_are_rejected_without_retry(rig: Rig, status: int) -> None:
    rig.standin.fail_next(status)

    result = rig.client.post_note(TICKET, STEPS)

    if status == 409 and isinstance(rig.client, ZendeskHelpdesk):
        # Zendesk documents a 409 (two updates of one ticket collided) as one to retry.
        assert isinstance(result, Posted) and len(rig.standin.requests) == 2 and len(rig.time.sleeps) == 1
        return

    assert isinstance(result, Rejected)
    assert result.status == status
    assert result.what_to_check
    assert len(rig.standin.requests) == 1
    assert rig.time.sleeps == []


def test_zendesk_422_names_the_likely_cause() -> None:
    fake = FakeTime()
    with ZendeskStandIn(tickets=[TICKET]) as standin, make_client(standin, policy_for(fake)) as client:
        standin.fail_next(422)
        result = client.post_note(TICKET, STEPS)
    assert isinstance(result, Rejected)
    assert "closed" in result.what_to_check


def test_zendesk_409_is_retried_like_a_429_and_posts_one_note() -> None:
    fake = FakeTime()
    with ZendeskStandIn(tickets=[TICKET]) as standin, make_client(standin, policy_for(fake)) as client:
        standin.fail_next(409, headers={"Retry-After": "2"})
        result = client.post_note(TICKET, STEPS)
        assert isinstance(result, Posted)
        assert len(standin.notes(TICKET)) == 1 and len(standin.requests) == 2
    assert fake.sleeps == [2.0]  # the server's own instruction, as for a 429


def test_zendesk_409_without_an_instruction_backs_off_then_defers() -> None:
    fake = FakeTime()
    with ZendeskStandIn(tickets=[TICKET]) as standin, make_client(standin, policy_for(fake)) as client:
        standin.fail_next(409, times=4)
        result = client.post_note(TICKET, STEPS)
        assert standin.notes(TICKET) == []
    assert isinstance(result, RetryLater) and "conflicting update" in result.reason
    assert fake.sleeps == [0.5, 1.0, 2.0]


ADVICE: dict[tuple[str, int], str] = {
    ("zendesk", 422): "a closed ticket, or one at its comment limit",
    ("intercom", 422): "did not take a note as the bot's teammate",
    ("freshdesk", 422): "it did not take a new note",
    ("intercom", 403): "Intercom's API needs an active plan",
    ("freshdesk", 403): "needs access to ticket 123",
    ("zendesk", 403): "Check the bot's helpdesk credentials",
}


@pytest.mark.parametrize(("kind", "status"), list(ADVICE), ids=[f"{k}-{s}" for k, s in ADVICE])
def test_each_helpdesk_gives_its_own_advice_for_a_refusal(kind: str, status: int) -> None:
    fake = FakeTime()
    with make_standin(kind) as standin, make_client(standin, policy_for(fake)) as client:
        standin.fail_next(status)
        result = client.post_note(TICKET, STEPS)
    assert isinstance(result, Rejected) and result.status == status
    assert ADVICE[(kind, status)] in result.what_to_check
    if kind != "zendesk":
        assert "comment limit" not in result.what_to_check  # Zendesk's wording stays Zendesk's


def test_intercom_wrong_admin_points_at_the_admin_setting() -> None:
    fake = FakeTime()
    with IntercomStandIn(tickets=[TICKET]) as standin:
        client = IntercomHelpdesk(
            standin.base_url, api_token=standin.api_token, admin_id="1", policy=policy_for(fake)
        )
        with client:
            result = client.post_note(TICKET, STEPS)
    assert isinstance(result, Rejected)
    assert result.status == 400
    assert "Admin not found" in result.reason
    assert "HELPDESK_ADMIN_ID" in result.what_to_check
    assert len(standin.requests) == 1


@pytest.mark.parametrize("ticket_id", ["", "abc", "12/../13", "https://x.zendesk.com/agent/tickets/1"])
def test_a_non_numeric_ticket_id_is_a_caller_bug(rig: Rig, ticket_id: str) -> None:
    with pytest.raises(ValueError, match="number"):
        rig.client.post_note(ticket_id, STEPS)
    assert rig.standin.requests == []


def test_an_empty_note_is_a_caller_bug(rig: Rig) -> None:
    with pytest.raises(ValueError, match="empty"):
        rig.client.post_note(TICKET, "  \n ")


# --- logging and environment -------------------------------------------------------------------


def test_logs_carry_ticket_status_attempt_but_no_body_or_secret(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.standin.fail_next(429)
    with caplog.at_level(logging.DEBUG):
        rig.client.post_note(TICKET, "SECRET-STEPS-TEXT")

    text = caplog.text
    assert f"ticket={TICKET}" in text
    assert "attempt=1" in text and "status=429" in text
    assert "SECRET-STEPS-TEXT" not in text
    for secret in ("zd-token", "ic-token", "fd-key"):
        assert secret not in text


def test_proxy_variables_do_not_reroute_the_client(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    with make_client(rig.standin, policy_for(rig.time)) as client:
        assert isinstance(client.post_note(TICKET, STEPS), Posted)


def test_a_passed_http_client_is_used_and_left_open() -> None:
    fake = FakeTime()
    with ZendeskStandIn(tickets=[TICKET]) as standin, httpx.Client(trust_env=False) as http:
        client = ZendeskHelpdesk(
            standin.base_url, email=standin.email, api_token=standin.api_token, policy=policy_for(fake), client=http
        )
        client.close()
        assert isinstance(client.post_note(TICKET, STEPS), Posted)
        assert not http.is_closed


# --- the retry policy on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after": formatdate(NOW - 60, usegmt=True)}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Reset": str(int(NOW) + 9)}, 9.0),
        ({"X-RateLimit-Reset": "6"}, 6.0),
        ({"X-RateLimit-Reset": "never"}, None),
        ({"Retry-After": "1", "X-RateLimit-Reset": str(int(NOW) + 9)}, 1.0),
        ({}, None),
    ],
)
def test_server_delay(headers: dict[str, str], expected: float | None) -> None:
    assert policy_for(FakeTime()).server_delay(headers) == expected


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


# --- the factory -------------------------------------------------------------------------------


def test_make_helpdesk_builds_each_kind() -> None:
    zendesk = make_helpdesk(
        "Zendesk",
        base_url="https://acme.zendesk.com/",
        credentials={"HELPDESK_EMAIL": "bot@acme.com", "HELPDESK_API_TOKEN": "t"},
    )
    intercom = make_helpdesk(
        "intercom",
        base_url="https://api.eu.intercom.io",
        credentials={"HELPDESK_API_TOKEN": "t", "HELPDESK_ADMIN_ID": "7", "HELPDESK_WORKSPACE_ID": "abc1"},
    )
    freshdesk = make_helpdesk("freshdesk", base_url="https://acme.freshdesk.com", credentials={"HELPDESK_API_KEY": "k"})
    helpdesks: list[Helpdesk] = [zendesk, intercom, freshdesk]
    try:
        assert [helpdesk.name for helpdesk in helpdesks] == ["zendesk", "intercom", "freshdesk"]
        assert zendesk.ticket_url("5") == "https://acme.zendesk.com/agent/tickets/5"
        assert intercom.ticket_url("5") == "https://app.eu.intercom.com/a/inbox/abc1/inbox/conversation/5"
        assert freshdesk.ticket_url("5") == "https://acme.freshdesk.com/a/tickets/5"
    finally:
        for helpdesk in helpdesks:
            helpdesk.close()


@pytest.mark.parametrize(
    ("kind", "credentials", "message"),
    [
        ("zendesk", {"HELPDESK_EMAIL": "a@b.c"}, "missing: HELPDESK_API_TOKEN"),
        ("zendesk", {}, "missing: HELPDESK_EMAIL, HELPDESK_API_TOKEN"),
        ("intercom", {"HELPDESK_API_TOKEN": "t", "HELPDESK_ADMIN_ID": " "}, "missing: HELPDESK_ADMIN_ID"),
        ("freshdesk", {"HELPDESK_API_TOKEN": "t"}, "missing: HELPDESK_API_KEY"),
        ("kayako", {}, "unknown helpdesk kind 'kayako'"),
    ],
)
def test_make_helpdesk_names_what_is_missing(kind: str, credentials: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_helpdesk(kind, base_url="https://x.example.com", credentials=credentials)


def test_make_helpdesk_refuses_a_base_url_without_scheme() -> None:
    with pytest.raises(ValueError, match="https://"):
        make_helpdesk("freshdesk", base_url="acme.freshdesk.com", credentials={"HELPDESK_API_KEY": "k"})


# --- ticket references -------------------------------------------------------------------------

ZENDESK, INTERCOM, INTERCOM_ANY, FRESHDESK = "zendesk", "intercom", "intercom, any workspace", "freshdesk"
HELPDESKS_FOR_LINKS: dict[str, Callable[[], HelpdeskClient]] = {
    ZENDESK: lambda: ZendeskHelpdesk("https://acme.zendesk.com", email="e", api_token="t"),
    INTERCOM: lambda: IntercomHelpdesk(
        "https://api.intercom.io", api_token="t", admin_id="1", workspace_id="ws42"
    ),
    INTERCOM_ANY: lambda: IntercomHelpdesk("https://api.intercom.io", api_token="t", admin_id="1"),
    FRESHDESK: lambda: FreshdeskHelpdesk("https://acme.freshdesk.com", api_key="k"),
}


@pytest.mark.parametrize(
    ("helpdesk", "text", "expected"),
    [
        (ZENDESK, "123", "123"),
        (ZENDESK, " #123 ", "123"),
        (ZENDESK, "https://acme.zendesk.com/agent/tickets/123", "123"),
        (ZENDESK, "https://acme.zendesk.com/agent/tickets/123/?via=slack#events", "123"),
        (ZENDESK, "https://other.zendesk.com/agent/tickets/123", None),
        (ZENDESK, "https://acme.zendesk.com/agent/tickets/abc", None),
        (ZENDESK, "https://acme.zendesk.com/agent/users/123", None),
        (ZENDESK, "ftp://acme.zendesk.com/agent/tickets/123", None),
        (INTERCOM, "4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/inbox/ws42/inbox/conversation/4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/inbox/ws42/inbox/shared/all/conversation/4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/apps/ws42/conversations/4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/inbox/ws42/inbox/conversations/4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/inbox/other/inbox/conversation/4567", None),
        (INTERCOM_ANY, "https://app.intercom.com/a/inbox/other/inbox/conversation/4567", "4567"),
        (INTERCOM, "https://app.intercom.com/a/inbox/ws42/inbox/conversation/", None),
        (INTERCOM, "https://api.intercom.io/conversations/4567", None),
        (FRESHDESK, "89", "89"),
        (FRESHDESK, "https://acme.freshdesk.com/a/tickets/89", "89"),
        (FRESHDESK, "https://acme.freshdesk.com/helpdesk/tickets/89", "89"),
        (FRESHDESK, "https://acme.freshdesk.com/a/contacts/89", None),
        (FRESHDESK, "https://evil.example.com/a/tickets/89", None),
        (FRESHDESK, "", None),
        (FRESHDESK, "ticket 89", None),
        (FRESHDESK, "-89", None),
        (FRESHDESK, "http://[::1", None),
    ],
)
def test_parse_ticket_reference(helpdesk: str, text: str, expected: str | None) -> None:
    with HELPDESKS_FOR_LINKS[helpdesk]() as client:
        assert client.parse_ticket_reference(text) == expected
