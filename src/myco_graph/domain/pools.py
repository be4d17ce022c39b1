"""Money pools ("cagnottes"): a target, a deadline, contributions, a ledger.

Payments happen outside the server: a contribution records the amount and
the payment provider's reference. Amounts are integer cents. A hidden amount
is still part of the total; only who may read it changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.accounts import now
from myco_graph.domain.models import Account, Contribution, Pool, Project
from myco_graph.errors import BadUserInput

TITLE_MAX = 200
REFERENCE_MAX = 200


@dataclass(frozen=True)
class PoolDraft:
    """What staff ask when opening a pool, before it is checked."""

    title: str
    target_cents: int
    deadline: datetime

    def checked(self, at: datetime) -> PoolDraft:
        title = self.title.strip()
        if not 1 <= len(title) <= TITLE_MAX:
            raise BadUserInput(
                f"A title has 1 to {TITLE_MAX} characters.", field="title"
            )
        if self.target_cents <= 0:
            raise BadUserInput("A target is a positive amount.", field="targetCents")
        if self.deadline.tzinfo is None:
            raise BadUserInput("Give the deadline with its offset.", field="deadline")
        if self.deadline <= at:
            raise BadUserInput("A deadline is in the future.", field="deadline")
        # In UTC, as poll closings are: SQLite compares times as text.
        return PoolDraft(title, self.target_cents, self.deadline.astimezone(UTC))


@dataclass(frozen=True)
class Gift:
    """A contribution as the contributor declares it."""

    amount_cents: int
    payment_reference: str
    hidden: bool = False

    def checked(self, max_cents: int) -> Gift:
        if not 0 < self.amount_cents <= max_cents:
            raise BadUserInput(
                f"A contribution is between 1 and {max_cents} cents.",
                field="amountCents",
            )
        reference = self.payment_reference.strip()
        if not 1 <= len(reference) <= REFERENCE_MAX:
            raise BadUserInput(
                f"A payment reference has 1 to {REFERENCE_MAX} characters.",
                field="paymentReference",
            )
        return Gift(self.amount_cents, reference, self.hidden)


class Closing(Protocol):
    """A pool as any layer holds it: all that taking contributions depends on."""

    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def deadline(self) -> datetime: ...


def accepts_contributions(pool: Closing, at: datetime) -> bool:
    return pool.closed_at is None and at < pool.deadline


def reveals(contribution: Contribution, viewer_id: int | None, *, staff: bool) -> bool:
    """Whether a viewer reads a contribution's hidden amount and its reference."""
    return staff or (viewer_id is not None and viewer_id == contribution.account_id)


async def create(project: Project, author: Account, draft: PoolDraft) -> Pool:
    draft = draft.checked(now())
    async with in_transaction() as conn:
        pool = await Pool.create(
            project=project,
            author=author,
            title=draft.title,
            target_cents=draft.target_cents,
            deadline=draft.deadline,
            using_db=conn,
        )
        event = await events.record(
            conn,
            "pool.created",
            account_id=author.id,
            project_id=project.id,
            payload={"pool": pool.id},
        )
    await events.announce(event)
    return pool


async def _locked(conn: BaseDBAsyncClient, pool_id: int) -> Pool:
    """The pool read again under a row lock, so closing and giving take turns."""
    return await Pool.select_for_update().using_db(conn).get(id=pool_id)


async def contribute(
    pool: Pool, contributor: Account, gift: Gift, max_cents: int
) -> Contribution:
    """Records a contribution paid outside the server, while the pool is open."""
    gift = gift.checked(max_cents)
    async with in_transaction() as conn:
        pool = await _locked(conn, pool.id)
        if not accepts_contributions(pool, now()):
            raise BadUserInput("This pool takes no more contributions.", field="poolId")
        # A payment is recorded once: the same reference twice is a resubmitted
        # form, not a second payment.
        repeated = Contribution.filter(
            pool_id=pool.id, payment_reference=gift.payment_reference
        )
        if await repeated.using_db(conn).exists():
            raise BadUserInput(
                "This payment is already recorded.", field="paymentReference"
            )
        contribution = await Contribution.create(
            pool=pool,
            account=contributor,
            amount_cents=gift.amount_cents,
            hidden=gift.hidden,
            payment_reference=gift.payment_reference,
            using_db=conn,
        )
        # Amounts stay out of the event: a hidden one must not leak through it.
        event = await events.record(
            conn,
            "pool.contributed",
            account_id=contributor.id,
            project_id=pool.project_id,
            payload={"pool": pool.id},
        )
    await events.announce(event)
    return contribution


async def close(pool: Pool, staff: Account) -> Pool:
    """Closes a pool to further contributions; closing twice changes nothing."""
    async with in_transaction() as conn:
        pool = await _locked(conn, pool.id)
        if pool.closed_at is not None:
            return pool
        pool.closed_at = now()
        await pool.save(update_fields=["closed_at"], using_db=conn)
        event = await events.record(
            conn,
            "pool.closed",
            account_id=staff.id,
            project_id=pool.project_id,
            payload={"pool": pool.id},
        )
    await events.announce(event)
    return pool


@dataclass(frozen=True)
class Totals:
    """What a pool raised, hidden amounts included, and from how many people."""

    raised_cents: int = 0
    contributors: int = 0


async def totals(pool_ids: Iterable[int]) -> dict[int, Totals]:
    """The totals of several pools in one grouped statement."""
    ids = sorted(set(pool_ids))
    if not ids:
        return {}
    rows = (
        await Contribution.filter(pool_id__in=ids)
        .annotate(
            raised=Sum("amount_cents"),
            people=Count("account_id", distinct=True),
        )
        .group_by("pool_id")
        .values_list("pool_id", "raised", "people")
    )
    found = {pool_id: Totals() for pool_id in ids}
    for pool_id, raised, people in cast(list[tuple[int, int, int]], rows):
        found[pool_id] = Totals(int(raised), int(people))
    return found
