"""`reauth-bot import` at scale: a first import, an unchanged re-import and the plain floor, in one run.

    python -m bench.imports [--authorizations 1000000] [--database sqlite|postgres]

Generates (once, cached in `var/bench/imports-N/`) a customers file (one customer per three authorizations)
and an authorizations file of N rows, then, each in a child process so `ru_maxrss` is its own peak memory:

- floor: a plain `csv.reader` + `executemany` of the authorizations into a keyed SQLite table (no checks,
  no upsert, no summary): the least any importer of this file pays;
- first import: `reauth-bot import customers.csv authorizations.csv` into a fresh, migrated database;
- re-import: the same command again, nothing changed;
- re-import, 1% changed: the same customers and an authorizations file with every 100th row's status changed
  (the daily export a cron job imports);
- bad row near the end: the same files with one bad row 10 rows before the end: nothing written.

Each step reports its wall time and its CPU time (user + system, from `wait4`), and a fixed pure-Python loop
is timed before and after (`calibration`, about 0.5 s on an idle core): on a shared machine CPU time and
the calibration say what the wall time cannot.

Targets (issue 11): first import <= 30 s and <= 10x the floor; re-import <= 1/3 of the first import;
peak RSS < 200 MB whatever the size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.populations import CACHE_DIR

SCOPES = ("FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;HistoryLength=34128000;",
          "FB=1_3_4_5 IntervalDuration=3600", "FB=1_3;IntervalDuration=900;", "")
STATUSES = ("active", "active", "pending", "revoked", "revoked", "expired", "denied")
NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def generate(directory: Path, authorizations: int, seed: int = 20261130) -> tuple[Path, Path]:
    customers_path, authorizations_path = directory / "customers.csv", directory / "authorizations.csv"
    if authorizations_path.exists():
        return customers_path, authorizations_path
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    customers = max(1, authorizations // 3)
    with customers_path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(("customer_id", "email", "name", "utility", "enrollment_status", "last_data_at"))
        for n in range(customers):
            seen = NOW - timedelta(hours=rng.randrange(24 * 60)) if rng.random() < 0.8 else None
            out.writerow((f"C{n:07d}", f"customer{n}@example.com", f"Customer {n}", rng.choice(("SCE", "PGE", "SDGE")),
                          rng.choice(("verified", "pending", "")), seen.isoformat() if seen else ""))
    with authorizations_path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(("authorization_id", "customer_id", "status", "granted_at", "scope", "authorized_end",
                      "revoked_at"))
        for n in range(authorizations):
            granted = NOW - timedelta(minutes=rng.randrange(60 * 24 * 400))
            status = rng.choice(STATUSES)
            out.writerow((f"A{n:08d}", f"C{n % customers:07d}", status, granted.isoformat(), rng.choice(SCOPES),
                          (granted + timedelta(days=365)).isoformat() if rng.random() < 0.3 else "",
                          (granted + timedelta(days=30)).isoformat() if status == "revoked" else ""))
    return customers_path, authorizations_path


def with_bad_row(directory: Path, authorizations_path: Path) -> Path:
    """The same file with the status of the 10th row from the end made bad. Streamed, like everything the
    parent does: a child's ru_maxrss counts the pages it shares with its parent right after fork."""
    bad = directory / "authorizations-bad.csv"
    if bad.exists():
        return bad
    with authorizations_path.open("rb") as source:
        total = sum(1 for _ in source)
    with authorizations_path.open("rb") as source, bad.open("wb") as target:
        for number, line in enumerate(source, start=1):
            if number == total - 9:
                fields = line.split(b",")
                fields[2] = b"suspended"
                line = b",".join(fields)
            target.write(line)
    return bad


def with_changes(directory: Path, authorizations_path: Path, every: int = 100) -> Path:
    """The same file with the status of every `every`-th row changed (active and pending swapped, any other
    made active), streamed."""
    changed = directory / f"authorizations-changed-{every}.csv"
    if changed.exists():
        return changed
    swap = {b"active": b"pending", b"pending": b"active"}
    with authorizations_path.open("rb") as source, changed.open("wb") as target:
        for number, line in enumerate(source):
            if number and number % every == 0:
                fields = line.split(b",")
                fields[2] = swap.get(fields[2], b"active")
                line = b",".join(fields)
            target.write(line)
    return changed


