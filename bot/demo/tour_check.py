"""The tour's `/reauth-check` step: one customer per row of the rules table, then the bad inputs."""

from __future__ import annotations

import json

from bot.demo.harness import LocalBot
from bot.demo.stage import banner, indent, quiet, say
from bot.terminal_text import blocks_as_text

SHOWCASE = [
    ("C-1001", "rule 1, connected"),
    ("ben.okafor@example.com", "rule 1, connected but with a duplicate authorization (a warning)"),
    ("C-1003", "rule 2, no live authorization"),
    ("C-1004", "rule 3, steps already sent twice this month"),
    ("C-1005", "rule 4, three live authorizations"),
    ("C-1006", "rule 5, the data types were not all selected"),
    ("C-1007", "rule 6, authorized 3 days ago"),
    ("C-1008", "rule 7, re-authorized after our steps, still not connected"),
    ("C-1009", "rule 8, not connected for more than a week"),
    ("https://acme.zendesk.com/agent/tickets/4488", "looked up by the ticket support used"),
    ("pat.lee@example.com", "two customers share this e-mail"),
    ("nobody@example.com", "no such customer"),
    ("", "no text at all"),
]


def tour_check(bot: LocalBot) -> None:
    banner("/reauth-check: one customer per row of the rules table, then the bad inputs")
    # Each answer's rule goes to the log (INFO), not to agents; the showcase labels already name it.
    with quiet("bot.features.check"):
        _showcase(bot)


def _showcase(bot: LocalBot) -> None:
    for query, why in SHOWCASE:
        acked = bot.slash(query)
        say()
        say(f"$ /reauth-check {query}    ({why})")
        say(f"  acked: HTTP {acked.status} in {acked.seconds * 1000:.0f} ms")
        # Bad input is answered in the ack itself, with no lookup.
        answer = json.loads(acked.body) if acked.body.strip() else bot.answer(acked)
        say(indent(blocks_as_text(answer.get("blocks") or []) or answer.get("text", "")))
