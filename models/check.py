"""The queries behind `/reauth-check`: `commands.check.CaseRecords` on SQLAlchemy.

Every `/reauth-check` runs these, so they are few and plain: columns, not ORM entities (a lookup reads a
handful of rows and changes none of them, so the unit of work and the identity map would only cost time),
the open case read in the same statement as the customer, and the procedures read only when the
customer's summary (kept by the database's triggers, migration 0006) says there are some.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Executable, Result, Row, Table, bindparam, insert, literal_column, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from commands.check import CaseFile, Customer, EnrollmentStatus
from commands.policy import Utility
from commands.rules import Authorization, AuthorizationStatus, Procedure
from models.customers import AuthorizationRow, CustomerRow, LookupRow, ProcedureRow
from models.escalations import EscalationRow

_AnyRow = Row[*tuple[Any, ...]]

# Several customers may share an e-mail (one person, two homes); more than this is listed as "and more".
MAX_CANDIDATES = 20

_customers_table = CustomerRow.__table__.c
_authorizations = AuthorizationRow.__table__.c
_procedures = ProcedureRow.__table__.c
_escalations = EscalationRow.__table__.c

# 'open' as a literal, not a parameter: PostgreSQL uses the partial index on open cases (a customer's one
# open case) only when it can see the predicate, and a prepared statement's generic plan cannot.
_ESCALATED = (
    select(_escalations.id)
    .where(_escalations.customer_id == _customers_table.id, _escalations.status == literal_column("'open'"))
    .exists()
    .label("escalated")
)
# Built once, with parameters: a statement made per call costs more to build and to key for SQLAlchemy's
# compiled cache than PostgreSQL takes to run it. Table columns, not the ORM's: no ORM step on the way.
_CUSTOMERS = select(
    _customers_table.id, _customers_table.email, _customers_table.name, _customers_table.utility,
    _customers_table.enrollment_status, _customers_table.last_data_at, _customers_table.last_procedure_at, _ESCALATED,
).limit(MAX_CANDIDATES)
_BY_IDS = _CUSTOMERS.where(_customers_table.id.in_(bindparam("ids", expanding=True)))
_BY_EMAIL = _CUSTOMERS.where(_customers_table.email_key == bindparam("email"))
_BY_TICKET = _CUSTOMERS.where(_customers_table.id.in_(
    select(_procedures.customer_id).where(_procedures.ticket_id == bindparam("ticket")).distinct()
))
_AUTHORIZATIONS = select(
    _authorizations.id, _authorizations.status, _authorizations.granted_at, _authorizations.scope,
    _authorizations.authorized_end, _authorizations.revoked_at,
).where(_authorizations.customer_id == bindparam("customer"))
_PROCEDURES = select(
    _procedures.sent_at, _procedures.ticket_id, _procedures.agent, _procedures.template,
).where(_procedures.customer_id == bindparam("customer"))
# A plain INSERT: nothing reads the row back in the transaction, so no flush and no RETURNING.
_LOOKUP = insert(cast(Table, LookupRow.__table__))


class SqlCaseRecords:
    """Reads one customer's case inside the caller's session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The customers found so far, as read: `case_file` of one of them reads no customer row again.
        self._found: dict[str, _Found] = {}

    def _run(self, statement: Executable, parameters: dict[str, Any]) -> Result[Any]:
        return self.session.connection().execute(statement, parameters)

    def _customers(self, statement: Executable, parameters: dict[str, Any]) -> list[Customer]:
        found = [
            _Found(to_customer(row), has_procedures=row.last_procedure_at is not None, escalated=bool(row.escalated))
            for row in self._run(statement, parameters)
        ]
        self._found.update((each.customer.id, each) for each in found)
        return [each.customer for each in found]

    def customers_by_id(self, customer_id: str) -> Sequence[Customer]:
        """The customer with this id; `c-1001` finds `C-1001` where no id is `c-1001` itself.

        Ids are matched as typed, in upper case and in lower case: three probes of the primary key, so a
        lookup stays an index read on a million customers (ids in the company's exports are one case).
        """
        spellings = sorted({customer_id, customer_id.upper(), customer_id.lower()})
        customers = self._customers(_BY_IDS, {"ids": spellings})
        exact = [customer for customer in customers if customer.id == customer_id]
        return exact or sorted(customers, key=lambda customer: customer.id)

    def customers_by_email(self, email: str) -> Sequence[Customer]:
        return self._customers(_BY_EMAIL, {"email": email.lower()})

    def customers_by_ticket(self, ticket_id: str) -> Sequence[Customer]:
        if not ticket_id:  # procedures without a ticket are stored with ''
            return []
        return self._customers(_BY_TICKET, {"ticket": ticket_id})

    def case_file(self, customer_id: str) -> CaseFile:
        found = self._found.get(customer_id)
        if found is None:
            if not self._customers(_BY_IDS, {"ids": [customer_id]}):
                raise NoResultFound(f"no customer {customer_id!r}")
            found = self._found[customer_id]
        authorizations = tuple(to_authorization(row) for row in self._run(_AUTHORIZATIONS, {"customer": customer_id}))
        procedures: tuple[Procedure, ...] = ()
        if found.has_procedures:
            procedures = tuple(to_procedure(row) for row in self._run(_PROCEDURES, {"customer": customer_id}))
        return CaseFile(customer=found.customer, authorizations=authorizations, procedures=procedures,
                        escalated=found.escalated)

    def record_lookup(self, customer_id: str, *, agent: str, at: datetime, source: str) -> None:
        self._run(_LOOKUP, {"customer_id": customer_id, "agent": agent, "looked_up_at": at, "source": source})


@dataclass(frozen=True)
class _Found:
    customer: Customer
    has_procedures: bool  # the customer's summary (kept by the database's triggers) names a procedure
    escalated: bool


def to_customer(row: CustomerRow | _AnyRow) -> Customer:
    return Customer(
        id=row.id,
        email=row.email,
        name=row.name,
        utility=Utility(row.utility),
        enrollment_status=EnrollmentStatus(row.enrollment_status) if row.enrollment_status else None,
        last_data_at=row.last_data_at,
    )


def to_authorization(row: AuthorizationRow | _AnyRow) -> Authorization:
    return Authorization(
        id=row.id,
        status=AuthorizationStatus(row.status),
        granted_at=row.granted_at,
        scope=row.scope,
        authorized_end=row.authorized_end,
        revoked_at=row.revoked_at,
    )


def to_procedure(row: ProcedureRow | _AnyRow) -> Procedure:
    return Procedure(sent_at=row.sent_at, ticket_id=row.ticket_id or None, agent=row.agent, template=row.template)
