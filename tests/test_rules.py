"""The recommendation rules of DESIGN.md and the scope parser, on plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from commands.policy import REPEAT_LIMIT, REPEAT_WINDOW, UTILITIES, Utility, policy_for
from commands.rules import (
    Action,
    Authorization,
    AuthorizationStatus,
    Case,
    Procedure,
    Reason,
    live_authorizations,
    recommend,
)
from commands.scope import parse_scope

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)

PGE_SCOPE = (
    "FB=1_3_4_5_8_13_14_15_18_19_31_32_35_37_38_39_40;IntervalDuration=900_3600;BlockDuration=Daily;"
    "HistoryLength=63072000;SubscriptionFrequency=Daily;AccountCollection=1;"
)
UTILITYAPI_SCOPE = (
    "FB=1_3_4_5_8_13_14_18_19_34_35_39_51;IntervalDuration=900_3600;BlockDuration=daily;"
    "HistoryLength=34128000;SubscriptionFrequency=daily;AccountCollection=2"
)
INCOMPLETE_SCOPE = "FB=36_40"

ACTIVE = AuthorizationStatus.ACTIVE
PENDING = AuthorizationStatus.PENDING
REVOKED = AuthorizationStatus.REVOKED
DENIED = AuthorizationStatus.DENIED
EXPIRED = AuthorizationStatus.EXPIRED


def auth(
    name: str,
    granted_ago: timedelta | None,
    *,
    status: AuthorizationStatus = ACTIVE,
    scope: str | None = PGE_SCOPE,
    authorized_end: datetime | None = None,
) -> Authorization:
    granted_at = None if granted_ago is None else NOW - granted_ago
    return Authorization(name, status, granted_at, scope=scope, authorized_end=authorized_end)


def sent(ago: timedelta) -> Procedure:
    return Procedure(sent_at=NOW - ago, ticket_id="1001", agent="sam")


def days(n: float) -> timedelta:
    return timedelta(days=n)


def case(
    *authorizations: Authorization,
    connected: bool = False,
    procedures: tuple[Procedure, ...] = (),
    utility: Utility = Utility.SCE,
) -> Case:
    return Case(utility, connected, authorizations, procedures)


@dataclass(frozen=True)
class Row:
    """One expected outcome of `recommend(case, NOW)`."""

    case: Case
    rule: int
    action: Action
    reasons: tuple[Reason, ...]
    wait_until: datetime | None = None


def check_row(row: Row) -> None:
    result = recommend(row.case, NOW)
    assert (result.rule, result.action, result.reasons, result.wait_until) == (
        row.rule,
        row.action,
        row.reasons,
        row.wait_until,
    )


# --- every row of the rules table -------------------------------------------------------------------

RULES_TABLE: dict[str, Row] = {
    # 1 HEALTHY
    "1 connected, one complete authorization": Row(
        case(auth("a1", days(30)), connected=True), 1, Action.HEALTHY, (Reason.CONNECTED,)
    ),
    "1 connected, no authorization on file": Row(
        case(connected=True), 1, Action.HEALTHY, (Reason.CONNECTED,)
    ),
    "1 connected, duplicates warned": Row(
        case(auth("a1", days(30)), auth("a2", days(3), status=PENDING), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED, Reason.DUPLICATE_AUTHORIZATIONS),
    ),
    "1 connected, partial scope warned": Row(
        case(auth("a1", days(30), scope=INCOMPLETE_SCOPE), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED, Reason.SCOPE_INCOMPLETE),
    ),
    "1 connected, duplicates and newest partial scope both warned": Row(
        case(auth("old", days(60)), auth("new", days(2), scope=INCOMPLETE_SCOPE), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED, Reason.DUPLICATE_AUTHORIZATIONS, Reason.SCOPE_INCOMPLETE),
    ),
    "1 connected, a revoked duplicate is no warning": Row(
        case(auth("a1", days(30)), auth("a0", days(90), status=REVOKED), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED,),
    ),
    # 2 CONNECT
    "2 no authorization at all": Row(case(), 2, Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,)),
    "2 only revoked, denied and expired": Row(
        case(
            auth("r", days(40), status=REVOKED),
            auth("d", days(20), status=DENIED),
            auth("e", days(10), status=EXPIRED),
        ),
        2,
        Action.CONNECT,
        (Reason.NO_LIVE_AUTHORIZATION,),
    ),
    "2 active but authorized_end has passed": Row(
        case(auth("a1", days(400), authorized_end=NOW - days(1))),
        2,
        Action.CONNECT,
        (Reason.NO_LIVE_AUTHORIZATION,),
    ),
    "2 active and authorized_end is exactly now": Row(
        case(auth("a1", days(400), authorized_end=NOW)), 2, Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,)
    ),
    "2 pending but authorized_end has passed": Row(
        case(auth("p1", days(2), status=PENDING, authorized_end=NOW - SECOND)),
        2,
        Action.CONNECT,
        (Reason.NO_LIVE_AUTHORIZATION,),
    ),
    # 3 ESCALATE repeated_procedure
    "3 two procedures in 30 days, not connected": Row(
        case(auth("a1", days(20)), procedures=(sent(days(10)), sent(days(3)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    # 4 REAUTH duplicates
    "4 two live authorizations": Row(
        case(auth("a1", days(20)), auth("p1", days(2), status=PENDING)),
        4,
        Action.REAUTH,
        (Reason.DUPLICATE_AUTHORIZATIONS,),
    ),
    "4 three live, the newest also incomplete": Row(
        case(auth("a1", days(20)), auth("a2", days(10)), auth("a3", days(1), scope=INCOMPLETE_SCOPE)),
        4,
        Action.REAUTH,
        (Reason.DUPLICATE_AUTHORIZATIONS, Reason.SCOPE_INCOMPLETE),
    ),
    # 5 REAUTH scope_incomplete
    "5 newest live lacks required blocks": Row(
        case(auth("a1", days(2), scope=INCOMPLETE_SCOPE)), 5, Action.REAUTH, (Reason.SCOPE_INCOMPLETE,)
    ),
    # Issue 11: no scope is an unknown scope, never a reason to re-authorize; rule 8 (its age) decides.
    "8 newest live has no scope at all": Row(
        case(auth("a1", days(20), scope=None)), 8, Action.REAUTH, (Reason.NOT_CONNECTED_7D,)
    ),
    # 6 WAIT
    "6 granted 3 days ago": Row(
        case(auth("a1", days(3))),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "6 pending, granted an hour ago": Row(
        case(auth("p1", timedelta(hours=1), status=PENDING)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - timedelta(hours=1) + WEEK,
    ),
    # 7 ESCALATE reauth_did_not_help
    "7 granted 8 days ago, after steps sent 10 days ago": Row(
        case(auth("a1", days(8)), procedures=(sent(days(10)),)),
        7,
        Action.ESCALATE,
        (Reason.REAUTH_DID_NOT_HELP,),
    ),
    # 8 REAUTH not_connected_7d
    "8 granted 8 days ago, no steps sent": Row(
        case(auth("a1", days(8))), 8, Action.REAUTH, (Reason.NOT_CONNECTED_7D,)
    ),
    "8 steps sent after the grant do not make it rule 7": Row(
        case(auth("a1", days(20)), procedures=(sent(days(2)),)), 8, Action.REAUTH, (Reason.NOT_CONNECTED_7D,)
    ),
    "7 steps sent long before the grant still count": Row(
        case(auth("a1", days(35)), procedures=(sent(days(40)),)),
        7,
        Action.ESCALATE,
        (Reason.REAUTH_DID_NOT_HELP,),
    ),
    # Not in the table: an authorization of unknown age goes to a person.
    "0 live authorization without a grant date": Row(
        case(auth("a1", None)), 0, Action.ESCALATE, (Reason.GRANT_DATE_UNKNOWN,)
    ),
}


@pytest.mark.parametrize("row", list(RULES_TABLE.values()), ids=list(RULES_TABLE))
def test_rules_table(row: Row) -> None:
    check_row(row)


def test_every_rule_of_the_table_is_covered() -> None:
    assert {row.rule for row in RULES_TABLE.values()} >= set(range(1, 9))


# --- first match wins ---------------------------------------------------------------------------------

PRECEDENCE: dict[str, Row] = {
    "connected beats duplicates (1 over 4)": Row(
        case(auth("a1", days(30)), auth("a2", days(20)), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED, Reason.DUPLICATE_AUTHORIZATIONS),
    ),
    "connected beats repeated procedures (1 over 3)": Row(
        case(auth("a1", days(20)), connected=True, procedures=(sent(days(10)), sent(days(3)))),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED,),
    ),
    "connected beats no live authorization (1 over 2)": Row(
        case(auth("r", days(20), status=REVOKED), connected=True), 1, Action.HEALTHY, (Reason.CONNECTED,)
    ),
    "no live authorization beats repeated procedures (2 over 3)": Row(
        case(auth("r", days(20), status=REVOKED), procedures=(sent(days(10)), sent(days(3)))),
        2,
        Action.CONNECT,
        (Reason.NO_LIVE_AUTHORIZATION,),
    ),
    "repeated procedures beat duplicates (3 over 4)": Row(
        case(auth("a1", days(20)), auth("a2", days(5)), procedures=(sent(days(10)), sent(days(3)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    "repeated procedures beat incomplete scope (3 over 5)": Row(
        case(auth("a1", days(2), scope=INCOMPLETE_SCOPE), procedures=(sent(days(10)), sent(days(3)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    "repeated procedures beat the waiting window (3 over 6)": Row(
        case(auth("a1", days(1)), procedures=(sent(days(10)), sent(days(3)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    "duplicates beat the waiting window (4 over 6)": Row(
        case(auth("a1", days(3)), auth("a2", days(1))),
        4,
        Action.REAUTH,
        (Reason.DUPLICATE_AUTHORIZATIONS,),
    ),
    "incomplete scope beats the waiting window (5 over 6)": Row(
        case(auth("a1", days(1), scope=INCOMPLETE_SCOPE)), 5, Action.REAUTH, (Reason.SCOPE_INCOMPLETE,)
    ),
    "incomplete scope beats reauth_did_not_help (5 over 7)": Row(
        case(auth("a1", days(9), scope=INCOMPLETE_SCOPE), procedures=(sent(days(12)),)),
        5,
        Action.REAUTH,
        (Reason.SCOPE_INCOMPLETE,),
    ),
    "only the newest live authorization's scope counts, a newer revoked one is ignored": Row(
        case(auth("a1", days(3)), auth("r", days(1), status=REVOKED, scope=INCOMPLETE_SCOPE)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "the waiting window is measured from the newest live authorization": Row(
        case(auth("a1", days(2)), auth("e", days(40), status=EXPIRED)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(2) + WEEK,
    ),
    "one procedure in the window is not a repeat": Row(
        case(auth("a1", days(9)), procedures=(sent(days(12)),)),
        7,
        Action.ESCALATE,
        (Reason.REAUTH_DID_NOT_HELP,),
    ),
}


@pytest.mark.parametrize("row", list(PRECEDENCE.values()), ids=list(PRECEDENCE))
def test_first_match_wins(row: Row) -> None:
    check_row(row)


# --- boundaries -------------------------------------------------------------------------------------

BOUNDARIES: dict[str, Row] = {
    "granted exactly 7 days ago: still WAIT, until now": Row(
        case(auth("a1", WEEK)), 6, Action.WAIT, (Reason.VERIFICATION_WINDOW,), wait_until=NOW
    ),
    "granted 7 days and 1 second ago: REAUTH": Row(
        case(auth("a1", WEEK + SECOND)), 8, Action.REAUTH, (Reason.NOT_CONNECTED_7D,)
    ),
    "after steps, granted exactly 7 days ago: still WAIT": Row(
        case(auth("a1", WEEK), procedures=(sent(days(9)),)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW,
    ),
    "after steps, granted 7 days and 1 second ago: ESCALATE": Row(
        case(auth("a1", WEEK + SECOND), procedures=(sent(days(9)),)),
        7,
        Action.ESCALATE,
        (Reason.REAUTH_DID_NOT_HELP,),
    ),
    "steps sent at the very moment of the grant are not before it": Row(
        case(auth("a1", days(9)), procedures=(sent(days(9)),)), 8, Action.REAUTH, (Reason.NOT_CONNECTED_7D,)
    ),
    "steps sent 1 second before the grant are": Row(
        case(auth("a1", days(9)), procedures=(sent(days(9) + SECOND),)),
        7,
        Action.ESCALATE,
        (Reason.REAUTH_DID_NOT_HELP,),
    ),
    "second procedure exactly 30 days ago: still a repeat": Row(
        case(auth("a1", days(3)), procedures=(sent(days(30)), sent(days(1)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    "second procedure 30 days and 1 second ago: outside the window": Row(
        case(auth("a1", days(3)), procedures=(sent(days(30) + SECOND), sent(days(1)))),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "two procedures sent just now: a repeat": Row(
        case(auth("a1", days(3)), procedures=(sent(timedelta(0)), sent(timedelta(0)))),
        3,
        Action.ESCALATE,
        (Reason.REPEATED_PROCEDURE,),
    ),
    "authorized_end one second in the future: still live": Row(
        case(auth("a1", days(3), authorized_end=NOW + SECOND)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
}


@pytest.mark.parametrize("row", list(BOUNDARIES.values()), ids=list(BOUNDARIES))
def test_boundaries(row: Row) -> None:
    check_row(row)


def test_policy_thresholds_match_the_design() -> None:
    assert timedelta(days=30) == REPEAT_WINDOW
    assert REPEAT_LIMIT == 2
    assert {policy_for(u).wait_days for u in Utility} == {7}


# --- --as-of: nothing that happened after `now` counts ---------------------------------------------

AS_OF: dict[str, Row] = {
    "an authorization granted after now does not exist yet": Row(
        case(auth("future", -days(1))), 2, Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,)
    ),
    "an authorization granted one second after now does not exist yet": Row(
        case(auth("future", -SECOND)), 2, Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,)
    ),
    "an authorization granted exactly at now exists": Row(
        case(auth("now", timedelta(0))), 6, Action.WAIT, (Reason.VERIFICATION_WINDOW,), wait_until=NOW + WEEK
    ),
    "a later authorization is no duplicate": Row(
        case(auth("a1", days(3)), auth("future", -days(2))),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "a later incomplete authorization does not become the newest": Row(
        case(auth("a1", days(3)), auth("future", -days(2), scope=INCOMPLETE_SCOPE)),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "a procedure sent after now is not a repeat": Row(
        case(auth("a1", days(3)), procedures=(sent(days(2)), sent(-days(1)))),
        6,
        Action.WAIT,
        (Reason.VERIFICATION_WINDOW,),
        wait_until=NOW - days(3) + WEEK,
    ),
    "procedures sent after now are not repeats even when several": Row(
        case(auth("a1", days(10)), procedures=(sent(-days(1)), sent(-days(2)), sent(-days(3)))),
        8,
        Action.REAUTH,
        (Reason.NOT_CONNECTED_7D,),
    ),
    "a connected customer with a later duplicate gets no warning": Row(
        case(auth("a1", days(30)), auth("future", -days(1)), connected=True),
        1,
        Action.HEALTHY,
        (Reason.CONNECTED,),
    ),
}


@pytest.mark.parametrize("row", list(AS_OF.values()), ids=list(AS_OF))
def test_as_of_ignores_the_future(row: Row) -> None:
    check_row(row)


def test_live_authorizations_are_newest_first_and_known_at_now() -> None:
    the_case = case(
        auth("old", days(20)),
        auth("revoked", days(5), status=REVOKED),
        auth("new", days(2), status=PENDING),
        auth("future", -days(1)),
        auth("ended", days(4), authorized_end=NOW - SECOND),
        auth("mid", days(9)),
    )
    assert [a.id for a in live_authorizations(the_case, NOW)] == ["new", "mid", "old"]
    # The same case one week earlier: "new" and "mid" did not exist, "ended" was still live.
    earlier = NOW - days(10)
    assert [a.id for a in live_authorizations(the_case, earlier)] == ["old"]
    later = NOW + days(2)
    assert [a.id for a in live_authorizations(the_case, later)] == ["future", "new", "mid", "old"]


def test_authorization_status_at_and_age() -> None:
    a = auth("a1", days(3) + timedelta(hours=5), authorized_end=NOW + days(1))
    assert a.status_at(NOW) is ACTIVE
    assert a.status_at(NOW + days(1)) is EXPIRED
    assert a.is_live(NOW) and not a.is_live(NOW + days(2))
    assert a.age_days(NOW) == 3
    assert auth("x", None).age_days(NOW) is None
    revoked = auth("r", days(3), status=REVOKED, authorized_end=NOW - days(1))
    assert revoked.status_at(NOW) is REVOKED


# --- every utility ------------------------------------------------------------------------------------


@pytest.mark.parametrize("utility", list(Utility))
def test_every_utility_has_a_policy(utility: Utility) -> None:
    policy = policy_for(utility)
    assert policy is UTILITIES[utility]
    assert policy.wait_days == 7
    assert policy.required_function_blocks == frozenset({1, 3, 4, 5})
    assert utility.display_name in {"SCE", "PG&E", "SDG&E"}
    assert policy.verification_days_text


@pytest.mark.parametrize("utility", list(Utility))
def test_every_utility_through_the_rules(utility: Utility) -> None:
    def go(*authorizations: Authorization, procedures: tuple[Procedure, ...] = ()) -> tuple[int, Action]:
        result = recommend(case(*authorizations, procedures=procedures, utility=utility), NOW)
        return result.rule, result.action

    assert go(auth("a1", days(3)), procedures=()) == (6, Action.WAIT)
    assert recommend(case(auth("a1", WEEK), utility=utility), NOW).wait_until == NOW
    assert go(auth("a1", WEEK + SECOND)) == (8, Action.REAUTH)
    assert go(auth("a1", WEEK + SECOND), procedures=(sent(days(8)),)) == (7, Action.ESCALATE)
    assert go(auth("a1", days(3), scope=INCOMPLETE_SCOPE)) == (5, Action.REAUTH)
    assert go(auth("a1", days(3), scope=UTILITYAPI_SCOPE)) == (6, Action.WAIT)
    assert go(auth("a1", days(3)), auth("a2", days(1))) == (4, Action.REAUTH)
    assert go() == (2, Action.CONNECT)
    assert auth("a1", days(1), scope=INCOMPLETE_SCOPE).missing_function_blocks(utility) == {1, 3, 4, 5}
    assert auth("a1", days(1), scope=PGE_SCOPE).missing_function_blocks(utility) == frozenset()


def test_utility_display_names() -> None:
    assert [u.display_name for u in Utility] == ["SCE", "PG&E", "SDG&E"]
    assert [u.value for u in Utility] == ["SCE", "PGE", "SDGE"]


# --- the scope parser on real strings ----------------------------------------------------------------

REQUIRED = frozenset({1, 3, 4, 5})


def test_scope_pge_share_my_data() -> None:
    scope = parse_scope(PGE_SCOPE)
    assert scope.function_blocks == {1, 3, 4, 5, 8, 13, 14, 15, 18, 19, 31, 32, 35, 37, 38, 39, 40}
    assert scope.terms == {
        "intervalduration": "900_3600",
        "blockduration": "daily",
        "historylength": "63072000",
        "subscriptionfrequency": "daily",
        "accountcollection": "1",
    }
    assert scope.missing(REQUIRED) == frozenset()


def test_scope_utilityapi_with_unknown_block_51() -> None:
    scope = parse_scope(UTILITYAPI_SCOPE)
    assert 51 in scope.function_blocks
    assert scope.function_blocks == {1, 3, 4, 5, 8, 13, 14, 18, 19, 34, 35, 39, 51}
    assert scope.terms["blockduration"] == "daily"
    assert scope.terms["accountcollection"] == "2"
    assert scope.missing(REQUIRED) == frozenset()


def test_scope_incomplete() -> None:
    scope = parse_scope(INCOMPLETE_SCOPE)
    assert scope.function_blocks == {36, 40}
    assert scope.missing(REQUIRED) == REQUIRED


def test_scope_spec_sample_and_tolerance() -> None:
    spec = parse_scope(
        "FB=1_3_4_5_13_14_15_19_37_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=94608000"
    )
    assert spec.missing(REQUIRED) == frozenset()
    assert spec.terms["blockduration"] == "monthly"
    assert parse_scope(" fb = 1_3_4_5 ; ").function_blocks == REQUIRED
    assert parse_scope("FB=1_3;FB=4_5").function_blocks == REQUIRED


@pytest.mark.parametrize("text", [None, "", "   ", ";", ";;;"])
def test_scope_empty(text: str | None) -> None:
    # Unknown (issue 11): an empty scope says nothing about the data types, so nothing is missing from it.
    scope = parse_scope(text)
    assert scope.function_blocks == frozenset() and not scope.known
    assert scope.missing(REQUIRED) == frozenset()
    assert scope.complete(REQUIRED) is None


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "FB=",
        "FB=;",
        "FB=a_b_c",
        "FB=__;==;=;",
        "FB=-1_+3",
        "FB=1.3.4.5",
        "<ns0:scope>FB=1</ns0:scope>",
        "\x00\x01\x02",
        "FB=1_3_4_5\u00b2",  # a superscript two, e.g. from a copy-paste out of a document
        "FB=\u00b9_\u00b3",
    ],
)
def test_scope_garbage_never_raises_and_is_unknown_or_incomplete(text: str) -> None:
    # Never complete: either no block is readable (unknown) or a required one is missing.
    scope = parse_scope(text)
    assert scope.complete(REQUIRED) is not True
    assert scope.known == bool(scope.missing(REQUIRED))


def test_scope_garbage_keeps_the_readable_blocks() -> None:
    assert parse_scope("FB=1_x_3_;IntervalDuration").function_blocks == {1, 3}


def test_an_unreadable_scope_is_judged_incomplete_not_a_crash() -> None:
    # An imported scope is free text; one odd character must not break /reauth-check for that customer.
    result = recommend(case(auth("a1", days(2), scope="FB=1_3_4_\u00b2")), NOW)
    assert (result.rule, result.action, result.reasons) == (5, Action.REAUTH, (Reason.SCOPE_INCOMPLETE,))
