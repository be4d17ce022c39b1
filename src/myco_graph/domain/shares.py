"""Cooperative shares: 10 EUR each, 1 to 500 per member, one member one vote."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.models import Account, AccountKind, ShareEntry
from myco_graph.errors import BadUserInput, Forbidden

SHARE_PRICE_CENTS = 1_000
MAX_SHARES_PER_MEMBER = 500


@dataclass(frozen=True)
class Holding:
    """One member's shares: how many, what they paid, and their single vote."""

    shares: int
    amount_cents: int

    @property
    def votes(self) -> int:
        return 1 if self.shares > 0 else 0


@dataclass(frozen=True)
class RegisterTotals:
    """The whole register: capital, shares, holders and votes."""

    shares: int
    amount_cents: int
    members: int

    @property
    def votes(self) -> int:
        return self.members


async def holding(account_id: int) -> Holding:
    row = await (
        ShareEntry.filter(account_id=account_id)
        .annotate(shares_sum=Sum("shares"), amount_sum=Sum("amount_cents"))
        .first()
        .values("shares_sum", "amount_sum")
    )
    return Holding(
        shares=int((row or {}).get("shares_sum") or 0),
        amount_cents=int((row or {}).get("amount_sum") or 0),
    )


async def subscribe(account: Account, count: int) -> ShareEntry:
    """Adds ``count`` shares to a member's holding, within the allowed total."""
    if account.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members subscribe cooperative shares.")
    if not 1 <= count <= MAX_SHARES_PER_MEMBER:
        raise BadUserInput(
            f"Subscribe between 1 and {MAX_SHARES_PER_MEMBER} shares.", field="shares"
        )
    async with in_transaction() as conn:
        # Locking the member's row serialises concurrent subscriptions, so two
        # of them cannot both pass the total check.
        await Account.select_for_update().using_db(conn).get(id=account.id)
        held = await ShareEntry.filter(account_id=account.id).using_db(conn).all()
        total = sum(entry.shares for entry in held)
        if total + count > MAX_SHARES_PER_MEMBER:
            raise BadUserInput(
                f"A member holds at most {MAX_SHARES_PER_MEMBER} shares; "
                f"you hold {total}.",
                field="shares",
            )
        entry = await ShareEntry.create(
            account_id=account.id,
            shares=count,
            unit_price_cents=SHARE_PRICE_CENTS,
            amount_cents=count * SHARE_PRICE_CENTS,
            using_db=conn,
        )
        event = await events.record(
            conn,
            "shares.subscribed",
            account_id=account.id,
            payload={"entry": entry.id, "shares": count},
        )
    await events.announce(event)
    return entry


async def register_totals() -> RegisterTotals:
    # Lines of erased members stay capital; COUNT DISTINCT skips their nulls.
    row = (
        await ShareEntry.all()
        .annotate(
            shares_sum=Sum("shares"),
            amount_sum=Sum("amount_cents"),
            holders=Count("account_id", distinct=True),
        )
        .first()
        .values("shares_sum", "amount_sum", "holders")
    )
    row = row or {}
    return RegisterTotals(
        shares=int(row.get("shares_sum") or 0),
        amount_cents=int(row.get("amount_sum") or 0),
        members=int(row.get("holders") or 0),
    )
