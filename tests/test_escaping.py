"""Slack's "Escaping text": every piece of user or customer data in mrkdwn and `text` shows as written and
pings nobody. Hostile strings go into every field a person (the escalation form, a ticket reference, a
query) or an import (customer id, e-mail, authorization id, procedure ticket and agent) can fill, and every
message that shows that field is checked."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot import messages
from bot.features.check.blocks import ambiguous_blocks, check_blocks, check_text
from bot.features.escalations.blocks import parent_message
from bot.mrkdwn import code, escape, link, unescape
from commands.check import Ambiguous, CaseFile, Customer, EnrollmentStatus, Query, QueryKind, Report, build_report
from commands.escalations import Escalation, EscalationForm, Status
from commands.policy import Utility
from commands.rules import Authorization, AuthorizationStatus, Procedure
from commands.tickets import Ticket

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
HOSTILE = ["<!here>", "<!channel>", "<@U123>", "PG&E", "*bold*", "_it_", "~gone~", "`code`",
           "<https://evil.example|click>", "&lt;!here&gt;"]
# Control sequences the bot itself writes: dates, channels, links to tickets, mentions of known user ids.
_OWN = re.compile(r"<!date\^[^>]*>|<#C[A-Z0-9]+>|<@U0[A-Z0-9]+>|<https://acme\.example/[^>|]*\|[^>]*>")


def assert_safe(rendered: str, hostile: str) -> None:
    """No control sequence but the bot's own, no bare `&`, and the hostile text shown as written."""
    text = _OWN.sub("", rendered)
    assert "<" not in text and ">" not in text, rendered
    assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, rendered
    assert shows(rendered, hostile), rendered


def shows(rendered: str, hostile: str) -> bool:
    """The hostile text is there as written (in a code span, its backticks are look-alikes: see bot/mrkdwn.py)."""
    return hostile in unescape(rendered) or hostile.replace("`", "\u02bc") in unescape(rendered)


def customer(field: str, value: str) -> Customer:
    return Customer(value if field == "customer_id" else "C-1", value if field == "email" else "x@example.com",
                    "Name", Utility.PGE, EnrollmentStatus.PENDING, None)


def report_with(field: str, value: str, *, grants: tuple[int, ...] = (20,), sent: tuple[int, ...] = (12,)) -> Report:
    authorizations = tuple(
        Authorization(value if field == "authorization_id" else f"A-{n}", AuthorizationStatus.PENDING,
                      NOW - timedelta(days=d), "FB=1_3_4_5_13_14;")
        for n, d in enumerate(grants)
    )
    procedures = tuple(
        Procedure(NOW - timedelta(days=d), value if field == "ticket_id" else "4521",
                  value if field == "agent" else "U0ALICE")
        for d in sent
    )
    return build_report(CaseFile(customer(field, value), authorizations, procedures), NOW,
                        value if field == "ticket_ref" else None)


def escalation(reason: str = "why", note: str | None = None, customer_id: str = "C-1") -> Escalation:
    return Escalation(1, customer_id, Status.OPEN, NOW, "U0ALICE", reason,
                      Ticket("4521", "https://acme.example/t/4521"), note, "C0ESC", "summary")


def blocks_text(blocks: Sequence[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks])


# (field, what renders it): each renderer returns the mrkdwn or `text` Slack would get.
def _cases() -> list[tuple[str, Callable[[str], list[str]]]]:
    def check(field: str) -> Callable[[str], list[str]]:
        def render(value: str) -> list[str]:
            r = report_with(field, value)
            # mrkdwn only (a header is plain text, which Slack does not parse)
            return [b["text"]["text"] for b in json.loads(blocks_text(check_blocks(r))) if b["type"] == "section"] + [
                json.loads(blocks_text(check_blocks(r)))[-1]["elements"][0]["text"], check_text(r),
                messages.case_summary(r), messages.case_check_reply(r, "U0BOB", None),
                messages.follow_up_dm(r, NOW),
            ]
        return render

    return [
        ("customer_id", lambda v: [*check("customer_id")(v), messages.escalation_opened(v, "C0ESC"),
                                   messages.steps_customer_gone(v), messages.escalation_notification(
                                       escalation(customer_id=v), "PG&E")]),
        ("email", check("email")),
        ("authorization_id", lambda v: [messages.authorization_changed(v, "pending", "revoked"),
                                        messages.authorization_added(v, "pending")]),
        ("ticket_id", check("ticket_id")),
        ("agent", lambda v: [*check("agent")(v), messages.case_steps_posted("Zendesk", "4521", "", v, True),
                             messages.steps_posted("Zendesk", "ticket", "4521", "", NOW, v, False, already=False)]),
        ("ticket_ref", lambda v: [*check("ticket_ref")(v), messages.steps_bad_ticket("Zendesk", "ticket", v),
                                  messages.steps_recorded_by_agent("U0ALICE", v)]),
        ("reason", lambda v: [messages.escalation_why(escalation(reason=v)),
                              messages.escalation_notification(escalation(reason=v)),
                              json.dumps(parent_message(escalation(reason=v))["blocks"]),
                              messages.case_escalated_again("U0BOB", EscalationForm(
                                  Query(QueryKind.IDENTIFIER, "C-1"), v, None, None))]),
        ("note", lambda v: [messages.escalation_why(escalation(note=v)),
                            messages.case_escalated_again("U0BOB", EscalationForm(
                                Query(QueryKind.IDENTIFIER, "C-1"), "why", None, v))]),
        ("query", lambda v: [messages.not_found(v)]),
        ("helpdesk_error", lambda v: [messages.steps_failed("Zendesk", "ticket", "4521", v),
                                      messages.steps_queued("Zendesk", "ticket", "4521", v, NOW, already=False)]),
    ]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(("field", "render"), _cases(), ids=[field for field, _ in _cases()])
def test_every_field_is_escaped_everywhere_it_is_shown(
    field: str, render: Callable[[str], list[str]], hostile: str
) -> None:
    shown = [text for text in render(hostile) if shows(text, hostile)]
    assert shown, f"{field} is shown nowhere"
    for text in shown:
        if text.startswith("[") or text.startswith("{"):  # blocks as JSON: the mrkdwn inside
            text = json.loads(text) and text.encode().decode("unicode_escape")
        assert_safe(text, hostile)


def test_an_ambiguous_list_escapes_ids_and_e_mails() -> None:
    candidates = tuple(customer("email", h) for h in ("<!here>", "a&b@example.com"))
    text = blocks_text(ambiguous_blocks(Ambiguous(Query(QueryKind.EMAIL, "x@example.com"), candidates)))
    assert "<!here>" not in text and "&lt;!here&gt;" in text and "a&amp;b@example.com" in text


def test_formatting_characters_are_left_as_typed_except_inside_code_spans() -> None:
    # `*`, `_`, `~` cannot notify or link anyone: a reason keeps them (agents format on purpose).
    assert escape("*urgent* _now_ ~maybe~") == "*urgent* _now_ ~maybe~"
    # A backtick inside a code span the bot opened would close it early: replaced by a look-alike there.
    assert code("A-1`<!here>") == "`A-1\u02bc&lt;!here&gt;`"
    # A link whose URL could end the sequence is shown as its label only.
    assert link("https://x.example/a|b", "ticket <1>") == "ticket &lt;1&gt;"
    assert link("https://x.example/?a=1&b=2", "ticket 1") == "<https://x.example/?a=1&amp;b=2|ticket 1>"