def calibration() -> float:
    """Seconds for a fixed pure-Python loop: how much CPU this machine gives a process right now."""
    started = time.perf_counter()
    total = 0
    for n in range(10_000_000):
        total += n
    return round(time.perf_counter() - started, 2)


_CPU: dict[str, float] = {}


def _child(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run in a child process; (seconds, its own peak RSS in MB, exit code). Its CPU seconds are kept in
    `_CPU` under its arguments."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], env={**os.environ, **(env or {})},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    _CPU[" ".join(args)] = usage.ru_utime + usage.ru_stime
    code_ = os.waitstatus_to_exitcode(status)
    child.returncode = code_
    if code_ not in (0, 1):
        print(errors.decode(errors="replace")[-3000:], file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, code_


FLOOR = """
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("CREATE TABLE a (id TEXT PRIMARY KEY, customer_id TEXT, status TEXT, granted_at TEXT, scope TEXT, "
           "authorized_end TEXT, revoked_at TEXT)")
with open(sys.argv[1], newline="") as f:
    rows = csv.reader(f)
    next(rows)
    db.executemany("INSERT INTO a VALUES (?,?,?,?,?,?,?)", rows)
db.commit()
"""
IMPORT = "import sys; from bot.cli import main; sys.exit(main(['import', *sys.argv[1:]]))"
UPGRADE = "import sys; from bot.cli import main; sys.exit(main(['db', 'upgrade']))"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorizations", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    directory = CACHE_DIR / f"imports-{args.authorizations}"
    customers, authorizations = generate(directory, args.authorizations)
    bad = with_bad_row(directory, authorizations)
    changed = with_changes(directory, authorizations)
    results: dict[str, object] = {"authorizations": args.authorizations, "database": args.database,
                                  "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                             f"load {os.getloadavg()[0]:.1f}",
                                  "calibration_before_s": calibration()}
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as scratch:
        floor_s, _, _ = _child(FLOOR, str(authorizations), str(Path(scratch) / "floor.db"))
        results["floor_s"] = round(floor_s, 2)
        if args.database == "sqlite":
            url, drop = f"sqlite:///{scratch}/bench.db", None
        else:
            url, drop = _postgres_database()
        try:
            env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
            _child(UPGRADE, env=env)
            bad_s, bad_mb, bad_code = _child(IMPORT, str(customers), str(bad), env=env)
            first_s, first_mb, first_code = _child(IMPORT, str(customers), str(authorizations), env=env)
            first_cpu = _CPU[f"{customers} {authorizations}"]
            again_s, again_mb, again_code = _child(IMPORT, str(customers), str(authorizations), env=env)
            again_cpu = _CPU[f"{customers} {authorizations}"]
            changed_s, changed_mb, changed_code = _child(IMPORT, str(customers), str(changed), env=env)
        finally:
            if drop:
                drop()
    codes = (bad_code, first_code, again_code, changed_code)
    assert codes == (1, 0, 0, 0), codes
    results.update({
        "bad_row_near_end_s": round(bad_s, 2), "first_import_s": round(first_s, 2),
        "reimport_unchanged_s": round(again_s, 2), "reimport_1pct_changed_s": round(changed_s, 2),
        "cpu_s": {"floor": round(_CPU[f"{authorizations} {Path(scratch) / 'floor.db'}"], 2),
                  "bad_row": round(_CPU[f"{customers} {bad}"], 2), "first": round(first_cpu, 2),
                  "reimport": round(again_cpu, 2), "reimport_1pct_changed": round(_CPU[f"{customers} {changed}"], 2)},
        "first_vs_floor": round(first_s / floor_s, 1),
        "reimport_vs_first": round(again_s / first_s, 2),
        "reimport_vs_first_cpu": round(again_cpu / first_cpu, 2),
        "peak_rss_mb": {"bad_row": round(bad_mb), "first": round(first_mb), "reimport": round(again_mb),
                        "reimport_1pct_changed": round(changed_mb)},
        "calibration_after_s": calibration(),
    })
    print(json.dumps(results, indent=2))


def _postgres_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"bench_imports_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return url, drop


if __name__ == "__main__":
    main()
