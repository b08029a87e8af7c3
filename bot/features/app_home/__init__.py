"""The bot's Home tab: the agent's cases and follow-ups first, then the digest's counts live."""
