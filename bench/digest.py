"""The daily digest at scale: one digest's time beside the raw SQL count that is its floor, and peak memory.

    python -m bench.digest --customers 1000000 --database sqlite|postgres [--repeat 5]

The population comes from `bot.demo.population` through `bench.populations`: a cached SQLite file (copied
for the run), or a PostgreSQL database created, loaded with COPY, vacuumed and analyzed, then dropped.
The measuring runs in a child process, so its peak memory (`ru_maxrss`) is the digest's own, not the
generator's. Each figure is the median of `--repeat` runs after one warm-up (minimum in brackets):

- floor: `SELECT count(*)` of the not-connected customers with a pending or active authorization, with the
  digest's own predicates: the one scan of customers a digest cannot avoid;
- digest: what the channel message needs (counts per category, the 10 longest stuck, escalations,
  the changes and the trend from earlier digests, the newly stuck since yesterday's digest, posted first);
- digest + full list: the same with every stuck customer streamed into the CSV, as `run_digest` builds it;
- posted: `run_digest` end to end against the Slack stand-in (claim, lease, post, CSV upload, done);
- home counts: the App Home's live counts.

Target: at 1,000,000 customers, on SQLite and on PostgreSQL, the digest with its full list <= 2 s and peak
memory < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from bench.populations import BENCH_NOW, DEFAULT_SEED, postgres_population, sqlite_population
from bot.app import build_context
from bot.features.digest.blocks import ListWriter
from bot.features.digest.service import DigestPosted, build_digest, run_digest
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from commands.digest import local_day
from models import Database
from models.customers import CustomerRow
from models.digest.queries import count_stuck, not_connected

TARGET_SECONDS = 2.0
TARGET_PEAK_MB = 300
CHANNEL = "C0BENCH"


def timed(run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Seconds of each run after one warm-up, and the last run's result."""
    result = run()
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return times, result


def measure(url: str, slack_url: str, slack_token: str, repeat: int) -> dict[str, Any]:
    """Every measurement on an existing population; runs in the child process, the Slack stand-in in the
    parent (it keeps every upload in memory, which is Slack's memory, not the bot's)."""
    db = Database(url)
    settings = Settings(digest_channel=CHANNEL)
    day = local_day(BENCH_NOW, settings.digest_tz)
    dialect = db.engine.dialect.name
    results: dict[str, Any] = {"database": dialect}

    def floor() -> int:
        with db.transaction() as session:
            statement = select(func.count()).where(CustomerRow.live_authorizations > 0, not_connected(BENCH_NOW))
            return int(session.execute(statement).scalar_one())

    def digest() -> Any:
        with db.transaction() as session:
            return build_digest(session, day, CHANNEL, BENCH_NOW)

    def digest_and_list() -> int:
        listing = ListWriter()
        with db.transaction() as session:
            build_digest(session, day, CHANNEL, BENCH_NOW, listing=listing)
        return len(listing.csv_bytes())

    def home() -> int:
        with db.transaction() as session:
            return sum(count_stuck(session, BENCH_NOW).values())

    results["floor"], results["floor_rows"] = timed(floor, repeat)
    # Yesterday's digest in the channel, so today's compares with it (changes, newly stuck) as every day.
    yesterday = build_context(
        Settings(slack_bot_token=slack_token, slack_api_url=slack_url, digest_channel=CHANNEL),
        db=db, clock=lambda: BENCH_NOW - timedelta(days=1),
    )
    started = time.perf_counter()
    assert isinstance(run_digest(yesterday, day - timedelta(days=1), CHANNEL), DigestPosted)
    results["yesterday_posted"] = time.perf_counter() - started
    if dialect == "postgresql":
        # Yesterday's snapshot is a day old when today's digest reads it, and autovacuum has long since
        # visited it; just written, autovacuum would visit it while the digest is being timed.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE digest_stuck"))
    results["digest"], built = timed(digest, repeat)
    newly = built.act_today.newly_stuck
    results["newly_stuck"] = None if newly is None else newly.total
    results["stuck"] = built.total
    results["counts"] = {r.value: n for r, n in built.counts.by_reason.items()}
    results["digest_and_list"], results["csv_bytes"] = timed(digest_and_list, repeat)
    results["home_counts"], _ = timed(home, repeat)
    context = build_context(
        Settings(slack_bot_token=slack_token, slack_api_url=slack_url, digest_channel=CHANNEL),
        db=db, clock=lambda: BENCH_NOW,
    )
    channels = iter(range(1000))

    def posted() -> str:
        # Today's digest in a new channel each time, so each run claims and posts.
        outcome = run_digest(context, day, f"{CHANNEL}{next(channels)}")
        assert isinstance(outcome, DigestPosted) and outcome.csv, outcome
        return outcome.ts

    results["posted"], _ = timed(posted, repeat)
    # Python's own allocations, traced apart from the timings (tracing slows allocation several times).
    tracemalloc.start()
    posted()
    results["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose()
    return results


def report(results: dict[str, Any], customers: int, say: Callable[[str], None] = print) -> bool:
    def line(name: str, key: str) -> None:
        runs = results[key]
        say(f"  {name:<34} {statistics.median(runs):7.3f} s  (min {min(runs):.3f})")

    say(f"  {customers:,} customers, {results['database']}: {results['stuck']:,} stuck; "
        f"the floor counts {results['floor_rows']:,} not-connected customers with a live authorization; "
        f"newly stuck since yesterday's digest: {results.get('newly_stuck')}")
    line("floor (raw SQL count)", "floor")
    line("digest (message: counts, top 10)", "digest")
    line("digest + full list (CSV)", "digest_and_list")
    line("posted end to end (stand-in)", "posted")
    line("App Home counts", "home_counts")
    say(f"  peak memory: {results['peak_rss_mb']:.0f} MB RSS (the measuring process); Python heap peak "
        f"of one posted run {results['python_peak_mb']:.0f} MB; CSV {results['csv_bytes'] / 2**20:.1f} MB")
    digest_ok = bool(statistics.median(results["digest_and_list"]) <= TARGET_SECONDS)
    memory_ok = bool(results["peak_rss_mb"] < TARGET_PEAK_MB)
    say(f"  target: digest with its full list <= {TARGET_SECONDS} s: {'met' if digest_ok else 'MISSED'}; "
        f"peak < {TARGET_PEAK_MB} MB: {'met' if memory_ok else 'MISSED'}")
    return digest_ok and memory_ok


def _child(url: str, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    with SlackStandIn() as slack:
        done = subprocess.run(
            [sys.executable, "-m", "bench.digest", "--measure", url, "--slack", slack.api_url, "--token", slack.token,
             "--repeat", str(repeat)],
            capture_output=True, text=True, env=env,
        )
    if done.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process: a database URL
    parser.add_argument("--slack", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.slack, args.token, args.repeat)))
        return 0
    print(f"daily digest benchmark: {args.customers:,} customers on {args.database}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    if args.database == "sqlite":
        with sqlite_population(args.customers, args.seed) as db:
            url = db.url.render_as_string(hide_password=False)
            db.dispose()
            results = _child(url, args.repeat)
    else:
        with postgres_population(args.customers, args.seed) as db:
            url = db.url.render_as_string(hide_password=False)
            results = _child(url, args.repeat)
    met = report(results, args.customers)
    print(json.dumps(results))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
