"""Every log record, the libraries' included, is made safe as it is created: e-mail-shaped strings
masked, control characters escaped, request bodies dropped.

A record factory rather than a handler's filter: it applies whatever handler writes the record (a
WSGI server's, pytest's, one added later), and only to records whose level is enabled. The message is
formatted once, here, so a value passed as an argument is masked as surely as one in the format string.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

# An e-mail as it appears in text, in a URL-encoded form body (%40) or in a mailto link.
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+(?:@|%40|%2540)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.IGNORECASE)
MASK = "<e-mail>"

# Bolt logs the whole body of a request whose signature fails, at INFO; it names its logger after the class.
_BODY_LOGGERS = {"slack_bolt.RequestVerification": "Invalid request signature detected (request body not logged)"}

_installed = threading.Lock()
_original: Callable[..., logging.LogRecord] | None = None


def mask_emails(text: str) -> str:
    return EMAIL.sub(MASK, text)


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """Control characters as `\\xNN` escapes, so a value cannot start a forged log line or hide text."""
    if not any(unicodedata.category(c) == "Cc" for c in text):
        return text
    return "".join(
        c if unicodedata.category(c) != "Cc" or (keep_newlines and c == "\n") else c.encode("unicode_escape").decode()
        for c in text
    )


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    return escape_controls(mask_emails(text), keep_newlines=keep_newlines)


def make_safe(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite one record in place: its message formatted, masked and escaped; its traceback likewise."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string in a library: keep the template, not the values
        message = str(record.msg)
    message = _BODY_LOGGERS.get(record.name, message)
    record.msg = safe_text(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        # Formatted now, masked: a handler uses exc_text as it is when it is set.
        record.exc_text = safe_text(logging.Formatter().formatException(record.exc_info), keep_newlines=True)
    if record.stack_info:
        record.stack_info = safe_text(record.stack_info, keep_newlines=True)
    return record


def install() -> None:
    """Make every later record of this process safe; calling it again changes nothing."""
    global _original
    with _installed:
        if _original is not None:
            return
        _original = previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return make_safe(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
