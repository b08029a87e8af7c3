"""The recommendation rules of DESIGN.md: first match wins, reasons are stable codes.

This module is the only owner of the rules table. `/reauth-check`, the digest and the follow-up
clocks all call `recommend()`, so they cannot disagree about a customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from commands.policy import REPEAT_LIMIT, REPEAT_WINDOW, Utility, policy_for
from commands.scope import parse_scope


class AuthorizationStatus(StrEnum):
    """Green Button wire codes 0/1/2 are revoked/active/denied; pending and expired are ours."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    DENIED = "denied"
    EXPIRED = "expired"


LIVE_STATUSES = frozenset({AuthorizationStatus.PENDING, AuthorizationStatus.ACTIVE})


class Action(StrEnum):
    HEALTHY = "HEALTHY"
    CONNECT = "CONNECT"
    WAIT = "WAIT"
    REAUTH = "REAUTH"
    ESCALATE = "ESCALATE"


class Reason(StrEnum):
    CONNECTED = "connected"
    DUPLICATE_AUTHORIZATIONS = "duplicate_authorizations"
    SCOPE_INCOMPLETE = "scope_incomplete"
    NO_LIVE_AUTHORIZATION = "no_live_authorization"
    REPEATED_PROCEDURE = "repeated_procedure"
    VERIFICATION_WINDOW = "verification_window"
    REAUTH_DID_NOT_HELP = "reauth_did_not_help"
    NOT_CONNECTED_7D = "not_connected_7d"
    GRANT_DATE_UNKNOWN = "grant_date_unknown"


@dataclass(frozen=True)
class Authorization:
    """One authorization the customer gave the company at the utility."""

    id: str
    status: AuthorizationStatus
    granted_at: datetime | None
    scope: str | None = None
    authorized_end: datetime | None = None
    revoked_at: datetime | None = None

    def status_at(self, now: datetime) -> AuthorizationStatus:
        # Consent ends at authorized_end (authorizedPeriod.start + duration), not at the token expiry.
        if self.status in LIVE_STATUSES and self.authorized_end is not None and self.authorized_end <= now:
            return AuthorizationStatus.EXPIRED
        return self.status

    def is_live(self, now: datetime) -> bool:
        return self.status_at(now) in LIVE_STATUSES

    def missing_function_blocks(self, utility: Utility) -> frozenset[int]:
        """The data types the utility needs that this authorization does not share; none when its scope is
        unknown, so an unknown scope is never a reason to re-authorize."""
        return parse_scope(self.scope).missing(policy_for(utility).required_function_blocks)

    def scope_complete(self, utility: Utility) -> bool | None:
        """Whether the scope shares every data type the utility needs; None when the scope is unknown."""
        return parse_scope(self.scope).complete(policy_for(utility).required_function_blocks)

    def age_days(self, now: datetime) -> int | None:
        return None if self.granted_at is None else (now - self.granted_at).days


@dataclass(frozen=True)
class Procedure:
    """Steps support already sent to the customer."""

    sent_at: datetime
    ticket_id: str | None = None
    agent: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class Case:
    """Everything the rules look at for one customer."""

    utility: Utility
    connected: bool
    authorizations: tuple[Authorization, ...] = ()
    procedures: tuple[Procedure, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    action: Action
    reasons: tuple[Reason, ...]
    wait_until: datetime | None = None
    rule: int = field(default=0, compare=False)


def live_authorizations(case: Case, now: datetime) -> list[Authorization]:
    """Live (pending or active) authorizations known at `now`, newest first."""
    live = [a for a in case.authorizations if _known_at(a, now) and a.is_live(now)]
    return sorted(live, key=lambda a: a.granted_at or datetime.min.replace(tzinfo=now.tzinfo), reverse=True)


def recommend(case: Case, now: datetime) -> Recommendation:
    """Apply the rules table of DESIGN.md to one customer at `now`; the first matching row wins."""
    live = live_authorizations(case, now)
    newest = live[0] if live else None
    incomplete = newest is not None and bool(newest.missing_function_blocks(case.utility))
    duplicates = len(live) > 1

    if case.connected:
        warnings = [Reason.DUPLICATE_AUTHORIZATIONS] * duplicates + [Reason.SCOPE_INCOMPLETE] * incomplete
        return Recommendation(Action.HEALTHY, (Reason.CONNECTED, *warnings), rule=1)
    if newest is None:
        return Recommendation(Action.CONNECT, (Reason.NO_LIVE_AUTHORIZATION,), rule=2)

    sent = sorted((p.sent_at for p in case.procedures if p.sent_at <= now), reverse=True)
    if sum(1 for at in sent if now - at <= REPEAT_WINDOW) >= REPEAT_LIMIT:
        return Recommendation(Action.ESCALATE, (Reason.REPEATED_PROCEDURE,), rule=3)
    if duplicates:
        also = (Reason.SCOPE_INCOMPLETE,) if incomplete else ()
        return Recommendation(Action.REAUTH, (Reason.DUPLICATE_AUTHORIZATIONS, *also), rule=4)
    if incomplete:
        return Recommendation(Action.REAUTH, (Reason.SCOPE_INCOMPLETE,), rule=5)
    if newest.granted_at is None:
        # POLICY: an authorization of unknown age cannot be judged; a person should look at it.
        return Recommendation(Action.ESCALATE, (Reason.GRANT_DATE_UNKNOWN,), rule=0)

    window = timedelta(days=policy_for(case.utility).wait_days)
    if now - newest.granted_at <= window:
        wait_until = newest.granted_at + window
        return Recommendation(Action.WAIT, (Reason.VERIFICATION_WINDOW,), wait_until=wait_until, rule=6)
    if any(at < newest.granted_at for at in sent):
        return Recommendation(Action.ESCALATE, (Reason.REAUTH_DID_NOT_HELP,), rule=7)
    return Recommendation(Action.REAUTH, (Reason.NOT_CONNECTED_7D,), rule=8)


def _known_at(authorization: Authorization, now: datetime) -> bool:
    # With --as-of in the past, an authorization granted later did not exist yet.
    return authorization.granted_at is None or authorization.granted_at <= now
