"""Posting the canned steps to a helpdesk ticket: which template, its values, the post's key, the guardrail.

Plain Python. The bot reads the case and the posts still queued, calls `plan_post`, claims the post's
`dedupe_key` in the outbox (claim by INSERT) and only then calls the helpdesk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from string import Template
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from commands.check import Report
from commands.policy import Utility, policy_for
from commands.rules import Action

# --- the templates a support lead edits ---------------------------------------------------------

# The only names a template may use, and what the bot fills in for each.
PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "authorization_count": "how many of the company's authorizations the customer has to revoke",
        "check_back_date": 'the day to check again, e.g. "Friday, December 4"',
        "check_back_days": 'how long after the customer submits that day is, e.g. "7 days" (commands/policy.py)',
        "company": 'the company the customer authorizes (setting, "OhmConnect" by default)',
        "ticket_id": "the helpdesk ticket the steps are posted to",
        "reasons": "why the case is escalated, in words (escalation note only)",
        "verification_days": 'how long the utility takes to verify, e.g. "5-7 days" (commands/policy.py)',
    }
)


@dataclass(frozen=True)
class StepTemplate:
    """One canned-steps template: its name (file name without ``.txt``) and its raw text."""

    name: str
    text: str


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def postable_text(text: str) -> str:
    """The text without comment lines, runs of blank lines squeezed to one, trimmed."""
    kept = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if not is_comment(line)]
    squeezed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
    return squeezed.strip("\n")


def validate_template(name: str, text: str) -> list[str]:
    """Every problem in the template, each naming its line; an empty list means it is usable."""
    problems: list[str] = []
    if not postable_text(text).strip():
        problems.append(f"{name}: nothing to post (the file is empty or only has # comment lines)")
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if is_comment(line):
            continue
        for match in Template.pattern.finditer(line):
            placeholder = match.group("named") or match.group("braced")
            if match.group("invalid") is not None:
                problems.append(
                    f"{name} line {number}: '$' must be followed by a placeholder name "
                    f"(write $$ for a dollar sign): {_excerpt(line, match.start())}"
                )
            elif placeholder is not None and placeholder not in PLACEHOLDERS:
                problems.append(
                    f"{name} line {number}: unknown placeholder ${placeholder} "
                    f"(allowed: {', '.join('$' + known for known in PLACEHOLDERS)})"
                )
    return problems


def placeholders_used(template: StepTemplate) -> frozenset[str]:
    """The placeholder names the postable part of the template uses."""
    return frozenset(
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(postable_text(template.text))
        if match.group("named") or match.group("braced")
    )


def fill_template(template: StepTemplate, values: Mapping[str, str]) -> str:
    """The text to post: comments stripped, placeholders filled from ``values``.

    Raises ``ValueError`` if the template is invalid or a placeholder it uses has no value.
    """
    problems = validate_template(template.name, template.text)
    if problems:
        raise ValueError("; ".join(problems))
    missing = sorted(placeholders_used(template) - set(values))
    if missing:
        raise ValueError(f"{template.name}: no value for {', '.join('$' + name for name in missing)}")
    return Template(postable_text(template.text)).substitute(values)


# A wait as a template states it: "5-7 days", "up to 2 weeks", "within a week", "7 days".
_WAIT = re.compile(
    r"\b(?:(?P<low>\d+)\s*(?:-|–|to)\s*)?(?P<n>\d+|an?|one|two|three|four)\s+(?P<unit>days?|weeks?)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}


def stated_waits(text: str) -> list[tuple[str, int]]:
    """Every wait the text states, as (the words, the longest it means in days)."""
    waits = []
    for match in _WAIT.finditer(text):
        n = match.group("n").lower()
        count = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        waits.append((match.group(0), count * (7 if match.group("unit").lower().startswith("week") else 1)))
    return waits


def wait_contradictions(name: str, text: str, utility: Utility, action: Action) -> list[str]:
    """A wait the template states that is longer than the date it gives the customer: "up to 2 weeks" and
    then "if you are still not connected by <a date 7 days away>" sends them back before the wait is over.

    The template is filled with the values the bot would use (commands/policy.py), so a wait that comes
    from a placeholder is judged too. Templates without `$check_back_date` give no date to contradict.
    """
    if not any(m.group("named") == "check_back_date" or m.group("braced") == "check_back_date"
               for m in Template.pattern.finditer(postable_text(text))):
        return []
    days = check_back_days(utility, action)
    values = {key: f"${key}" for key in PLACEHOLDERS} | {
        "verification_days": policy_for(utility).verification_days_text,
        "check_back_days": _days(days),
    }
    filled = Template(postable_text(text)).safe_substitute(values)
    return [
        f"{name}: says “{words}” ({_days(longest)}) but gives the customer a date {_days(days)} away "
        f"($check_back_date): they would come back before the wait is over"
        for words, longest in stated_waits(filled)
        if longest > days
    ]


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _excerpt(line: str, at: int) -> str:
    return repr(line[max(0, at - 15) : at + 15].strip())


# --- planning one post ------------------------------------------------------------------------------

# FACT: SCE, PG&E and SDG&E serve California, so the customer's calendar day is a Pacific one.
CUSTOMER_TIME_ZONE = ZoneInfo("America/Los_Angeles")

# Picks the template for a recommendation at a utility; the bot owns the files and their names.
ChooseTemplate = Callable[[Utility, Action], StepTemplate]


@dataclass(frozen=True)
class PostRequest:
    """One click on "Post steps to ticket" (or "Reply to customer", or "Post again"): the bot's buttons carry
    it as their value, the bot posts it, `plan_post` plans it."""

    customer_id: str
    # As the agent typed or linked it; None until the agent names one. `plan_post` needs the helpdesk's
    # own id, parsed from it.
    ticket: str | None
    action: Action  # the recommendation the agent saw when clicking
    public: bool  # a customer-visible reply instead of an internal note: only by explicit choice
    agent: str = ""  # Slack says who clicked, so a button's value leaves it out
    # Set when the agent confirmed posting again: how many earlier sends the warning showed.
    confirmed_after: int | None = None
    response_url: str | None = None  # only in the ticket modal: where the outcome goes once it is submitted


@dataclass(frozen=True)
class EarlierSend:
    """Steps already sent to the customer, or still waiting in the outbox to be sent."""

    at: datetime
    agent: str | None
    ticket_id: str | None
    queued: bool = False
    dedupe_key: str | None = None  # for queued posts: the post they are


@dataclass(frozen=True)
class StepsPost:
    """One post, rendered and keyed: what the outbox stores and the delivery sends."""

    dedupe_key: str
    customer_id: str
    utility: str
    ticket_id: str
    helpdesk: str
    template: str
    action: str
    public: bool
    agent: str
    body: str
    requested_at: str  # ISO 8601, UTC

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> StepsPost:
        return cls(**{name: payload[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ReadyToPost:
    post: StepsPost


@dataclass(frozen=True)
class ConfirmFirst:
    """Steps went to this customer within the wait window: the agent must confirm before posting again."""

    earlier: tuple[EarlierSend, ...]
    wait_days: int


@dataclass(frozen=True)
class CaseChanged:
    """The recommendation is no longer the one the agent clicked under."""

    clicked: Action
    now: Action


@dataclass(frozen=True)
class NothingToPost:
    """The customer is connected: there are no steps to send."""


@dataclass(frozen=True)
class InternalOnly:
    """The escalation note is for the team; it is never a customer-visible reply."""


PostPlan = ReadyToPost | ConfirmFirst | CaseChanged | NothingToPost | InternalOnly


def check_back_days(utility: Utility, action: Action) -> int:
    """How long after the customer submits the day they are given to check again is: a first connection
    can take longer (PG&E: up to 2 weeks) than the verification of a re-authorization."""
    policy = policy_for(utility)
    return policy.first_connection_days if action is Action.CONNECT else policy.wait_days


def check_back_date(report: Report) -> datetime:
    """The day to check again: the end of the verification wait, or the wait from now (if they do it today)."""
    recommendation = report.recommendation
    if recommendation.action is Action.WAIT and recommendation.wait_until is not None:
        return recommendation.wait_until
    return report.now + timedelta(days=check_back_days(report.customer.utility, recommendation.action))


def customer_day(at: datetime) -> str:
    """`Friday, December 4`, on the customer's calendar."""
    local = at.astimezone(CUSTOMER_TIME_ZONE)
    return f"{local:%A}, {local:%B} {local.day}"


