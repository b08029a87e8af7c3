"""The use case on plain data: template, values, the post's key, the guardrail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.features.post_steps.service import choose_template
from bot.features.post_steps.template_files import load_templates
from commands.check import CaseFile, Customer, EnrollmentStatus, Report, build_report
from commands.policy import Utility
from commands.post_steps import (
    CaseChanged,
    ConfirmFirst,
    EarlierSend,
    InternalOnly,
    NothingToPost,
    PostPlan,
    PostRequest,
    ReadyToPost,
    StepsPost,
    check_back_date,
    customer_day,
    dedupe_key,
    plan_post,
    postable_text,
)
from commands.rules import Action, Authorization, AuthorizationStatus, Procedure

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
FULL = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;"
TEMPLATES = load_templates()


def report(
    *, utility: Utility = Utility.SCE, granted_days_ago: tuple[float, ...] = (20, 10),
    procedures: tuple[Procedure, ...] = (), connected: bool = False,
) -> Report:
    customer = Customer("C-1", "c1@example.com", None, utility,
                        EnrollmentStatus.VERIFIED if connected else EnrollmentStatus.PENDING,
                        NOW - timedelta(hours=1) if connected else None)
    authorizations = tuple(
        Authorization(f"A-{n}", AuthorizationStatus.ACTIVE, NOW - timedelta(days=days), FULL)
        for n, days in enumerate(granted_days_ago)
    )
    return build_report(CaseFile(customer, authorizations, procedures), NOW, "4521")


def plan(case: Report, *, action: Action | None = None, public: bool = False, agent: str = "U0ALICE",
         confirmed_after: int | None = None, queued: tuple[EarlierSend, ...] = ()) -> PostPlan:
    request = PostRequest("C-1", "4521", action or case.recommendation.action, public, agent, confirmed_after)
    return plan_post(case, request, choose_template=lambda u, a: choose_template(TEMPLATES, u, a),
                     company="OhmConnect", helpdesk="zendesk", reasons="Re-authorized and still not connected.",
                     queued=queued)


def ready(outcome: PostPlan) -> StepsPost:
    assert isinstance(outcome, ReadyToPost), outcome
    return outcome.post


@pytest.mark.parametrize(
    ("utility", "granted", "template", "facts"),
    [
        (Utility.SCE, (20, 10), "sce_reauth", ["takes 5-7 days", "(we count 2 on your account)", "Monday, December 7"]),
        (Utility.PGE, (20, 10), "pge_reauth", ["takes 4-6 days to confirm", "Monday, December 7"]),
        (Utility.SDGE, (20, 10), "sdge_reauth", ["can take 5-7 days", "(we count 2 on your account)"]),
        (Utility.SCE, (3,), "sce_wait", ["takes 5-7 days", "Friday, December 4"]),
        (Utility.PGE, (3,), "pge_wait", ["usually takes 4-6 days", "Friday, December 4"]),
        (Utility.SDGE, (), "sdge_connect", ["Here is how to connect", "Monday, December 7"]),
    ],
)
def test_the_template_and_its_values_follow_the_case(
    utility: Utility, granted: tuple[float, ...], template: str, facts: list[str]
) -> None:
    post = ready(plan(report(utility=utility, granted_days_ago=granted)))
    assert post.template == template
    assert "$" not in post.body and not any(line.startswith("#") for line in post.body.splitlines())
    for fact in facts:
        assert fact in post.body


def test_the_check_back_date_is_the_end_of_the_wait_on_the_customers_calendar() -> None:
    waiting = report(granted_days_ago=(3,))
    assert check_back_date(waiting) == NOW + timedelta(days=4)
    assert check_back_date(report()) == NOW + timedelta(days=7)
    # 02:00 UTC on December 5 is still December 4 in California.
    assert customer_day(datetime(2026, 12, 5, 2, 0, tzinfo=UTC)) == "Friday, December 4"


def test_the_escalation_note_carries_the_reasons_and_is_never_public() -> None:
    escalate = report(granted_days_ago=(30,), procedures=(Procedure(NOW - timedelta(days=35)),))
    assert escalate.recommendation.action is Action.ESCALATE
    post = ready(plan(escalate))
    assert post.template == "escalate" and "Re-authorized and still not connected." in post.body
    assert isinstance(plan(escalate, public=True), InternalOnly)


def test_nothing_to_post_when_healthy_and_nothing_when_the_case_changed() -> None:
    assert isinstance(plan(report(connected=True)), NothingToPost)
    changed = plan(report(), action=Action.WAIT)
    assert changed == CaseChanged(Action.WAIT, Action.REAUTH)


def test_the_key_is_the_same_for_every_click_on_the_same_post() -> None:
    case = report()
    alice, bob = ready(plan(case, agent="U0ALICE")), ready(plan(case, agent="U0BOB"))
    assert alice.dedupe_key == bob.dedupe_key == "steps|C-1|zendesk|4521|sce_reauth|note|g0"
    assert ready(plan(case, public=True)).dedupe_key != alice.dedupe_key
    later = report(procedures=(Procedure(NOW - timedelta(days=9), "4521", "U0ALICE"),))
    assert ready(plan(later)).dedupe_key.endswith("|g1")
    assert len(dedupe_key(customer_id="C" * 64, helpdesk="freshdesk", ticket_id="9" * 20, template="sdge_connect",
                          public=True, generation=999)) <= 200  # the outbox key column


def test_the_guardrail_names_when_and_by_whom_and_a_confirmation_lets_it_through() -> None:
    sent = Procedure(NOW - timedelta(days=2), "4521", "U0ALICE")
    case = report(procedures=(sent,))
    warning = plan(case, agent="U0BOB", public=True)
    assert warning == ConfirmFirst((EarlierSend(sent.sent_at, "U0ALICE", "4521"),), 7)
    post = ready(plan(case, agent="U0BOB", confirmed_after=1, public=True))
    assert post.agent == "U0BOB"
    # A send the agent was not shown asks again.
    queued = EarlierSend(NOW - timedelta(minutes=5), "U0CAROL", "4600", queued=True, dedupe_key="steps|C-1|other")
    again = plan(case, confirmed_after=1, queued=(queued,), public=True)
    assert isinstance(again, ConfirmFirst) and again.earlier[0] == queued


def test_an_internal_note_never_asks_first_it_reaches_no_customer() -> None:
    sent = Procedure(NOW - timedelta(days=2), "4521", "U0ALICE")
    queued = EarlierSend(NOW - timedelta(minutes=5), "U0CAROL", "4600", queued=True, dedupe_key="steps|C-1|other")
    assert isinstance(plan(report(procedures=(sent,)), queued=(queued,)), ReadyToPost)


def test_the_same_post_queued_is_no_reason_to_warn() -> None:
    case = report()
    key = ready(plan(case)).dedupe_key
    itself = EarlierSend(NOW, "U0ALICE", "4521", queued=True, dedupe_key=key)
    reclaimed = EarlierSend(NOW, "U0ALICE", "4521", queued=True, dedupe_key=f"{key}|r1")
    assert isinstance(plan(case, queued=(itself, reclaimed)), ReadyToPost)


def test_steps_sent_before_the_wait_window_need_no_confirmation() -> None:
    case = report(procedures=(Procedure(NOW - timedelta(days=8), "4521", "U0ALICE"),))
    assert isinstance(plan(case), ReadyToPost)


def test_the_payload_round_trips() -> None:
    post = ready(plan(report()))
    assert StepsPost.from_payload(post.payload()) == post


def test_no_template_states_the_verification_days_itself() -> None:
    """The 5-7 / 4-6 days live in commands/policy.py only; the templates say $verification_days."""
    for template in TEMPLATES.values():
        text = postable_text(template.text)
        for fact in ("5-7", "5 to 7", "4-6", "4 to 6"):
            assert fact not in text, (template.name, fact)
    for name in ("sce_reauth", "sce_wait", "pge_reauth", "pge_wait", "sdge_reauth", "sdge_wait"):
        assert "$verification_days" in TEMPLATES[name].text
