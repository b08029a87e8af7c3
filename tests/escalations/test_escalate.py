"""Escalating: the button and the shortcut open the form, the submission opens one case with one parent."""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import func, select

from bot.features.escalations.blocks import SHORTCUT_CALLBACK, TAKE_ACTION
from commands.escalations import Status
from models.escalations import EscalationRow, FollowUpRow
from models.outbox import OutboxRow
from tests.escalations.conftest import CHANNEL, Escalations, poll, texts


def escalation_rows(cases: Escalations) -> list[EscalationRow]:
    with cases.db.sessions() as session:
        return list(session.scalars(select(EscalationRow).order_by(EscalationRow.id)))


def test_escalate_is_the_one_primary_button_only_when_the_rules_say_escalate(cases: Escalations) -> None:
    def elements(query: str) -> list[dict[str, Any]]:
        blocks = cases.check(query)["blocks"]
        actions = next(b for b in blocks if b["type"] == "actions")
        found: list[dict[str, Any]] = actions["elements"]
        return found

    [escalate] = elements("C-1008 4302")
    assert escalate["action_id"] == "escalate" and escalate["style"] == "primary"
    assert json.loads(str(escalate["value"])) == {"customer": "C-1008", "ticket": "4302"}
    # WAIT: the "please wait" reply is primary; Escalate waits in the overflow menu.
    wait = elements("C-1007")
    assert [e["type"] for e in wait] == ["button", "button", "overflow"] and wait[0]["style"] == "primary"
    [option] = wait[2]["options"]
    assert option["text"]["text"] == "Escalate" and json.loads(option["value"])["customer"] == "C-1007"


def test_escalating_posts_one_parent_with_the_case_and_buttons(cases: Escalations) -> None:
    view = cases.click_escalate(cases.check("C-1008 4302", user="U0ALICE"), user="U0ALICE")
    fields = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert fields == {"customer": "C-1008", "reason": None, "ticket": "4302", "note": None}

    response = cases.submit(view, user="U0ALICE", note="Customer is patient; call after 5pm")
    assert response.json()["response_action"] == "update"
    assert f"<#{CHANNEL}>" in json.dumps(response.json()["view"])
    cases.quiet()

    parent = cases.parent_of("C-1008")
    shown = json.dumps(parent["blocks"])
    assert parent["blocks"][0]["text"]["text"] == "Open \u00b7 C-1008 (SCE) \u00b7 nobody has it"
    assert parent["text"].startswith("Open \u00b7 C-1008 (SCE) \u00b7 nobody has it: Re-authorized after our steps")
    # Why first, right under the header; the case as escalated comes last, in grey.
    why = parent["blocks"][1]["text"]["text"]
    assert "*Why*: Re-authorized after our steps" in why and "call after 5pm" in why
    assert "ticket 4302" in why and "<@U0ALICE>" in why and "nobody has taken it yet" in why
    assert "h...@example.com" in shown and "hana.sato" not in texts(cases.slack.messages(CHANNEL))
    assert "Escalate to the re-authorization team" in shown and "Re-authorized after support sent the steps" in shown
    assert parent["blocks"][-1]["type"] == "context"
    [actions] = [b for b in parent["blocks"] if b["type"] == "actions"]
    take, resolve = actions["elements"]
    assert (take["text"]["text"], take["style"]) == ("Take it", "primary")
    assert resolve["text"]["text"] == "Resolve" and resolve["confirm"]["title"]["text"] == "Resolve this case?"
    [row] = escalation_rows(cases)
    assert (row.customer_id, row.status, row.opened_by, row.ticket_id, row.channel, row.parent_ts) == (
        "C-1008", Status.OPEN, "U0ALICE", "4302", CHANNEL, parent["ts"])


