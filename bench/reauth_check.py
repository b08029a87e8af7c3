"""`/reauth-check` over HTTP: time to ack and time to the answer, beside a bare Bolt app that only acks.

    python -m bench.reauth_check [--sizes 1000,1000000] [--requests 300] [--database sqlite|postgres]

For each population size, the real app (`create_app`) and a bare Bolt app whose `/reauth-check` only
acks are served the same way (waitress on 127.0.0.1, `bot.demo.harness.LocalBot`) against one Slack
stand-in. Each signed command names a random existing customer, by id or by e-mail; the two apps get
the same commands, and all servers take turns one command at a time, sequentially, after a warm-up.
The ack is timed at the client (HTTP response received); the answer at the stand-in (the moment its
response-URL post arrives).
Targets: the real app's median answer within 2x the bare app's median ack; the largest population's
median answer within 1.2x the smallest's. Results and the command go in bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from slack_bolt import Ack, App

from bench.populations import (
    BENCH_NOW,
    DEFAULT_SEED,
    customer_email,
    customer_id,
    postgres_population,
    sqlite_population,
)
from bot.app import make_client
from bot.demo.harness import LocalBot
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn, _Reply
from models import Database

ANSWER_TARGET = 2.0  # real app's median answer / bare app's median ack
SCALE_TARGET = 1.2  # largest population's median answer / smallest's
ANSWER_TIMEOUT = 10.0


class TimedSlackStandIn(SlackStandIn):
    """The stand-in, noting when each response-URL post arrives: the answer is timed there, not by polling."""

    def __init__(self) -> None:
        super().__init__()
        self._arrivals: dict[str, float] = {}
        self._arrived = threading.Condition()

    def _response_post(self, key: str, headers: dict[str, str], body: bytes) -> _Reply:
        received = time.perf_counter()  # the whole request has been read: this is when the answer arrived
        reply = super()._response_post(key, headers, body)
        if reply.status == 200:
            with self._arrived:
                self._arrivals.setdefault(key, received)
                self._arrived.notify_all()
        return reply

    def arrival(self, key: str, timeout: float = ANSWER_TIMEOUT) -> float:
        """The `perf_counter()` moment the first accepted post to response URL `key` arrived."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: key in self._arrivals, timeout):
                raise TimeoutError(f"no answer on response URL {key!r} within {timeout} s")
            return self._arrivals.pop(key)


def bare_app(settings: Settings, db: Database, clock: Callable[[], datetime]) -> App:
    """A Bolt app with the real app's client and signing, whose `/reauth-check` only acks."""
    app = App(
        client=make_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        logger=logging.getLogger("bench.bare"),
    )

    @app.command("/reauth-check")
    def only_ack(ack: Ack) -> None:
        ack()

    return app


@dataclasses.dataclass
class Timings:
    acks: list[float] = dataclasses.field(default_factory=list)
    answers: list[float] = dataclasses.field(default_factory=list)


def queries(size: int, count: int, seed: int) -> list[str]:
    """`count` existing customers of a `size` population, half by id and half by e-mail, deterministically."""
    rng = random.Random(seed * 1_000_003 + size)
    picked = []
    for _ in range(count):
        n = rng.randrange(size)
        picked.append(customer_id(size, n) if rng.random() < 0.5 else customer_email(size, n))
    return picked


def _send(bot: LocalBot, text: str) -> tuple[str, float, float]:
    """Send one signed command; return its response key, the moment it was sent and its ack time."""
    key = f"bench-{uuid.uuid4().hex[:12]}"
    request = bot.requests.slash_command("/reauth-check", text, response_url=bot.slack.response_url(key))
    started = time.perf_counter()
    response = bot.send(request)
    acked = time.perf_counter()
    if response.status_code != 200 or response.text.strip():
        raise RuntimeError(f"{text!r}: expected an empty 200 ack, got {response.status_code} {response.text[:200]!r}")
    return key, started, acked - started


def _check_answer(slack: SlackStandIn, key: str, text: str) -> None:
    answer = slack.responses(key)[0]
    if not answer.get("blocks") or answer.get("text") == "No customer matches.":
        raise RuntimeError(f"{text!r}: expected a customer's case, got {str(answer.get('text'))[:200]!r}")


Results = dict[int, dict[str, Timings]]


