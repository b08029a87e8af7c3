"""Every sentence the bot says to an agent, in one module, so wording stays consistent and testable.

Reasons travel as stable codes (`commands.rules.Reason`) and become words only here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

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
from commands.rules import Action, Authorization, Reason
from commands.tickets import Ticket

USAGE = (
    "Usage: `/reauth-check <customer e-mail | customer id | ticket id or URL> [ticket id or URL]`\n"
    "Examples: `/reauth-check alice@example.com`, `/reauth-check C-10042`, "
    "`/reauth-check https://acme.zendesk.com/agent/tickets/4521`"
)

ACTION_TITLES: dict[Action, str] = {
    Action.HEALTHY: "Healthy: no action needed",
    Action.CONNECT: "Connect: send the first-connection steps",
    Action.WAIT: "Wait: the utility is still verifying",
    Action.REAUTH: "Re-authorize: revoke every authorization, then authorize once",
    Action.ESCALATE: "Escalate: the procedure did not work",
}

QUERY_PROBLEMS: dict[QueryProblem, str] = {
    QueryProblem.EMPTY: "Tell me which customer to check.",
    QueryProblem.TOO_LONG: "That is too long to be a customer e-mail, id or ticket link.",
    QueryProblem.TOO_MANY_WORDS: "Give one customer, and optionally one ticket after it.",
    QueryProblem.MALFORMED: "I can't read that as a customer e-mail, customer id or ticket link.",
}


def _slack_date(at: datetime, tokens: str, fallback_format: str) -> str:
    """Slack shows `tokens` in the reader's own time zone; plain text (notifications, search) shows the
    fallback, in UTC."""
    return f"<!date^{int(at.timestamp())}^{tokens}|{at.strftime(fallback_format)}>"


def slack_date(at: datetime) -> str:
    """`Mon Nov 30, 2026`: the day."""
    return _slack_date(at, "{date_short_pretty}", "%a %b %-d, %Y")


def slack_date_exact(at: datetime) -> str:
    """The day in Slack, the minute in plain text (`2026-11-30 17:00 UTC`): when a case moved, on record."""
    return _slack_date(at, "{date_short_pretty}", "%Y-%m-%d %H:%M UTC")


def slack_time(at: datetime) -> str:
    """`Mon Nov 30, 2026 at 17:00`: when steps were posted or will be retried."""
    return _slack_date(at, "{date_short_pretty} at {time}", "%a %b %-d, %Y %H:%M UTC")


def slack_datetime(at: datetime) -> str:
    """`2026-11-30 17:00`: the moment the digest's and the Home tab's counts were taken."""
    return _slack_date(at, "{date_short_pretty} {time}", "%Y-%m-%d %H:%M UTC")


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def span_words(n: int) -> str:
    """`a day`, `a week`, else `n days`: how long, in the words people use for round spans."""
    return {1: "a day", 7: "a week"}.get(n) or days(n)


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n) or f"{n} times"


def missing_data_types(blocks: frozenset[int]) -> str:
    return ", ".join(f"{FUNCTION_BLOCK_NAMES.get(b, 'function block')} (FB {b})" for b in sorted(blocks))


def reason_text(reason: Reason, report: Report) -> str:
    """One plain sentence per reason code, with the customer's specifics."""
    utility = report.customer.utility
    live = len(report.live)
    newest = report.live[0] if report.live else None
    wait_days = policy_for(utility).wait_days
    if reason is Reason.CONNECTED:
        return ("Data is flowing: enrollment verified and meter data received in the last "
                f"{days(DATA_FRESHNESS.days)}.")
    if reason is Reason.DUPLICATE_AUTHORIZATIONS:
        return (f"{live} live authorizations at {utility.display_name}: the utility needs exactly one, "
                "and more do not speed anything up.")
    if reason is Reason.SCOPE_INCOMPLETE and newest is not None:
        missing = missing_data_types(newest.missing_function_blocks(utility))
        return f"The newest authorization does not share all data types: missing {missing}."
    if reason is Reason.NO_LIVE_AUTHORIZATION:
        return f"No pending or active authorization at {utility.display_name}."
    if reason is Reason.REPEATED_PROCEDURE:
        recent = len(report.procedures)
        return (f"Support already sent the steps {recent} times; repeating them only delays verification "
                "further (the help article says so).")
    if reason is Reason.VERIFICATION_WINDOW and newest is not None and newest.granted_at is not None:
        age = report.now - newest.granted_at
        return (f"Authorized {days(age.days)} ago; {utility.display_name} verifies within "
                f"{policy_for(utility).verification_days_text}. Redoing it now would restart the wait.")
    if reason is Reason.REAUTH_DID_NOT_HELP:
        return (f"Re-authorized after support sent the steps, more than {days(wait_days)} ago, and still not "
                "connected.")
    if reason is Reason.NOT_CONNECTED_7D:
        return f"Not connected for more than {days(wait_days)} after the newest authorization."
    if reason is Reason.GRANT_DATE_UNKNOWN:
        return "The newest authorization has no grant date, so its verification window cannot be judged."
    return reason.value


