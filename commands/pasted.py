"""What agents paste, read as what they meant: Slack's link markup, marks copied from web pages and mail
clients, and the punctuation around a word in a sentence.

An e-mail copied from a mail client often carries invisible characters (a zero-width space, a
left-to-right mark around an address shown in a right-to-left page) and sits in a sentence
("write to eli@example.com.", "(eli@example.com)", "“eli@example.com”"). Slack turns a typed
address into `<mailto:eli@example.com|Eli Novak>`, where the label may be anything, spaces included.
None of that is part of the e-mail, customer id or ticket the agent means. Control characters are not
dropped here: they are refused at the entry points, before any reading.
"""

from __future__ import annotations

import re

# Invisible format characters that come along with copied text: zero-width space, non-joiner and joiner,
# word joiner, the byte-order mark, and the bidirectional marks, embeddings, overrides and isolates.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c"
                      "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DROP_INVISIBLE = {ord(c): None for c in INVISIBLE}
# The at signs of East Asian keyboards and of small-form text: full-width ＠ and small ﹫.
_AT_SIGNS = {ord("\uff20"): "@", ord("\ufe6b"): "@"}
# Slack's markup for a link or an e-mail: <https://x>, <https://x|label>, <mailto:a@b|label>. The label is
# what Slack shows and may hold spaces; the target is what was meant.
_SLACK_LINK = re.compile(r"<((?:mailto:|https?://)[^|<>\s]+)(?:\|[^<>]*)?>", re.IGNORECASE)
# Around a word in a sentence: quotes, brackets; after it, a sentence's punctuation.
_AROUND = "\"'`“”‘’«»‹›()[]{}<>"
_AFTER = ".,;:!?…"


def unwrap_slack_links(text: str) -> str:
    """`<mailto:a@b|Eli Novak>` → `a@b`; `<https://x|label>` → `https://x`; other text unchanged."""
    return _SLACK_LINK.sub(lambda m: _without_mailto(m.group(1)), text)


def without_marks(text: str) -> str:
    """Invisible marks dropped and at signs read as @, nothing else changed: for free text such as a note,
    so that an e-mail pasted with them is still seen as one (and masked before it reaches a channel)."""
    return text.translate(_DROP_INVISIBLE).translate(_AT_SIGNS)


def clean_text(text: str) -> str:
    """The whole of what was pasted: invisible marks dropped, at signs read as @, Slack links unwrapped."""
    return unwrap_slack_links(text.translate(_DROP_INVISIBLE).translate(_AT_SIGNS))


def clean_word(word: str) -> str:
    """One word of it: quotes and brackets around it and the punctuation after it dropped, `mailto:` too.

    A `#` before a ticket number stays: it is part of how agents write a ticket.
    """
    previous = None
    while word != previous:
        previous = word
        word = word.strip(_AROUND).rstrip(_AFTER)
    return _without_mailto(word)


def _without_mailto(target: str) -> str:
    return target[len("mailto:"):] if target.lower().startswith("mailto:") else target