def measure(populations: dict[int, Database], *, requests: int, warmup: int, seed: int) -> Results:
    """Time the bare apps' acks and the real apps' acks and answers, one server pair per population.

    Every round sends one command to each server, the same command to both apps of a population, so a
    change in the machine's load (it is shared) weighs on every app and every size alike.
    """
    timings = {size: {"bare": Timings(), "real": Timings()} for size in populations}
    with contextlib.ExitStack() as stack:
        slack = stack.enter_context(TimedSlackStandIn())
        servers = {
            size: (
                stack.enter_context(LocalBot(db, clock=lambda: BENCH_NOW, slack=slack, app_factory=bare_app)),
                stack.enter_context(LocalBot(db, clock=lambda: BENCH_NOW, slack=slack)),
            )
            for size, db in populations.items()
        }
        commands = {size: queries(size, warmup + requests, seed) for size in populations}
        sizes = list(populations)
        for index in range(warmup + requests):
            for size in sizes[index % len(sizes):] + sizes[: index % len(sizes)]:
                bare, real = servers[size]
                text = commands[size][index]
                _, _, bare_ack = _send(bare, text)
                key, started, real_ack = _send(real, text)
                answered = slack.arrival(key) - started
                _check_answer(slack, key, text)
                if index >= warmup:
                    timings[size]["bare"].acks.append(bare_ack)
                    timings[size]["real"].acks.append(real_ack)
                    timings[size]["real"].answers.append(answered)
    return timings


@contextlib.contextmanager
def population(database: str, size: int, seed: int) -> Iterator[Database]:
    if database == "postgres":
        with postgres_population(size, seed, say=say) as db:
            yield db
    else:
        with sqlite_population(size, seed, say=say) as db:
            yield db


def say(line: str = "") -> None:
    print(line, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    """Nearest rank: the smallest value at or above 99% of the samples."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(results: Results) -> list[str]:
    """The results as Markdown: a table of medians and p99s, then the ratios against their targets."""
    lines = [
        "| customers | app | ack median | ack p99 | answer median | answer p99 |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size, timings in results.items():
        bare, real = timings["bare"], timings["real"]
        lines.append(f"| {size:,} | bare Bolt app (ack only) | {ms(median(bare.acks))} | {ms(p99(bare.acks))} | | |")
        lines.append(
            f"| {size:,} | reauth-bot | {ms(median(real.acks))} | {ms(p99(real.acks))} "
            f"| {ms(median(real.answers))} | {ms(p99(real.answers))} |"
        )
    lines += ["", "| ratio | value | target | met |", "|---|---:|---:|---|"]
    for size, timings in results.items():
        ratio = median(timings["real"].answers) / median(timings["bare"].acks)
        lines.append(
            f"| {size:,}: answer median / bare ack median | {ratio:.2f} | <= {ANSWER_TARGET} "
            f"| {'yes' if ratio <= ANSWER_TARGET else 'NO'} |"
        )
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        ratio = median(results[large]["real"].answers) / median(results[small]["real"].answers)
        lines.append(
            f"| answer median {large:,} / {small:,} | {ratio:.2f} | <= {SCALE_TARGET} "
            f"| {'yes' if ratio <= SCALE_TARGET else 'NO'} |"
        )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reauth_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,1000000", help="population sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=300, help="timed commands per size (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed commands first (default 30)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be whole numbers separated by commas, not {args.sizes!r}")
    if any(size < 1 for size in args.sizes) or args.requests < 1 or args.warmup < 0:
        parser.error("--sizes and --requests must be positive, --warmup not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # slack_sdk ignores NO_PROXY: a proxy setting would send the answers to 127.0.0.1 through it.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    say(f"/reauth-check benchmark: {args.database}, {args.requests} timed commands per size after {args.warmup} "
        f"warm-up, seed {args.seed}")
    say(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    with contextlib.ExitStack() as stack:
        populations: dict[int, Database] = {}
        for size in args.sizes:
            say(f"{size:,} customers:")
            populations[size] = stack.enter_context(population(args.database, size, args.seed))
        started = time.perf_counter()
        results = measure(populations, requests=args.requests, warmup=args.warmup, seed=args.seed)
        say(f"measured in {time.perf_counter() - started:.0f} s")
    say()
    for line in report(results):
        say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
