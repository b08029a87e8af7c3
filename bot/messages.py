"""Every sentence the bot says to an agent, in one module, so wording stays consistent and testable.

Reasons travel as stable codes (`commands.rules.Reason`) and become words only here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.mrkdwn import code, escape, link
from commands.check import QueryProblem, Report
from commands.digest import ESCALATION_AGE_LIMITS, EscalationAge
from commands.escalations import (
    MAX_NOTE,
    MAX_REASON,
    Escalation,
    EscalationForm,
    FormProblem,
    Resolution,
    Status,
    mask_email,
)
from commands.policy import (
    DATA_FRESHNESS,
    FUNCTION_BLOCK_NAMES,
    REPEAT_LIMIT,
    REPEAT_WINDOW,
    UTILITIES,
    policy_for,
)
from commands.post_steps import CUSTOMER_TIME_ZONE
from commands.rules import Action, Reason
from commands.tickets import Requester, RequesterProblem, RequesterUnknown, Ticket

# `<` and `>` are Slack's control characters even in the bot's own words: written as entities.
USAGE = (
    "Usage: `/reauth-check &lt;customer e-mail | customer id | ticket id or URL&gt; [ticket id or URL]`\n"
    "Examples: `/reauth-check alice@example.com`, `/reauth-check C-10042`, "
    "`/reauth-check https://acme.zendesk.com/agent/tickets/4521`"
)

ACTION_TITLES: dict[Action, str] = {
    Action.HEALTHY: "Healthy: nothing to do",
    Action.CONNECT: "Connect: send the first-connection steps",
    Action.WAIT: "Wait: the utility is still verifying",
    Action.REAUTH: "Re-authorize: revoke all, then authorize once",
    Action.ESCALATE: "Escalate to the re-authorization team",
}

def not_a_ticket_of(helpdesk: str | None = None, word: str = "ticket") -> str:
    """The one sentence wherever a ticket is asked for and what was given is not one (commands/tickets.py);
    where a helpdesk is configured, it names it, since a link to another helpdesk is no ticket of ours."""
    if helpdesk is None:
        return f"That is not a {word}: give its number (such as 4521 or #4521) or paste its link."
    article = "an" if helpdesk[:1].lower() in "aeiou" else "a"
    return (f"That is not {article} {helpdesk} {word}: give its number (such as 4521 or #4521) or paste its link "
            f"from {helpdesk}.")


NOT_A_TICKET = not_a_ticket_of()

QUERY_PROBLEMS: dict[QueryProblem, str] = {
    QueryProblem.EMPTY: "Tell me which customer to check.",
    QueryProblem.TOO_LONG: "That is too long to be a customer e-mail, id or ticket link.",
    QueryProblem.TOO_MANY_WORDS: "Give one customer, and optionally one ticket after it.",
    QueryProblem.MALFORMED: "I can't read that as a customer e-mail, customer id or ticket link.",
    QueryProblem.NOT_A_TICKET: NOT_A_TICKET,
}


def _slack_date(at: datetime, tokens: str, fallback_format: str, zone: tzinfo = UTC) -> str:
    """Slack shows `tokens` in the reader's own time zone; plain text (notifications, search) shows the
    fallback: a moment in UTC, said so; a day on the customers' (California) calendar, as the header's."""
    return f"<!date^{int(at.timestamp())}^{tokens}|{at.astimezone(zone).strftime(fallback_format)}>"


def slack_date(at: datetime) -> str:
    """`Friday, December 4th, 2026` (or today, tomorrow): a day, such as a check-back date, with its weekday."""
    return _slack_date(at, "{date_long_pretty}", "%A, %B %-d, %Y", CUSTOMER_TIME_ZONE)


def slack_date_exact(at: datetime) -> str:
    """`Today at 9:00 AM` in Slack, the minute in plain text (`2026-11-30 17:00 UTC`): when a case moved."""
    return _slack_date(at, "{date_short_pretty} at {time}", "%Y-%m-%d %H:%M UTC")


def slack_time(at: datetime) -> str:
    """`Nov 30, 2026 at 5:00 PM`: when steps were posted or will be retried."""
    return _slack_date(at, "{date_short_pretty} at {time}", "%a %b %-d, %Y %H:%M UTC")


def slack_datetime(at: datetime) -> str:
    """`Today at 9:00 AM`: the moment the digest's and the Home tab's counts were taken."""
    return _slack_date(at, "{date_short_pretty} at {time}", "%Y-%m-%d %H:%M UTC")


def short_day(at: datetime) -> str:
    """`Fri Dec 4` on the customer's (California) calendar: for plain text, such as a header, where Slack's
    date tokens do not render."""
    local = at.astimezone(CUSTOMER_TIME_ZONE)
    return f"{local:%a %b} {local.day}"


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def span_words(n: int) -> str:
    """`a day`, `a week`, else `n days`: how long, in the words people use for round spans."""
    return {1: "a day", 7: "a week"}.get(n) or days(n)


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n) or f"{n} times"


# What a function block is, in the words of the utility's sharing page (where the customer ticks
# "Select All Data Types" and the columns under it), not Green Button's names for them.
DATA_TYPE_WORDS: dict[int, str] = {
    1: "account and billing details",
    3: "basic account access",
    4: "interval usage",
    5: "interval electricity usage",
    15: "usage summary",
}


def missing_data_types(blocks: frozenset[int]) -> str:
    """`interval usage, usage summary`: the data types a scope does not share."""
    return ", ".join(DATA_TYPE_WORDS.get(b, FUNCTION_BLOCK_NAMES.get(b, f"data type {b}")) for b in sorted(blocks))


def ago(n: int) -> str:
    """`today`, `yesterday`, `5 days ago`."""
    return {0: "today", 1: "yesterday"}.get(n) or f"{days(n)} ago"


def live_authorizations(n: int) -> str:
    """`no live authorization`, `1 live authorization`, `3 live authorizations (should be 1)`."""
    if n == 0:
        return "no live authorization"
    return "1 live authorization" if n == 1 else f"{n} live authorizations (should be 1)"


def _newest_since(report: Report, window: str) -> str:
    """`pending since Friday, November 13th, 2026 (17 days, past the 5-7)`: the newest live authorization, its
    age and how that compares with the utility's verification time (`window`: `past the 5-7`)."""
    newest = report.live[0] if report.live else None
    if newest is None or newest.granted_at is None:
        return "of unknown date"
    age = newest.age_days(report.now) or 0
    status = newest.status_at(report.now).value
    if age == 0:
        return f"{status}, authorized today ({window})"
    return f"{status} since {slack_date(newest.granted_at)} ({days(age)}, {window})"


