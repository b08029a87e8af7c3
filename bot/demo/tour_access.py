"""The tour's access control and audit steps: an agent outside the allow-list is refused; the trail of the tour."""

from __future__ import annotations

import json

from bot.audit import as_text
from bot.demo.harness import LocalBot
from bot.demo.stage import banner, indent, say
from models.audit import audit_trail

# The tour's allow-list: the agents its steps act as, and the support team's Slack user group.
DEMO_AGENTS = frozenset({"U0AGENT", "U0ALICE", "U0BOB"})
DEMO_GROUP = "S0SUPPORT"
DEMO_GROUP_MEMBERS = ["U0CAROL"]
OUTSIDER = "U0MALLORY"


def tour_access(bot: LocalBot) -> None:
    banner("Who may use the bot: ALLOWED_USERS and the members of ALLOWED_USERGROUPS, nobody else")
    say(f"  allowed: {', '.join(sorted(DEMO_AGENTS))} and the members of {DEMO_GROUP} "
        f"({', '.join(DEMO_GROUP_MEMBERS)}, from usergroups.users.list)")
    for user, who in ((OUTSIDER, "not on the list"), (DEMO_GROUP_MEMBERS[0], f"a member of {DEMO_GROUP}")):
        acked = bot.slash("ana.flores@example.com", user_id=user)
        say()
        say(f"$ /reauth-check ana.flores@example.com    (as {user}, {who})")
        answer = json.loads(acked.body) if acked.body.strip() else bot.answer(acked)
        say(indent(answer.get("text", "")))


def tour_audit(bot: LocalBot) -> None:
    banner("The audit trail of this tour: `reauth-bot audit` (also --json, --csv, --customer, --agent, --since)")
    with bot.db.reading() as session:
        trail = audit_trail(session)
    say(indent(as_text(trail)))
    say("  (the escalation story ran on a copy of the database: its escalations, takes and resolves are in that "
        "copy's trail)")