def step_values(report: Report, *, company: str, ticket_id: str, reasons: str) -> dict[str, str]:
    """The value of every placeholder, for this customer's case."""
    return {
        "authorization_count": str(len(report.live)),
        "check_back_date": customer_day(check_back_date(report)),
        "check_back_days": _days(check_back_days(report.customer.utility, report.recommendation.action)),
        "company": company,
        "ticket_id": ticket_id,
        "reasons": reasons,
        "verification_days": policy_for(report.customer.utility).verification_days_text,
    }


def dedupe_key(
    *, customer_id: str, helpdesk: str, ticket_id: str, template: str, public: bool, generation: int
) -> str:
    """The post's unique key: one comment per customer, ticket, template and kind, per procedure count.

    `generation` is how many procedures the customer had when the agent clicked: a double click,
    two agents or a Slack retry compute the same key; a confirmed post after a delivered one does not.
    """
    kind = "reply" if public else "note"
    return f"{key_prefix(customer_id)}{helpdesk}|{ticket_id}|{template}|{kind}|g{generation}"


def key_prefix(customer_id: str) -> str:
    """The start every post key of this customer shares ('|' never occurs in a customer id)."""
    return f"steps|{customer_id}|"


def earlier_sends(report: Report, queued: Sequence[EarlierSend], *, key: str) -> tuple[EarlierSend, ...]:
    """Steps sent within the wait window, and queued posts other than this one, newest first.

    `queued` holds replies only: a queued internal note will not reach the customer either."""
    window = timedelta(days=policy_for(report.customer.utility).wait_days)
    sent = [
        EarlierSend(p.sent_at, p.agent, p.ticket_id)
        for p in report.procedures
        if report.now - window <= p.sent_at <= report.now
    ]
    # A queued post under this key (or its re-claim after a refusal, key + "|r<n>") is this very post.
    waiting = [q for q in queued if q.dedupe_key != key and not (q.dedupe_key or "").startswith(f"{key}|r")]
    return tuple(sorted([*sent, *waiting], key=lambda e: e.at, reverse=True))


