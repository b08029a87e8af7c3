"""Migration 0008: the masks of existing authorizations re-read with the one scope parser (an unknown scope
becomes -1, never incomplete), the customers' summaries following, on both databases."""

from __future__ import annotations

from sqlalchemy import select, text

from models import Database
from models.customers import AuthorizationRow
from models.function_blocks import UNKNOWN_SCOPE_MASK, required_mask
from tests.digest.test_migration import at_revision, blank_url  # noqa: F401  (the fixture)
from tests.summaries import assert_in_step

SCOPES = {
    "A-1": "FB=1_3_4_5 IntervalDuration=3600",  # 0006's parser dropped FB 5 here
    "A-2": "FB%3D1_3_4_5%3B",  # and read no block at all here
    "A-3": None,  # unknown: was "lacks every data type"
    "A-4": "FB=1_3;",
}


def test_existing_masks_are_read_again(blank_url: str) -> None:  # noqa: F811
    db = Database(blank_url)
    try:
        with at_revision(db, "0006") as connection:
            connection.execute(text("INSERT INTO customers (id, utility) VALUES ('C-1', 'SCE'), ('C-2', 'SCE'), "
                                    "('C-3', 'SCE'), ('C-4', 'SCE')"))
            for n, (authorization_id, scope) in enumerate(SCOPES.items(), start=1):
                connection.execute(text(
                    "INSERT INTO authorizations (id, customer_id, status, scope, function_blocks) "
                    "VALUES (:id, :c, 'active', :s, 0)"), {"id": authorization_id, "c": f"C-{n}", "s": scope})
        db.upgrade()
        with db.sessions() as session:
            masks = dict(session.execute(select(AuthorizationRow.id, AuthorizationRow.function_blocks)).all())
        complete = required_mask({1, 3, 4, 5})
        assert masks["A-1"] & complete == complete and masks["A-2"] & complete == complete
        assert masks["A-3"] == UNKNOWN_SCOPE_MASK
        assert masks["A-4"] == required_mask({1, 3})
        assert_in_step(db)  # the summaries (0006's triggers, deferrable since 0008) followed
    finally:
        db.dispose()
