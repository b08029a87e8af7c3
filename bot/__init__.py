"""The edges of reauth-bot: Slack, HTTP, helpdesks, scheduling and the command line."""