def plan_post(
    report: Report,
    request: PostRequest,
    *,
    choose_template: ChooseTemplate,
    company: str,
    helpdesk: str,
    reasons: str,
    queued: Sequence[EarlierSend] = (),
) -> PostPlan:
    """Decide what one click posts, as of `report.now`; nothing is sent here."""
    ticket_id = request.ticket
    if ticket_id is None:
        raise ValueError("plan_post needs the ticket's id: parse the agent's reference first")
    action = report.recommendation.action
    if request.public and request.action is Action.ESCALATE:
        return InternalOnly()
    # The escalation note goes with an escalation, whatever the rules said: an agent may escalate any case.
    if request.action is not Action.ESCALATE:
        if action is Action.HEALTHY:
            return NothingToPost()
        if action is not request.action:
            return CaseChanged(request.action, action)
    action = request.action
    template = choose_template(report.customer.utility, action)
    key = dedupe_key(
        customer_id=report.customer.id,
        helpdesk=helpdesk,
        ticket_id=ticket_id,
        template=template.name,
        public=request.public,
        generation=len(report.procedures),
    )
    # Only a reply reaches the customer, so only a reply can make them redo the procedure: an internal
    # note is never held back, and is never counted as steps sent.
    earlier = earlier_sends(report, queued, key=key) if request.public else ()
    if earlier and (request.confirmed_after is None or len(earlier) > request.confirmed_after):
        return ConfirmFirst(earlier, policy_for(report.customer.utility).wait_days)
    body = fill_template(template, step_values(report, company=company, ticket_id=ticket_id, reasons=reasons))
    return ReadyToPost(
        StepsPost(
            dedupe_key=key,
            customer_id=report.customer.id,
            utility=report.customer.utility.value,
            ticket_id=ticket_id,
            helpdesk=helpdesk,
            template=template.name,
            action=action.value,
            public=request.public,
            agent=request.agent,
            body=body,
            requested_at=report.now.isoformat(),
        )
    )
