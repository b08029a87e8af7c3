"""The bot's Home tab: the digest's counts live, the agent's own open escalations."""
