"""Load: several `reauth-bot serve` processes on one PostgreSQL, at rising rates, until answer p99 passes 500 ms.

    python -m bench.load [--customers 1000000] [--processes 1,2,3] [--rates 100,200,300,400]
                         [--duration 60] [--clients 40] [--clicks 0.1] [--keep-rising]
                         [--database-url postgresql://...]

One PostgreSQL database is generated with `--customers` customers (bench.populations, dropped afterwards).
For each process count, that many `serve` processes (real subprocesses, HTTP under gunicorn, one worker
each, ports side by side as behind a load balancer) run against it, the Slack and Zendesk stand-ins in this
process. Then, for each rate, `--clients` client threads send signed requests round robin over the processes
for `--duration` seconds, each client at its share of the rate: `/reauth-check` for a random customer by id
or e-mail, and a `--clicks` share of "Post steps" clicks (each on a customer checked in a warm-up before
the step, outside its window, so that every step holds its share and each click posts one note to the
Zendesk stand-in). Rates stop rising once answer p99 passes 500 ms (with
`--keep-rising`, once the processes no longer keep up: sustained under 90% of the rate). `--database-url`
runs against a database already populated by an earlier run (`--customers` must match; it is not dropped).

- sustained: answers received per second of the sending window (what the processes kept up with; a client
  that falls behind its schedule sends at once, and stops when the window ends);
- ack: send to HTTP response, at the client; answer: send to the stand-in's receipt of the response_url post;
- peak RSS: each serve process's high-water mark (VmHWM of the gunicorn worker, the process serving);
- load generator: the CPU seconds this process used per second of the run (it shares the machine's cores).
  Requests are signed and framed before each window (the timestamps stay well inside Slack's five minutes)
  and sent on kept-alive connections, one per client and process, as a load balancer forwards them: what
  the generator spends per request is CPU the bot does not get;
- CPU ms per answer: the CPU time each component spent during the step, divided by the answers: the serve
  processes (gunicorn masters and workers, exited workers included), this database's PostgreSQL backends
  (read from /proc, so only for a server on this machine), the server's auxiliary processes (WAL writer,
  checkpointer, ...: shared with any other database on that server), the client threads, and the stand-ins
  (the rest of this process). CPU time, unlike latency, is barely changed by other load on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.outcomes import calibration
from bench.populations import DEFAULT_SEED, customer_email, customer_id, postgres_population
from bench.reauth_check import TimedSlackStandIn
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.standins.helpdesk import ZendeskStandIn
from bot.standins.slack_requests import SignedRequest, SlackRequests

SECRET = "bench-load-signing-secret"
P99_LIMIT = 0.5
ANSWER_TIMEOUT = 30.0
TICKETS = [str(700000 + n) for n in range(2000)]


@dataclass
class Step:
    processes: int
    rate: int
    duration: float
    sent: int = 0
    clicks: int = 0  # "Post steps" clicks among the requests prepared for the window
    failed: int = 0  # no HTTP answer, or a 5xx
    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    unanswered: int = 0
    generator_cpu: float = 0.0  # CPU seconds per second
    rss_mb: list[float] = field(default_factory=list)
    wall: float = 0.0  # from the first send to the last client's stop (a late answer still counts)
    cpu: dict[str, float] = field(default_factory=dict)  # component -> CPU seconds during the step
    connections_opened: int = 0  # PostgreSQL backends of the database that started during the step

    @property
    def sustained(self) -> float:
        return len(self.answers) / self.wall if self.wall else 0.0


def say(line: str = "") -> None:
    print(line, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.port = free_port()
        self.log = (folder / f"serve-{self.port}.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env={**env, "PORT": str(self.port)},
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"serve exited at start-up (see {self.log.name})")
                with contextlib.suppress(httpx.TransportError):
                    if http.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"serve did not answer /healthz in {timeout} s")

    def peak_rss_mb(self) -> float:
        """The serving worker's high-water RSS (the master only forks and watches)."""
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            pids += [int(child) for child in children]
        peaks = []
        for pid in pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        return max(peaks, default=0.0)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


