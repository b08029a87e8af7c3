"""What the clients send, checked against the vendors' own contracts (tests/contracts/).

Zendesk and Intercom publish OpenAPI 3 documents: request bodies are validated with jsonschema
against their component schemas. Freshdesk publishes none: its documented fields (specs/README.md
section 3) are written out here, and its responses are compared with the sample fixtures.
The stand-ins are checked too: they must refuse what the real services refuse.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from bot.helpdesk import FreshdeskHelpdesk, HelpdeskClient, IntercomHelpdesk, RetryPolicy, ZendeskHelpdesk
from bot.standins.helpdesk import (
    FreshdeskStandIn,
    HelpdeskStandIn,
    IntercomStandIn,
    RecordedRequest,
    ZendeskStandIn,
)

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
TICKET = "123"
STEPS = 'Revoke all 2 authorizations at sce.com.\n\nTick "Select All Data Types" & submit <once>.'

# --- OpenAPI 3.0 → JSON Schema -----------------------------------------------------------------


def to_json_schema(node: Any, *, request: bool) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema 2020-12.

    ``nullable: true`` admits null (also next to a ``$ref``, which OpenAPI 3.0 allows); ``example``
    is dropped; in a request, a ``readOnly`` property must be absent.
    """
    if isinstance(node, list):
        return [to_json_schema(item, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "example":
            continue
        if key == "properties" and isinstance(value, dict):
            converted[key] = {
                name: False
                if request and isinstance(schema, dict) and schema.get("readOnly") is True
                else to_json_schema(schema, request=request)
                for name, schema in value.items()
            }
        else:
            converted[key] = to_json_schema(value, request=request)
    if converted.pop("nullable", False) is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted and None not in converted["enum"]:
                converted["enum"] = [*converted["enum"], None]
        elif "type" not in converted:
            converted = {"anyOf": [{"type": "null"}, converted]}
    return converted


@cache
def openapi(name: str) -> dict[str, Any]:
    document = yaml.safe_load((CONTRACTS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def validator(document: str, schema: str, *, request: bool = True) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, its ``$ref``s resolved within the same document."""
    components = to_json_schema(openapi(document)["components"], request=request)
    root = {"$ref": f"#/components/schemas/{schema}", "components": components}
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root)


def errors_of(document: str, schema: str, instance: object, *, request: bool = True) -> list[str]:
    return [error.message for error in validator(document, schema, request=request).iter_errors(instance)]


def spec_path_matches(document: str, template: str, method: str, path: str) -> bool:
    """``path`` is an instance of the document's ``template`` and the template has ``method``."""
    operations = openapi(document)["paths"][template]
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    return method.lower() in operations and re.fullmatch(pattern, path) is not None


def basic_auth(request: RecordedRequest) -> tuple[str, str]:
    scheme, _, value = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password


def intercom_versions() -> list[str]:
    operation = openapi("intercom-reply.yaml")["paths"]["/conversations/{conversation_id}/reply"]["post"]
    [header] = [p for p in operation["parameters"] if p.get("in") == "header" and p["name"] == "Intercom-Version"]
    ref = header["schema"]["$ref"].rsplit("/", 1)[1]
    versions: list[str] = openapi("intercom-reply.yaml")["components"]["schemas"][ref]["enum"]
    return versions


def freshdesk_samples() -> dict[str, Any]:
    samples = json.loads((CONTRACTS / "freshdesk-conversation-samples.json").read_text(encoding="utf-8"))
    examples: dict[str, Any] = samples["examples"]
    return examples


# Freshdesk's documented request fields (specs/README.md section 3; JSON bodies, no attachments).
FRESHDESK_NOTE_SCHEMA = {
    "type": "object",
    "properties": {
        "body": {"type": "string", "minLength": 1},
        "private": {"type": "boolean"},
        "incoming": {"type": "boolean"},
        "notify_emails": {"type": "array", "items": {"type": "string"}},
        "user_id": {"type": "integer"},
    },
    "required": ["body"],
    "additionalProperties": False,
}
FRESHDESK_REPLY_SCHEMA = {
    "type": "object",
    "properties": {
        "body": {"type": "string", "minLength": 1},
        "from_email": {"type": "string"},
        "user_id": {"type": "integer"},
        "cc_emails": {"type": "array", "items": {"type": "string"}},
        "bcc_emails": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["body"],
    "additionalProperties": False,
}

# --- the clients' requests against the contracts -------------------------------------------------


def fast_policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _seconds: None)


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskStandIn, HelpdeskClient]]:
    with ZendeskStandIn(tickets=[TICKET]) as standin, ZendeskHelpdesk(
        standin.base_url, email=standin.email, api_token=standin.api_token, policy=fast_policy()
    ) as client:
        yield standin, client


@pytest.fixture
def intercom() -> Iterator[tuple[IntercomStandIn, HelpdeskClient]]:
    with IntercomStandIn(tickets=[TICKET]) as standin, IntercomHelpdesk(
        standin.base_url, api_token=standin.api_token, admin_id=standin.admin_id, policy=fast_policy()
    ) as client:
        yield standin, client


@pytest.fixture
def freshdesk() -> Iterator[tuple[FreshdeskStandIn, HelpdeskClient]]:
    with FreshdeskStandIn(tickets=[TICKET]) as standin, FreshdeskHelpdesk(
        standin.base_url, api_key=standin.api_key, policy=fast_policy()
    ) as client:
        yield standin, client


def post_both_kinds(standin: HelpdeskStandIn, client: HelpdeskClient) -> list[RecordedRequest]:
    """A note and a public reply, with a retried 429 in between so retries are checked too."""
    client.post_note(TICKET, STEPS)
    standin.fail_next(429)
    client.post_note(TICKET, STEPS, public=True)
    assert len(standin.notes(TICKET)) == 2
    assert len(standin.requests) == 3
    return standin.requests


def test_zendesk_requests_follow_the_openapi_document(zendesk: tuple[ZendeskStandIn, HelpdeskClient]) -> None:
    standin, client = zendesk
    for request in post_both_kinds(standin, client):
        # The spec has no .json variant; Zendesk's own docs use it and the live API takes both.
        assert request.path.endswith(".json")
        assert spec_path_matches(
            "zendesk-tickets.yaml", "/api/v2/tickets/{ticket_id}", request.method, request.path.removesuffix(".json")
        )
        assert openapi("zendesk-tickets.yaml")["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
        assert basic_auth(request) == (f"{standin.email}/token", standin.api_token)
        assert request.headers["content-type"] == "application/json"
        assert errors_of("zendesk-tickets.yaml", "TicketUpdateRequest", request.json) == []
        # Stricter than the spec, which requires nothing: the bot always sends a body and `public`.
        assert isinstance(request.json, dict)
        assert set(request.json["ticket"]["comment"]) == {"body", "public"}
    sent = [request.json for request in standin.requests]
    assert [body["ticket"]["comment"]["public"] for body in sent if isinstance(body, dict)] == [False, True, True]


def test_intercom_requests_follow_the_openapi_document(intercom: tuple[IntercomStandIn, HelpdeskClient]) -> None:
    standin, client = intercom
    security = openapi("intercom-reply.yaml")["components"]["securitySchemes"]["bearerAuth"]
    for request in post_both_kinds(standin, client):
        assert spec_path_matches(
            "intercom-reply.yaml", "/conversations/{conversation_id}/reply", request.method, request.path
        )
        assert security["scheme"] == "bearer"
        assert request.headers["authorization"] == f"Bearer {standin.api_token}"
        assert request.headers["intercom-version"] in intercom_versions()
        assert request.headers["content-type"] == "application/json"
        assert errors_of("intercom-reply.yaml", "reply_conversation_request", request.json) == []
        assert errors_of("intercom-reply.yaml", "admin_reply_conversation_request", request.json) == []
    assert [request.json["message_type"] for request in standin.requests if isinstance(request.json, dict)] == [
        "note",
        "comment",
        "comment",
    ]


def test_freshdesk_requests_follow_the_documented_fields(freshdesk: tuple[FreshdeskStandIn, HelpdeskClient]) -> None:
    standin, client = freshdesk
    note, *replies = post_both_kinds(standin, client)
    assert (note.method, note.path) == ("POST", f"/api/v2/tickets/{TICKET}/notes")
    assert list(jsonschema.Draft202012Validator(FRESHDESK_NOTE_SCHEMA).iter_errors(note.json)) == []
    assert isinstance(note.json, dict) and note.json["private"] is True
    for reply in replies:
        assert (reply.method, reply.path) == ("POST", f"/api/v2/tickets/{TICKET}/reply")
        assert list(jsonschema.Draft202012Validator(FRESHDESK_REPLY_SCHEMA).iter_errors(reply.json)) == []
    for request in (note, *replies):
        assert basic_auth(request) == (standin.api_key, "X")
        assert request.headers["content-type"] == "application/json"
        assert isinstance(request.json, dict) and request.json["body"].startswith("<p>")


# --- the stand-ins' answers against the contracts ------------------------------------------------


def test_zendesk_standin_answers_like_the_document(zendesk: tuple[ZendeskStandIn, HelpdeskClient]) -> None:
    standin, client = zendesk
    with httpx.Client(trust_env=False) as http:
        response = http.put(
            f"{standin.base_url}/api/v2/tickets/{TICKET}.json",
            json={"ticket": {"comment": {"body": "x", "public": False}}},
            auth=(f"{standin.email}/token", standin.api_token),
        )
    assert response.status_code == 200
    assert errors_of("zendesk-tickets.yaml", "TicketUpdateResponse", response.json(), request=False) == []
    assert client.external_id(response.json()) == standin.notes(TICKET)[0].id


def test_intercom_standin_answers_like_the_document(intercom: tuple[IntercomStandIn, HelpdeskClient]) -> None:
    standin, client = intercom
    with httpx.Client(trust_env=False) as http:
        reply = http.post(
            f"{standin.base_url}/conversations/{TICKET}/reply",
            json={"message_type": "note", "type": "admin", "admin_id": standin.admin_id, "body": "<p>x</p>"},
            headers={"Authorization": f"Bearer {standin.api_token}", "Intercom-Version": "2.16"},
        )
        refused = http.post(f"{standin.base_url}/conversations/{TICKET}/reply", json={})
    assert reply.status_code == 200
    assert errors_of("intercom-reply.yaml", "conversation", reply.json(), request=False) == []
    assert client.external_id(reply.json()) == str(standin.notes(TICKET)[0].id)
    assert refused.status_code == 401
    assert errors_of("intercom-reply.yaml", "error", refused.json(), request=False) == []


def test_freshdesk_standin_answers_like_the_samples(freshdesk: tuple[FreshdeskStandIn, HelpdeskClient]) -> None:
    standin, client = freshdesk
    samples = freshdesk_samples()
    with httpx.Client(trust_env=False, auth=(standin.api_key, "X")) as http:
        note = http.post(f"{standin.base_url}/api/v2/tickets/{TICKET}/notes", json={"body": "<p>x</p>"})
        reply = http.post(f"{standin.base_url}/api/v2/tickets/{TICKET}/reply", json={"body": "<p>y</p>"})
    for response, sample in ((note, "create_note_response"), (reply, "create_reply_response")):
        expected, body = samples[sample]["body"], response.json()
        assert response.status_code == 201
        assert set(body) == set(expected)
        for key, value in expected.items():
            if value is not None and body[key] is not None:
                assert type(body[key]) is type(value), key
        assert (body["private"], body["source"]) == (expected["private"], expected["source"])
    # The client reads the id from the samples as from the stand-in.
    assert client.external_id(samples["create_note_response"]["body"]) == 1


# --- the stand-ins refuse what the real services refuse ------------------------------------------


def call(standin: HelpdeskStandIn, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(trust_env=False) as http:
        return http.request(method, standin.base_url + path, **kwargs)


def test_zendesk_standin_refusals(zendesk: tuple[ZendeskStandIn, HelpdeskClient]) -> None:
    standin, _ = zendesk
    good_auth = (f"{standin.email}/token", standin.api_token)
    body = {"ticket": {"comment": {"body": "x", "public": False}}}
    path = f"/api/v2/tickets/{TICKET}.json"
    assert call(standin, "PUT", path, json=body, auth=(standin.email, standin.api_token)).status_code == 401
    assert call(standin, "PUT", path, json=body).status_code == 401
    assert call(standin, "PUT", "/api/v2/tickets/999.json", json=body, auth=good_auth).status_code == 404
    bodies: list[dict[str, Any]] = [
        {},
        {"ticket": {}},
        {"ticket": {"comment": {"public": False}}},
        {"ticket": {"comment": {"body": ""}}},
    ]
    for bad in bodies:
        response = call(standin, "PUT", path, json=bad, auth=good_auth)
        assert response.status_code == 422, bad
        assert response.json()["error"] == "RecordInvalid"
    assert call(standin, "PUT", f"/api/v2/tickets/{TICKET}", json=body, auth=good_auth).status_code == 200
    assert standin.notes(TICKET)[0].public is False


def test_zendesk_standin_defaults_to_public_like_zendesk(zendesk: tuple[ZendeskStandIn, HelpdeskClient]) -> None:
    standin, _ = zendesk
    auth = (f"{standin.email}/token", standin.api_token)
    call(standin, "PUT", f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"comment": {"body": "x"}}}, auth=auth)
    assert standin.notes(TICKET)[0].public is True


def test_intercom_standin_refusals(intercom: tuple[IntercomStandIn, HelpdeskClient]) -> None:
    standin, _ = intercom
    headers = {"Authorization": f"Bearer {standin.api_token}", "Intercom-Version": "2.16"}
    body = {"message_type": "note", "type": "admin", "admin_id": standin.admin_id, "body": "<p>x</p>"}
    path = f"/conversations/{TICKET}/reply"

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["errors"][0]["code"]

    assert code(call(standin, "POST", path, json=body, headers={**headers, "Authorization": "Bearer no"})) == (
        401,
        "unauthorized",
    )
    assert code(call(standin, "POST", "/conversations/999/reply", json=body, headers=headers)) == (404, "not_found")
    no_version = {"Authorization": headers["Authorization"]}
    assert call(standin, "POST", path, json=body, headers=no_version).status_code == 400
    assert call(standin, "POST", path, json=body, headers={**headers, "Intercom-Version": "3.0"}).status_code == 400
    without_admin = {key: value for key, value in body.items() if key != "admin_id"}
    assert code(call(standin, "POST", path, json=without_admin, headers=headers)) == (400, "parameter_not_found")
    assert call(standin, "POST", path, json={**body, "body": ""}, headers=headers).status_code == 400
    assert call(standin, "POST", path, json={**body, "message_type": "shout"}, headers=headers).status_code == 400
    assert standin.notes(TICKET) == []


def test_freshdesk_standin_refusals(freshdesk: tuple[FreshdeskStandIn, HelpdeskClient]) -> None:
    standin, _ = freshdesk
    auth = (standin.api_key, "X")
    path = f"/api/v2/tickets/{TICKET}/notes"
    assert call(standin, "POST", path, json={"body": "x"}, auth=("nope", "X")).status_code == 401
    assert call(standin, "POST", "/api/v2/tickets/999/notes", json={"body": "x"}, auth=auth).status_code == 404
    missing = call(standin, "POST", path, json={"private": True}, auth=auth)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "body"
    reply_path = f"/api/v2/tickets/{TICKET}/reply"
    unexpected = call(standin, "POST", reply_path, json={"body": "x", "private": True}, auth=auth)
    assert unexpected.status_code == 400
    assert unexpected.json()["errors"][0]["code"] == "invalid_field"
    assert call(standin, "POST", path, content=b"body=x", auth=auth).status_code == 415
    assert standin.notes(TICKET) == []


# --- the contract checks themselves catch mistakes -------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "valid"),
    [
        ({"body": "x", "public": False}, True),
        ({"body": "x", "public": "no"}, False),
        ({"body": None}, False),
        ({"body": "x", "author_id": None}, True),  # nullable
        ({"body": "x", "id": 5}, False),  # readOnly: a request must not carry it
    ],
)
def test_the_zendesk_validator_tells_good_from_bad(comment: Mapping[str, object], valid: bool) -> None:
    assert (errors_of("zendesk-tickets.yaml", "TicketUpdateRequest", {"ticket": {"comment": comment}}) == []) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"message_type": "note", "type": "admin", "body": "x"}, False),
        ({"message_type": "memo", "type": "admin", "admin_id": "1", "body": "x"}, False),
        ({"message_type": "note", "type": "admin", "admin_id": 1, "body": "x"}, False),
        ({"message_type": "comment", "type": "user", "intercom_user_id": "6762f157", "body": "Thanks"}, True),
    ],
)
def test_the_intercom_validator_tells_good_from_bad(body: Mapping[str, object], valid: bool) -> None:
    assert (errors_of("intercom-reply.yaml", "reply_conversation_request", body) == []) is valid


def test_the_documented_zendesk_request_examples_validate() -> None:
    document = openapi("zendesk-tickets.yaml")
    operation = document["paths"]["/api/v2/tickets/{ticket_id}"]["put"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    bodies = [
        document["components"]["examples"][example["$ref"].rsplit("/", 1)[1]]["value"]
        if "$ref" in example
        else example["value"]
        for example in examples.values()
    ]
    assert bodies
    for body in bodies:
        assert errors_of("zendesk-tickets.yaml", "TicketUpdateRequest", body) == []


def test_the_standin_accepts_every_version_the_document_lists() -> None:
    from bot.standins.helpdesk import INTERCOM_VERSIONS

    assert set(intercom_versions()) <= INTERCOM_VERSIONS