def not_found(query_value: str) -> str:
    return f"No customer matches `{query_value}`.\n{USAGE}"


def ambiguous(count: int) -> str:
    return f"{count} customers match. Run `/reauth-check` again with one customer id:"


def lookup_failed(reference: str) -> str:
    return (f"Sorry, the lookup failed on our side (reference `{reference}`). Try again in a minute; "
            "if it keeps failing, tell the bot's owners the reference.")


# --- escalations ------------------------------------------------------------------------------------

ESCALATE_BUTTON = "Escalate"
TAKE_BUTTON = "Take it"
RESOLVE_BUTTON = "Resolve"
ESCALATION_MODAL_TITLE = "Escalate case"
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
    FormProblem.BAD_TICKET: "That is not a ticket number or ticket link; paste the ticket's URL or leave it empty.",
}
RESOLUTION_WORDS: dict[Resolution, str] = {
    Resolution.AGENT: "resolved by an agent",
    Resolution.CONNECTED: "the customer is connected, data is flowing",
}


def masked_email(email: str | None) -> str:
    """An e-mail as it may appear in a channel: `h...@example.com`."""
    if not email or "@" not in email:
        return "no e-mail on file"
    return mask_email(email)


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
    return f"<{ticket.url}|ticket {ticket.id}>" if ticket.url else f"ticket {ticket.id}"


def shortcut_found_nobody() -> str:
    return "This message names no customer I could find: type their e-mail, customer id or a ticket link."


def shortcut_found_several(ids: list[str]) -> str:
    return f"This message names several customers ({', '.join(ids[:5])}): type the one to escalate."


def escalation_opened(customer_id: str, channel: str) -> str:
    return (f"Escalated {customer_id}. Its thread is in <#{channel}>: everything that happens to the case "
            "will be posted there.")


def escalation_already_open(customer_id: str, case: Escalation) -> str:
    return (f"{customer_id} already has an open case, escalated by {who(case.opened_by)} on "
            f"{slack_date(case.opened_at)}. Your reason was added to its thread in <#{case.channel}>.")


def escalation_repeated(customer_id: str, case: Escalation) -> str:
    return f"{customer_id} is already escalated with these words; its thread is in <#{case.channel}>."


def escalation_failed(reference: str) -> str:
    return (f"Sorry, the escalation failed on our side (reference `{reference}`); nothing was posted. "
            "Try again in a minute; if it keeps failing, tell the bot's owners the reference.")


def modal_failed() -> str:
    return "Slack did not open the escalation form. Click the button again in a minute."


def escalation_header(case: Escalation) -> str:
    return f"{'Resolved' if case.status is Status.RESOLVED else 'Escalated'}: {case.customer_id}"


def escalation_notification(case: Escalation) -> str:
    """The parent's notification text (no e-mail: notifications show on lock screens)."""
    return f"{escalation_header(case)}: {case.reason[:200]}"