def scope_state(complete: bool | None, missing: frozenset[int]) -> str:
    """An authorization's scope in its line of the answer; an unknown scope is said so, never judged."""
    if complete is None:
        return "scope unknown"
    return "scope complete" if complete else f"missing {missing_data_types(missing)}"


def reason_text(reason: Reason, report: Report) -> str:
    """One plain sentence per reason code, with the customer's specifics, in the support team's words."""
    utility = report.customer.utility
    name = escape(utility.display_name)  # PG&E
    live = len(report.live)
    newest = report.live[0] if report.live else None
    policy = policy_for(utility)
    if reason is Reason.CONNECTED:
        return ("Data is flowing: enrollment verified and meter data received in the last "
                f"{days(DATA_FRESHNESS.days)}.")
    if reason is Reason.DUPLICATE_AUTHORIZATIONS:
        return f"{live_authorizations(live)} at {name}: more than one does not speed anything up."
    if reason is Reason.SCOPE_INCOMPLETE and newest is not None:
        missing = missing_data_types(newest.missing_function_blocks(utility))
        return f"Not every data type is shared: \u201cSelect All Data Types\u201d was not ticked ({missing} missing)."
    if reason is Reason.NO_LIVE_AUTHORIZATION:
        return f"No pending or active authorization at {name}."
    if reason is Reason.REPEATED_PROCEDURE:
        recent = len(report.procedures)
        return (f"The customer was already sent the steps {times(recent)}; repeating them only delays "
                f"{name}'s check further (the help article says so).")
    if reason is Reason.VERIFICATION_WINDOW and newest is not None and newest.granted_at is not None:
        since = _newest_since(report, f"{name} takes {policy.verification_days_text} to verify")
        return f"The newest authorization is {since}. Redoing it now would restart the wait."
    if reason is Reason.REAUTH_DID_NOT_HELP:
        since = _newest_since(report, f"past the {policy.verification_days_text}")
        return f"Re-authorized after support sent the steps: {since}, and still not connected."
    if reason is Reason.NOT_CONNECTED_7D:
        since = _newest_since(report, f"past the {policy.verification_days_text}")
        return f"The newest authorization is {since}, and still not connected."
    if reason is Reason.GRANT_DATE_UNKNOWN:
        return "The newest authorization has no grant date, so its verification window cannot be judged."
    return reason.value


def verdict_title(report: Report) -> str:
    """The verdict with its date, for the header: `Wait until Fri Dec 4`, `Re-authorize: revoke all, ...`."""
    recommendation = report.recommendation
    if recommendation.action is Action.WAIT and recommendation.wait_until is not None:
        return f"Wait until {short_day(recommendation.wait_until)}"
    return ACTION_TITLES[recommendation.action]


def customer_title(report: Report) -> str:
    """`C-1007 (SCE)`: plain text (headers do not read mrkdwn)."""
    return f"{report.customer.id} ({report.customer.utility.display_name})"


def instruction(report: Report) -> str:
    """What the agent does now, in one sentence (mrkdwn)."""
    recommendation = report.recommendation
    name = escape(report.customer.utility.display_name)  # PG&E
    match recommendation.action:
        case Action.WAIT:
            until = slack_date(recommendation.wait_until) if recommendation.wait_until else "the end of the week"
            return (f"*Tell the customer to wait and not redo anything.* {name} is still verifying; "
                    f"check back on {until}.")
        case Action.REAUTH:
            return (f"*Send the re-authorization steps*: revoke every authorization at {name}, then authorize "
                    "once with all data types.")
        case Action.CONNECT:
            return f"*Send the first-connection steps*: nothing is authorized at {name} yet."
        case Action.ESCALATE:
            return (f"*Escalate this case*: do not send the steps again, it only delays {name}'s check. "
                    "The re-authorization team takes it from here.")
        case Action.HEALTHY:
            return "*Nothing to do*: data is flowing."
    raise ValueError(recommendation.action)


def check_notification(report: Report) -> str:
    """The `text` fallback (notifications, screen readers): the verdict, its date, the customer, what to do.
    No e-mail: notifications can show on lock screens."""
    what = {
        Action.WAIT: "tell the customer to wait and not redo anything",
        Action.REAUTH: "send the re-authorization steps",
        Action.CONNECT: "send the first-connection steps",
        Action.ESCALATE: "escalate, do not send the steps again",
        Action.HEALTHY: "nothing to do",
    }[report.recommendation.action]
    return escape(f"{verdict_title(report)} · {customer_title(report)}: {what}.")


def check_facts(report: Report) -> str:
    """The one context line of facts under the buttons (mrkdwn; the e-mail is shown: only the agent sees it)."""
    customer = report.customer
    last = customer.last_data_at
    data = f"last meter data {slack_date(last)}" if last else "no meter data yet"
    facts = [f"{'Connected' if report.connected else 'Not connected'}: {data}",
             live_authorizations(len(report.live))]
    if report.live and report.live[0].scope_complete(customer.utility) is None:
        facts.append(scope_state(None, frozenset()))  # never judged: said so, so the agent knows why
    if report.procedures:
        latest = report.procedures[-1]
        facts.append(f"steps sent {times(len(report.procedures))}, last {slack_date(latest.sent_at)}"
                     + (f" by {agent_mention(latest.agent)}" if latest.agent else "")
                     + (f" on ticket {escape(latest.ticket_id)}" if latest.ticket_id else ""))
    else:
        facts.append("no steps sent yet")
    if report.ticket_ref and not (report.procedures and report.procedures[-1].ticket_id == report.ticket_ref):
        facts.append(f"ticket {escape(report.ticket_ref)}")
    facts.append(escape(customer.email) if customer.email else "no e-mail on file")
    return " · ".join(facts)


