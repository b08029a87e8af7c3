"""The tour's Green Button sync step: a stand-in SCE data custodian lists a new authorization of Chen Wu's,
`reauth-bot sync greenbutton`'s use case reads it, and Chen's answer changes from CONNECT to WAIT."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bot import messages
from bot.app import build_context
from bot.demo.harness import LocalBot
from bot.demo.stage import DEMO_NOW, banner, indent, quiet, say
from bot.features.sync.service import sync_utility
from bot.settings import CustodianSettings
from bot.standins.greenbutton import CustodianAuthorization, CustodianStandIn
from bot.terminal_text import blocks_as_text

CUSTOMER = "C-1003"


def tour_sync(bot: LocalBot) -> None:
    banner("Green Button sync: SCE's data custodian (a stand-in on 127.0.0.1) lists the authorizations")
    with CustodianStandIn() as custodian:
        granted = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
        custodian.authorize(CustodianAuthorization("4400123", "sub-1003", start=int(granted.timestamp())))
        custodian.authorize(CustodianAuthorization("4400777", "sub-not-ours", start=int(granted.timestamp())))
        settings = dataclasses.replace(bot.settings, custodians={"SCE": CustodianSettings(
            custodian.custodian_url, custodian.token_url, custodian.state.client_id, custodian.state.client_secret)})
        context = build_context(settings, db=bot.db, clock=lambda: DEMO_NOW)
        _show(bot, "before the sync: Chen re-authorized at sce.com on Saturday; the bot has not heard")
        say()
        say("$ reauth-bot sync greenbutton --utility SCE")
        # The counts are printed below; the service's own log line (with the wall-clock time) would not
        # print the same on every run.
        with quiet("bot.features.sync"):
            report = sync_utility(context, "SCE")
        say("  " + messages.sync_report(report.utility, report.outcome.value, report.new, report.changed,
                                        report.revoked, report.skipped, report.problem, report.thread_updates))
        say(f"  (the custodian served {len(custodian.feed_requests)} feed page(s) for "
            f"{custodian.tokens_issued} client-credentials token(s))")
        _show(bot, "after the sync")


def _show(bot: LocalBot, when: str) -> None:
    acked = bot.slash(CUSTOMER)
    say()
    say(f"$ /reauth-check {CUSTOMER}    ({when})")
    say(indent(blocks_as_text(bot.answer(acked).get("blocks") or [])))