def escalation_why(case: Escalation) -> str:
    lines = [
        f"*Escalated by* {who(case.opened_by)} on {slack_date_exact(case.opened_at)} · "
        f"{ticket_text(case.ticket)}",
        f"*Why*: {case.reason}",
    ]
    if case.note:
        lines.append(f"*Note*: {case.note}")
    return "\n".join(lines)


def escalation_state(case: Escalation) -> str:
    if case.status is Status.RESOLVED and case.resolved_at is not None:
        when = slack_date_exact(case.resolved_at)
        if case.resolution is Resolution.AGENT or case.resolution is None:
            how = f"by {who(case.resolved_by)} on {when}"
        else:
            how = f"on {when}: {RESOLUTION_WORDS[case.resolution]}"
        spent = case.time_to_resolution
        return (f":white_check_mark: *Resolved* {how} · "
                f"time to resolution *{duration(spent) if spent is not None else 'unknown'}*")
    if case.taken_by:
        return f":eyes: *Open* · taken by {who(case.taken_by)}"
    return ":rotating_light: *Open* · nobody has taken it yet"


def case_summary(report: Report, max_lines: int = 5) -> str:
    """The case as it stood when escalated, for the parent message (the e-mail masked)."""
    customer = report.customer
    last = customer.last_data_at
    data = f"last meter data {slack_date(last)}" if last else "no meter data received yet"
    authorizations = [f"• `{a.id}` {a.status_at(report.now).value} · {_age(a, report.now)}"
                      for a in report.authorizations[:max_lines]]
    procedures = [
        f"• {slack_date(p.sent_at)}" + (f" on ticket {p.ticket_id}" if p.ticket_id else "")
        for p in list(reversed(report.procedures))[:max_lines]
    ]
    return "\n".join([
        f"The case when escalated ({slack_date_exact(report.now)}):",
        f"*Customer* {customer.id} · {masked_email(customer.email)} · {customer.utility.display_name}",
        f"*{'Connected' if report.connected else 'Not connected'}*: {data}",
        f"*Recommendation*: {_verdict(report)}",
        f"*Authorizations*: {len(report.authorizations)} in all, {len(report.live)} live",
        *authorizations,
        f"*Steps already sent*: {len(report.procedures) or 'none'}",
        *procedures,
    ])


def case_check_reply(report: Report, agent: str, follow_up: datetime | None) -> str:
    """A `/reauth-check` of a customer with an open case, as a reply in its thread."""
    text = f":mag: {who(agent)} ran /reauth-check: {_verdict(report)}"
    if follow_up is not None:
        text += f"\n:alarm_clock: I'll check again on {slack_date(follow_up)} and post the result here."
    return text


def follow_up_reply(report: Report, due_at: datetime) -> str:
    return f":alarm_clock: Follow-up: the wait window ended {slack_date(due_at)}. Re-check: {_verdict(report)}"