def not_found(query_value: str) -> str:
    return f"No customer matches {code(query_value)}.\n{USAGE}"


def ambiguous(count: int) -> str:
    return f"{count} customers match. Check the one you mean:"


def ambiguous_candidate(customer_id: str, utility: str, enrollment: str | None, email: str | None) -> str:
    """One customer of an ambiguous match, next to its Check button."""
    return (f"*{escape(customer_id)}* · {escape(utility)} · enrollment {enrollment or 'unknown'}"
            + (f" · {escape(email)}" if email else ""))


CHECK_BUTTON = "Check"
CHECK_MORE_LABEL = "More"
CHECK_MODAL_TITLE = "Check a customer"
CHECK_MODAL_SUBMIT = "Check"
CHECK_MODAL_LABEL = "Customer"
CHECK_MODAL_HINT = "Their e-mail, customer id (C-1001) or a ticket number or link."


# --- ticket to customer: the requester the helpdesk named ------------------------------------------


def _requester_ticket(requester: Requester) -> str:
    return f"{escape(requester.helpdesk)} {_ticket_link(requester.ticket_word, requester.ticket_id, requester.url)}"


def requester_used(requester: Requester) -> str:
    """Under a check found through a ticket: which e-mail the bot looked the customer up by."""
    return (f":ticket: Found through {_requester_ticket(requester)}: looked up by its requester's e-mail, "
            f"{escape(requester.email)}. The buttons post to this {requester.ticket_word}.")


def requester_matches_nobody(requester: Requester) -> str:
    return (f"{_requester_ticket(requester)} was opened by {escape(requester.email)}, and no customer has that e-mail. "
            f"If they wrote from another address, run `/reauth-check` with the customer's e-mail or id.\n{USAGE}")


def requester_matches_several(requester: Requester, count: int) -> str:
    return (f"{count} customers have the e-mail of {_requester_ticket(requester)}'s requester, "
            f"{escape(requester.email)}. Check the one you mean:")


_REQUESTER_PROBLEMS: dict[RequesterProblem, str] = {
    RequesterProblem.NO_HELPDESK: (
        "No customer or procedure names {word} {ticket}, and no helpdesk is configured to ask who opened it "
        "(the bot's owner can set HELPDESK). Run `/reauth-check` with the customer's e-mail instead."),
    RequesterProblem.OTHER_HELPDESK: (
        "That link is not to the bot's {helpdesk} account, so its {word} {ticket} is another one than ours. "
        "Paste the link from {helpdesk}, or give the customer's e-mail."),
    RequesterProblem.NO_TICKET: "{helpdesk} has no {word} {ticket}. Check the number, or give the customer's e-mail.",
    RequesterProblem.NOT_ALLOWED: (
        "{helpdesk} did not let the bot read {word} {ticket}: the bot's owner should check its helpdesk "
        "credentials. Meanwhile, give the customer's e-mail."),
    RequesterProblem.TIMED_OUT: (
        "{helpdesk} did not answer in time about {word} {ticket}. Try again in a minute, or give the customer's "
        "e-mail."),
    RequesterProblem.UNAVAILABLE: (
        "{helpdesk} could not be reached about {word} {ticket} (busy or down). Try again in a minute, or give "
        "the customer's e-mail."),
    RequesterProblem.NO_EMAIL: (
        "Whoever opened {helpdesk} {word} {ticket} has no e-mail address there. Give the customer's e-mail or id."),
    RequesterProblem.REFUSED: "{helpdesk} would not show {word} {ticket}. Give the customer's e-mail or id.",
}


def requester_unknown(unknown: RequesterUnknown) -> str:
    """Why a ticket found nobody: the helpdesk could not say who opened it."""
    sentence = _REQUESTER_PROBLEMS[unknown.problem].format(
        helpdesk=escape(unknown.helpdesk), word=escape(unknown.ticket_word), ticket=escape(unknown.ticket_id))
    return f"{sentence[0].upper()}{sentence[1:]}\n{USAGE}"


def lookup_failed(reference: str) -> str:
    return (f"Sorry, the lookup failed on our side (reference `{reference}`). Try again in a minute; "
            "if it keeps failing, tell the bot's owners the reference.")


# --- escalations ------------------------------------------------------------------------------------

