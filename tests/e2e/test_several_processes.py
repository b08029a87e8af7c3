"""Several `serve` processes on one PostgreSQL, as behind a load balancer: every request answered, every side
effect once, and a process stopped with SIGTERM mid-load loses nothing and leaves no lease behind.

One of the three runs `--workers 2` (two processes on one port), so four instances share the database.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.context import utc_now
from bot.features.escalations.blocks import ESCALATE_ACTION
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.standins.helpdesk import ZendeskStandIn
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SignedRequest, SlackRequests
from models import Database
from models.outbox import OutboxStatus
from tests.e2e.processes import Serve, outbox_rows, wait_until
from tests.e2e.serving import serve_env
from tests.post_steps.conftest import TICKET, add_customer, button, credentials_for

pytestmark = pytest.mark.postgres

SECRET = "several-processes-signing-secret"
CHANNEL = "C0ESCALATE"
GRACE = 10


class Cluster:
    """The processes, and a client that spreads requests over them as a load balancer does."""

    def __init__(self, processes: list[Serve], slack: SlackStandIn) -> None:
        self.processes = processes
        self.slack = slack
        self.requests = SlackRequests(SECRET)
        self._turn = itertools.count()
        self.stopped: set[int] = set()
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def send(self, build: Callable[[], SignedRequest]) -> httpx.Response:
        """Round robin; a process that refuses the connection (stopped) is skipped, as a balancer does."""
        request = build()
        for _ in range(len(self.processes) * 2):
            index = next(self._turn) % len(self.processes)
            if index in self.stopped:
                continue
            try:
                with httpx.Client(trust_env=False, timeout=30) as http:
                    response = http.post(f"{self.processes[index].base_url}/slack/events", content=request.body,
                                         headers=request.headers)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                continue  # not accepted there: nothing was acked, so nothing is lost by sending it elsewhere
            with self._lock:
                self.statuses.append(response.status_code)
            return response
        raise AssertionError("no process accepted the request")

    def command(self, text: str, key: str) -> httpx.Response:
        return self.send(lambda: self.requests.slash_command("/reauth-check", text,
                                                             response_url=self.slack.response_url(key)))


def run_all(count: int, clients: int, task: Callable[[int], object]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(task, range(count)))


def test_several_processes_answer_everything_post_once_and_drain_on_sigterm(
    postgres_db: Database, postgres_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    now = utc_now()
    customers = [f"C-80{n:02d}" for n in range(20)]
    for customer in customers:
        add_customer(postgres_db, customer, now=now)
    with ZendeskStandIn(tickets=[TICKET]) as zendesk, ExitStack() as stack:
        env = serve_env(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=slack.api_url, DATABASE_URL=postgres_url, ESCALATION_CHANNEL=CHANNEL,
                        HELPDESK="zendesk", HELPDESK_URL=zendesk.base_url, SHUTDOWN_GRACE=str(GRACE),
                        ALLOWED_USERS=",".join(["U0AGENT", *(f"U0AGENT{n}" for n in range(5))]),  # five agents race
                        **credentials_for(zendesk))
        processes = [Serve(env, tmp_path, ("--workers", "2")), Serve(env, tmp_path), Serve(env, tmp_path)]
        for process in processes:
            stack.callback(process.stop_quietly)
        run_all(3, 3, lambda i: processes[i].start())
        cluster = Cluster(processes, slack)

        # 200 signed commands from 20 concurrent clients: every one acked and answered, no 5xx.
        keys = [f"cmd-{n}" for n in range(200)]
        run_all(200, 20, lambda n: cluster.command(f"{customers[n % 20]} {TICKET}", keys[n]))
        assert cluster.statuses == [200] * 200
        for key in keys:
            [answer] = slack.wait_for_responses(key, 1, timeout=60)
            assert "C-80" in answer["text"]

        # 50 concurrent "Post steps" clicks on one answer, spread over the processes: one note.
        answer = slack.responses(keys[0])[0]
        value = button(answer, POST_NOTE_ACTION)["value"]
        run_all(50, 50, lambda n: cluster.send(lambda: cluster.requests.block_actions(
            action_id=POST_NOTE_ACTION, value=value, user_id=f"U0AGENT{n % 5}",
            response_url=slack.response_url(f"click-{n}"))))
        for n in range(50):
            slack.wait_for_responses(f"click-{n}", 1, timeout=60)
        assert len(zendesk.notes(TICKET)) == 1 and len(zendesk.posts()) == 1

        # 50 concurrent Escalate submissions for one customer (5 agents, 10 each): one parent, one thread.
        opened = len(slack.calls_to("views.open"))
        check_answer = slack.responses(keys[1])[0]
        cluster.send(lambda: cluster.requests.block_actions(action_id=ESCALATE_ACTION, message=check_answer,
                                                            response_url=slack.response_url("escalate")))
        view = slack.wait_for("views.open", opened + 1, timeout=30)[opened].args["view"]
        values = {block["block_id"]: {"value": {"type": "plain_text_input",
                                                "value": block["element"].get("initial_value")}}
                  for block in view["blocks"]
                  if block["type"] == "input" and block["element"]["type"] == "plain_text_input"}
        values |= {block["block_id"]: {"value": {"type": "checkboxes", "selected_options": []}}
                   for block in view["blocks"]
                   if block["type"] == "input" and block["element"]["type"] == "checkboxes"}  # no ticket note
        values["customer"]["value"]["value"] = customers[1]  # Escalate sits in the overflow menu of this answer
        values["reason"]["value"]["value"] = "Re-authorized after our steps, still no data"
        submitted = run_all(50, 50, lambda n: cluster.send(lambda: cluster.requests.view_submission(
            view={**view, "id": f"V0RACE{n}"}, state_values=values, user_id=f"U0AGENT{n % 5}")))
        refused = [(r.status_code, r.text) for r in submitted if r.status_code != 200 or "errors" in r.text]
        assert refused == []
        parents = wait_until(lambda: [m for m in slack.messages(CHANNEL) if m["thread_ts"] is None],
                             lambda found: len(found) >= 1, "the escalation parent")
        wait_until(lambda: [r for r in outbox_rows(postgres_db) if r.status == OutboxStatus.PENDING], lambda p: not p,
                   "every escalation post to be delivered", timeout=60)
        [parent] = [m for m in slack.messages(CHANNEL) if m["thread_ts"] is None]
        assert parents[0]["ts"] == parent["ts"]
        replies = [m for m in slack.messages(CHANNEL) if m["thread_ts"] == parent["ts"]]
        assert len({m["text"] for m in replies}) == len(replies)  # nothing posted twice in the thread
        assert 4 <= len(replies) <= 5  # each agent but the opener once, and the follow-up notice if the case has one

        # SIGTERM to one process while 20 clients send 60 commands: every accepted one is answered.
        stop_keys = [f"term-{uuid.uuid4().hex[:8]}" for _ in range(60)]
        accepted = threading.Semaphore(0)
        exit_code: list[int] = []

        def terminate_third() -> None:
            for _ in range(20):  # mid-load: once 20 commands went through
                accepted.acquire()
            cluster.stopped.add(2)
            exit_code.append(processes[2].terminate(timeout=GRACE + 5))

        stopper = threading.Thread(target=terminate_third)
        stopper.start()

        def command(n: int) -> None:
            response = cluster.command(f"{customers[n % 20]}", stop_keys[n])
            assert response.status_code == 200
            accepted.release()

        run_all(60, 20, command)
        stopper.join(timeout=GRACE + 10)
        assert exit_code == [0], processes[2].output()
        assert "drained:" in processes[2].output()
        for key in stop_keys:
            slack.wait_for_responses(key, 1, timeout=60)
        assert all(status < 500 for status in cluster.statuses)
        # Nothing is left leased: the stopped process gave back what it held, the others finished theirs.
        leased = wait_until(lambda: [r.id for r in outbox_rows(postgres_db) if r.leased_until is not None],
                            lambda rows: not rows, "no outbox row to be leased")
        assert leased == []
