"""Control characters and oversized ids are recognised before any text reaches the database."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bot.request_guard import MAX_BODY, request_guard
from commands.input_text import control_character_fields, has_control_characters, record_id


@pytest.mark.parametrize(("text", "multiline", "refused"), [
    ("ana@example.com", False, False), ("C-1004\x00", False, True), ("a\x1bb", True, True), ("a\u0085b", True, True),
    ("two\nlines\tand tab", True, False), ("two\nlines", False, True), ("\u200b\u202e", False, False),
])
def test_control_characters(text: str, multiline: bool, refused: bool) -> None:
    assert has_control_characters(text, multiline=multiline) is refused


def test_control_character_fields_name_where_they_are() -> None:
    payload = {"view": {"state": {"values": {"note": {"value": {"value": "ok\nfine"}},
                                             "customer": {"value": {"value": "C-1\x00"}}}}}, "n": [1, "x\x07"]}
    assert list(control_character_fields(payload)) == ["view.state.values.customer.value.value", "n.1"]


@pytest.mark.parametrize(("value", "found"), [
    ("1", 1), ("123456789012345678", 123456789012345678), ("99999999999999999999", None), ("9" * 5000, None),
    ("", None), ("-1", None), ("١٢", None), ("1.0", None),
])
def test_record_ids_stay_within_a_bigint(value: str, found: int | None) -> None:
    assert record_id(value) == found


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body() -> None:
    class Untouchable(io.BytesIO):
        def read(self, *args: Any) -> bytes:
            raise AssertionError("the body was read")

    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise AssertionError("the app was called")

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "CONTENT_LENGTH": str(MAX_BODY + 1),
               "wsgi.input": Untouchable(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": "1764500000"}
    body = request_guard(app)(environ, lambda status, headers: seen.append(status))
    assert seen == ["413 Payload Too Large"] and b"body_too_large" in b"".join(body)


def test_reauth_bot_check_refuses_a_nul_before_the_database(capsys: pytest.CaptureFixture[str]) -> None:
    from bot import messages
    from bot.cli import main

    assert main(["check", "ana.flores@example.com\x00"]) == 2  # DATABASE_URL is not even opened
    assert messages.CONTROL_CHARACTERS in capsys.readouterr().err