ESCALATE_BUTTON = "Escalate"
TAKE_BUTTON = "Take it"
RESOLVE_BUTTON = "Resolve"
RESOLVE_CONFIRM_TITLE = "Resolve this case?"
RESOLVE_CONFIRM_TEXT = "The case closes for everyone and its buttons go away. A new escalation opens a new case."
RESOLVE_CONFIRM_YES = "Resolve"
RESOLVE_CONFIRM_NO = "Cancel"
ESCALATION_MODAL_TITLE = "Escalate case"
ESCALATION_TICKET_NOTE_LABEL = "On the ticket"
ESCALATION_TICKET_NOTE_OPTION = "Add an internal note saying it is escalated (not sent to the customer)"
ESCALATION_MODAL_SUBMIT = "Escalate"
ESCALATION_MODAL_CLOSE = "Cancel"
ESCALATION_DONE_CLOSE = "Done"
ESCALATION_LABELS: dict[str, str] = {
    "customer": "Customer",
    "reason": "Why escalate?",
    "ticket": "Helpdesk ticket",
    "note": "Note for whoever takes it",
}
ESCALATION_HINTS: dict[str, str] = {
    "customer": "The customer's e-mail, customer id, or a ticket link.",
    "reason": "What support already tried and what is still wrong.",
    "ticket": "A ticket number or link (optional).",
    "note": "Anything else the next person should know (optional).",
}
ESCALATIONS_NOT_SET_UP = (
    "Escalations are not set up yet: the bot's owner must set ESCALATION_CHANNEL to the escalation channel's ID "
    "(channel details > About) and restart the bot."
)
ESCALATION_FORM_PROBLEMS: dict[FormProblem, str] = {
    FormProblem.NO_CUSTOMER: "Say which customer: their e-mail, customer id or a ticket link.",
    FormProblem.BAD_CUSTOMER: "Give one customer: their e-mail, customer id or a ticket link.",
    FormProblem.UNKNOWN_CUSTOMER: "No customer matches this. Check the e-mail or id with /reauth-check.",
    FormProblem.AMBIGUOUS_CUSTOMER: "Several customers match this: give the customer id instead.",
    FormProblem.NO_REASON: "Say why the case needs escalating: what was tried and what is still wrong.",
    FormProblem.REASON_TOO_LONG: f"Keep the reason under {MAX_REASON} characters; put details in the note.",
    FormProblem.NOTE_TOO_LONG: f"Keep the note under {MAX_NOTE} characters.",
    FormProblem.BAD_TICKET: f"{NOT_A_TICKET} Or leave it empty.",
}
RESOLUTION_WORDS: dict[Resolution, str] = {
    Resolution.AGENT: "resolved by an agent",
    Resolution.CONNECTED: "the customer is connected, data is flowing",
}


def masked_email(email: str | None) -> str:
    """An e-mail as it may appear in a channel: `h...@example.com`."""
    if not email or "@" not in email:
        return "no e-mail on file"
    return escape(mask_email(email))