def test_a_double_clicked_escalate_gives_one_parent(cases: Escalations) -> None:
    answer = cases.check("C-1008", user="U0ALICE")
    first = cases.click_escalate(answer, user="U0ALICE")
    second = cases.click_escalate(answer, user="U0ALICE")  # the second click opened a second form
    results: list[int] = []
    barrier = threading.Barrier(2)

    def submit(view: dict[str, object], view_id: str) -> None:
        barrier.wait()
        results.append(cases.submit(view, user="U0ALICE", view_id=view_id).status_code)

    threads = [threading.Thread(target=submit, args=(v, f"V0DOUBLE{i}")) for i, v in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    cases.drain()
    [parent] = cases.parents()
    assert cases.thread(parent) == []  # the same words twice are one escalation, not a reply
    assert len(escalation_rows(cases)) == 1


def test_twenty_concurrent_submissions_give_one_parent_and_the_others_reply_in_its_thread(
    cases: Escalations,
) -> None:
    view = cases.click_escalate(cases.check("C-1008"))
    agents = [f"U0AGENT{i % 10}" for i in range(20)]  # ten agents, each submitting twice
    barrier = threading.Barrier(len(agents))
    statuses: list[int] = []

    def submit(index: int, agent: str) -> None:
        barrier.wait()
        response = cases.submit(view, user=agent, reason=f"Still no data, says {agent}", view_id=f"V0RACE{index}")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(i, a)) for i, a in enumerate(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    cases.drain()

    [parent] = cases.parents()
    [row] = escalation_rows(cases)
    assert row.parent_ts == parent["ts"]
    replies = cases.thread(parent)
    assert len(replies) == 9  # every agent but the one who opened the case, once each
    assert sorted(r.split("says ")[1] for r in replies) == sorted(set(agents) - {row.opened_by})
    assert all(m["thread_ts"] == parent["ts"] for m in cases.slack.messages(CHANNEL) if m["ts"] != parent["ts"])


def test_escalating_an_open_case_again_adds_a_reply_not_a_parent(cases: Escalations) -> None:
    parent = cases.escalate("C-1008", user="U0ALICE")
    view = cases.click_escalate(cases.check("C-1008", user="U0BOB"), user="U0BOB")
    response = cases.submit(view, user="U0BOB", reason="Customer called again, angry", ticket="4555")
    assert "already has an open case" in json.dumps(response.json())
    cases.drain()
    assert len(cases.parents()) == 1
    replies = cases.thread(parent)
    assert any("<@U0BOB> escalated this case again" in r and "Customer called again" in r and "4555" in r
               for r in replies)


def test_the_message_shortcut_finds_the_customer_and_the_ticket(cases: Escalations) -> None:
    message = {
        "ts": "1700000000.000001", "user": "U0CUSTOMERCARE",
        "text": "Hana (<mailto:hana.sato@example.com|hana.sato@example.com>) still has no data, see "
                "<https://acme.zendesk.com/agent/tickets/4302>",
    }
    request = cases.bot.requests.message_action(callback_id=SHORTCUT_CALLBACK, message=message,
                                                response_url=cases.slack.response_url())
    assert cases.bot.send(request).status_code == 200
    view = cases.opened_view(1)
    fields = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert fields["customer"] == "C-1008"
    assert fields["ticket"] == "https://acme.zendesk.com/agent/tickets/4302"

    cases.submit(view, reason="Written in by e-mail from hana.sato@example.com: still nothing")
    cases.quiet()
    parent = cases.parent_of("C-1008")
    shown = json.dumps(parent["blocks"])
    assert "<https://acme.zendesk.com/agent/tickets/4302|ticket 4302>" in shown
    assert "hana.sato" not in texts(cases.slack.messages(CHANNEL)) and "h...@example.com" in shown


def test_a_shortcut_on_a_message_naming_nobody_asks_for_the_customer(cases: Escalations) -> None:
    message = {"ts": "1700000000.000002", "user": "U0X", "text": "Can someone look at the SCE backlog?"}
    request = cases.bot.requests.message_action(callback_id=SHORTCUT_CALLBACK, message=message,
                                                response_url=cases.slack.response_url())
    cases.bot.send(request)
    view = cases.opened_view(1)
    assert "names no customer" in json.dumps(view["blocks"])
    customer = next(b for b in view["blocks"] if b.get("block_id") == "customer")
    assert customer["element"].get("initial_value") is None


def test_bad_input_is_shown_in_the_form_and_changes_nothing(cases: Escalations) -> None:
    view = cases.click_escalate(cases.check("C-1008"))
    no_reason = cases.submit(view, reason="   ").json()
    assert no_reason["response_action"] == "errors"
    assert set(no_reason["errors"]) == {"reason"} and "Say why" in no_reason["errors"]["reason"]

    unknown = cases.submit(view, customer="nobody@example.com").json()
    assert unknown == {"response_action": "errors",
                       "errors": {"customer": "No customer matches this. Check the e-mail or id with /reauth-check."}}
    several = cases.submit(view, customer="pat.lee@example.com").json()
    assert "Several customers match" in several["errors"]["customer"]
    bad_ticket = cases.submit(view, ticket="not a ticket").json()
    assert set(bad_ticket["errors"]) == {"ticket"}

    with cases.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(EscalationRow)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 0
        assert session.scalar(select(func.count()).select_from(FollowUpRow)) == 0
    assert cases.slack.messages(CHANNEL) == []


def test_without_an_escalation_channel_the_button_says_what_to_set(cases: Escalations) -> None:
    from bot.demo.harness import LocalBot

    with LocalBot(cases.db, clock=cases.clock, slack=cases.slack) as unconfigured:
        acked = unconfigured.slash("C-1008")
        answer = unconfigured.answer(acked)
        request = unconfigured.requests.block_actions(action_id="escalate", message=answer,
                                                      response_url=cases.slack.response_url("unset"))
        unconfigured.send(request)
        [told] = cases.slack.wait_for_responses("unset", 1)
    assert "ESCALATION_CHANNEL" in told["text"]
    assert cases.slack.calls_to("views.open") == []


def test_taking_a_case_replies_and_updates_the_parent(cases: Escalations) -> None:
    parent = cases.escalate("C-1008", user="U0ALICE")
    cases.click(TAKE_ACTION, parent, "U0BOB")
    assert cases.wait_thread(parent, 1) == [":eyes: <@U0BOB> took this case."]
    poll(lambda: "taken by" in json.dumps(cases.current(parent)["blocks"]), "the parent updated")
    assert "taken by <@U0BOB>" in json.dumps(cases.current(parent)["blocks"])
    cases.click(TAKE_ACTION, cases.current(parent), "U0BOB", response_key="again")  # a double click
    [told] = cases.slack.wait_for_responses("again", 1)
    assert told["text"] == "You already have this case."
    assert len(cases.thread(parent)) == 1
