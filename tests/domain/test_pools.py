"""Money pools in the domain: checked amounts, closing, totals in SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from myco_graph.domain import pools
from myco_graph.domain.accounts import now
from myco_graph.domain.models import Account, Contribution, Event, Pool
from myco_graph.errors import BadUserInput
from tests.helpers import count_statements, row_counts
from tests.project_support import make_account, make_project

pytestmark = pytest.mark.usefixtures("server")

AT = datetime(2026, 5, 1, 12, tzinfo=UTC)
LIMIT = 1_000_000


def gift(
    cents: int = 2_500, reference: str = "pi_1", hidden: bool = False
) -> pools.Gift:
    return pools.Gift(cents, reference, hidden)


async def open_pool(owner: Account, *members: Account) -> Pool:
    project = await make_project(owner, *members)
    draft = pools.PoolDraft("New roof", 500_000, now() + timedelta(days=30))
    return await pools.create(project, owner, draft)


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (pools.PoolDraft("  ", 100, AT + timedelta(days=1)), "title"),
        (pools.PoolDraft("x" * 201, 100, AT + timedelta(days=1)), "title"),
        (pools.PoolDraft("Roof", 0, AT + timedelta(days=1)), "targetCents"),
        (pools.PoolDraft("Roof", 100, AT), "deadline"),
        (pools.PoolDraft("Roof", 100, datetime(2026, 6, 1)), "deadline"),
    ],
)
def test_bad_pool_draft_is_refused_naming_its_field(
    draft: pools.PoolDraft, field: str
) -> None:
    with pytest.raises(BadUserInput) as refused:
        draft.checked(AT)

    assert refused.value.field == field


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (gift(cents=0), "amountCents"),
        (gift(cents=-5), "amountCents"),
        (gift(cents=LIMIT + 1), "amountCents"),
        (gift(reference=" "), "paymentReference"),
        (gift(reference="r" * 201), "paymentReference"),
    ],
)
def test_bad_gift_is_refused_naming_its_field(given: pools.Gift, field: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        given.checked(LIMIT)

    assert refused.value.field == field


def test_gift_up_to_the_limit_is_taken() -> None:
    assert gift(cents=LIMIT, reference=" pi_9 ").checked(LIMIT) == gift(LIMIT, "pi_9")


async def test_totals_include_hidden_amounts_and_count_people_once() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)

    await pools.contribute(pool, alice, gift(1_000, "pi_1"), LIMIT)
    await pools.contribute(pool, alice, gift(2_000, "pi_2", hidden=True), LIMIT)
    await pools.contribute(pool, olga, gift(500, "pi_3"), LIMIT)

    assert (await pools.totals([pool.id]))[pool.id] == pools.Totals(3_500, 2)


async def test_totals_of_many_pools_take_one_statement() -> None:
    olga = await make_account("olga")
    many = [await open_pool(await make_account(f"owner{n}"), olga) for n in range(5)]
    for n, pool in enumerate(many):
        await pools.contribute(pool, olga, gift(100 * (n + 1), f"pi_{n}"), LIMIT)

    with count_statements() as counter:
        found = await pools.totals(pool.id for pool in many)

    assert counter.count == 1
    assert [found[pool.id].raised_cents for pool in many] == [100, 200, 300, 400, 500]


async def test_contribution_to_a_closed_pool_is_refused() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)
    await pools.close(pool, olga)
    before = await row_counts()

    with pytest.raises(BadUserInput, match="no more contributions"):
        await pools.contribute(pool, alice, gift(), LIMIT)

    assert await row_counts() == before


async def test_contribution_after_the_deadline_is_refused() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)
    await Pool.filter(id=pool.id).update(deadline=now() - timedelta(seconds=1))

    with pytest.raises(BadUserInput, match="no more contributions"):
        await pools.contribute(pool, alice, gift(), LIMIT)

    assert await Contribution.all().count() == 0


async def test_same_payment_recorded_twice_is_refused() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)
    await pools.contribute(pool, alice, gift(reference="pi_7"), LIMIT)

    with pytest.raises(BadUserInput, match="already recorded"):
        await pools.contribute(pool, alice, gift(reference="pi_7"), LIMIT)

    assert await Contribution.all().count() == 1


async def test_closing_twice_records_one_closing() -> None:
    olga = await make_account("olga")
    pool = await open_pool(olga)

    first = await pools.close(pool, olga)
    second = await pools.close(pool, olga)

    assert first.closed_at == second.closed_at
    assert await Event.filter(kind="pool.closed").count() == 1


async def test_no_contribution_lands_after_the_pool_closed() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)

    gifts = [gift(reference=f"pi_{n}") for n in range(5)]
    outcomes = await asyncio.gather(
        *(pools.contribute(pool, alice, given, LIMIT) for given in gifts),
        pools.close(pool, olga),
        return_exceptions=True,
    )

    assert all(
        not isinstance(o, Exception) or isinstance(o, BadUserInput) for o in outcomes
    )
    closed_at = (await Pool.get(id=pool.id)).closed_at
    assert closed_at is not None
    assert all(row.created_at <= closed_at for row in await Contribution.all())


async def test_contributed_event_carries_no_amount() -> None:
    olga, alice = await make_account("olga"), await make_account("alice")
    pool = await open_pool(olga, alice)

    await pools.contribute(pool, alice, gift(hidden=True), LIMIT)

    event = await Event.get(kind="pool.contributed")
    assert event.payload == {"pool": pool.id}


@pytest.mark.parametrize(
    ("viewer_id", "staff", "shown"),
    [(7, False, True), (8, False, False), (8, True, True), (None, False, False)],
)
def test_details_are_revealed_to_the_contributor_and_staff(
    viewer_id: int | None, staff: bool, shown: bool
) -> None:
    row = Contribution(account_id=7, amount_cents=100, hidden=True)

    assert pools.reveals(row, viewer_id, staff=staff) is shown