def duration(span: timedelta) -> str:
    """`3 days 4 hours`, `5 hours 12 minutes`, `8 minutes`: two units at most."""
    minutes = max(int(span.total_seconds() // 60), 0)
    day, hour, minute = minutes // 1440, minutes // 60 % 24, minutes % 60
    units = [(day, "day"), (hour, "hour"), (minute, "minute")]
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return " ".join(parts[:2]) if parts else "under a minute"


def who(user: str | None) -> str:
    """A Slack user mention, or plain words for the bot itself."""
    return agent_mention(user) if user else "the bot"


def ticket_text(ticket: Ticket | None) -> str:
    if ticket is None:
        return "no ticket"
    return link(ticket.url, f"ticket {ticket.id}") if ticket.url else f"ticket {escape(ticket.id)}"


def shortcut_found_nobody() -> str:
    return "This message names no customer I could find: type their e-mail, customer id or a ticket link."


def shortcut_found_several(ids: list[str]) -> str:
    return f"This message names several customers ({escape(', '.join(ids[:5]))}): type the one to escalate."


def escalation_opened(customer_id: str, channel: str) -> str:
    return (f"Escalated {escape(customer_id)}. Its thread is in <#{channel}>: everything that happens to the case "
            "will be posted there.")


def escalation_already_open(customer_id: str, case: Escalation) -> str:
    return (f"{escape(customer_id)} already has an open case, escalated by {who(case.opened_by)} "
            f"{slack_date_exact(case.opened_at)}. Your reason was added to its thread in <#{case.channel}>.")


def escalation_repeated(customer_id: str, case: Escalation) -> str:
    return f"{escape(customer_id)} is already escalated with these words; its thread is in <#{case.channel}>."


def escalation_failed(reference: str) -> str:
    return (f"Sorry, the escalation failed on our side (reference `{reference}`); nothing was posted. "
            "Try again in a minute; if it keeps failing, tell the bot's owners the reference.")


def modal_failed() -> str:
    return "Slack did not open the escalation form. Click the button again in a minute."


def escalation_header(case: Escalation, utility: str | None = None) -> str:
    """`Open · C-1008 (SCE) · nobody has it`: plain text (a header reads no mrkdwn, so no mention either)."""
    customer = f"{case.customer_id} ({utility})" if utility else case.customer_id
    if case.status is Status.RESOLVED:
        return f"Resolved · {customer}"
    return f"Open · {customer} · {'taken' if case.taken_by else 'nobody has it'}"


def escalation_notification(case: Escalation, utility: str | None = None) -> str:
    """The parent's notification text (no e-mail: notifications show on lock screens)."""
    return escape(f"{escalation_header(case, utility)}: {case.reason[:200]}")


def escalation_why(case: Escalation) -> str:
    """Why first: the reason and the note as typed (escaped), then who escalated it, when, and the ticket."""
    lines = [f"*Why*: {escape(case.reason)}"]
    if case.note:
        lines.append(f"*Note*: {escape(case.note)}")
    lines.append(f"Escalated by {who(case.opened_by)} {slack_date_exact(case.opened_at)} · {ticket_text(case.ticket)}")
    return "\n".join(lines)


def escalation_state(case: Escalation) -> str:
    if case.status is Status.RESOLVED and case.resolved_at is not None:
        when = slack_date_exact(case.resolved_at)
        if case.resolution is Resolution.AGENT or case.resolution is None:
            how = f"by {who(case.resolved_by)} {when}"
        else:
            how = f"{when}: {RESOLUTION_WORDS[case.resolution]}"
        spent = case.time_to_resolution
        return (f":white_check_mark: *Resolved* {how} · "
                f"time to resolution *{duration(spent) if spent is not None else 'unknown'}*")
    if case.taken_by:
        return f":eyes: *Open* · taken by {who(case.taken_by)}"
    return ":rotating_light: *Open* · nobody has taken it yet"


def case_summary(report: Report, max_lines: int = 5) -> str:
    """The case as it stood when escalated, for the parent message (the e-mail masked)."""
    customer = report.customer
    procedures = [
        f"• {slack_date(p.sent_at)}" + (f" on ticket {escape(p.ticket_id)}" if p.ticket_id else "")
        for p in list(reversed(report.procedures))[:max_lines]
    ]
    reasons = [f"• {reason_text(r, report)}" for r in report.recommendation.reasons]
    return "\n".join([
        f"*When escalated* ({slack_date_exact(report.now)}): {verdict_title(report)}",
        *reasons,
        f"{escape(customer.id)} · {masked_email(customer.email)} · {check_facts_without_email(report)}",
        *procedures,
    ])


def check_facts_without_email(report: Report) -> str:
    """The check's facts line for a channel: without the e-mail and the ticket the channel shows elsewhere."""
    customer = report.customer
    last = customer.last_data_at
    data = f"last meter data {slack_date(last)}" if last else "no meter data yet"
    sent = f"steps sent {times(len(report.procedures))}" if report.procedures else "no steps sent yet"
    return (f"{'Connected' if report.connected else 'Not connected'}: {data} · "
            f"{live_authorizations(len(report.live))} · {sent}")


def case_check_reply(report: Report, agent: str, follow_up: datetime | None) -> str:
    """A `/reauth-check` of a customer with an open case, as a reply in its thread."""
    text = f":mag: {who(agent)} ran /reauth-check: {_verdict(report)}"
    if follow_up is not None:
        text += f"\n:alarm_clock: I'll check again on {slack_date(follow_up)} and post the result here."
    return text


def follow_up_reply(report: Report, due_at: datetime, taken_by: str | None = None) -> str:
    """The follow-up in the case's thread, mentioning whoever took the case."""
    to = f"{who(taken_by)}: " if taken_by else ""
    return (f":alarm_clock: {to}Follow-up: the wait window ended {slack_date(due_at)}. "
            f"Re-check: {_verdict(report)}")


def follow_up_dm(report: Report, due_at: datetime) -> str:
    return (f":alarm_clock: Follow-up on {escape(customer_title(report))}: the wait "
            f"window ended {slack_date(due_at)}. Re-check: {_verdict(report)}")


def follow_up_scheduled(due_at: datetime) -> str:
    return f":alarm_clock: I'll check again on {slack_date(due_at)} and post the result here."


def case_taken(agent: str) -> str:
    return f":eyes: {who(agent)} took this case."


def case_resolved_by(agent: str, spent: timedelta) -> str:
    return f":white_check_mark: {who(agent)} resolved this case after {duration(spent)}."


def case_connected(report: Report, spent: timedelta) -> str:
    last = report.customer.last_data_at
    seen = f" (last meter data {slack_date(last)})" if last else ""
    return (f":white_check_mark: {escape(report.customer.id)} is connected: data is flowing{seen}. "
            f"Case resolved after {duration(spent)}.")


def case_escalated_again(agent: str, form: EscalationForm) -> str:
    lines = [f":rotating_light: {who(agent)} escalated this case again · {ticket_text(form.ticket)}",
             f"*Why*: {escape(form.reason)}"]
    if form.note:
        lines.append(f"*Note*: {escape(form.note)}")
    return "\n".join(lines)


def authorization_changed(authorization_id: str, old: str, new: str) -> str:
    return (f":arrows_counterclockwise: Authorization {code(authorization_id)} changed: {escape(old)} → "
            f"*{escape(new)}*.")


def authorization_added(authorization_id: str, status: str) -> str:
    return f":new: New authorization {code(authorization_id)}: *{escape(status)}*."


def already_resolved(case: Escalation) -> str:
    return f"This case is already resolved ({escalation_state(case)})."


def already_yours() -> str:
    return "You already have this case."


def _verdict(report: Report) -> str:
    reasons = "\n".join(f"• {reason_text(r, report)}" for r in report.recommendation.reasons)
    return f"*{verdict_title(report)}*. {instruction(report)}\n{reasons}"


# --- sending the canned steps: a reply the customer sees, or an internal note -------------------------

# Only what the customer sees is "steps sent" (a procedure): the rules, the guardrail, the follow-up
# clocks and the digest count replies, never internal notes.
STEPS_SEND_BUTTON: dict[Action, str] = {
    Action.WAIT: "Send “please wait” reply",
    Action.REAUTH: "Send re-auth steps to customer",
    Action.CONNECT: "Send connect steps to customer",
}
STEPS_BUTTON = "Add as internal note"
STEPS_SENT_MYSELF_BUTTON = "I sent them myself"
STEPS_AGAIN_BUTTON = "Send again"
STEPS_CANCEL_BUTTON = "Cancel"
STEPS_MODAL_TITLE = "Send to the customer"
STEPS_NOTE_MODAL_TITLE = "Add an internal note"
STEPS_MODAL_SUBMIT = "Send to customer"
STEPS_NOTE_MODAL_SUBMIT = "Add note"
STEPS_MODAL_CLOSE = "Cancel"
STEPS_TICKET_LABEL = "Ticket"
STEPS_TICKET_PLACEHOLDER = "4521, or the ticket's link"
STEPS_IN_FLIGHT = "another click is posting it right now"
STEPS_NO_HELPDESK = (
    "No helpdesk is configured, so the bot cannot post steps to tickets. The bot's owner can set HELPDESK "
    "(zendesk, intercom or freshdesk), HELPDESK_URL and the helpdesk's credentials, then restart the bot."
)
STEPS_NOTHING_TO_POST = "The customer is connected now: there are no steps to send. Nothing was posted."
STEPS_INTERNAL_ONLY = (
    "The escalation note is for the team only, never a reply to the customer. Nothing was posted."
)
STEPS_CANCELLED = "Not sent."
STEPS_BAD_BUTTON = "This button is from an older version of the bot: run `/reauth-check` again."
STEPS_CONFIRM_FIRST = "Steps already went to this customer: send again?"
STEPS_MODAL_FAILED = "Slack did not open the form. Click the button again in a minute."


def agent_mention(agent: str | None) -> str:
    """A mention when `agent` is a Slack user id; a CLI or imported agent name stays plain (escaped) text."""
    if not agent:
        return "someone"
    return f"<@{agent}>" if agent.startswith(("U", "W")) and agent.isalnum() else escape(agent)


def _ticket_link(word: str, ticket: str, url: str) -> str:
    return link(url, f"{word} {ticket}") if url else f"{escape(word)} {escape(ticket)}"


def case_steps_posted(helpdesk: str, ticket: str, url: str, agent: str, public: bool) -> str:
    """The case-thread reply when steps went to the customer's ticket."""
    where = f"{escape(helpdesk)} {_ticket_link('ticket', ticket, url)}"
    if public:
        return f":envelope: {agent_mention(agent)} sent the steps to the customer on {where}."
    return (f":memo: {agent_mention(agent)} added the steps to {where} as an internal note "
            "(the customer has not seen them).")


def case_steps_sent_by_agent(ticket: str, agent: str) -> str:
    return (f":envelope: {agent_mention(agent)} sent the steps to the customer themselves"
            + (f" (ticket {escape(ticket)})." if ticket else "."))


def steps_modal_intro(customer_id: str, action: Action, public: bool = False) -> str:
    if public:
        return (f"This reply goes to *{escape(customer_id)}* as written below, and the helpdesk e-mails it. "
                "Check the ticket:")
    return (f"Steps for *{escape(customer_id)}* ({ACTION_TITLES[action]}) as an internal note: only the team "
            "sees it. Which ticket?")


def steps_preview(body: str) -> str:
    """The exact text the customer will get, quoted (the template is the team's text, but still escaped)."""
    return "\n".join(f">{escape(line)}" if line else ">" for line in body.split("\n"))


def steps_posted(
    helpdesk: str, word: str, ticket: str, url: str, at: datetime, agent: str, public: bool, *, already: bool
) -> str:
    where = f"{escape(helpdesk)} {_ticket_link(word, ticket, url)}"
    by = f"by {agent_mention(agent)} {slack_time(at)}"
    if public:
        if already:
            return (f":white_check_mark: This reply already went to the customer on {where} {by}. "
                    "Nothing was sent again.")
        return (f":white_check_mark: Sent to the customer on {where} {by}. This counts as steps sent: "
                "the next check counts it and the bot checks again when the wait is over.")
    start = "These steps were already added" if already else "Added"
    return (f":memo: {start} to {where} as an internal note {by}. The customer has not seen them, so they are "
            f"*not* counted as steps sent. If you send them to the customer yourself, click "
            f"“{STEPS_SENT_MYSELF_BUTTON}”.")


def steps_recorded_by_agent(agent: str, ticket: str) -> str:
    return (f":white_check_mark: Recorded: {agent_mention(agent)} sent the steps to the customer"
            + (f" (ticket {escape(ticket)})" if ticket else "")
            + ". The next check counts them and the bot checks again when the wait is over.")


def steps_queued(helpdesk: str, word: str, ticket: str, reason: str, next_try: datetime, *, already: bool) -> str:
    start = "These steps are already queued" if already else "Not posted yet"
    w = escape(word)
    return (f":hourglass_flowing_sand: {start} for {escape(helpdesk)} {w} {escape(ticket)}: {escape(reason)}. "
            f"The post is saved and will be delivered automatically (next try around {slack_time(next_try)}); "
            f"there is nothing more to do. The next `/reauth-check` shows it once it is on the {w}.")


def steps_failed(helpdesk: str, word: str, ticket: str, reason: str) -> str:
    return (f":x: Not posted to {escape(helpdesk)} {escape(word)} {escape(ticket)}: {escape(reason)} "
            "Nothing was queued: click the button again once that is fixed.")


def steps_bad_ticket(helpdesk: str, word: str, text: str) -> str:
    shown = f" You gave {code(text[:100])}, so nothing was posted." if text else " Nothing was posted."
    return (f"{not_a_ticket_of(escape(helpdesk), escape(word))}{shown} Run "
            f"`/reauth-check &lt;customer&gt; &lt;{escape(word)} number or link&gt;` again.")


def steps_bad_ticket_in_modal(helpdesk: str, word: str) -> str:
    return not_a_ticket_of(helpdesk, word)


def steps_customer_gone(customer_id: str) -> str:
    return f"Customer {escape(customer_id)} is no longer in the bot's records, so nothing was posted."


def steps_case_changed(clicked: Action, now: Action) -> str:
    return (f"The case changed since this answer: it is now *{ACTION_TITLES[now]}* "
            f"(the button was for {ACTION_TITLES[clicked].split(':')[0]}). Nothing was posted; "
            "here is the fresh answer.")


def steps_confirm(earlier: list[tuple[datetime, str | None, str | None, bool]], wait_days: int, word: str) -> str:
    """The guardrail: (when, by whom, ticket, still queued) of each earlier send, newest first."""
    lines = []
    for at, agent, ticket, queued in earlier[:5]:
        where = f" on {escape(word)} {escape(ticket)}" if ticket else ""
        state = " (queued, not delivered yet)" if queued else ""
        lines.append(f"• {slack_time(at)} by {agent_mention(agent)}{where}{state}")
    return (":warning: *Steps already went to this customer in the last "
            f"{days(wait_days)}:*\n" + "\n".join(lines) + "\n"
            "Sending them again delays the utility's check further: the help article asks customers not to "
            "repeat the procedure. Send again anyway?")


def steps_post_failed(reference: str) -> str:
    return (f"Sorry, posting the steps hit a problem on our side (reference `{reference}`). Run `/reauth-check` "
            "again in a minute to see whether they were sent; if it keeps failing, tell the bot's owners "
            "the reference.")


# --- the daily digest and the App Home ---------------------------------------------------------------

# Every customer in the "did not help" category has waited at least the shortest of the utilities' waits.
_SHORTEST_WAIT = min(p.wait_days for p in UTILITIES.values())
DIGEST_CATEGORIES: dict[Reason, str] = {
    Reason.NOT_CONNECTED_7D: "Past the verification window, still not connected",
    Reason.DUPLICATE_AUTHORIZATIONS: "Several live authorizations",
    Reason.SCOPE_INCOMPLETE: "Partial scope: data types not all shared",
    Reason.REAUTH_DID_NOT_HELP: f"Re-authorized over {span_words(_SHORTEST_WAIT)} ago, still not connected",
    Reason.REPEATED_PROCEDURE: f"Steps sent {times(REPEAT_LIMIT)} or more in {days(REPEAT_WINDOW.days)}",
    Reason.GRANT_DATE_UNKNOWN: "Authorization without a grant date",
}
DIGEST_ACTIONS: dict[Action, str] = {Action.REAUTH: "re-authorize", Action.ESCALATE: "escalate"}


def _escalation_ages() -> dict[EscalationAge, str]:
    """`under a day`, `1-3 days`, `3-7 days`, `over a week`: the buckets of ESCALATION_AGE_LIMITS."""
    words: dict[EscalationAge, str] = {}
    low = 0
    for age, limit in ESCALATION_AGE_LIMITS:
        words[age] = f"under {span_words(limit.days)}" if low == 0 else f"{low}-{days(limit.days)}"
        low = limit.days
    (oldest,) = set(EscalationAge) - set(words)
    words[oldest] = f"over {span_words(low)}"
    return words


ESCALATION_AGES: dict[EscalationAge, str] = _escalation_ages()
DIGEST_EMPTY = "Nobody is stuck today: every customer is connected, inside the verification window, or new."
DIGEST_NO_CHANNEL = (
    "no digest channel: set DIGEST_CHANNEL in .env to a channel ID such as C0123ABCD, or pass --channel"
)


def count(n: int) -> str:
    return f"{n:,}"


def change(delta: int | None) -> str:
    """A change since the previous digest, as a parenthesis: " (+12)", " (−3)", " (no change)"; nothing
    when there is no previous digest to compare with."""
    if delta is None:
        return ""
    return f" ({_signed(delta)})"


def _signed(delta: int) -> str:
    if delta == 0:
        return "no change"
    return f"+{delta:,}" if delta > 0 else f"−{-delta:,}"


def digest_title(day_text: str) -> str:
    return f"Stuck customers · {day_text}"


def digest_summary(total: int, delta: int | None, previous_day: str | None) -> str:
    """The total and its change, for the first line: `856 stuck, +12 since Friday`."""
    if delta is None:
        return f"{total:,} stuck"
    since = f" since {previous_day}" if previous_day else ""
    return f"{total:,} stuck, {_signed(delta)}{since}"


def digest_first_line(summary: str, untaken: int, newly_stuck: int = 0) -> str:
    """`*856 stuck, +12 since Friday · 27 newly stuck · 3 escalations nobody has taken*`: the change and what
    waits on a person."""
    parts = [summary]
    if newly_stuck:
        parts.append(f"{newly_stuck:,} newly stuck")
    if untaken:
        parts.append("1 escalation nobody has taken" if untaken == 1 else f"{untaken:,} escalations nobody has taken")
    return f"*{' · '.join(parts)}*"


ACT_TODAY_TITLE = "*Act today*"
ACT_TODAY_NOTHING = (
    "Nothing waits on a person: every escalation has an owner and no follow-up falls due in the next day."
)


def act_today_untaken(customer_id: str, opened_at: datetime, thread_url: str | None) -> str:
    where = link(thread_url, "take it in its thread") if thread_url else "its thread is being posted"
    return f"• Escalation of {escape(customer_id)}, open since {slack_time(opened_at)}, nobody has it: {where}"


def act_today_follow_up(customer_id: str, due_at: datetime) -> str:
    return f"• Follow-up on {escape(customer_id)} due {slack_time(due_at)}: the bot re-checks and posts the result"


def act_today_newly_stuck(customer_id: str, utility: str, action: Action, reason: Reason) -> str:
    """A customer stuck now who was not at the previous digest, by id only (the channel never shows names)."""
    return (f"• Newly stuck: {escape(customer_id)} ({escape(utility)}), {DIGEST_ACTIONS[action]}: "
            f"{DIGEST_CATEGORIES[reason].lower()}")


def act_today_more(n: int, what: str) -> str:
    return f"• … and {n:,} more {what}"


def trend_numbers(earlier_total: int, earlier_days: int, today: int) -> str:
    """`870 a week ago → 856 today`: the trend as numbers, which a reader compares at a glance."""
    when = "a week ago" if earlier_days == 7 else ("yesterday" if earlier_days == 1 else f"{earlier_days} days ago")
    return f"{earlier_total:,} {when} → {today:,} today"


DIGEST_LIST_IN_THREAD = "The full list, longest stuck first, is in the thread."
DIGEST_LONGEST_TITLE = "Longest stuck (the top of the full list):"


def digest_text(total: int, delta: int | None) -> str:
    """The notification text: no names, no e-mails."""
    return f"Daily digest: {total:,} stuck customers{change(delta)}" if total else f"Daily digest: {DIGEST_EMPTY}"


def open_escalations(total: int, delta: int | None, ages: str) -> str:
    return f"Open escalations: *{total:,}*{change(delta)}" + (f": {ages}" if total else "")


def days_stuck(n: int | None) -> str:
    return "since an unknown date" if n is None else f"{days(n)} stuck"


def digest_list_part(part: int, parts: int, total: int) -> str:
    return f"Full list of the {total:,} stuck customers, longest stuck first (part {part} of {parts})"


def digest_csv_comment(total: int) -> str:
    return f"Full list of the {total:,} stuck customers, longest stuck first (too long for messages: CSV)"


def digest_posted(day: str, channel: str, ts: str, recovered: bool) -> str:
    how = "found already posted by an interrupted run, and completed" if recovered else "posted"
    return f"digest of {day} {how} in {channel} (ts {ts})"


def digest_already_posted(day: str, channel: str, ts: str | None) -> str:
    return f"digest of {day} was already posted in {channel} (ts {ts}); nothing to do"


def digest_busy(day: str, channel: str) -> str:
    return f"digest of {day} for {channel} is being posted by another instance right now; nothing to do"


def digest_failed(day: str, channel: str, reason: str) -> str:
    return f"digest of {day} for {channel} could not be posted ({reason}); the next trigger will retry"


def digest_bad_date(raw: str) -> str:
    return f"--date {raw!r} is not a date such as 2026-11-30"


def digest_future_date(raw: str, today: str) -> str:
    return f"--date {raw} is after today ({today}): a digest can only report what already happened"


HOME_TITLE = "Your re-authorization work"
HOME_CHECK_BUTTON = "Check a customer"
HOME_TEAM_TITLE = "*The team's stuck customers, live*"
HOME_NO_OWN_ESCALATIONS = "You have not taken any open case. Cases you take in the escalation channel show here."
HOME_NO_FOLLOW_UPS = "No follow-up of yours falls due today."
HOME_NO_DIGEST = "No digest has been posted yet."
CHECK_MODAL_NOTE = "To send steps or escalate from this answer, run `/reauth-check` with the customer in a channel."


def home_last_digest(when: str) -> str:
    return f"Last daily digest: {when}"


def home_own_escalations(n: int) -> str:
    return f"*Cases you took ({n})*"


def home_case(customer_id: str, opened_at: datetime, thread_url: str | None) -> str:
    where = f" · {link(thread_url, 'its thread')}" if thread_url else ""
    return f"• {escape(customer_id)}, open since {slack_date(opened_at)}{where}"


def home_follow_ups(n: int) -> str:
    return f"*Your follow-ups due today ({n})*"


def home_follow_up(customer_id: str, due_at: datetime) -> str:
    return f"• {escape(customer_id)} at {slack_time(due_at)}: the bot re-checks and tells you"


def home_help_article(url: str) -> str:
    return f"{link(url, 'The help article')} the steps come from"


# --- Green Button sync ---------------------------------------------------------------------------------


def sync_report(utility: str, outcome: str, new: int, changed: int, revoked: int, skipped: int, problem: str,
                thread_updates: int) -> str:
    """One line per utility after `reauth-bot sync greenbutton`."""
    if outcome == "synced":
        threads = f"; {thread_updates} update(s) for open escalation threads" if thread_updates else ""
        return (f"{utility}: synced: {new} new, {changed} changed, {revoked} revoked, {skipped} skipped "
                f"(malformed or not in the subscription mapping){threads}")
    if outcome == "busy":
        return f"{utility}: another instance is syncing it (or just did); nothing to do"
    return f"{utility}: sync failed, nothing was changed: {problem}"


# --- access control and hostile input (bot/access.py) ---------------------------------------------------

NOT_ALLOWED = (
    "Sorry, you are not on the list of people who may use the re-auth helper, so I looked nothing up "
    "and changed nothing. Ask a support lead to add you (or your Slack user group) to ALLOWED_USERS or "
    "ALLOWED_USERGROUPS."
)
OTHER_WORKSPACE = (
    "Sorry, this request comes from another workspace or app than the one the re-auth helper is installed "
    "in, so I looked nothing up and changed nothing."
)
CONTROL_CHARACTERS = (
    "I can't read that: it contains control characters (such as NUL) that no e-mail, id, ticket or note "
    "has. Type it again, or paste it as plain text."
)
NOT_ALLOWED_TITLE = "Not allowed"
BAD_REQUEST = "I couldn't read that request. Try the button or command again; if it keeps failing, tell a support lead."


# --- outcomes -----------------------------------------------------------------------------------

OUTCOMES_TITLE = "Did the steps work? Outcomes of the procedures sent"
OUTCOMES_NO_HISTORY = (
    "No history yet: it starts with the first import after this release, and outcomes follow from then."
)
OUTCOMES_MORE = ("n/a: that week's 7-, 14- or 30-day window is not over yet. `reauth-bot outcomes` has every week "
                 "(--json, --csv); the chart is in the thread.")
OUTCOMES_NONE_SENT = "No procedures were sent in these weeks."
HOME_OUTCOMES_TITLE = "*Connected within 14 days of the steps*, last 4 weeks (n/a: 14 days not over yet)"


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}%"


def days_figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} d"


