from __future__ import annotations

import asyncio

import pytest

from myco_graph.domain import accounts, shares
from myco_graph.domain.models import Account
from myco_graph.errors import BadUserInput
from tests.helpers import PASSWORD

pytestmark = pytest.mark.usefixtures("database")


async def member(handle: str) -> Account:
    return await accounts.sign_up(
        accounts.SignUp(f"{handle}@example.org", PASSWORD, handle, handle.title())
    )


async def test_concurrent_subscriptions_cannot_pass_five_hundred_together() -> None:
    alice = await member("alice")

    results = await asyncio.gather(
        shares.subscribe(alice, 300),
        shares.subscribe(alice, 300),
        return_exceptions=True,
    )

    assert sorted(type(result).__name__ for result in results) == [
        "BadUserInput",
        "ShareEntry",
    ]
    assert (await shares.holding(alice.id)).shares == 300


async def test_entry_records_price_and_amount_in_cents() -> None:
    alice = await member("alice")

    entry = await shares.subscribe(alice, 12)

    assert (entry.unit_price_cents, entry.amount_cents) == (1_000, 12_000)


async def test_register_counts_each_holder_once() -> None:
    alice, bob = await member("alice"), await member("bob")
    await shares.subscribe(alice, 2)
    await shares.subscribe(alice, 3)
    await shares.subscribe(bob, 1)

    totals = await shares.register_totals()

    assert (totals.shares, totals.amount_cents, totals.members) == (6, 6_000, 2)
    assert totals.votes == 2


async def test_zero_shares_is_bad_user_input() -> None:
    alice = await member("alice")

    with pytest.raises(BadUserInput):
        await shares.subscribe(alice, 0)
