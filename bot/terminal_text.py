"""Block Kit as readable terminal text, for the CLI and the demo tour."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_USER = re.compile(r"<@(U[A-Z0-9]+)>")


def mrkdwn_as_text(text: str) -> str:
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _USER.sub(r"@\1", text)
    text = text.replace("*", "").replace("`", "")
    # Entities last: what Slack shows of escaped text (bot/mrkdwn.py), once the bot's own markup is gone.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_as_text(blocks: Sequence[Block | dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        data = block.to_dict() if isinstance(block, Block) else block
        kind = data.get("type")
        if kind == "header":
            title = mrkdwn_as_text(data["text"]["text"])
            lines += [title, "=" * len(title)]
        elif kind in ("section", "context"):
            parts = [data["text"]] if "text" in data else data.get("elements", []) + data.get("fields", [])
            lines += [mrkdwn_as_text(p["text"]) for p in parts if isinstance(p, dict) and "text" in p]
            accessory = data.get("accessory") or {}
            if accessory.get("type") == "button":
                lines.append(f"[ {accessory['text']['text']} ]")
        elif kind == "actions":
            buttons = [mrkdwn_as_text(e["text"]["text"]) for e in data.get("elements", []) if "text" in e]
            buttons += ["⋯ " + ", ".join(o["text"]["text"] for o in e["options"])
                        for e in data.get("elements", []) if e.get("type") == "overflow"]
            lines.append("  ".join(f"[ {b} ]" for b in buttons))
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(lines)
