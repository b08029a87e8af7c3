"""The sync against a stand-in data custodian on 127.0.0.1, on both databases: the demo customers, and the
company's subscription mapping imported as `reauth-bot import` imports it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from bot.app import build_context
from bot.context import BotContext
from bot.features.sync.custodian import CustodianClient
from bot.features.sync.service import SyncReport, sync_utility
from bot.settings import CustodianSettings, Settings
from bot.standins.greenbutton import CustodianAuthorization, CustodianStandIn
from models import Database
from models.imports import import_files
from tests.clock import Clock
from tests.demo_dataset import load_demo_dataset

# Chen Wu (C-1003, SCE) has only a revoked authorization: CONNECT until the custodian lists a new one.
SUBSCRIPTIONS = {"sub-1003": "C-1003", "sub-1004": "C-1004", "sub-1007": "C-1007", "sub-1008": "C-1008"}


def custodian_settings(custodian: CustodianStandIn) -> CustodianSettings:
    return CustodianSettings(custodian.custodian_url, custodian.token_url, custodian.state.client_id,
                             custodian.state.client_secret)


def import_mapping(db: Database, directory: Path, subscriptions: dict[str, str] = SUBSCRIPTIONS) -> None:
    path = directory / "subscriptions.csv"
    path.write_text("resource_uri,customer_id\n" + "".join(
        f"{CustodianStandIn.subscription_uri(s)},{c}\n" for s, c in subscriptions.items()))
    import_files(db, [path])


@dataclass
class Syncing:
    db: Database
    custodian: CustodianStandIn
    context: BotContext
    clock: Clock

    def sync(self, *, due_check: bool = False, client: CustodianClient | None = None) -> SyncReport:
        factory = (lambda utility: client) if client is not None else None
        return sync_utility(self.context, "SCE", due_check=due_check, client=factory)

    def authorize(self, authorization_id: str, subscription: str, *, start: datetime, **fields: object) -> None:
        self.custodian.authorize(CustodianAuthorization(authorization_id, subscription, start=int(start.timestamp()),
                                                        **fields))  # type: ignore[arg-type]


def running(db: Database, clock: Clock, tmp_path: Path, style: str) -> Iterator[Syncing]:
    load_demo_dataset(db)
    import_mapping(db, tmp_path)
    with CustodianStandIn(style=style) as custodian:
        settings = Settings(custodians={"SCE": custodian_settings(custodian)})
        yield Syncing(db, custodian, build_context(settings, db=db, clock=clock), clock)


@pytest.fixture
def syncing(db: Database, clock: Clock, tmp_path: Path) -> Iterator[Syncing]:
    yield from running(db, clock, tmp_path, "espi")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client