def follow_up_dm(report: Report, due_at: datetime) -> str:
    return (f":alarm_clock: Follow-up on {report.customer.id} ({report.customer.utility.display_name}): the wait "
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
    return (f":white_check_mark: {report.customer.id} is connected: data is flowing{seen}. "
            f"Case resolved after {duration(spent)}.")


def case_escalated_again(agent: str, form: EscalationForm) -> str:
    lines = [f":rotating_light: {who(agent)} escalated this case again · {ticket_text(form.ticket)}",
             f"*Why*: {form.reason}"]
    if form.note:
        lines.append(f"*Note*: {form.note}")
    return "\n".join(lines)


def authorization_changed(authorization_id: str, old: str, new: str) -> str:
    return f":arrows_counterclockwise: Authorization `{authorization_id}` changed: {old} → *{new}*."


def authorization_added(authorization_id: str, status: str) -> str:
    return f":new: New authorization `{authorization_id}`: *{status}*."


def already_resolved(case: Escalation) -> str:
    return f"This case is already resolved ({escalation_state(case)})."


def already_yours() -> str:
    return "You already have this case."


def _age(authorization: Authorization, now: datetime) -> str:
    age = authorization.age_days(now)
    return "age unknown" if age is None else days(age)


def _verdict(report: Report) -> str:
    recommendation = report.recommendation
    reasons = "\n".join(f"• {reason_text(r, report)}" for r in recommendation.reasons)
    verdict = f"*{ACTION_TITLES[recommendation.action]}*\n{reasons}"
    if recommendation.action is Action.WAIT and recommendation.wait_until is not None:
        verdict += f"\nCheck back on *{slack_date(recommendation.wait_until)}*; tell the customer not to redo it."
    return verdict


# --- posting the canned steps to the helpdesk ticket -------------------------------------------------

STEPS_BUTTON = "Post steps to ticket"
STEPS_REPLY_BUTTON = "Reply to customer"
STEPS_AGAIN_BUTTON = "Post again"
STEPS_CANCEL_BUTTON = "Cancel"
STEPS_REPLY_CONFIRM_TITLE = "Reply to the customer?"
STEPS_REPLY_CONFIRM_TEXT = (
    "The steps go to the customer as a visible reply, and the helpdesk e-mails them. "
    "For a note only the team sees, use “Post steps to ticket”."
)
STEPS_REPLY_CONFIRM_YES = "Reply to customer"
STEPS_REPLY_CONFIRM_NO = "Cancel"
STEPS_MODAL_TITLE = "Post steps to ticket"
STEPS_MODAL_SUBMIT = "Post"
STEPS_MODAL_CLOSE = "Cancel"
STEPS_TICKET_LABEL = "Ticket"
STEPS_TICKET_PLACEHOLDER = "4521, or the ticket's link"
STEPS_VISIBILITY_LABEL = "Post as"
STEPS_NOTE_OPTION = "Internal note: only the team sees it"
STEPS_REPLY_OPTION = "Reply to the customer: they are e-mailed"
STEPS_IN_FLIGHT = "another click is posting it right now"
STEPS_NO_HELPDESK = (
    "No helpdesk is configured, so the bot cannot post steps to tickets. The bot's owner can set HELPDESK "
    "(zendesk, intercom or freshdesk), HELPDESK_URL and the helpdesk's credentials, then restart the bot."
)
STEPS_NOTHING_TO_POST = "The customer is connected now: there are no steps to send. Nothing was posted."
STEPS_INTERNAL_ONLY = (
    "The escalation note is for the team only, never a reply to the customer. "
    "Use “Post steps to ticket” to post it as an internal note. Nothing was posted."
)
STEPS_CANCELLED = "Not posted."
STEPS_BAD_BUTTON = "This button is from an older version of the bot: run `/reauth-check` again."
STEPS_CONFIRM_FIRST = "Steps already went to this customer: post again?"
STEPS_MODAL_FAILED = "Slack did not open the form asking for the ticket. Click the button again in a minute."


def agent_mention(agent: str | None) -> str:
    """A mention when `agent` is a Slack user id; a CLI or imported agent name stays plain text."""
    if not agent:
        return "someone"
    return f"<@{agent}>" if agent.startswith(("U", "W")) and agent.isalnum() else agent


def case_steps_posted(helpdesk: str, ticket: str, url: str, agent: str, public: bool) -> str:
    """The case-thread reply when steps went to the customer's ticket."""
    link = f"<{url}|ticket {ticket}>" if url else f"ticket {ticket}"
    return f":envelope: {agent_mention(agent)} posted the steps to {helpdesk} {link} as {_steps_kind(public)}."


def _steps_kind(public: bool) -> str:
    return "a reply the customer sees" if public else "an internal note"


def steps_modal_intro(customer_id: str, action: Action) -> str:
    return f"Steps for *{customer_id}*: {ACTION_TITLES[action]}.\nWhich ticket should they go to?"


def steps_posted(
    helpdesk: str, word: str, ticket: str, url: str, at: datetime, agent: str, public: bool, *, already: bool
) -> str:
    link = f"<{url}|{word} {ticket}>" if url else f"{word} {ticket}"
    if already:
        return (f":white_check_mark: These steps were already posted to {helpdesk} {link} as {_steps_kind(public)} "
                f"by {agent_mention(agent)} on {slack_time(at)}. Nothing was sent again.")
    return (f":white_check_mark: Steps posted to {helpdesk} {link} as {_steps_kind(public)} by {agent_mention(agent)} "
            f"on {slack_time(at)}. The procedure is recorded: the next check counts it.")


def steps_queued(helpdesk: str, word: str, ticket: str, reason: str, next_try: datetime, *, already: bool) -> str:
    start = "These steps are already queued" if already else "Not posted yet"
    return (f":hourglass_flowing_sand: {start} for {helpdesk} {word} {ticket}: {reason}. The post is saved and "
            f"will be delivered automatically (next try around {slack_time(next_try)}); there is nothing more to "
            f"do. The next `/reauth-check` shows it once it is on the {word}.")


def steps_failed(helpdesk: str, word: str, ticket: str, reason: str) -> str:
    return (f":x: Not posted to {helpdesk} {word} {ticket}: {reason} "
            "Nothing was queued: click the button again once that is fixed.")


def steps_bad_ticket(helpdesk: str, word: str, text: str) -> str:
    shown = f"`{text[:100]}`" if text else "That"
    return (f"{shown} is not a {helpdesk} {word} number or link, so nothing was posted. "
            f"Run `/reauth-check <customer> <{word} number or link>` again.")


def steps_bad_ticket_in_modal(helpdesk: str, word: str) -> str:
    return f"That is not a {helpdesk} {word} number or link: type the number (such as 4521) or paste the link."


def steps_customer_gone(customer_id: str) -> str:
    return f"Customer {customer_id} is no longer in the bot's records, so nothing was posted."


def steps_case_changed(clicked: Action, now: Action) -> str:
    return (f"The case changed since this answer: it is now *{ACTION_TITLES[now]}* "
            f"(the button was for {ACTION_TITLES[clicked].split(':')[0]}). Nothing was posted; "
            "here is the fresh answer.")


def steps_confirm(earlier: list[tuple[datetime, str | None, str | None, bool]], wait_days: int, word: str) -> str:
    """The guardrail: (when, by whom, ticket, still queued) of each earlier send, newest first."""
    lines = []
    for at, agent, ticket, queued in earlier[:5]:
        where = f" on {word} {ticket}" if ticket else ""
        state = " (queued, not delivered yet)" if queued else ""
        lines.append(f"• {slack_time(at)} by {agent_mention(agent)}{where}{state}")
    return (":warning: *Steps already went to this customer in the last "
            f"{days(wait_days)}:*\n" + "\n".join(lines) + "\n"
            "Sending them again delays the utility's check further: the help article asks customers not to "
            "repeat the procedure. Post again anyway?")


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
    who = "1 customer is" if total == 1 else f"{total:,} customers are"
    if delta is None:
        return f"*{who} stuck*"
    since = f" since {previous_day}" if previous_day else ""
    return f"*{who} stuck* ({_signed(delta)}{since})"


def digest_text(total: int, delta: int | None) -> str:
    """The notification text: no names, no e-mails."""
    return f"Daily digest: {total:,} stuck customers{change(delta)}" if total else f"Daily digest: {DIGEST_EMPTY}"


def open_escalations(total: int, delta: int | None, ages: str) -> str:
    return f"Open escalations: *{total:,}*{change(delta)}" + (f": {ages}" if total else "")


def days_stuck(n: int | None) -> str:
    return "since an unknown date" if n is None else f"{days(n)} stuck"


def trend(sparkline: str, low: int, high: int, days_shown: int) -> str:
    return f"Last {days_shown} days: `{sparkline}`  low {low:,} · high {high:,} (· = no digest that day)"


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


HOME_TITLE = "Stuck customers, live"
HOME_NO_OWN_ESCALATIONS = "You have no open escalations."
HOME_NO_DIGEST = "No digest has been posted yet."


def home_last_digest(when: str) -> str:
    return f"Last daily digest: {when}"


def home_own_escalations(n: int) -> str:
    return f"*Your open escalations ({n})*"


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
