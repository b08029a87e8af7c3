"""manifest.yml: valid for Slack, and asking for exactly the bot scopes the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).parent / "contracts" / "slack-manifest.schema.json"

# The bot scope each Web API method needs (docs.slack.dev method pages). Methods needing none are None.
SCOPE_OF_METHOD: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_delete": "chat:write",
    "conversations_open": "im:write",
    "conversations_history": "channels:history",
    "conversations_replies": "channels:history",
    "files_upload_v2": "files:write",
    "users_info": "users:read",
    "views_open": None,
    "views_update": None,
    "views_publish": None,
    "views_push": None,
    "auth_test": None,
    "usergroups_users_list": "usergroups:read",
}
_CALL = re.compile(r"\.(chat_\w+|conversations_\w+|files_\w+|users_\w+|usergroups_\w+|views_\w+|auth_test)\(")


def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


def scopes_the_code_uses() -> set[str]:
    needed: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if {"standins", "demo"} & set(path.relative_to(ROOT).parts):
            continue  # stand-ins and the demo are not the app
        source = path.read_text()
        if "@app.command(" in source or ".command(" in source:
            needed.add("commands")
        methods = set(_CALL.findall(source))
        for method in methods:
            assert method in SCOPE_OF_METHOD, f"{path.name} calls {method}: add its scope to SCOPE_OF_METHOD"
            scope = SCOPE_OF_METHOD[method]
            if scope:
                needed.add(scope)
        if {"conversations_open", "conversations_history"} <= methods:
            needed.add("im:history")  # reading the history of a DM it opened (the outbox's read-back)
    return needed


def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest()), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_the_slash_command_has_a_usage_hint_and_interactivity_is_on() -> None:
    data = manifest()
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert "/reauth-check" in commands
    assert "customer e-mail" in commands["/reauth-check"]["usage_hint"]
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["features"]["bot_user"]["display_name"]


def test_bot_scopes_are_exactly_those_the_code_uses() -> None:
    declared = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert declared == scopes_the_code_uses()


def test_the_scope_scanner_sees_a_web_api_call() -> None:
    # Guard against a scanner that finds nothing and so agrees with any manifest.
    assert _CALL.findall("context.client.chat_postMessage(channel=c)") == ["chat_postMessage"]
