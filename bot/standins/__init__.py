"""Local stand-ins for the services the bot talks to: real HTTP servers on 127.0.0.1 that answer like them.

Used by the end-to-end tests, `make demo` and the benchmarks. For Slack:
`bot.standins.slack_api.SlackStandIn` answers the Web API and response URLs and records every call;
`bot.standins.slack_requests.SlackRequests` builds the signed requests Slack sends to the app;
`bot.standins.socket_mode.SocketModeStandIn` is Slack's Socket Mode end. Helpdesks: `bot.standins.helpdesk`.
The servers among them are `bot.standins.server.StandInServer`s, started and stopped alike.
"""
