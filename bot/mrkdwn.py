"""The one place where text a person or an import wrote is made safe to put into Slack's mrkdwn and `text`.

Slack reads `<...>` as a control sequence (`<!here>`, `<!channel>`, `<@U123>`, `<https://x|label>`) and `&`
as the start of an entity, so its "Escaping text" rule is to replace `&`, `<` and `>` with `&amp;`, `&lt;`
and `&gt;` in any data the app did not write itself. That is what `escape` does: a reason typed as
`<!here> & *urgent*` then shows as typed and notifies nobody.

`*`, `_`, `~` and backticks are formatting, not control sequences: Slack has no escape for them, they cannot
mention, link or notify anyone, and agents use them on purpose in their notes. They are left as typed in
free text (a reason, a note). Where the bot itself wraps a value in a code span (`code`), a backtick in the
value would close the span early and turn the rest of the line into formatting, so it is replaced by a
look-alike (ʼ) there, and only there.
"""

from __future__ import annotations

_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BACKTICK_LOOKALIKE = "\u02bc"


def escape(text: str | None) -> str:
    """User or customer data as mrkdwn or `text` that shows it as written and pings nobody."""
    return (text or "").translate(_CONTROL)


def code(text: str | None) -> str:
    """A value (an id, what the agent typed) in a code span that it cannot break out of."""
    return f"`{escape(text).replace('`', _BACKTICK_LOOKALIKE)}`"


def link(url: str, label: str) -> str:
    """`<url|label>`: the label escaped; a URL with `|`, `<` or `>` would end the link, so it is dropped."""
    if not url or any(c in url for c in "|<> "):
        return escape(label)
    return f"<{url.replace('&', '&amp;')}|{escape(label)}>"


def unescape(text: str) -> str:
    """What a reader sees of escaped text (for tests and plain-text output)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
