"""Everything that happens to an escalated customer afterwards is a reply in its own thread."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.features.escalations.blocks import RESOLVE_ACTION
from bot.features.escalations.service import case_authorizations, case_event, post_now, tell_cases_about_import
from commands.escalations import Resolution, Status
from models.escalations import EscalationRow
from models.imports import import_files
from tests.escalations.conftest import CHANNEL, Escalations


def import_csv(cases: Escalations, tmp_path: Path, name: str, content: str) -> None:
    """`reauth-bot import`'s path: snapshot the open cases, import, tell their threads."""
    path = tmp_path / name
    path.write_text(content)
    before = case_authorizations(cases.db)
    [result] = import_files(cases.db, [path], now=cases.clock())
    assert not isinstance(result, Exception), result
    post_now(cases.context, tell_cases_about_import(cases.context, before))


def test_later_events_land_in_the_right_thread(cases: Escalations, tmp_path: Path) -> None:
    hana = cases.escalate("C-1008")
    dana = cases.escalate("C-1004")

    cases.check("C-1008", user="U0BOB")  # a new /reauth-check of an escalated customer
    cases.wait_thread(hana, 1)
    import_csv(cases, tmp_path, "authorizations.csv",
               "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
               "A-1004,C-1004,revoked,2026-11-27T18:00:00Z,FB=1_3_4_5_13_14;,,2026-11-30T12:00:00Z\n"
               "A-1004b,C-1004,pending,2026-11-30T12:00:00Z,FB=1_3_4_5_13_14;,,\n")
    with cases.db.transaction() as session:
        posted = case_event(session, cases.context, "C-1004", "Steps posted to ticket 4488 by <@U0CAROL>")
        nobody = case_event(session, cases.context, "C-1001", "Steps posted to ticket 1")  # no open case
    assert nobody is None
    post_now(cases.context, [posted])
    cases.quiet()

    hana_thread = cases.thread(hana)
    assert len(hana_thread) == 1
    assert "<@U0BOB> ran /reauth-check" in hana_thread[0] and "Escalate to the re-authorization team" in hana_thread[0]
    assert cases.thread(dana) == [
        ":arrows_counterclockwise: Authorization `A-1004` changed: pending → *revoked*.",
        ":new: New authorization `A-1004b`: *pending*.",
        "Steps posted to ticket 4488 by <@U0CAROL>",
    ]
    assert len(cases.parents()) == 2 and len(cases.slack.messages(CHANNEL)) == 6


def test_a_resolve_by_a_second_agent_while_the_first_resolves_gives_one_resolution(cases: Escalations) -> None:
    parent = cases.escalate("C-1008", user="U0ALICE")
    cases.clock.advance(timedelta(days=2, hours=3))
    barrier = threading.Barrier(2)

    def resolve(agent: str) -> None:
        barrier.wait()
        cases.click(RESOLVE_ACTION, parent, agent, response_key=f"resolve-{agent}")

    threads = [threading.Thread(target=resolve, args=(agent,)) for agent in ("U0ALICE", "U0BOB")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cases.wait_thread(parent, 1)

    with cases.db.sessions() as session:
        [row] = session.scalars(select(EscalationRow)).all()
    assert row.status == Status.RESOLVED and row.resolution == Resolution.AGENT
    assert row.resolved_by in ("U0ALICE", "U0BOB")
    loser = "U0BOB" if row.resolved_by == "U0ALICE" else "U0ALICE"
    [told] = cases.slack.wait_for_responses(f"resolve-{loser}", 1)
    assert "already resolved" in told["text"] and f"<@{row.resolved_by}>" in told["text"]
    assert cases.slack.responses(f"resolve-{row.resolved_by}") == []
    assert cases.thread(parent) == [f":white_check_mark: <@{row.resolved_by}> resolved this case after 2 days 3 hours."]
    shown = json.dumps(cases.current(parent)["blocks"])
    assert "Resolved \\u00b7 C-1008 (SCE)" in shown and "time to resolution *2 days 3 hours*" in shown
    assert '"actions"' not in shown  # no buttons on a resolved case


def test_a_customer_who_connects_has_the_case_resolved_and_the_parent_updated(
    cases: Escalations, tmp_path: Path
) -> None:
    parent = cases.escalate("C-1008")
    cases.clock.advance(timedelta(days=3))
    import_csv(cases, tmp_path, "customers.csv",
               "customer_id,email,name,utility,enrollment_status,last_data_at\n"
               "C-1008,hana.sato@example.com,Hana Sato,SCE,verified,2026-12-03T06:00:00Z\n")
    cases.quiet()
    [said] = cases.thread(parent)
    assert said.startswith(":white_check_mark: C-1008 is connected: data is flowing")
    assert said.endswith("Case resolved after 3 days.")
    shown = json.dumps(cases.current(parent)["blocks"])
    assert "Resolved \\u00b7 C-1008 (SCE)" in shown and "the customer is connected" in shown and "3 days" in shown
    # The customer is free again: a new escalation opens a new case with a new parent.
    cases.escalate("C-1004")
    with cases.db.sessions() as session:
        assert [r.status for r in session.scalars(select(EscalationRow).order_by(EscalationRow.id))] == [
            Status.RESOLVED, Status.OPEN]


def test_a_check_that_finds_the_customer_connected_resolves_the_case(cases: Escalations, tmp_path: Path) -> None:
    parent = cases.escalate("C-1007")
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,name,utility,enrollment_status,last_data_at\n"
                    "C-1007,gus.larsen@example.com,Gus Larsen,SCE,verified,2026-11-30T16:00:00Z\n")
    import_files(cases.db, [path])  # imported without telling the case: the next check finds it connected
    cases.clock.advance(timedelta(hours=1))
    before = len(cases.thread(parent))
    cases.check("C-1007", user="U0BOB")
    replies = cases.wait_thread(parent, before + 2)
    assert "Healthy: nothing to do" in replies[-2]
    assert replies[-1].startswith(":white_check_mark: C-1007 is connected")
    assert "Resolved \\u00b7 C-1007 (SCE)" in json.dumps(cases.current(parent)["blocks"])


def test_reauth_bot_import_tells_the_thread_of_an_authorization_change(
    cases: Escalations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = cases.escalate("C-1008")
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATABASE_URL", cases.db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SLACK_BOT_TOKEN", cases.slack.token)
    monkeypatch.setenv("SLACK_API_URL", cases.slack.api_url)
    path = tmp_path / "authorizations.csv"
    path.write_text("authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
                    "A-1008,C-1008,revoked,2026-11-05T18:00:00Z,FB=1_3_4_5_13_14;,,2026-11-30T20:00:00Z\n"
                    "A-1009,C-1009,revoked,2026-10-20T18:00:00Z,FB=1_3_4_5_13_14;,,2026-11-30T20:00:00Z\n")
    assert main(["import", str(path)]) == 0
    assert "1 update(s) for open escalation threads" in capsys.readouterr().out
    assert cases.thread(parent) == [":arrows_counterclockwise: Authorization `A-1008` changed: active → *revoked*."]
    assert main(["import", str(path)]) == 0  # the same file again: nothing changed, nothing said
    assert len(cases.thread(parent)) == 1 and len(cases.parents()) == 1
