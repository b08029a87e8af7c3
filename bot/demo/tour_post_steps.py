"""The tour's "Post steps to ticket" step: a new ticket's link finds C-1005 through the ticket's requester,
and the steps land on that stand-in Zendesk ticket, once.

A Zendesk stand-in runs on 127.0.0.1; a second instance of the real app, configured for it through its
settings (HELPDESK, HELPDESK_URL, credentials), shares the demo's Slack stand-in, database and clock.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from typing import Any

from bot.demo.harness import LocalBot
from bot.demo.stage import banner, indent, say
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.standins.helpdesk import ZendeskStandIn
from bot.terminal_text import blocks_as_text, mrkdwn_as_text

CUSTOMER = "C-1005"
CUSTOMER_EMAIL = "eli.novak@example.com"  # as bot/demo/customers.csv has it
TICKET = "4521"


def tour_post_steps(bot: LocalBot) -> None:
    banner("Post steps to ticket: the canned steps land on the customer's Zendesk ticket, exactly once")
    # The story's own lines say what happens; the INFO log would only repeat it.
    logger = logging.getLogger("bot")  # every module of the app, helpdesk clients included
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with ZendeskStandIn() as zendesk:
            # A new ticket: Eli wrote in from the address on file; no procedure names the ticket yet.
            zendesk.add_ticket_from(TICKET, CUSTOMER_EMAIL)
            settings = dataclasses.replace(
                bot.settings,
                helpdesk="zendesk",
                helpdesk_url=zendesk.base_url,
                helpdesk_credentials={"HELPDESK_EMAIL": zendesk.email, "HELPDESK_API_TOKEN": zendesk.api_token},
            )
            with LocalBot(bot.db, clock=bot.clock, settings=settings, slack=bot.slack) as helpdesk_bot:
                _tell_the_story(helpdesk_bot, zendesk)
    finally:
        logger.setLevel(level)


def _tell_the_story(bot: LocalBot, zendesk: ZendeskStandIn) -> None:
    say(f"  a stand-in Zendesk serves {zendesk.base_url}; HELPDESK=zendesk, HELPDESK_URL points at it")
    say()
    link = f"{zendesk.base_url}/agent/tickets/{TICKET}"
    say(f"$ /reauth-check {link}    (a new ticket's link, pasted as it is)")
    answer = bot.answer(bot.slash(link))
    reads = [f"{r.method} {r.path}" for r in zendesk.requests]
    say(f"  no procedure names ticket {TICKET}, so the bot asked Zendesk who opened it ({', '.join(reads)})")
    say("  and looked the customer up by that e-mail; the buttons post to this ticket:")
    lines = blocks_as_text(answer["blocks"]).splitlines()
    say(indent("\n".join([*lines[:4], "…", *lines[-3:]])))

    say()
    say('* the agent clicks "Post steps to ticket" (a signed block_actions request)')
    outcome, seconds = _click(bot, answer)
    say(f"  acked at once; the answer is replaced in place {seconds * 1000:.0f} ms later:")
    say(indent(mrkdwn_as_text(outcome["blocks"][0]["text"]["text"])))

    [note] = zendesk.notes(TICKET)
    request = next(r for r in reversed(zendesk.requests) if r.method == "PUT")
    say()
    say(f"* what landed on Zendesk ticket {TICKET}: {request.method} {request.path}, "
        f"comment public={str(note.public).lower()} (an internal note)")
    say(indent(note.body))

    say()
    say('* a second click on the same button: the guardrail asks first, and says when and by whom')
    again, _ = _click(bot, answer)
    say(indent(_last_lines(blocks_as_text(again["blocks"]), 4)))
    say(f"  comments on ticket {TICKET}: {len(zendesk.notes(TICKET))}")

    say()
    say(f"$ /reauth-check {CUSTOMER}    (the next check counts the procedure the post recorded)")
    after = bot.answer(bot.slash(CUSTOMER))
    say(indent(blocks_as_text(after["blocks"])))


def _click(bot: LocalBot, answer: dict[str, Any]) -> tuple[dict[str, Any], float]:
    [value] = [element["value"] for block in answer["blocks"] if block["type"] == "actions"
               for element in block["elements"] if element["action_id"] == POST_NOTE_ACTION]
    key = f"demo-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    response = bot.send(bot.requests.block_actions(
        action_id=POST_NOTE_ACTION, value=value, response_url=bot.slack.response_url(key),
    ))
    assert response.status_code == 200, response.text
    outcome = bot.slack.wait_for_responses(key, 1, 30)[0]
    return outcome, time.perf_counter() - started


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])
