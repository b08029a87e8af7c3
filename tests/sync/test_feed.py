"""Reading real Authorization feeds: the samples in ../shared/specs/greenbutton/ (copied to
tests/contracts/greenbutton/), with their deviations from the schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commands.rules import AuthorizationStatus
from commands.sync import FeedEntry, FeedError, MalformedEntry, authorization_id, map_entries, parse_page

SAMPLES = Path(__file__).parent.parent / "contracts" / "greenbutton"


def entries(name: str) -> list[FeedEntry]:
    page = parse_page((SAMPLES / name).read_bytes())
    assert all(isinstance(e, FeedEntry) for e in page.entries)
    return [e for e in page.entries if isinstance(e, FeedEntry)]


def test_pge_entry_with_ns_prefixes_and_milliseconds() -> None:
    [entry] = entries("PGEAuthorization.xml")
    assert entry.status is AuthorizationStatus.ACTIVE
    # start 1440585200000 is milliseconds; the duration (251963658000000 ms, ~7,985 years) runs past 9999.
    assert entry.granted_at == datetime(2015, 8, 26, 10, 33, 20, tzinfo=UTC)
    assert entry.authorized_end is None
    assert entry.updated_at == datetime(2015, 10, 21, 16, 21, 21, 17000, tzinfo=UTC)
    assert entry.resource_uri == "https://api.pge.com/GreenButtonConnect/espi/1_1/resource/Subscription/0"
    assert entry.scope is not None and entry.scope.startswith("FB=1_3_4_5_8_13")


def test_gba_feed_of_two_entries_in_seconds() -> None:
    first, second = entries("GBA-Multiple-Authorization-Feed-Anonymized.xml")
    start = datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert (first.granted_at, first.authorized_end) == (start, start + timedelta(seconds=31536000))
    assert first.authorization_uri.endswith("/Authorization/test-auth-id-1")
    assert (first.scope, second.scope) == ("FB=1_3_4_5", "FB=1_3_4_5_13_15")


def test_sandbox_entry_with_unknown_start_and_double_slash() -> None:
    [entry] = entries("ESPIAuthorization.xml")
    assert (entry.granted_at, entry.authorized_end) == (None, None)  # start 0: not known
    assert entry.scope == "FB=36_40"


def test_retail_customer_uri_maps_with_or_without_batch() -> None:
    [entry] = entries("GBA-Authorization-Entry-Anonymized.xml")
    mapping = {"https://test-api.example.com/customer/espi/1_1/resource/RetailCustomer/test-customer-id": "C-1"}
    mapped = map_entries("PGE", [entry], mapping)
    [row] = mapped.rows
    assert (row.customer_id, row.authorization_id, row.status) == ("C-1", "GB-PGE-test-auth-id",
                                                                   AuthorizationStatus.ACTIVE)
    assert map_entries("PGE", [entry], {}).unmapped == 1


def test_a_malformed_entry_is_reported_by_position_and_the_rest_read() -> None:
    body = (SAMPLES / "GBA-Multiple-Authorization-Feed-Anonymized.xml").read_bytes()
    body = body.replace(b"<espi:status>1</espi:status>", b"<espi:status>7</espi:status>", 1)
    page = parse_page(body, first_position=11)
    bad, good = page.entries
    assert bad == MalformedEntry(11, "status 7 is not 0 (revoked), 1 (active) or 2 (denied)")
    assert isinstance(good, FeedEntry) and good.position == 12


@pytest.mark.parametrize("body", [
    b"<html>maintenance</html>",
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom"/>',
], ids=["not atom", "not xml", "entities"])
def test_what_is_not_a_feed_fails_the_fetch(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_page(body)


def test_a_long_authorization_uri_gets_a_stable_short_id() -> None:
    uri = "https://x.example/espi/1_1/resource/Authorization/" + "z" * 80
    assert authorization_id("SCE", uri) == authorization_id("SCE", uri)
    assert len(authorization_id("SCE", uri)) <= 64
    assert authorization_id("SCE", "https://x.example/Authorization/4") == "GB-SCE-4"
