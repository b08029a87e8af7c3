"""The queries behind `/reauth-check`: `commands.check.CaseRecords` on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.check import CaseFile, Customer, EnrollmentStatus
from commands.policy import Utility
from commands.rules import Authorization, AuthorizationStatus, Procedure
from models.customers import AuthorizationRow, CustomerRow, LookupRow, ProcedureRow

# Several customers may share an e-mail (one person, two homes); more than this is listed as "and more".
MAX_CANDIDATES = 20


class SqlCaseRecords:
    """Reads one customer's case inside the caller's session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def customers_by_id(self, customer_id: str) -> Sequence[Customer]:
        """The customer with this id; `c-1001` finds `C-1001` where no id is `c-1001` itself.

        Ids are matched as typed, in upper case and in lower case: three probes of the primary key, so a
        lookup stays an index read on a million customers (ids in the company's exports are one case).
        """
        spellings = {customer_id, customer_id.upper(), customer_id.lower()}
        query = select(CustomerRow).where(CustomerRow.id.in_(spellings)).limit(MAX_CANDIDATES)
        rows = list(self.session.scalars(query))
        exact = [row for row in rows if row.id == customer_id]
        return [to_customer(row) for row in (exact or sorted(rows, key=lambda row: row.id))]

    def customers_by_email(self, email: str) -> Sequence[Customer]:
        query = select(CustomerRow).where(CustomerRow.email_key == email.lower()).limit(MAX_CANDIDATES)
        return [to_customer(row) for row in self.session.scalars(query)]

    def customers_by_ticket(self, ticket_id: str) -> Sequence[Customer]:
        if not ticket_id:  # procedures without a ticket are stored with ''
            return []
        ids = select(ProcedureRow.customer_id).where(ProcedureRow.ticket_id == ticket_id).distinct()
        query = select(CustomerRow).where(CustomerRow.id.in_(ids)).limit(MAX_CANDIDATES)
        return [to_customer(row) for row in self.session.scalars(query)]

    def case_file(self, customer_id: str) -> CaseFile:
        customer = self.session.get_one(CustomerRow, customer_id)
        authorizations = self.session.scalars(
            select(AuthorizationRow).where(AuthorizationRow.customer_id == customer_id)
        )
        procedures = self.session.scalars(select(ProcedureRow).where(ProcedureRow.customer_id == customer_id))
        return CaseFile(
            customer=to_customer(customer),
            authorizations=tuple(to_authorization(row) for row in authorizations),
            procedures=tuple(to_procedure(row) for row in procedures),
        )

    def record_lookup(self, customer_id: str, *, agent: str, at: datetime, source: str) -> None:
        self.session.add(LookupRow(customer_id=customer_id, agent=agent, looked_up_at=at, source=source))


def to_customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        email=row.email,
        name=row.name,
        utility=Utility(row.utility),
        enrollment_status=EnrollmentStatus(row.enrollment_status) if row.enrollment_status else None,
        last_data_at=row.last_data_at,
    )


def to_authorization(row: AuthorizationRow) -> Authorization:
    return Authorization(
        id=row.id,
        status=AuthorizationStatus(row.status),
        granted_at=row.granted_at,
        scope=row.scope,
        authorized_end=row.authorized_end,
        revoked_at=row.revoked_at,
    )


def to_procedure(row: ProcedureRow) -> Procedure:
    return Procedure(sent_at=row.sent_at, ticket_id=row.ticket_id or None, agent=row.agent, template=row.template)
