"""`reauth-bot sync greenbutton` end to end against the stand-in custodian, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.features.sync.custodian import CustodianClient, FetchFailed
from bot.features.sync.service import LEASE, Outcome
from bot.standins.greenbutton import CustodianStandIn
from commands.check import Report, check
from commands.rules import Action, Reason
from models import Database
from models.check import SqlCaseRecords
from models.customers import AuthorizationRow
from models.history import TransitionRow
from models.sync import SyncRunRow, claim_run
from tests.clock import Clock
from tests.summaries import assert_in_step
from tests.sync.conftest import Syncing, custodian_settings, running

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def authorizations(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.sessions() as session:
        rows = session.execute(select(AuthorizationRow.id, AuthorizationRow.customer_id, AuthorizationRow.status,
                                      AuthorizationRow.granted_at, AuthorizationRow.authorized_end,
                                      AuthorizationRow.scope, AuthorizationRow.revoked_at))
        return {row[0]: tuple(row[1:]) for row in rows}


def recommendation(db: Database, customer_id: str, now: datetime = NOW) -> tuple[Action, tuple[Reason, ...]]:
    with db.sessions() as session:
        report = check(SqlCaseRecords(session), customer_id, now=now, agent="U0TEST", source="test")
        session.rollback()
    assert isinstance(report, Report)
    return report.recommendation.action, report.recommendation.reasons


def test_a_paged_feed_is_applied_and_changes_the_answer(syncing: Syncing) -> None:
    assert recommendation(syncing.db, "C-1003") == (Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,))
    granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    syncing.authorize("gb-1", "sub-1003", start=granted)
    syncing.authorize("gb-2", "sub-1007", start=granted, scope="FB=1_3 IntervalDuration=3600", duration=86400 * 365)
    syncing.authorize("gb-3", "sub-1008", start=granted, status=2)
    syncing.authorize("gb-4", "sub-unknown", start=granted)  # nobody in the company's mapping
    syncing.authorize("gb-5", "sub-1004", start=granted, scope="")
    before = authorizations(syncing.db)

    report = syncing.sync()
    assert (report.outcome, report.new, report.changed, report.revoked, report.skipped) == (Outcome.SYNCED, 4, 0, 0, 1)
    assert len(syncing.custodian.feed_requests) == 3  # five entries, two a page
    after = authorizations(syncing.db)
    assert set(after) - set(before) == {"GB-SCE-gb-1", "GB-SCE-gb-2", "GB-SCE-gb-3", "GB-SCE-gb-5"}
    assert after["GB-SCE-gb-1"][:4] == ("C-1003", "active", granted, None)
    assert after["GB-SCE-gb-2"][3] == granted + timedelta(days=365)
    assert after["GB-SCE-gb-3"][1] == "denied"
    assert_in_step(syncing.db)  # the digest's summaries follow

    wait = recommendation(syncing.db, "C-1003")
    assert wait == (Action.WAIT, (Reason.VERIFICATION_WINDOW,))
    # FB=1_3 in the OAuth (space-separated) form is partial: with two live authorizations, both reasons.
    assert recommendation(syncing.db, "C-1007") == (Action.REAUTH, (Reason.DUPLICATE_AUTHORIZATIONS,
                                                                     Reason.SCOPE_INCOMPLETE))

    again = syncing.sync()  # nothing changed at the custodian: nothing written
    assert (again.new, again.changed, again.revoked) == (0, 0, 0)
    assert authorizations(syncing.db) == after


def test_pge_style_feed_reads_the_same(db: Database, clock: Clock, tmp_path: Path) -> None:
    # ns0/ns1 prefixes, xsi:type attributes, milliseconds: the same rows as the espi: feed.
    granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    for sync in running(db, clock, tmp_path, "pge"):
        sync.authorize("gb-1", "sub-1003", start=granted, duration=86400 * 30,
                       scope="FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=Daily;")
        assert sync.sync().new == 1
        assert authorizations(db)["GB-SCE-gb-1"][:4] == ("C-1003", "active", granted, granted + timedelta(days=30))
        assert recommendation(db, "C-1003") == (Action.WAIT, (Reason.VERIFICATION_WINDOW,))


def test_an_authorization_that_disappears_is_revoked(syncing: Syncing) -> None:
    granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    syncing.authorize("gb-1", "sub-1003", start=granted)
    syncing.authorize("gb-2", "sub-1007", start=granted)
    syncing.sync()
    syncing.custodian.remove("gb-1")
    syncing.clock.advance(timedelta(hours=1))
    report = syncing.sync()
    assert (report.new, report.changed, report.revoked) == (0, 0, 1)
    after = authorizations(syncing.db)
    assert after["GB-SCE-gb-1"][1] == "revoked" and after["GB-SCE-gb-1"][5] is not None
    assert after["GB-SCE-gb-2"][1] == "active"
    assert after["A-1007"][1] == "pending"  # imported from CSV, not from this custodian: untouched
    assert recommendation(syncing.db, "C-1003") == (Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,))
    assert_in_step(syncing.db)


def test_a_500_mid_feed_changes_nothing_and_the_next_sync_applies(syncing: Syncing) -> None:
    granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    for n in range(5):
        syncing.authorize(f"gb-{n}", "sub-1003", start=granted + timedelta(minutes=n))
    syncing.sync()
    applied = authorizations(syncing.db)
    syncing.custodian.remove("gb-4")  # would be revoked, if a partial feed were taken for complete
    syncing.custodian.change("gb-0", status=0)
    syncing.custodian.fail_page(2)
    report = syncing.sync()
    assert report.outcome is Outcome.FAILED and "HTTP 500" in report.problem
    assert authorizations(syncing.db) == applied
    with syncing.db.sessions() as session:
        run = session.get(SyncRunRow, "SCE")
        assert run is not None and run.outcome is not None and run.outcome.startswith("failed")
    syncing.custodian.heal()
    healed = syncing.sync()  # the lease was given back
    assert (healed.outcome, healed.changed, healed.revoked) == (Outcome.SYNCED, 1, 1)


def test_an_expired_token_is_refreshed_once(syncing: Syncing, http: httpx.Client) -> None:
    client = CustodianClient("SCE", custodian_settings(syncing.custodian), http)
    syncing.authorize("gb-1", "sub-1003", start=datetime(2026, 11, 28, tzinfo=UTC))
    assert syncing.sync(client=client).new == 1
    assert syncing.custodian.tokens_issued == 1
    syncing.custodian.expire_tokens()  # the next request with the old token gets 401
    assert syncing.sync(client=client).outcome is Outcome.SYNCED
    assert syncing.custodian.tokens_issued == 2
    assert len(syncing.custodian.feed_requests) == 3  # one page, one 401, the same page again


def test_credentials_refused_is_a_failed_fetch_naming_the_settings(syncing: Syncing, http: httpx.Client) -> None:
    settings = custodian_settings(syncing.custodian)
    wrong = CustodianClient("SCE", type(settings)(settings.base_url, settings.token_url, settings.client_id, "nope"),
                            http)
    with pytest.raises(FetchFailed) as info:
        wrong.fetch()
    assert "GREENBUTTON_SCE_CLIENT_ID" in str(info.value) and "nope" not in str(info.value)


def test_a_malformed_entry_is_skipped_and_logged_without_customer_data(
    syncing: Syncing, caplog: pytest.LogCaptureFixture
) -> None:
    syncing.authorize("gb-1", "sub-1003", start=datetime(2026, 11, 28, tzinfo=UTC))
    syncing.custodian.add_malformed_entry(
        "<entry><content><espi:Authorization><espi:status>9</espi:status><espi:resourceURI>"
        f"{CustodianStandIn.subscription_uri('sub-1008')}</espi:resourceURI></espi:Authorization></content></entry>")
    with caplog.at_level(logging.INFO, logger="bot.features.sync"):
        report = syncing.sync()
    assert (report.outcome, report.new, report.skipped) == (Outcome.SYNCED, 1, 1)
    assert "entry 1 skipped: status 9" in caplog.text
    assert "new=1 changed=0 revoked=0 skipped=1" in caplog.text
    assert "sub-1008" not in caplog.text and "Subscription" not in caplog.text


def test_two_instances_syncing_at_once_one_runs(syncing: Syncing) -> None:
    barrier = threading.Barrier(2)
    won: list[bool] = []

    def claim(holder: str) -> None:
        barrier.wait()
        with syncing.db.transaction() as session:
            won.append(claim_run(session, "SCE", holder, NOW, lease=LEASE, due_before=None))

    threads = [threading.Thread(target=claim, args=(f"instance-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False, True]
    # While the lease is held, a sync (serve's or cron's) does nothing; once it runs out, one goes ahead.
    assert syncing.sync().outcome is Outcome.BUSY
    assert syncing.custodian.feed_requests == []
    syncing.clock.advance(LEASE + timedelta(seconds=1))
    assert syncing.sync().outcome is Outcome.SYNCED


def test_serve_syncs_once_per_interval(syncing: Syncing) -> None:
    assert syncing.sync(due_check=True).outcome is Outcome.SYNCED
    syncing.clock.advance(timedelta(minutes=59))
    assert syncing.sync(due_check=True).outcome is Outcome.BUSY
    syncing.clock.advance(timedelta(minutes=1))
    assert syncing.sync(due_check=True).outcome is Outcome.SYNCED


def test_the_history_of_a_sync_is_its_grants_and_revocations_once(syncing: Syncing) -> None:
    def history() -> list[tuple[str | None, str]]:
        with syncing.db.sessions() as session:
            rows = session.execute(select(TransitionRow.authorization_id, TransitionRow.kind)
                                   .where(TransitionRow.authorization_id.like("GB-%")).order_by(TransitionRow.id))
            return [(row[0], row[1]) for row in rows]

    granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    syncing.authorize("gb-1", "sub-1003", start=granted)
    syncing.authorize("gb-2", "sub-1007", start=granted)
    syncing.sync()
    assert sorted(history()) == [("GB-SCE-gb-1", "granted"), ("GB-SCE-gb-2", "granted")]
    syncing.custodian.remove("gb-1")  # revoked by the sync itself, not by the feed's rows
    syncing.clock.advance(timedelta(hours=1))
    syncing.sync()
    syncing.clock.advance(timedelta(hours=1))
    syncing.sync()  # the same feed again: nothing new
    assert history()[2:] == [("GB-SCE-gb-1", "revoked")]
