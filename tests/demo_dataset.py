"""The bundled demo customers (one per row of the rules table), loaded as `reauth-bot import` loads them."""

from __future__ import annotations

from bot.demo.stage import DATASET
from models import Database
from models.imports import import_files


def load_demo_dataset(db: Database) -> None:
    import_files(db, sorted(DATASET.glob("*.csv")))
