"""One scope parser for every source: each form real feeds write, read alike by `/reauth-check` (the rules,
the answer's words, `--json`) and by the digest's SQL, on SQLite and PostgreSQL. An empty or unreadable
scope is unknown: never a reason to re-authorize."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import report_json
from bot.features.check.blocks import check_blocks
from bot.terminal_text import blocks_as_text
from commands.check import Report, check
from commands.policy import Utility
from commands.rules import Action, Authorization, AuthorizationStatus, Reason
from commands.scope import parse_scope
from models import Database
from models.check import SqlCaseRecords
from models.function_blocks import UNKNOWN_SCOPE_MASK, function_block_mask
from models.imports import import_files
from tests.digest.test_agreement import assert_agree

# Every form of a complete share (FB 1, 3, 4 and 5 are what the utilities require).
COMPLETE = {
    "semicolons": "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;",
    "trailing separators": "FB=1_3_4_5;;",
    "spaces (OAuth form, OpenESPI test data)": "FB=1_3_4_5 IntervalDuration=3600",
    "FB last before a space": "IntervalDuration=3600 FB=1_3_4_5",
    "ampersands": "FB=1_3_4_5&IntervalDuration=900&BlockDuration=Daily",
    "URL-encoded": "FB%3D1_3_4_5%3BIntervalDuration%3D900%3BBlockDuration%3Ddaily%3B",
    "URL-encoded twice": "FB%253D1_3_4_5%253BIntervalDuration%253D900",
    "quoted": '"FB=1_3_4_5;IntervalDuration=900;"',
    "single-quoted": "'FB=1_3_4_5'",
    "any case": "fb=1_3_4_5;intervalduration=900;BLOCKDURATION=DAILY;",
    "spaces around =": "FB = 1_3_4_5 ; IntervalDuration = 900",
    "newline and tab": "FB=1_3_4_5\n\tIntervalDuration=900",
}
PARTIAL = {
    "partial, semicolons": "FB=1_3_13_14;IntervalDuration=900;",
    "partial, spaces": "FB=1_3 IntervalDuration=3600",
    "partial, URL-encoded": "FB%3D1_3_13%3B",
}
UNKNOWN = {
    "empty": "",
    "no FB term": "IntervalDuration=900;BlockDuration=daily;",
    "garbled": "%%%;;==",
    "FB without blocks": "FB=;IntervalDuration=900",
    "FB with no number": "FB=all",
}


@pytest.mark.parametrize("scope", list(COMPLETE.values()), ids=list(COMPLETE))
def test_complete_forms(scope: str) -> None:
    parsed = parse_scope(scope)
    assert {1, 3, 4, 5} <= parsed.function_blocks
    assert parsed.complete(frozenset({1, 3, 4, 5})) is True


@pytest.mark.parametrize("scope", list(PARTIAL.values()), ids=list(PARTIAL))
def test_partial_forms(scope: str) -> None:
    parsed = parse_scope(scope)
    assert parsed.known and parsed.missing(frozenset({1, 3, 4, 5})) >= {4, 5}
    assert parsed.complete(frozenset({1, 3, 4, 5})) is False


@pytest.mark.parametrize("scope", [*UNKNOWN.values(), None], ids=[*UNKNOWN, "none"])
def test_unknown_forms(scope: str | None) -> None:
    parsed = parse_scope(scope)
    assert not parsed.known
    assert parsed.missing(frozenset({1, 3, 4, 5})) == frozenset()
    assert parsed.complete(frozenset({1, 3, 4, 5})) is None
    assert function_block_mask(scope) == UNKNOWN_SCOPE_MASK


def test_the_other_terms_are_kept_lower_cased() -> None:
    assert parse_scope("FB=1_3 IntervalDuration=900_3600 BlockDuration=Daily").terms == {
        "intervalduration": "900_3600", "blockduration": "daily"}


def test_an_unknown_scope_is_never_a_reason_to_reauthorize(clock: object) -> None:
    from datetime import UTC, datetime

    from commands.rules import Case, recommend

    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    for scope in [*UNKNOWN.values(), None]:
        fresh = Authorization("A", AuthorizationStatus.ACTIVE, now - timedelta(days=2), scope)
        waits = recommend(Case(Utility.SCE, False, (fresh,)), now)
        assert (waits.action, waits.reasons) == (Action.WAIT, (Reason.VERIFICATION_WINDOW,))
        healthy = recommend(Case(Utility.SCE, True, (fresh,)), now)
        assert healthy.reasons == (Reason.CONNECTED,)


FORMS = {**COMPLETE, **PARTIAL, **UNKNOWN}


def test_every_form_alike_in_check_json_answer_and_digest(db: Database, tmp_path: Path, clock: object) -> None:
    # One not-connected SCE customer per form, authorized 10 days ago (past the wait): a complete scope
    # gives REAUTH not_connected_7d, a partial one REAUTH scope_incomplete, an unknown one never
    # scope_incomplete. The CSV is how real scopes arrive: quoted so separators and newlines survive.
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    granted = (now - timedelta(days=10)).isoformat()
    names = list(FORMS)
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,email,name,utility,enrollment_status,last_data_at\n"
                         + "".join(f"S{i},,,SCE,pending,\n" for i in range(len(names))))
    authorizations = tmp_path / "authorizations.csv"
    rows = "".join(f'A{i},S{i},active,{granted},"{FORMS[name].replace(chr(34), chr(34) * 2)}",,\n'
                   for i, name in enumerate(names))
    authorizations.write_text("authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n" + rows)
    import_files(db, [customers, authorizations], now=now)

    listed = assert_agree(db, now)  # the digest's SQL and /reauth-check agree on every customer
    with db.sessions() as session:
        records = SqlCaseRecords(session)
        for i, name in enumerate(names):
            report = check(records, f"S{i}", now=now, agent="U0TEST", source="test")
            assert isinstance(report, Report)
            [item] = report_json(report)["authorizations"]["items"]
            text = blocks_as_text(check_blocks(report))
            if name in COMPLETE:
                assert item["scope_complete"] is True, name
                assert report.recommendation.reasons == (Reason.NOT_CONNECTED_7D,), name
                assert "Select All Data Types" not in text and "scope unknown" not in text
            elif name in PARTIAL:
                assert item["scope_complete"] is False, name
                assert report.recommendation.reasons == (Reason.SCOPE_INCOMPLETE,), name
                assert "Select All Data Types\u201d was not ticked" in text  # the answer names what is missing
            else:
                assert item["scope_complete"] is None, name
                assert Reason.SCOPE_INCOMPLETE not in report.recommendation.reasons, name
                assert "scope unknown" in text and "Select All Data Types" not in text
            assert listed[f"S{i}"][0] is report.recommendation.reasons[0]
        session.rollback()
