"""A member's own profile values: setting and clearing them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from myco_graph.domain import catalogue, events
from myco_graph.domain.models import Account, AccountKind, ProfileValue
from myco_graph.errors import Forbidden


async def set_values(account: Account, changes: Mapping[str, Any]) -> list[str]:
    """Sets (or, for None, clears) values; one invalid value refuses them all.

    Returns the keys that changed. Every value is checked before anything is
    written, so a refused call stores nothing.
    """
    if account.kind is not AccountKind.MEMBER:
        raise Forbidden("Only members have a profile.")
    cleaned = {
        key: None if value is None else catalogue.lookup(key).clean(value)
        for key, value in changes.items()
    }
    cleared = [key for key, value in cleaned.items() if value is None]
    kept = {key: value for key, value in cleaned.items() if value is not None}
    async with in_transaction() as conn:
        if cleared:
            await (
                ProfileValue.filter(account_id=account.id, key__in=cleared)
                .using_db(conn)
                .delete()
            )
        if kept:
            rows = [
                ProfileValue(account_id=account.id, key=key, value=wrap(value))
                for key, value in kept.items()
            ]
            await ProfileValue.bulk_create(
                rows,
                on_conflict=["account_id", "key"],
                update_fields=["value", "updated_at"],
                using_db=conn,
            )
        event = await events.record(
            conn,
            "profile.changed",
            account_id=account.id,
            payload={"fields": sorted(cleaned)},
        )
    await events.announce(event)
    return sorted(cleaned)


def wrap(value: Any) -> dict[str, Any]:
    return {"v": value}


def unwrap(stored: Any) -> Any:
    return stored["v"] if isinstance(stored, dict) else None


async def own_values(account_id: int) -> dict[str, Any]:
    rows = await ProfileValue.filter(account_id=account_id).values_list("key", "value")
    return {key: unwrap(stored) for key, stored in rows}
