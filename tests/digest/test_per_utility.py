"""A rule whose setting differs by utility is judged on each customer's own utility's setting (today every
utility shares the same wait and required function blocks, so the digest's own population cannot show it)."""

from __future__ import annotations

from sqlalchemy import insert, literal, select

from commands.policy import Utility
from models import Database
from models.customers import CustomerRow
from models.digest.queries import per_utility

WAIT_DAYS = {Utility.SCE: 5, Utility.PGE: 7, Utility.SDGE: 9}


def customers_passing(db: Database, setting: dict[Utility, int], days: int) -> set[str]:
    test = per_utility(CustomerRow.utility, setting.__getitem__, lambda wait: literal(days) >= wait)
    with db.sessions() as session:
        return set(session.scalars(select(CustomerRow.id).where(test)))


def test_each_customer_is_judged_on_its_own_utilitys_setting(db: Database) -> None:
    with db.transaction() as session:
        session.execute(insert(CustomerRow), [{"id": u.value, "utility": u.value} for u in Utility])

    assert customers_passing(db, WAIT_DAYS, 4) == set()
    assert customers_passing(db, WAIT_DAYS, 5) == {"SCE"}
    assert customers_passing(db, WAIT_DAYS, 8) == {"SCE", "PGE"}
    assert customers_passing(db, WAIT_DAYS, 9) == {"SCE", "PGE", "SDGE"}
    same = dict.fromkeys(Utility, 7)
    assert customers_passing(db, same, 6) == set() and customers_passing(db, same, 7) == {"SCE", "PGE", "SDGE"}
