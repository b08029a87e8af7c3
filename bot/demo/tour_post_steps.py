"""The tour's "send the steps" step: a new ticket's link finds C-1005 through the ticket's requester, the reply
lands on that stand-in Zendesk ticket, once; a note does not count.

A Zendesk stand-in runs on 127.0.0.1; a second instance of the real app, configured for it through its
settings (HELPDESK, HELPDESK_URL, credentials), shares the demo's Slack stand-in, database and clock.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

from bot.demo.harness import LocalBot
from bot.demo.stage import banner, indent, quiet, say
from bot.features.post_steps.blocks import POST_NOTE_ACTION, POST_REPLY_ACTION
from bot.standins.helpdesk import ZendeskStandIn
from bot.terminal_text import blocks_as_text, mrkdwn_as_text

CUSTOMER = "C-1005"
CUSTOMER_EMAIL = "eli.novak@example.com"  # as bot/demo/customers.csv has it
TICKET = "4521"


def tour_post_steps(bot: LocalBot) -> None:
    banner("Send the steps: the reply lands on the customer's Zendesk ticket, exactly once")
    # The story's own lines say what happens; the INFO log would only repeat it.
    # Every module of the app is held back, the helpdesk clients included.
    with quiet("bot"), ZendeskStandIn() as zendesk:
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


def _tell_the_story(bot: LocalBot, zendesk: ZendeskStandIn) -> None:
    say(f"  a stand-in Zendesk serves {zendesk.base_url}; HELPDESK=zendesk, HELPDESK_URL points at it")
    say()
    link = f"{zendesk.base_url}/agent/tickets/{TICKET}"
    say(f"$ /reauth-check {link}    (a new ticket's link, pasted as it is)")
    answer = bot.answer(bot.slash(link))
    reads = [f"{r.method} {r.path}" for r in zendesk.requests]
    say(f"  no procedure names ticket {TICKET}, so the bot asked Zendesk who opened it ({', '.join(reads)})")
    say("  and looked the customer up by that e-mail; the buttons post to this ticket:")
    say(indent(blocks_as_text(answer["blocks"])))

    say()
    say('* the agent clicks the primary button: a form shows the exact reply and the ticket first')
    key, view = _open_reply(bot, answer)
    preview = next(b for b in view["blocks"] if b.get("block_id") == "preview")
    say(indent(blocks_as_text([view["blocks"][0]])))
    say(indent(_first_lines(mrkdwn_as_text(preview["text"]["text"]), 4) + "\n  >..."))
    ticket = next(b for b in view["blocks"] if b.get("block_id") == "ticket")["element"].get("initial_value")
    say(f"  Ticket: [{ticket}]      [ {view['submit']['text']} ]")
    started = time.perf_counter()
    _submit(bot, view, ticket)
    outcome = bot.slack.wait_for_responses(key, 1, 30)[0]
    seconds = time.perf_counter() - started
    say(f"* submitted; the answer is replaced in place {seconds * 1000:.0f} ms later:")
    say(indent(mrkdwn_as_text(outcome["blocks"][0]["text"]["text"])))

    [reply] = zendesk.notes(TICKET)
    request = next(r for r in reversed(zendesk.requests) if r.method == "PUT")
    say()
    say(f"* what landed on Zendesk ticket {TICKET}: {request.method} {request.path}, "
        f"comment public={str(reply.public).lower()} (a reply the customer is e-mailed)")
    say(indent(reply.body))

    say()
    say("* sending it again: the guardrail asks first, and says when and by whom")
    key, view = _open_reply(bot, answer)
    _submit(bot, view, TICKET)
    again = bot.slack.wait_for_responses(key, 1, 30)[0]
    say(indent(_last_lines(blocks_as_text(again["blocks"]), 4)))
    say(f"  comments on ticket {TICKET}: {len(zendesk.notes(TICKET))}")

    say()
    say('* "Add as internal note" instead: only the team sees it, so it is not counted as steps sent')
    noted = _click(bot, answer, POST_NOTE_ACTION)
    say(indent(_first_lines(blocks_as_text(noted["blocks"]), 2)))

    say()
    say(f"$ /reauth-check {CUSTOMER}    (the next check counts the reply, not the note)")
    after = bot.answer(bot.slash(CUSTOMER))
    say(indent(blocks_as_text(after["blocks"])))


def _open_reply(bot: LocalBot, answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Click the primary "Send ... to customer"; the response key and the form it opened."""
    opened = len(bot.slack.calls_to("views.open"))
    key = f"demo-{uuid.uuid4().hex[:8]}"
    response = bot.send(bot.requests.block_actions(
        action_id=POST_REPLY_ACTION, value=_value(answer, POST_REPLY_ACTION), response_url=bot.slack.response_url(key),
    ))
    assert response.status_code == 200, response.text
    view = bot.slack.wait_for("views.open", opened + 1, 10)[-1].args["view"]
    return key, json.loads(view) if isinstance(view, str) else view


def _submit(bot: LocalBot, view: dict[str, Any], ticket: str) -> None:
    values = {"ticket": {"value": {"type": "plain_text_input", "value": ticket}}}
    response = bot.send(bot.requests.view_submission(view=view, state_values=values))
    assert response.status_code == 200 and response.text == "", response.text


def _click(bot: LocalBot, answer: dict[str, Any], action_id: str) -> dict[str, Any]:
    key = f"demo-{uuid.uuid4().hex[:8]}"
    response = bot.send(bot.requests.block_actions(
        action_id=action_id, value=_value(answer, action_id), response_url=bot.slack.response_url(key),
    ))
    assert response.status_code == 200, response.text
    return bot.slack.wait_for_responses(key, 1, 30)[0]


def _value(answer: dict[str, Any], action_id: str) -> str:
    [value] = [element["value"] for block in answer["blocks"] if block["type"] == "actions"
               for element in block["elements"] if element.get("action_id") == action_id]
    return str(value)


def _first_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[:count])


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])