def outcomes_history_since(when: datetime) -> str:
    return (f"History since {when:%Y-%m-%d}: what followed steps sent before then was never observed, "
            "so they are not counted.")


def outcomes_week_line(utility: str, week: date, sent: int, reauthorized: str, connected_7d: str,
                       connected_14d: str, median: str, p90: str, repeat: str, escalated: str) -> str:
    return (f"{utility} · week of {week:%b %-d}: {sent:,} sent · re-authorized in 7 d {reauthorized} · "
            f"connected in 7 d {connected_7d}, 14 d {connected_14d} · verification median {median}, p90 {p90} · "
            f"repeated {repeat} · escalated {escalated}")


def outcomes_wait_warning(utility: str, wait_days: int, running: int, weeks: str, needed_days: int) -> str:
    return (f"{utility}: the measured 90th percentile verification time exceeded the configured {wait_days}-day "
            f"wait {running} weeks running ({weeks}); the wait would have to be {needed_days} days to cover it. "
            "The policy is unchanged: change `commands/policy.py` if the team agrees.")


def outcomes_chart_comment(week: date) -> str:
    return (f"Outcomes chart, week of {week:%b %-d}: verification times per utility against the article's band, "
            "and the weekly share connected within 14 days.")


def home_outcomes_week(week: date, share: str) -> str:
    return f"week of {week:%b %-d} {share}"


def home_outcomes_line(utility: str, weeks: list[str]) -> str:
    return f"• {utility}: {' · '.join(weeks)}"


def outcomes_bad_date(raw: str) -> str:
    return f"--since {raw!r} is not a date such as 2026-09-01"


def outcomes_bad_utility(raw: str, choices: str) -> str:
    return f"--utility {raw!r} is not a utility we serve: use one of {choices}"
