"""The client of one Green Button Connect data custodian: an OAuth 2 client-credentials token, then the
Authorization feed (NAESB ESPI REST), every page of it.

Built from the ESPI resource model (Atom feeds, `GET {base}/espi/1_1/resource/Authorization`, `rel="next"`
paging) and RFC 6749 section 4.4 (client credentials: `grant_type=client_credentials`, the client id and
secret as HTTP Basic credentials, a JSON answer with `access_token`). ESPI's client access token carries
the custodian-management function blocks, hence `scope=FB=34_35`.

All or nothing: `fetch` returns the whole feed or raises `FetchFailed`, so a sync never applies half a feed
(and never takes a partial feed for a complete one, which would revoke what it had not read yet).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urljoin

import httpx

from bot.settings import CustodianSettings
from commands.sync import AUTHORIZATION_PATH, FeedError, FeedPage, parse_page

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CLIENT_SCOPE = "FB=34_35"
# A feed longer than this is a custodian whose next links go round in circles.
MAX_PAGES = 10_000


class FetchFailed(Exception):
    """The feed could not be read whole; the message says what to check (never a token or a secret)."""


@dataclass
class CustodianClient:
    utility: str
    settings: CustodianSettings
    http: httpx.Client | None = None

    def __post_init__(self) -> None:
        self._owns_http = self.http is None
        self._http = self.http or httpx.Client(timeout=TIMEOUT, trust_env=False)
        self._token: str | None = None

    def fetch(self) -> list[FeedPage]:
        """Every page of the Authorization feed, following `rel="next"` links."""
        url: str | None = self.settings.base_url + AUTHORIZATION_PATH
        pages: list[FeedPage] = []
        seen: set[str] = set()
        position = 1
        while url is not None:
            if url in seen or len(pages) >= MAX_PAGES:
                raise FetchFailed(f"{self.utility}: the feed's next links loop (page {len(pages) + 1})")
            seen.add(url)
            body = self._get(url)
            try:
                page = parse_page(body, position)
            except FeedError as exc:
                raise FetchFailed(f"{self.utility}: page {len(pages) + 1} of the feed: {exc}") from None
            pages.append(page)
            position += len(page.entries)
            url = urljoin(url, page.next_url) if page.next_url else None
        return pages

    def _get(self, url: str) -> bytes:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._new_token()
            try:
                response = self._http.get(url, headers={"Authorization": f"Bearer {self._token}",
                                                        "Accept": "application/atom+xml"})
            except httpx.HTTPError as exc:
                raise FetchFailed(f"{self.utility}: the custodian did not answer ({exc.__class__.__name__}): "
                                  f"check GREENBUTTON_{self.utility}_BASE_URL") from None
            if response.status_code == 401 and attempt == 1:
                # The token expired (custodians give them for minutes to hours): one new token, one retry.
                log.info("%s custodian refused the access token; getting a new one", self.utility)
                self._token = None
                continue
            if response.status_code == 401:
                raise FetchFailed(f"{self.utility}: the custodian refuses a new access token too: check "
                                  f"GREENBUTTON_{self.utility}_CLIENT_ID and _CLIENT_SECRET")
            if response.status_code != 200:
                raise FetchFailed(f"{self.utility}: the custodian answered HTTP {response.status_code} for the "
                                  "Authorization feed; nothing was changed, the next sync tries again")
            return response.content
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _new_token(self) -> str:
        try:
            response = self._http.post(
                self.settings.token_url,
                data={"grant_type": "client_credentials", "scope": CLIENT_SCOPE},
                auth=(self.settings.client_id, self.settings.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{self.utility}: the token endpoint did not answer ({exc.__class__.__name__}): "
                              f"check GREENBUTTON_{self.utility}_TOKEN_URL") from None
        if response.status_code in (400, 401):
            raise FetchFailed(f"{self.utility}: the token endpoint refused the client credentials (HTTP "
                              f"{response.status_code}): check GREENBUTTON_{self.utility}_CLIENT_ID and _CLIENT_SECRET")
        try:
            token = response.json()["access_token"] if response.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            raise FetchFailed(f"{self.utility}: the token endpoint answered HTTP {response.status_code} "
                              "without an access_token")
        return token

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
