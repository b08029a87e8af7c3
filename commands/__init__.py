"""The rules and use cases of reauth-bot: plain Python, no Slack, HTTP or database library."""