@contextlib.contextmanager
def cluster(count: int, env: dict[str, str], folder: Path) -> Iterator[list[ServeProcess]]:
    processes = [ServeProcess(env, folder) for _ in range(count)]
    try:
        for process in processes:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


CPU_COMPONENTS = ("serve", "postgres backends", "postgres auxiliary", "clients", "stand-ins")
_TICKS = os.sysconf("SC_CLK_TCK")
_SAMPLE_SECONDS = 0.2


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU seconds, reaped children's CPU seconds) of a process, None once gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(b")") + 2:].split()  # from field 3 (state) on: the name may hold spaces
    ppid, utime, stime, cutime, cstime = int(fields[1]), *(int(f) for f in fields[11:15])
    return ppid, (utime + stime) / _TICKS, (cutime + cstime) / _TICKS


def _cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds per component during one step, sampled from /proc every 0.2 s.

    A serve process counts its workers, the live ones and (through the master's reaped-children time) those
    that exited. PostgreSQL backends are the postmaster's children whose title names the database: each one's
    last sample counts, so a backend that lived less than a sample apart is missed (`connections_opened`
    says how many started)."""

    def __init__(self, serve_pids: Sequence[int], database_url: str) -> None:
        self.serve_pids = list(serve_pids)
        self.database = make_url(database_url).database or ""
        self.postmaster = _postmaster(database_url)
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._backends_at_start: set[int] = set()
        self._kinds: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)

    def _sample(self) -> dict[tuple[str, int], float]:
        seen: dict[tuple[str, int], float] = {}
        for master in self.serve_pids:
            found = _stat(master)
            if found is not None:
                seen[("serve", master)] = found[1] + found[2]
            for worker in _children(master):
                stat = _stat(worker)
                if stat is not None:
                    seen[("serve", worker)] = stat[1]
        if self.postmaster is not None:
            for child in _children(self.postmaster):
                kind = self._kinds.get(child) or self._kind(child)
                if kind is None:
                    continue
                stat = _stat(child)
                if stat is not None and kind != "other database":
                    seen[(kind, child)] = stat[1]
        return seen

    def _kind(self, child: int) -> str | None:
        """What a PostgreSQL child is, read once: a backend serves one database all its life (the meter
        samples five times a second, and reading every title each time was a share of the generator's CPU)."""
        title = _cmdline(child)
        if title is None:
            return None
        # A backend's title: "postgres: [cluster: ]user database host(port) state".
        words = title.split()
        kind = "postgres backends" if self.database in words else "postgres auxiliary"
        if kind == "postgres auxiliary" and len(words) > 3 and "(" in title:
            kind = "other database"  # another helper's work, not this load's
        if "(" in title:  # a backend past its start-up (before, its title is still the postmaster's)
            self._kinds[child] = kind
        return kind

    def _run(self) -> None:
        while not self._stop.wait(_SAMPLE_SECONDS):
            self._last.update(self._sample())

    def start(self) -> None:
        self._first = self._sample()
        self._last = dict(self._first)
        self._backends_at_start = {pid for kind, pid in self._first if kind == "postgres backends"}
        self._thread.start()

    def stop(self) -> tuple[dict[str, float], int]:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        totals = dict.fromkeys(CPU_COMPONENTS[:3], 0.0)
        for key, seconds in self._last.items():
            totals[key[0]] += seconds - self._first.get(key, 0.0)
        if self.postmaster is None:
            totals["postgres backends"] = totals["postgres auxiliary"] = float("nan")
        opened = {pid for kind, pid in self._last if kind == "postgres backends"} - self._backends_at_start
        return totals, len(opened)


def _postmaster(database_url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine and /proc shows it."""
    url = make_url(database_url).set(drivername="postgresql")
    try:
        with psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=5) as connection:
            row = connection.execute("SELECT pg_backend_pid()").fetchone()
            # Read while the backend lives: once the connection closes, its /proc entry may already be gone
            # (that race showed as "nan" for PostgreSQL in some steps).
            stat = _stat(int(row[0])) if row else None
    except psycopg.Error:
        return None
    return stat[0] if stat is not None else None


class Load:
    """Sends signed requests round robin over the processes; times acks here and answers at the stand-in."""

    def __init__(self, processes: list[ServeProcess], slack: TimedSlackStandIn, customers: int, seed: int,
                 database_url: str) -> None:
        self.processes = processes
        self.database_url = database_url
        self.slack = slack
        self.customers = customers
        self.requests = SlackRequests(SECRET)
        self.rng = random.Random(seed)
        self.click_values: list[str] = []
        self._lock = threading.Lock()
        # A fresh start each run: on a reused database (--database-url) an earlier run's clicks already posted
        # steps for its customers, and clicking those again only asks for confirmation.
        self._warm_start = random.SystemRandom().randrange(customers)
        self._warmed = 0

    def _query(self) -> str:
        with self._lock:
            n = self.rng.randrange(self.customers)
            by_email = self.rng.random() < 0.5
        return customer_email(self.customers, n) if by_email else customer_id(self.customers, n)

    def warm_up(self, buttons: int, threads: int = 8) -> int:
        """Check customers with a ticket each until `buttons` "Post steps" buttons are in hand (what the clicks
        press); returns the checks sent. Before each step, outside its window: every step gets its share of
        clicks, not only the first."""
        lock = threading.Lock()

        def checker() -> None:
            connections: dict[int, KeptConnection] = {}
            while True:
                with lock:
                    if len(self.click_values) >= buttons or self._warmed >= self.customers:
                        break
                    index, self._warmed = self._warmed, self._warmed + 1
                key = f"warm-{uuid.uuid4().hex[:12]}"
                customer = customer_id(self.customers, (self._warm_start + index * 97) % self.customers)
                text = f"{customer} {TICKETS[index % len(TICKETS)]}"
                request = self.requests.slash_command("/reauth-check", text, response_url=self.slack.response_url(key))
                process = self.processes[index % len(self.processes)]
                connection = connections.setdefault(process.port, KeptConnection(process.port))
                if connection.exchange(frame(process.port, request)) != 200:
                    continue
                self.slack.arrival(key, ANSWER_TIMEOUT)
                found = [str(element["value"]) for answer in self.slack.responses(key)
                         for block in answer.get("blocks") or [] for element in block.get("elements") or []
                         if isinstance(element, dict) and element.get("action_id") == POST_NOTE_ACTION]
                with lock:
                    self.click_values.extend(found)
            for connection in connections.values():
                connection.close()

        before = self._warmed
        workers = [threading.Thread(target=checker, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return self._warmed - before

    def prepare(self, step: Step, clients: int, click_share: float) -> list[list[Prepared]]:
        """Every request of the step, signed and framed before the window opens, one list per client.

        Signing, the form encoding and the HTTP framing are the generator's work, not the bot's: done here,
        they stay out of the measured window (a minute later the timestamps are still well inside Slack's
        five minutes). Requests go round robin over the processes, as the load balancer would send them.
        """
        per_client = int(step.duration * step.rate / clients) + 1
        prepared: list[list[Prepared]] = [[] for _ in range(clients)]
        for sequence in range(per_client * clients):
            key = f"load-{uuid.uuid4().hex[:12]}"
            url = self.slack.response_url(key)
            click = self.click_values and self.rng.random() < click_share
            if click:
                step.clicks += 1
                request = self.requests.block_actions(action_id=POST_NOTE_ACTION, value=self.click_values.pop(),
                                                      response_url=url)
            else:
                request = self.requests.slash_command("/reauth-check", self._query(), response_url=url)
            process = self.processes[sequence % len(self.processes)]
            prepared[sequence % clients].append(Prepared(process.port, key, frame(process.port, request)))
        return prepared

    def run(self, step: Step, clients: int, click_share: float) -> None:
        interval = clients / step.rate  # each client's share of the rate
        prepared = self.prepare(step, clients, click_share)
        stop_at = time.perf_counter() + step.duration
        sent: list[tuple[str, float]] = []
        lock = threading.Lock()

        client_cpu: list[float] = []

        def client(index: int) -> None:
            next_at = time.perf_counter() + interval * index / clients
            connections: dict[int, KeptConnection] = {}
            acks: list[float] = []
            answered: list[tuple[str, float]] = []
            failed = 0
            for request in prepared[index]:
                now = time.perf_counter()
                if max(now, next_at) >= stop_at:  # a client behind its schedule stops on time all the same
                    break
                if next_at > now:
                    time.sleep(next_at - now)
                next_at += interval
                connection = connections.get(request.port)
                if connection is None:
                    connection = connections[request.port] = KeptConnection(request.port)
                started = time.perf_counter()
                status = connection.exchange(request.frame)
                acked = time.perf_counter()
                if status is not None and status < 500:
                    acks.append(acked - started)
                    answered.append((request.key, started))
                else:
                    failed += 1
            for connection in connections.values():
                connection.close()
            with lock:
                step.sent += len(acks) + failed
                step.failed += failed
                step.acks.extend(acks)
                sent.extend(answered)
                client_cpu.append(time.thread_time())

        meter = CpuMeter([process.process.pid for process in self.processes], self.database_url)
        meter.start()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        step.wall = wall
        for key, began in sent:
            try:
                arrived = self.slack.arrival(key, ANSWER_TIMEOUT)
            except TimeoutError:
                step.unanswered += 1
                continue
            step.answers.append(arrived - began)
        generator = _cpu_seconds() - cpu_before
        step.cpu, step.connections_opened = meter.stop()
        step.cpu["clients"] = sum(client_cpu)
        step.cpu["stand-ins"] = generator - sum(client_cpu)  # the rest of this process: the stand-ins' threads
        step.generator_cpu = generator / wall
        step.rss_mb = [process.peak_rss_mb() for process in self.processes]


@dataclass(frozen=True)
class Prepared:
    """One request of a step, ready to write: the process it goes to, its response_url key, its bytes."""

    port: int
    key: str
    frame: bytes


def frame(port: int, request: SignedRequest) -> bytes:
    """The whole HTTP/1.1 request as bytes, kept alive: what a load balancer would forward."""
    head = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(request.body)}"]
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body


class KeptConnection:
    """A kept-alive HTTP/1.1 connection to one serve process, reading just the status and the body's length.

    A general client (httpx, http.client) parses every header into objects for each request: on the shared
    cores that is CPU the bot does not get. The bot's acks are small, with a Content-Length, never chunked.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, request: bytes) -> int | None:
        """Send one request and read its response; the status, or None when no HTTP answer came."""
        for attempt in range(2):
            reused = self.sock is not None
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_TIMEOUT)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock.sendall(request)
                status = self._response()
            except TimeoutError:  # the request may be in the works: sending it again could double a click
                self.close()
                return None
            except OSError:
                status = None
            if status is not None:
                return status
            self.close()
            # A kept connection the server had closed (its keep-alive ran out) answers nothing: once more.
            if not (reused and attempt == 0):
                return None
        return None

    def _response(self) -> int | None:
        assert self.sock is not None
        data = self.buffer
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head = data[:end].decode("latin-1")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
        data = data[end + 4:]
        while len(data) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        self.buffer = data[length:]
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def p(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(steps: list[Step]) -> list[str]:
    lines = [
        "| processes | target/s | sent | clicks | sustained answers/s | failed | unanswered | ack p50 | ack p99 "
        "| answer p50 | answer p99 | peak RSS per process | load generator CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for step in steps:
        lines.append(
            f"| {step.processes} | {step.rate} | {step.sent} | {step.clicks} | {step.sustained:.0f} | {step.failed} "
            f"| {step.unanswered} "
            f"| {ms(statistics.median(step.acks) if step.acks else float('nan'))} | {ms(p(step.acks, 0.99))} "
            f"| {ms(statistics.median(step.answers) if step.answers else float('nan'))} | {ms(p(step.answers, 0.99))} "
            f"| {', '.join(f'{rss:.0f} MB' for rss in step.rss_mb)} | {step.generator_cpu:.2f} cores |"
        )
    return lines


def cpu_report(steps: list[Step]) -> list[str]:
    """CPU milliseconds per answer, by component: what each answer costs, whatever else the machine runs."""
    lines = [
        "| processes | target/s | answers | " + " | ".join(CPU_COMPONENTS) + " | bot total | PG connections opened |",
        "|---:|---:|---:|" + "---:|" * (len(CPU_COMPONENTS) + 2),
    ]
    for step in steps:
        answers = max(1, len(step.answers))
        per = {name: step.cpu.get(name, float("nan")) * 1000 / answers for name in CPU_COMPONENTS}
        bot = per["serve"] + per["postgres backends"]
        lines.append(f"| {step.processes} | {step.rate} | {len(step.answers)} | "
                     + " | ".join(f"{per[name]:.1f}" for name in CPU_COMPONENTS)
                     + f" | {bot:.1f} | {step.connections_opened} |")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--processes", default="1,2,3", help="process counts to measure, comma-separated")
    parser.add_argument("--rates", default="100,200,300,400", help="requests per second, rising, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    parser.add_argument("--clients", type=int, default=40, help="concurrent client threads")
    parser.add_argument("--clicks", type=float, default=0.1, help="share of requests that are Post steps clicks")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--keep-rising", action="store_true",
                        help="past p99 500 ms, keep rising while the processes keep up (to find the throughput knee)")
    parser.add_argument("--database-url", help="an already populated database (not generated, not dropped)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def population(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url:
        say(f"  using the populated database given ({args.customers:,} customers)")
        yield args.database_url
        return
    with postgres_population(args.customers, args.seed, say=say) as db:
        yield db.engine.url.render_as_string(hide_password=False)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    process_counts = [int(n) for n in args.processes.split(",")]
    rates = [int(n) for n in args.rates.split(",")]
    say(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start, "
        f"Python {platform.python_version()}, calibration loop {calibration():.2f} s (about 0.5 s on an idle core)")
    steps: list[Step] = []
    folder = Path("var/bench/load")
    folder.mkdir(parents=True, exist_ok=True)
    with (population(args) as database_url, TimedSlackStandIn() as slack,
          ZendeskStandIn(tickets=TICKETS) as zendesk):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "DATABASE_URL", "HELPDESK", "ALLOWED_", "ALLOW_ALL_USERS"))}
        # ALLOW_ALL_USERS: the load's agents are whoever the generator names; the allow-list is not what is measured.
        env |= {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": database_url, "HELPDESK": "zendesk", "ALLOW_ALL_USERS": "1",
                "HELPDESK_URL": zendesk.base_url, "HELPDESK_EMAIL": zendesk.email,
                "HELPDESK_API_TOKEN": zendesk.api_token, "LOG_LEVEL": "WARNING"}
        for count in process_counts:
            with cluster(count, env, folder) as processes:
                load = Load(processes, slack, args.customers, args.seed + count, database_url)
                say(f"{count} process(es):")
                for rate in rates:
                    step = Step(count, rate, args.duration)
                    buttons = int(rate * args.duration * args.clicks * 1.1) + 5  # the share, with a margin
                    if args.clicks > 0 and len(load.click_values) < buttons:
                        checks = load.warm_up(buttons)
                        say(f"  warm-up: {checks} checks with a ticket, {len(load.click_values)} Post steps buttons")
                    say(f"  {rate}/s for {args.duration:.0f} s, load average {os.getloadavg()[0]:.1f}...")
                    load.run(step, args.clients, args.clicks)
                    steps.append(step)
                    say(report([step])[-1])
                    say(cpu_report([step])[-1])
                    if step.sustained < 0.9 * rate:
                        say("  the processes no longer keep up: stopping the rise")
                        break
                    if p(step.answers, 0.99) > P99_LIMIT and not args.keep_rising:
                        say("  answer p99 passed 500 ms: stopping the rise")
                        break
    say()
    for line in report(steps):
        say(line)
    say("\nCPU ms per answer (bot total = serve + its PostgreSQL backends):\n")
    for line in cpu_report(steps):
        say(line)
    say(f"\nload average at the end: {os.getloadavg()[0]:.1f}, calibration loop {calibration():.2f} s; "
        "notes posted to the Zendesk stand-in: "
        f"{sum(len(zendesk.notes(t)) for t in TICKETS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
