"""The /reauth-check answer per recommendation: verdict and date first, the instruction, the buttons that fit,
one line of facts; the `text` fallback carries the verdict, the date and the customer id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import messages
from bot.features.check.blocks import CHECK_CUSTOMER_ACTION, ambiguous_blocks, check_blocks, check_text
from commands.check import Ambiguous, CaseFile, Customer, EnrollmentStatus, Query, QueryKind, Report, build_report
from commands.policy import Utility
from commands.rules import Action, Authorization, AuthorizationStatus, Procedure

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # Monday 09:00 in California
FULL = "FB=1_3_4_5_13_14;IntervalDuration=900;"


def report(
    *, grants: tuple[int, ...] = (), scope: str = FULL, sent: tuple[int, ...] = (), connected: bool = False,
    utility: Utility = Utility.SCE, customer_id: str = "C-1007", ticket: str | None = None,
) -> Report:
    customer = Customer(customer_id, "gus@example.com", "Gus", utility,
                        EnrollmentStatus.VERIFIED if connected else EnrollmentStatus.PENDING,
                        NOW - timedelta(hours=3) if connected else None)
    authorizations = tuple(
        Authorization(f"A-{n}", AuthorizationStatus.PENDING, NOW - timedelta(days=days), scope)
        for n, days in enumerate(grants)
    )
    procedures = tuple(Procedure(NOW - timedelta(days=days), "4521", "U0ALICE") for days in sent)
    return build_report(CaseFile(customer, authorizations, procedures), NOW, ticket)


def rendered(r: Report) -> list[dict[str, Any]]:
    return [b.to_dict() for b in check_blocks(r)]


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [block] = [b for b in blocks if b["type"] == "actions"]
    found: list[dict[str, Any]] = block["elements"]
    return found


def test_wait_leads_with_the_date_then_what_to_do_then_the_buttons_then_the_facts() -> None:
    r = report(grants=(3,), ticket="4521")
    blocks = rendered(r)
    assert [b["type"] for b in blocks] == ["header", "section", "actions", "context"]
    assert blocks[0]["text"]["text"] == "Wait until Fri Dec 4 · C-1007 (SCE)"
    instruction = blocks[1]["text"]["text"]
    assert instruction.startswith("*Tell the customer to wait and not redo anything.*")
    assert "{date_long_pretty}|Friday, December 4, 2026>" in instruction  # the weekday, in Slack and in plain text
    assert "(3 days, SCE takes 5-7 days to verify)" in instruction
    reply, note, more = actions(blocks)
    assert (reply["text"]["text"], reply["style"]) == ("Send “please wait” reply", "primary")
    assert note["text"]["text"] == "Add as internal note" and "style" not in note
    assert more["type"] == "overflow" and [o["text"]["text"] for o in more["options"]] == ["Escalate"]
    facts = blocks[3]["elements"][0]["text"]
    assert facts.startswith("Not connected: no meter data yet · 1 live authorization · no steps sent yet")
    assert "ticket 4521" in facts and "gus@example.com" in facts
    shown = json.dumps(blocks)
    assert "rule" not in shown and "As of" not in shown
    assert check_text(r) == "Wait until Fri Dec 4 · C-1007 (SCE): tell the customer to wait and not redo anything."


def test_reauth_says_how_many_live_authorizations_and_which_data_types_are_missing() -> None:
    r = report(grants=(20, 10), scope="FB=1_3_13_14;")
    blocks = rendered(r)
    assert blocks[0]["text"]["text"] == "Re-authorize: revoke all, then authorize once · C-1007 (SCE)"
    text = blocks[1]["text"]["text"]
    assert "2 live authorizations (should be 1) at SCE" in text
    assert "“Select All Data Types” was not ticked (interval usage, interval electricity usage missing)" in text
    assert "FB" not in text and "Interval Metering" not in text
    [send, _note, _more] = actions(blocks)
    assert (send["text"]["text"], send["style"]) == ("Send re-auth steps to customer", "primary")
    assert check_text(r).endswith("C-1007 (SCE): send the re-authorization steps.")


def test_a_stuck_authorization_says_since_when_and_past_what() -> None:
    blocks = rendered(report(grants=(17,)))
    assert "pending since <!date^" in blocks[1]["text"]["text"]
    assert "|Friday, November 13, 2026> (17 days, past the 5-7 days), and still not connected" in (
        blocks[1]["text"]["text"])


def test_authorized_today_says_today() -> None:
    text = rendered(report(grants=(0,)))[1]["text"]["text"]
    assert "pending, authorized today (SCE takes 5-7 days to verify)" in text


def test_connect_offers_the_connect_steps() -> None:
    r = report()
    blocks = rendered(r)
    assert blocks[0]["text"]["text"] == "Connect: send the first-connection steps · C-1007 (SCE)"
    assert actions(blocks)[0]["text"]["text"] == "Send connect steps to customer"
    assert "no live authorization" in blocks[-1]["elements"][0]["text"]


def test_escalate_has_one_primary_button_and_no_steps() -> None:
    r = report(grants=(20,), sent=(12, 3))  # the steps went twice in 30 days: repeating only delays it
    blocks = rendered(r)
    assert blocks[0]["text"]["text"] == "Escalate to the re-authorization team · C-1007 (SCE)"
    assert "already sent the steps twice" in blocks[1]["text"]["text"]
    [escalate] = actions(blocks)
    assert (escalate["action_id"], escalate["style"]) == ("escalate", "primary")
    assert "steps sent twice" in blocks[-1]["elements"][0]["text"]
    assert check_text(r).endswith("escalate, do not send the steps again.")


def test_healthy_has_no_primary_button_and_escalate_in_the_overflow() -> None:
    r = report(grants=(60,), connected=True)
    blocks = rendered(r)
    assert blocks[0]["text"]["text"] == "Healthy: nothing to do · C-1007 (SCE)"
    [more] = actions(blocks)
    assert more["type"] == "overflow" and "primary" not in json.dumps(blocks)
    assert check_text(r) == "Healthy: nothing to do · C-1007 (SCE): nothing to do."


def test_an_ambiguous_match_lists_each_customer_with_a_check_button() -> None:
    candidates = tuple(
        Customer(cid, "pat.lee@example.com", "Pat", utility, None, None)
        for cid, utility in (("C-1010", Utility.PGE), ("C-1011", Utility.SCE))
    )
    blocks = [b.to_dict() for b in ambiguous_blocks(Ambiguous(Query(QueryKind.EMAIL, "pat.lee@example.com", "4521"),
                                                              candidates))]
    assert blocks[0]["text"]["text"] == "2 customers match. Check the one you mean:"
    buttons = [b["accessory"] for b in blocks[1:]]
    assert [b["action_id"] for b in buttons] == [CHECK_CUSTOMER_ACTION] * 2
    assert [json.loads(b["value"]) for b in buttons] == [{"c": "C-1010", "t": "4521"}, {"c": "C-1011", "t": "4521"}]
    assert "*C-1010* · PG&amp;E" in blocks[1]["text"]["text"]


def test_dates_carry_the_weekday_and_moments_the_time() -> None:
    day = messages.slack_date(NOW)
    moment = messages.slack_date_exact(NOW)
    assert day == f"<!date^{int(NOW.timestamp())}^{{date_long_pretty}}|Monday, November 30, 2026>"
    assert moment == f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-30 17:00 UTC>"
    assert messages.slack_time(NOW).endswith("{date_short_pretty} at {time}|Mon Nov 30, 2026 17:00 UTC>")
    assert Action.WAIT in messages.ACTION_TITLES


def test_a_day_falls_back_to_the_customers_calendar_like_the_header() -> None:
    late = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # Thursday 20:00 in California
    assert messages.slack_date(late).endswith("|Thursday, December 3, 2026>")
    assert messages.short_day(late) == "Thu Dec 3"
