"""The `reauth-bot` command line: serve, check, import, sync, db upgrade, templates check, outbox run, digest,
audit, outcomes, demo.

The only place that loads `.env`, so a developer's file never leaks into tests or library use.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, assert_never

from dotenv import load_dotenv
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot import log_safety, messages
from bot.app import build_context, make_client
from bot.audit import as_csv, as_json, as_text
from bot.context import utc_now
from bot.features.check.blocks import check_blocks, not_found_sentence
from bot.features.check.service import check_with_helpdesk
from bot.features.digest.blocks import customer_line, digest_blocks
from bot.features.digest.service import (
    DigestAlreadyPosted,
    DigestBusy,
    DigestFailed,
    DigestPosted,
    DigestPreview,
    run_digest,
)
from bot.features.escalations.service import (
    CaseAuthorizations,
    case_authorizations,
    post_now,
    tell_cases_about_import,
)
from bot.features.outcomes.blocks import report_csv as outcomes_csv
from bot.features.outcomes.blocks import report_json as outcomes_json
from bot.features.outcomes.blocks import report_lines
from bot.features.outcomes.service import read_report
from bot.features.post_steps.template_files import PACKAGED_DIR, TemplateError, load_templates
from bot.features.sync.service import Outcome, sync_all
from bot.helpdesk.configured import configured_helpdesk
from bot.settings import GREENBUTTON_UTILITIES, Settings, SettingsError
from bot.terminal_text import blocks_as_text, mrkdwn_as_text
from commands.check import (
    Ambiguous,
    CheckOutcome,
    Customer,
    Invalid,
    NotFound,
    Query,
    Report,
    parse_query,
    ticket_to_look_up,
)
from commands.digest import local_day
from commands.imports import ImportFailed
from commands.input_text import has_control_characters
from commands.policy import Utility
from commands.post_steps import StepTemplate
from models import Database, DatabaseError
from models.audit import audit_trail
from models.imports import import_files

EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AMBIGUOUS, EXIT_FAILED = 0, 2, 3, 4, 1

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as DESIGN requires
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"reauth-bot: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reauth-bot", description="Support tooling for utility data re-authorization.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    serve.add_argument("--workers", type=_worker_count, default=1, metavar="N",
                       help="HTTP mode: N processes on PORT (each a full instance; they share the database)")
    serve.set_defaults(run=_serve)

    check_cmd = sub.add_parser("check", help="the /reauth-check lookup, without Slack")
    check_cmd.add_argument("query", help="customer e-mail, customer id, or ticket id or URL")
    check_cmd.add_argument("--as-of", dest="as_of", help="judge the case at this ISO 8601 time (default: now)")
    check_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    check_cmd.set_defaults(run=_check)

    importer = sub.add_parser("import", help="upsert customers, authorizations or procedures from CSV files")
    importer.add_argument("files", nargs="+", type=Path)
    importer.set_defaults(run=_import)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(run=_db_upgrade)

    templates = sub.add_parser("templates", help="the canned-steps templates a support lead edits")
    templates_sub = templates.add_subparsers(dest="templates_command", required=True, parser_class=_Parser)
    templates_check = templates_sub.add_parser("check", help="check every template; exit 0 if all are usable, 2 if not")
    templates_check.add_argument("folder", nargs="?", type=Path,
                                 help="the folder to check (default: TEMPLATES_DIR, else the packaged templates)")
    templates_check.set_defaults(run=_templates_check)

    outbox = sub.add_parser("outbox", help="side effects waiting to be delivered (helpdesk posts, ...)")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, parser_class=_Parser)
    outbox_sub.add_parser(
        "run", help="deliver every post whose time has come, once (for cron; safe beside running instances)"
    ).set_defaults(run=_outbox_run)

    digest = sub.add_parser("digest", help="post the daily digest of stuck customers (for cron; once per day)")
    digest.add_argument("--date", help="the day, YYYY-MM-DD in DIGEST_TZ (default: today); not after today")
    digest.add_argument("--channel", help="channel ID to post in (default: DIGEST_CHANNEL)")
    digest.add_argument("--dry-run", dest="dry_run", action="store_true",
                        help="print the digest as text; claim and post nothing")
    digest.set_defaults(run=_digest)

    syncer = sub.add_parser("sync", help="read authorizations from a source into the database")
    sync_sources = syncer.add_subparsers(dest="source", required=True, metavar="SOURCE")
    greenbutton = sync_sources.add_parser(
        "greenbutton", help="read each configured utility's Green Button Connect data custodian (for cron)"
    )
    greenbutton.add_argument("--utility", choices=GREENBUTTON_UTILITIES, type=str.upper,
                             help="only this utility (default: every one configured)")
    greenbutton.set_defaults(run=_sync_greenbutton)

    audit = sub.add_parser(
        "audit", help="the audit trail: who looked up, posted, escalated, took, resolved or was refused")
    audit.add_argument("--customer", help="only this customer id")
    audit.add_argument("--agent", help="only this Slack user id (U... / W...) or cli:<login>")
    audit.add_argument("--since", help="only from this day (YYYY-MM-DD, UTC) on")
    audit_format = audit.add_mutually_exclusive_group()
    audit_format.add_argument("--json", action="store_true", help="print one JSON array")
    audit_format.add_argument("--csv", action="store_true", help="print CSV (safe to open in a spreadsheet)")
    audit.set_defaults(run=_audit)

    outcomes = sub.add_parser("outcomes", help="did the steps work? outcomes per utility and week the steps were sent")
    outcomes.add_argument("--since", help="the first week reported, YYYY-MM-DD (default: 12 weeks back)")
    outcomes.add_argument("--utility", help="only this utility (SCE, PGE, SDGE)")
    outcomes.add_argument("--as-of", dest="as_of", help="judge at this ISO 8601 time (default: now)")
    outcomes_format = outcomes.add_mutually_exclusive_group()
    outcomes_format.add_argument("--json", action="store_true", help="print one JSON object")
    outcomes_format.add_argument("--csv", action="store_true", help="print one CSV row per utility and week")
    outcomes.set_defaults(run=_outcomes)

    demo = sub.add_parser("demo", help="a tour of the bot against local stand-ins (no network, no credentials)")
    demo.add_argument("--database", help="demo database URL (default: a fresh SQLite file in var/)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    log_safety.install()  # before the first record: every line masks e-mails and escapes control characters
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        return int(args.run(args, settings))
    except (SettingsError, DatabaseError) as exc:
        print(f"reauth-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_FAILED


def open_database(settings: Settings) -> Database:
    """The configured database; a SQLite file (one deployment) is migrated on first use, PostgreSQL is not."""
    db = Database(settings.database_url)
    db.ensure_schema(migrate=db.is_sqlite)
    return db


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        db.upgrade()
    except Exception as exc:
        raise DatabaseError(f"migration failed ({exc.__class__.__name__}): check DATABASE_URL") from exc
    print("database is up to date")
    return EXIT_OK


def _check(args: argparse.Namespace, settings: Settings) -> int:
    if has_control_characters(args.query):
        return _usage(messages.CONTROL_CHARACTERS)
    now = utc_now()
    if args.as_of:
        try:
            parsed = datetime.fromisoformat(args.as_of)
        except ValueError:
            print(f"reauth-bot: --as-of {args.as_of!r} is not an ISO 8601 time such as 2026-11-02T09:00:00-08:00",
                  file=sys.stderr)
            return EXIT_USAGE
        now = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    db = open_database(settings)
    query = parse_query(args.query)
    # A ticket no procedure names is looked up in the helpdesk, as the slash command does; the helpdesk
    # settings are read only then, so a lookup by e-mail or id never depends on them.
    needs_helpdesk = isinstance(query, Query) and ticket_to_look_up(query) is not None
    helpdesk = configured_helpdesk(settings) if needs_helpdesk else None
    try:
        outcome = check_with_helpdesk(db, helpdesk, args.query, now=now, agent=_cli_agent(), source="cli")
    finally:
        if helpdesk is not None:
            helpdesk.close()
    return _print_outcome(outcome, as_json=args.json)


def _cli_agent() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"[:64]


def _print_outcome(outcome: CheckOutcome, *, as_json: bool) -> int:
    match outcome:
        case Invalid():
            print(f"reauth-bot: {messages.QUERY_PROBLEMS[outcome.problem]}", file=sys.stderr)
            return EXIT_USAGE
        case NotFound():
            if as_json:
                print(json.dumps({"error": "not_found", "query": outcome.query.value}))
            print(f"reauth-bot: no customer matches {outcome.query.value!r}", file=sys.stderr)
            if outcome.requester is not None:
                print(f"reauth-bot: {mrkdwn_as_text(not_found_sentence(outcome))}", file=sys.stderr)
            return EXIT_NOT_FOUND
        case Ambiguous():
            matches = [_customer_json(c) for c in outcome.candidates]
            if as_json:
                print(json.dumps({"error": "ambiguous", "matches": matches}))
            else:
                print(f"{len(matches)} customers match:")
                for c in outcome.candidates:
                    print(f"  {c.id}  {c.utility.value}")
            return EXIT_AMBIGUOUS
        case Report():
            if as_json:
                print(json.dumps(report_json(outcome)))
            else:
                print(blocks_as_text(check_blocks(outcome)))
            return EXIT_OK
        case _:
            assert_never(outcome)


def _customer_json(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "email": customer.email, "utility": customer.utility.value}


def report_json(report: Report) -> dict[str, Any]:
    """The `check --json` object of DESIGN.md "Interfaces": other programs rely on these keys."""
    utility = report.customer.utility
    recommendation = report.recommendation
    return {
        "customer": _customer_json(report.customer),
        "connected": report.connected,
        "authorizations": {
            "total": len(report.authorizations),
            "live": len(report.live),
            "items": [
                {
                    "id": a.id,
                    "status": a.status_at(report.now).value,
                    "granted_at": a.granted_at.isoformat() if a.granted_at else None,
                    "age_days": a.age_days(report.now),
                    "scope_complete": a.scope_complete(utility),  # null: scope unknown
                }
                for a in report.authorizations
            ],
        },
        "recommendation": {
            "action": recommendation.action.value,
            "reasons": [r.value for r in recommendation.reasons],
            "wait_until": recommendation.wait_until.isoformat() if recommendation.wait_until else None,
            "rule": recommendation.rule,  # the rules table's row: for whoever audits the rules, not agents
            "as_of": report.now.isoformat(),
        },
    }


def _import(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"reauth-bot: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    before = case_authorizations(db)
    try:
        imported = import_files(db, args.files)
    except ImportFailed as failed:
        print(str(failed), file=sys.stderr)
        return EXIT_FAILED
    for result in imported:
        print(f"{result.source}: {result.rows} {result.kind} imported")
    _tell_open_cases(settings, db, before)
    return EXIT_OK


def _tell_open_cases(settings: Settings, db: Database, before: CaseAuthorizations) -> None:
    """Authorization changes of customers with an open escalation, and customers now connected, go to the
    case threads: posted now when Slack is configured, else queued for `reauth-bot serve` to post."""

    try:
        context = build_context(settings, db=db)
        entries = tell_cases_about_import(context, before)
        if entries and settings.slack_bot_token:
            post_now(context, entries)
    except Exception as exc:  # the import itself is committed; only the threads missed it
        log.exception("telling the escalation threads about the import failed")
        print(f"reauth-bot: the import is done, but the escalation threads were not told ({exc.__class__.__name__})",
              file=sys.stderr)
        return
    if entries:
        print(f"{len(entries)} update(s) for open escalation threads")


def _sync_greenbutton(args: argparse.Namespace, settings: Settings) -> int:
    """`reauth-bot sync greenbutton [--utility U]`: exit 0 synced (or another instance was syncing), 1 a
    custodian failed (nothing of its feed was applied), 2 no such custodian configured."""
    utilities = [args.utility] if args.utility else sorted(settings.custodians)
    unconfigured = [u for u in utilities if u not in settings.custodians]
    if not utilities or unconfigured:
        which = unconfigured[0] if unconfigured else "<UTILITY>"
        return _usage(f"no Green Button custodian is configured for {which}: set GREENBUTTON_{which}_BASE_URL, "
                      "_TOKEN_URL, _CLIENT_ID and _CLIENT_SECRET")
    db = open_database(settings)
    context = build_context(settings, db=db)
    failed = False
    for report in sync_all(context, utilities):
        print(messages.sync_report(report.utility, report.outcome.value, report.new, report.changed,
                                   report.revoked, report.skipped, report.problem, report.thread_updates))
        failed = failed or report.outcome is Outcome.FAILED
    return EXIT_FAILED if failed else EXIT_OK

def _worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"--workers must be a number from 1 to 64, not {text!r}")
    return int(text)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings.require_slack()
    templates = _load_templates_or_none(settings)
    if templates is None:
        return EXIT_USAGE
    settings.require_access()
    if settings.slack_app_token:
        if args.workers != 1:
            return _usage("Socket Mode runs one instance: leave out --workers, or unset SLACK_APP_TOKEN to serve "
                          "HTTP with several processes")
        return _serve_socket_mode(settings, templates)
    # Checked here, once, before any worker starts: a bad token is one line, not N workers failing to boot.
    try:
        make_client(settings).auth_test()
    except SlackApiError as exc:
        print(f"reauth-bot: Slack refused SLACK_BOT_TOKEN: {exc.response.get('error')}", file=sys.stderr)
        return EXIT_USAGE
    open_database(settings).dispose()  # migrates a SQLite file once, before the workers start
    # Loaded only here: the other commands have no use for the process manager.
    from bot.serving import GunicornServer

    log.info("serving HTTP on %s port %s with %s process(es): POST /slack/events, GET /healthz",
             settings.bind_address, settings.port, args.workers)
    try:
        GunicornServer(settings, templates, workers=args.workers).run()
    except SystemExit as exc:  # gunicorn's arbiter exits the process itself: 0 after a clean stop
        if exc.code not in (0, None):
            log.error("the HTTP server stopped with exit code %s (see gunicorn's lines above)", exc.code)
            return EXIT_FAILED
    log.info("stopped: every process drained and exited")
    return EXIT_OK


def _serve_socket_mode(settings: Settings, templates: Mapping[str, StepTemplate]) -> int:
    # Loaded only here: HTTP mode and the other commands have no use for the WebSocket client.
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.serving import start_instance

    try:
        instance = start_instance(settings, templates)
    except BoltError as exc:  # auth.test refused SLACK_BOT_TOKEN: say so, no traceback
        print(f"reauth-bot: Slack refused SLACK_BOT_TOKEN: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # ends start() below; the drain follows

    signal.signal(signal.SIGTERM, on_sigterm)
    log.info("serving over Socket Mode")
    try:
        handler = SocketModeHandler(instance.app, settings.slack_app_token)
        handler.start()  # type: ignore[no-untyped-call]
    except SlackApiError as exc:  # apps.connections.open refused the token: say so, no traceback
        print(f"reauth-bot: Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): use the app-level "
              "token (xapp-...) with the connections:write scope", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM
        pass
    finally:
        instance.drain(settings.shutdown_grace)
        log.info("stopped: background workers and server shut down")
    return EXIT_OK


def _load_templates_or_none(settings: Settings) -> Mapping[str, StepTemplate] | None:
    """The step templates, or None after printing one line naming every problem."""

    try:
        return load_templates(settings.templates_dir)
    except TemplateError as exc:
        print(f"reauth-bot: {len(exc.problems)} problem(s) with the step templates in {exc.directory}: "
              f"{'; '.join(exc.problems)} (see `reauth-bot templates check`)", file=sys.stderr)
        return None


def _templates_check(args: argparse.Namespace, settings: Settings) -> int:
    folder = args.folder or settings.templates_dir or PACKAGED_DIR
    try:
        templates = load_templates(folder)
    except TemplateError as exc:
        print(f"{len(exc.problems)} problem(s) with the step templates in {exc.directory}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(templates)} step templates in {folder} are usable: {', '.join(sorted(templates))}")
    return EXIT_OK


def _outbox_run(args: argparse.Namespace, settings: Settings) -> int:
    templates = _load_templates_or_none(settings)
    if templates is None:
        return EXIT_USAGE
    context = build_context(settings, db=open_database(settings), templates=templates)
    # Leased rows are skipped, so this is safe while `serve` instances run their own workers.
    attempted = 0
    while True:
        batch = context.outbox.deliver_due()
        attempted += batch
        if batch < 100:
            break
    print(f"outbox: {attempted} due post(s) attempted")
    return EXIT_OK

def _digest(args: argparse.Namespace, settings: Settings) -> int:
    """`reauth-bot digest [--date D] [--channel C] [--dry-run]`: exit 0 posted or already posted,
    1 when posting failed, 2 on a usage error."""
    channel = args.channel or settings.digest_channel
    if args.channel:
        try:
            channel = Settings.from_env({"DIGEST_CHANNEL": args.channel}).digest_channel
        except SettingsError:
            return _usage(f"--channel must be a channel ID such as C0123ABCD, not {args.channel!r}")
    now = utc_now()
    today = local_day(now, settings.digest_tz)
    day = today
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            return _usage(messages.digest_bad_date(args.date))
        if day > today:
            return _usage(messages.digest_future_date(args.date, today.isoformat()))
    if channel is None and not args.dry_run:
        return _usage(messages.DIGEST_NO_CHANNEL)
    if not args.dry_run and not settings.slack_bot_token:
        return _usage("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) into .env")
    context = build_context(settings, db=open_database(settings))
    outcome = run_digest(context, day, channel or "", dry_run=args.dry_run)
    where = channel or "(no channel)"
    match outcome:
        case DigestPreview():
            print(blocks_as_text(digest_blocks(outcome.digest)))
            if outcome.digest.longest:  # what the thread's list starts with
                print(f"\n{messages.DIGEST_LONGEST_TITLE}")
                print("\n".join(mrkdwn_as_text(customer_line(c, outcome.digest.as_of)) for c in outcome.digest.longest))
            print(f"\n(dry run: {outcome.digest.total:,} customers in the full list; nothing was claimed or posted)")
            return EXIT_OK
        case DigestPosted():
            print(messages.digest_posted(day.isoformat(), where, outcome.ts, outcome.recovered))
            return EXIT_OK
        case DigestAlreadyPosted():
            print(messages.digest_already_posted(day.isoformat(), where, outcome.run.ts))
            return EXIT_OK
        case DigestBusy():
            print(messages.digest_busy(day.isoformat(), where))
            return EXIT_OK
        case DigestFailed():
            print(f"reauth-bot: {messages.digest_failed(day.isoformat(), where, outcome.reason)}", file=sys.stderr)
            return EXIT_FAILED
        case _:
            assert_never(outcome)


def _outcomes(args: argparse.Namespace, settings: Settings) -> int:
    """`reauth-bot outcomes [--since D] [--utility U] [--json | --csv]`: exit 0, or 2 on a usage error."""
    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since)
        except ValueError:
            return _usage(messages.outcomes_bad_date(args.since))
    utility = None
    if args.utility:
        try:
            utility = Utility(args.utility.upper())
        except ValueError:
            return _usage(messages.outcomes_bad_utility(args.utility, ", ".join(u.value for u in Utility)))
    as_of = utc_now()
    if args.as_of:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            return _usage(f"--as-of {args.as_of!r} is not an ISO 8601 time such as 2026-11-30T09:00:00-08:00")
        as_of = (as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)).astimezone(UTC)
    db = open_database(settings)
    with db.reading() as session:
        report = read_report(session, as_of, settings.digest_tz, since=since, utility=utility)
    if args.json:
        print(json.dumps(outcomes_json(report), indent=2))
    elif args.csv:
        sys.stdout.write(outcomes_csv(report.weeks))
    else:
        print("\n".join(report_lines(report)))
    return EXIT_OK


def _usage(text: str) -> int:
    print(f"reauth-bot: {text}", file=sys.stderr)
    return EXIT_USAGE


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    since = None
    if args.since:
        try:
            since = datetime.combine(date.fromisoformat(args.since), datetime.min.time(), tzinfo=UTC)
        except ValueError:
            return _usage(f"--since must be a day such as 2026-11-01, not {args.since!r}")
    db = open_database(settings)
    with db.reading() as session:
        entries = audit_trail(session, customer_id=args.customer, agent=args.agent, since=since)
    print(as_json(entries) if args.json else as_csv(entries) if args.csv else as_text(entries),
          end="" if args.csv else "\n")
    return EXIT_OK


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    # Loaded only here: the tour and its stand-ins are for `make demo`, not for the bot's own commands.
    from bot.demo.tour import run_tour

    return int(run_tour(database_url=args.database))


if __name__ == "__main__":
    sys.exit(main())
