"""The digest and `/reauth-check` agree on every customer: the digest's SQL classification against
`commands.check.check` through `SqlCaseRecords`, at the same moment, on both databases.

For every customer of a generated population (several seeds, judged at several moments) and of a
hand-made population sitting on every boundary of the rules (the 7-day window, the 30-day repeat window,
data freshness, consent end, grants after `now`, odd scope strings): the digest lists the customer with
category R and action X exactly when `/reauth-check` recommends X with first reason R.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from bot.demo.population import households
from commands.check import Report, check
from commands.digest import STUCK_REASONS
from commands.rules import Action, Reason
from models import Database
from models.check import SqlCaseRecords
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.digest.queries import count_stuck, stuck_snapshot
from tests.digest.conftest import FULL_SCOPE, NOW, PARTIAL_SCOPE, Customers
from tests.digest.oracle import every_stuck_customer, stuck_reason

DAY = timedelta(days=1)
US = timedelta(microseconds=1)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)


def digest_view(db: Database, now: datetime) -> dict[str, tuple[Reason, Action]]:
    with db.transaction() as session:
        snapshot = stuck_snapshot(session, now)
        listed = every_stuck_customer(session, now)
        counts = count_stuck(session, now)
    view = {c.customer_id: (c.reason, c.action) for c in listed}
    assert len(view) == len(listed), "a customer is listed twice"
    by_reason = {r: sum(1 for c in listed if c.reason is r) for r in STUCK_REASONS}
    assert snapshot.counts == by_reason == counts
    assert snapshot.longest == listed[: len(snapshot.longest)]
    return view


def check_view(db: Database, now: datetime) -> tuple[dict[str, tuple[Reason, Action]], int]:
    """What `/reauth-check` says of every customer: the stuck ones by (reason, action), and how many in all."""
    stuck: dict[str, tuple[Reason, Action]] = {}
    with db.sessions() as session:  # rolled back: the lookups check() records are not kept
        ids = list(session.scalars(select(CustomerRow.id).order_by(CustomerRow.id)))
        records = SqlCaseRecords(session)
        for customer_id in ids:
            report = check(records, customer_id, now=now, agent="U0TEST", source="test")
            assert isinstance(report, Report), customer_id
            reason = stuck_reason(report.recommendation)
            if reason is not None:
                stuck[customer_id] = (reason, report.recommendation.action)
        session.rollback()
    return stuck, len(ids)


def assert_agree(db: Database, now: datetime) -> dict[str, tuple[Reason, Action]]:
    expected, everyone = check_view(db, now)
    listed = digest_view(db, now)
    wrong = {cid: (listed.get(cid), expected.get(cid)) for cid in set(listed) | set(expected)
             if listed.get(cid) != expected.get(cid)}
    assert not wrong, f"digest vs /reauth-check at {now.isoformat()} (of {everyone}): {sorted(wrong.items())[:10]}"
    return listed


def insert_households(db: Database, count: int, *, now: datetime, seed: int) -> None:
    with db.transaction() as session:
        for house in households(count, now=now, seed=seed, prefix=f"S{seed}"):
            session.execute(insert(CustomerRow), [house.customer])
            session.execute(insert(AuthorizationRow), house.authorizations)
            if house.procedures:
                session.execute(insert(ProcedureRow), house.procedures)


@pytest.mark.parametrize("seed", [7, 20261129, 424242])
def test_generated_population_digest_agrees_with_reauth_check(db: Database, seed: int) -> None:
    insert_households(db, 250, now=NOW, seed=seed)
    seen: set[Reason] = set()
    # The population's ages are whole days and hours from NOW: judging at NOW and a week later puts
    # grants and procedures exactly on the window edges; the other moments fall between them.
    for moment in (NOW, NOW + WEEK, NOW - US, NOW + 3 * DAY + timedelta(minutes=30), NOW + 31 * DAY):
        seen |= {reason for reason, _ in assert_agree(db, moment).values()}
    assert {Reason.NOT_CONNECTED_7D, Reason.DUPLICATE_AUTHORIZATIONS, Reason.SCOPE_INCOMPLETE} <= seen


def test_boundaries_of_every_rule_agree(db: Database, customers: Customers) -> None:
    live = "active"
    full = FULL_SCOPE

    def one(granted: datetime | None, scope: str | None = full, end: datetime | None = None,
            status: str = live) -> tuple[tuple[str, datetime | None, str | None, datetime | None], ...]:
        return ((status, granted, scope, end),)

    # The verification window (rule 6 against 8): granted exactly 7 days ago still waits.
    customers.add("W-exact", authorizations=one(NOW - WEEK))
    customers.add("W-past", authorizations=one(NOW - WEEK - US))
    customers.add("W-inside", authorizations=one(NOW - WEEK + US))
    customers.add("W-pending", authorizations=one(NOW - 9 * DAY, status="pending"), utility="PGE")
    # Repeated procedures (rule 3): the 30-day window includes its first instant.
    customers.add("R-edge", authorizations=one(NOW - 60 * DAY), procedures=(NOW - MONTH, NOW - DAY))
    customers.add("R-out", authorizations=one(NOW - 60 * DAY), procedures=(NOW - MONTH - US, NOW - DAY))
    customers.add("R-future", authorizations=one(NOW - 60 * DAY), procedures=(NOW - DAY, NOW + US))
    customers.add("R-wait", authorizations=one(NOW - DAY), procedures=(NOW - 2 * DAY, NOW - 3 * DAY))
    # Re-authorized after our steps (rule 7 against 8): strictly after the procedure.
    customers.add("H-after", authorizations=one(NOW - 10 * DAY), procedures=(NOW - 10 * DAY - US,))
    customers.add("H-same", authorizations=one(NOW - 10 * DAY), procedures=(NOW - 10 * DAY,))
    customers.add("H-old", authorizations=one(NOW - 10 * DAY), procedures=(NOW - 200 * DAY,))
    # Data freshness (rule 1): connected from exactly 7 days ago up to now, not a microsecond later.
    customers.add("C-edge", enrollment="verified", last_data_at=NOW - WEEK, authorizations=one(NOW - 99 * DAY))
    customers.add("C-stale", enrollment="verified", last_data_at=NOW - WEEK - US, authorizations=one(NOW - 99 * DAY))
    customers.add("C-now", enrollment="verified", last_data_at=NOW, authorizations=one(NOW - 99 * DAY))
    customers.add("C-future", enrollment="verified", last_data_at=NOW + US, authorizations=one(NOW - 99 * DAY))
    customers.add("C-unknown", enrollment=None, last_data_at=NOW - DAY, authorizations=one(NOW - 99 * DAY))
    customers.add("C-dup", enrollment="verified", last_data_at=NOW - DAY,
                  authorizations=one(NOW - 9 * DAY) + one(NOW - 8 * DAY))
    # Consent end and grants after `now` (live or not).
    customers.add("E-ended", authorizations=one(NOW - 20 * DAY, end=NOW))
    customers.add("E-ending", authorizations=one(NOW - 20 * DAY, end=NOW + US))
    customers.add("E-one-ended", authorizations=one(NOW - 20 * DAY, end=NOW - DAY) + one(NOW - 30 * DAY))
    customers.add("F-now", authorizations=one(NOW) + one(NOW - 40 * DAY, status="revoked"))
    customers.add("F-later", authorizations=one(NOW + US) + one(NOW - 40 * DAY))
    customers.add("F-only-later", authorizations=one(NOW + DAY))
    customers.add("N-none", authorizations=one(NOW - 40 * DAY, status="revoked") + one(NOW - 9 * DAY, status="denied"))
    customers.add("N-nothing")
    # Several live authorizations (rule 4) beat the scope (rule 5) and the window.
    customers.add("D-two", authorizations=one(NOW - DAY) + one(NOW - 2 * DAY, scope=PARTIAL_SCOPE))
    customers.add("D-tie", authorizations=one(NOW - 20 * DAY) + one(NOW - 20 * DAY, scope=PARTIAL_SCOPE))
    customers.add("D-undated", authorizations=one(None) + one(NOW - 20 * DAY))
    # Grant date unknown (rule 0) and scopes as real feeds write them (rule 5).
    customers.add("U-undated", authorizations=one(None))
    customers.add("U-undated-partial", authorizations=one(None, scope=PARTIAL_SCOPE))
    for n, scope in enumerate([
        "fb = 1_ 3_4_5 ;", "FB=1_3;FB=4_5", "FB=13_4_5_1", "FB=1_3_4_50", "ns0:FB=1_3_4_5",
        "FB=1_3_4_5_99;", "FB=1_3_4_5_70", "", None, "FB=1_3_4_²5", "FB=01_03_04_05", "IntervalDuration=900",
        "FB=1_3_4_5_99999999999999999999", "Fb=5_4_3_1;BlockDuration=Daily",
    ]):
        customers.add(f"S-{n:02d}", utility=("SCE", "PGE", "SDGE")[n % 3], authorizations=one(NOW - 3 * DAY, scope))

    listed = assert_agree(db, NOW)

    assert listed["W-past"] == (Reason.NOT_CONNECTED_7D, Action.REAUTH)
    assert "W-exact" not in listed and "W-inside" not in listed
    assert listed["R-edge"] == (Reason.REPEATED_PROCEDURE, Action.ESCALATE)
    assert listed["R-out"][0] is not Reason.REPEATED_PROCEDURE
    assert listed["H-after"] == (Reason.REAUTH_DID_NOT_HELP, Action.ESCALATE)
    assert listed["H-same"] == (Reason.NOT_CONNECTED_7D, Action.REAUTH)
    assert "C-edge" not in listed and "C-now" not in listed
    assert listed["C-future"] == listed["C-stale"] == (Reason.NOT_CONNECTED_7D, Action.REAUTH)
    assert "E-ended" not in listed and listed["E-ending"] == (Reason.NOT_CONNECTED_7D, Action.REAUTH)
    assert listed["D-tie"] == listed["D-undated"] == (Reason.DUPLICATE_AUTHORIZATIONS, Action.REAUTH)
    assert listed["U-undated"] == (Reason.GRANT_DATE_UNKNOWN, Action.ESCALATE)
    assert "S-00" not in listed and "S-01" not in listed  # complete, however written: waiting
    assert listed["S-02"] == (Reason.SCOPE_INCOMPLETE, Action.REAUTH)
    # No readable FB term (an XML prefix in the key, empty, none): unknown, so waiting, not "incomplete".
    assert not {"S-04", "S-07", "S-08", "S-11"} & set(listed)
    # A day later the window edges have moved: still the same answers as /reauth-check.
    assert_agree(db, NOW + DAY)
    assert_agree(db, NOW + 4 * DAY + US)
