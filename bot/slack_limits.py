"""Slack's limits on Block Kit (api.slack.com/reference/block-kit): text is cut to them, so a long customer
id or reason never gets a message refused."""

from __future__ import annotations

MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_BUTTON_VALUE = 2000
MAX_PRIVATE_METADATA = 3000
MAX_OPTION_VALUE = 150  # an option of a menu (overflow, select): its value
