from __future__ import annotations

from datetime import timedelta

import pytest

from myco_graph.domain import accounts
from myco_graph.domain.maintenance import purge_received_activities, purge_stale_rows
from myco_graph.domain.models import (
    Account,
    Event,
    ReceivedActivity,
    Token,
    TokenKind,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.usefixtures("database")

DAY = timedelta(days=1)


async def member() -> Account:
    return await accounts.sign_up(
        accounts.SignUp("alice@example.org", PASSWORD, "alice", "Alice")
    )


async def token(account: Account, label: str, **dates: object) -> None:
    await Token.create(
        account=account,
        kind=TokenKind.SESSION,
        label=label,
        digest=label.ljust(64, "0"),
        **dates,
    )


async def test_purge_deletes_tokens_expired_or_revoked_over_a_week_ago() -> None:
    alice = await member()
    await token(alice, "expired", expires_at=accounts.now() - 8 * DAY)
    await token(alice, "revoked", revoked_at=accounts.now() - 8 * DAY)
    await token(alice, "just_expired", expires_at=accounts.now() - DAY)
    await token(alice, "live", expires_at=accounts.now() + DAY)

    await purge_stale_rows()

    kept = await Token.all().order_by("label").values_list("label", flat=True)
    assert kept == ["just_expired", "live"]


async def test_purge_deletes_events_older_than_a_month() -> None:
    alice = await member()
    old = await Event.create(kind="old", account=alice)
    await Event.filter(id=old.id).update(created_at=accounts.now() - 31 * DAY)

    await purge_stale_rows()

    assert await Event.filter(kind="old").count() == 0
    assert await Event.filter(kind="account.created").count() == 1


async def test_purge_forgets_activity_ids_received_over_a_week_ago() -> None:
    for activity_id, age in (
        ("https://peer.example/old", 8),
        ("https://peer.example/new", 6),
    ):
        row = await ReceivedActivity.create(
            activity_id=activity_id,
            actor="https://peer.example/users/zoe",
            type="Follow",
        )
        await ReceivedActivity.filter(id=row.id).update(
            received_at=accounts.now() - age * DAY
        )

    await purge_received_activities()

    kept = await ReceivedActivity.all().values_list("activity_id", flat=True)
    assert kept == ["https://peer.example/new"]
