"""Hand-written statements: one text per dialect, the same rows from both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from myco_graph.domain.models import Account, Token, TokenKind
from myco_graph.infrastructure import sql
from tests.helpers import row_counts
from tests.project_support import make_account


def test_sqlite_gets_numbered_placeholders_lists_and_no_casts() -> None:
    statement = sql.Statement(
        "SELECT id FROM t WHERE a = ANY($2) AND ($1::bigint IS NULL OR id < $1)"
    )

    assert statement.sqlite == (
        "SELECT id FROM t WHERE a IN (SELECT value FROM json_each(?2))"
        " AND (?1 IS NULL OR id < ?1)"
    )


def test_a_statement_may_give_sqlite_its_own_text() -> None:
    statement = sql.Statement(
        "SELECT json_agg(id) FROM t WHERE a = ANY($1)",
        sqlite="SELECT json_group_array(id) FROM t WHERE a IN ($1, $2)",
    )

    assert statement.sqlite == "SELECT json_group_array(id) FROM t WHERE a IN (?1, ?2)"


@pytest.mark.usefixtures("server")
async def test_a_statement_reads_lists_and_optional_parameters_alike() -> None:
    accounts = [await make_account(handle) for handle in ("ann", "bob", "cat")]
    ids = [account.id for account in accounts]
    statement = sql.Statement(
        "SELECT handle FROM accounts WHERE id = ANY($1)"
        " AND ($2::bigint IS NULL OR id < $2) ORDER BY id"
    )

    everyone = await sql.fetch(statement, ids, None)
    below = await sql.fetch(statement, ids, ids[2])

    assert [row[0] for row in everyone] == ["ann", "bob", "cat"]
    assert [row[0] for row in below] == ["ann", "bob"]


@pytest.mark.usefixtures("server")
async def test_model_from_builds_what_the_orm_builds_and_saves_in_place() -> None:
    account = await make_account("ann")
    await Token.create(account=account, kind=TokenKind.SESSION, digest="d" * 64)
    statement = sql.Statement(
        f"SELECT {sql.columns(Token, 't')}, {sql.columns(Account, 'a')}"  # noqa: S608
        " FROM tokens t JOIN accounts a ON a.id = t.account_id"
    )
    row = (await sql.fetch(statement))[0]

    token = sql.model_from(Token, row)
    built = sql.model_from(Account, row, sql.width(Token))

    stored = await Account.get(id=account.id)
    assert {name: getattr(built, name) for name in stored._meta.db_fields} == {
        name: getattr(stored, name) for name in stored._meta.db_fields
    }
    assert token.kind is TokenKind.SESSION and token.account_id == account.id
    before = await row_counts()
    token.revoked_at = datetime.now(UTC)
    await token.save(update_fields=["revoked_at"])
    assert await row_counts() == before
    assert (await Token.get(id=token.id)).revoked_at is not None
