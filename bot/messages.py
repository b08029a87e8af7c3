"""Every sentence the bot says to an agent, in one module, so wording stays consistent and testable.

Reasons travel as stable codes (`commands.rules.Reason`) and become words only here.
"""

from __future__ import annotations

from datetime import datetime

from commands.policy import FUNCTION_BLOCK_NAMES, Utility, policy_for
from commands.reauth_check import QueryProblem, Report
from commands.rules import Action, Reason

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


def slack_date(at: datetime, fallback_format: str = "%a %b %-d, %Y") -> str:
    """A date Slack shows in the reader's own time zone; the fallback (UTC) is what plain text shows."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}}|{at.strftime(fallback_format)}>"


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def missing_data_types(blocks: frozenset[int]) -> str:
    return ", ".join(f"{FUNCTION_BLOCK_NAMES.get(b, 'function block')} (FB {b})" for b in sorted(blocks))


def reason_text(reason: Reason, report: Report) -> str:
    """One plain sentence per reason code, with the customer's specifics."""
    utility = report.customer.utility
    live = len(report.live)
    newest = report.live[0] if report.live else None
    wait_days = policy_for(utility).wait_days
    if reason is Reason.CONNECTED:
        return "Data is flowing: enrollment verified and meter data received in the last 7 days."
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


def utility_name(utility: Utility) -> str:
    return utility.display_name


def not_found(query_value: str) -> str:
    return f"No customer matches `{query_value}`.\n{USAGE}"


def ambiguous(count: int) -> str:
    return f"{count} customers match. Run `/reauth-check` again with one customer id:"


def lookup_failed(reference: str) -> str:
    return (f"Sorry, the lookup failed on our side (reference `{reference}`). Try again in a minute; "
            "if it keeps failing, tell the bot's owners the reference.")
