"""The `reauth-bot` command line: serve, check, import, db upgrade, templates check, outbox run, digest, outcomes, demo.

The only place that loads `.env`, so a developer's file never leaks into tests or library use.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, assert_never

from dotenv import load_dotenv
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.app import build_context, create_app
from bot.context import utc_now
from bot.features.check.blocks import check_blocks
from bot.features.digest.blocks import digest_blocks
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
from bot.server import http_server, stop_server
from bot.settings import Settings, SettingsError
from bot.terminal_text import blocks_as_text
from bot.workers import start_workers
from commands.check import Ambiguous, CheckOutcome, Customer, Invalid, NotFound, Report, check
from commands.digest import local_day
from commands.imports import ImportFailed
from commands.policy import Utility
from commands.post_steps import StepTemplate
from models import Database, DatabaseError
from models.check import SqlCaseRecords
from models.imports import Imported, import_files

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

    with db.transaction() as session:
        outcome = check(SqlCaseRecords(session), args.query, now=now, agent=_cli_agent(), source="cli")
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
                    "scope_complete": not a.missing_function_blocks(utility),
                }
                for a in report.authorizations
            ],
        },
        "recommendation": {
            "action": recommendation.action.value,
            "reasons": [r.value for r in recommendation.reasons],
            "wait_until": recommendation.wait_until.isoformat() if recommendation.wait_until else None,
        },
    }


def _import(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"reauth-bot: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    before = case_authorizations(db)
    for result in import_files(db, args.files):
        match result:
            case ImportFailed():
                failed += 1
                print(str(result), file=sys.stderr)
            case Imported():
                print(f"{result.source}: {result.rows} {result.kind} imported")
            case _:
                assert_never(result)
    _tell_open_cases(settings, db, before)
    return EXIT_FAILED if failed else EXIT_OK


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


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings.require_slack()
    templates = _load_templates_or_none(settings)
    if templates is None:
        return EXIT_USAGE
    context = build_context(settings, db=open_database(settings), templates=templates)

    try:
        app = create_app(settings, context=context)
    except BoltError as exc:  # auth.test refused SLACK_BOT_TOKEN: say so, no traceback
        print(f"reauth-bot: Slack refused SLACK_BOT_TOKEN: {exc}", file=sys.stderr)
        return EXIT_USAGE
    workers = start_workers(context)
    try:
        if settings.slack_app_token:
            # Loaded only here: HTTP mode and the other commands have no use for the WebSocket client.
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("serving over Socket Mode")
            try:
                SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
            except SlackApiError as exc:  # apps.connections.open refused the token: say so, no traceback
                print(f"reauth-bot: Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): use the app-level "
                      "token (xapp-...) with the connections:write scope", file=sys.stderr)
                return EXIT_USAGE
        else:
            server = http_server(app, context.db, port=settings.port)
            log.info("serving HTTP on port %s: POST /slack/events, GET /healthz", settings.port)
            try:
                server.run()
            finally:
                stop_server(server)
    except KeyboardInterrupt:  # waitress handles Ctrl-C itself; Socket Mode raises it
        pass
    finally:
        for worker in workers:
            worker.stop()
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    # Loaded only here: the tour and its stand-ins are for `make demo`, not for the bot's own commands.
    from bot.demo.tour import run_tour

    return int(run_tour(database_url=args.database))


if __name__ == "__main__":
    sys.exit(main())
