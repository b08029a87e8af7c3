"""Generated populations for the benchmarks: cached SQLite files, throwaway PostgreSQL databases.

Generating a million customers takes minutes, so a SQLite population is built once into
`var/bench/` under a name that holds everything its contents depend on (count, seed, schema heads,
generator), and every run works on a fresh copy of it: the lookups a run records never reach the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.demo import population
from models import Database
from models.db import MIGRATIONS

# The moment the population is generated for and the app is asked at: answers are deterministic.
BENCH_NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
DEFAULT_SEED = 20261129
CACHE_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

Say = Callable[[str], None]


def customer_id(count: int, n: int, prefix: str = "G") -> str:
    """The id `population.households(count)` gives its n-th customer."""
    return f"{prefix}-{n:0{_width(count)}d}"


def customer_email(count: int, n: int) -> str:
    """The e-mail `population.households(count)` gives its n-th customer."""
    return f"customer{n:0{_width(count)}d}@example.net"


def _width(count: int) -> int:
    return max(7, len(str(count)))


def schema_heads() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return "+".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def _generator_digest() -> str:
    # A change to what is generated (not to how it is inserted) must not reuse an old cache.
    source = inspect.getsource(population.households) + BENCH_NOW.isoformat()
    return hashlib.sha256(source.encode()).hexdigest()[:8]


def cache_key(count: int, seed: int) -> str:
    return f"population-{count}-seed{seed}-schema{schema_heads()}-gen{_generator_digest()}"


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".migrate.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def cached_sqlite(count: int, seed: int = DEFAULT_SEED, *, say: Say = print, directory: Path = CACHE_DIR) -> Path:
    """The cached SQLite population file for (count, seed, schema), built first when missing."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{cache_key(count, seed)}.db"
    with open(f"{path}.lock", "w") as lock:
        # Two runs at once build it once: the second waits, then finds the file.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        building = path.with_name(f"{path.stem}.building-{os.getpid()}.db")
        _remove_sqlite(building)
        say(f"  generating {count:,} customers into {path} (cached for later runs)...")
        started = time.perf_counter()
        db = Database(f"sqlite:///{building}")
        try:
            db.upgrade()
            population.insert_population(db, count, now=BENCH_NOW, seed=seed)
        finally:
            db.dispose()
        # Fold the WAL into the file, so the single file is the whole database. No ANALYZE: the product
        # never runs it on SQLite, so the benchmark must not plan with statistics production lacks.
        with contextlib.closing(sqlite3.connect(building)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(building, path)
        _remove_sqlite(building)
        for stale in directory.glob(f"population-{count}-seed{seed}-*.db"):
            # An older schema or generator: a million customers take most of a gigabyte.
            if stale != path and ".building-" not in stale.name:
                stale.unlink(missing_ok=True)
                Path(f"{stale}.lock").unlink(missing_ok=True)
        say(f"  generated in {time.perf_counter() - started:.0f} s")
        return path


@contextlib.contextmanager
def sqlite_population(count: int, seed: int = DEFAULT_SEED, *, say: Say = print) -> Iterator[Database]:
    """A fresh copy of the cached population, deleted afterwards."""
    cached = cached_sqlite(count, seed, say=say)
    work = cached.with_name(f"run-{os.getpid()}-{count}.db")
    _remove_sqlite(work)
    shutil.copyfile(cached, work)
    db = Database(f"sqlite:///{work}")
    try:
        yield db
    finally:
        db.dispose()
        _remove_sqlite(work)


@contextlib.contextmanager
def postgres_population(
    count: int, seed: int = DEFAULT_SEED, *, say: Say = print, admin_url: str = PG_ADMIN_URL
) -> Iterator[Database]:
    """A PostgreSQL database created for this run, migrated and populated, dropped afterwards."""
    name = f"reauth_bench_{count}_{uuid.uuid4().hex[:8]}"
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        db = Database(url)
        try:
            db.upgrade()
            say(f"  generating {count:,} customers into PostgreSQL database {name} (dropped afterwards)...")
            started = time.perf_counter()
            population.insert_population(db, count, now=BENCH_NOW, seed=seed)
            with psycopg.connect(url, autocommit=True) as connection:
                # Measure the steady state, not the minutes after a bulk load: without this, the first
                # reads set hint bits and autovacuum and the checkpoint write the whole load back out
                # while the commands are timed (p99 over 100 ms at a million customers).
                connection.execute("VACUUM ANALYZE")
                connection.execute("CHECKPOINT")
            say(f"  generated in {time.perf_counter() - started:.0f} s")
            yield db
        finally:
            db.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
