"""Subscriptions to what happens to the signed-in account."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from myco_graph.domain.events import account_channel
from myco_graph.graphql.context import Info
from myco_graph.infrastructure.events import bus


@strawberry.type(description="Something that happened to the viewer's account.")
class AccountEvent:
    kind: str
    occurred_at: datetime
    payload: JSON


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description="Events about the signed-in account.")
    async def viewer_events(self, info: Info) -> AsyncGenerator[AccountEvent, None]:
        viewer = info.context.require_viewer()
        async for message in bus().listen(account_channel(viewer.id)):
            yield AccountEvent(
                kind=message["kind"],
                occurred_at=datetime.fromisoformat(message["at"]),
                payload=message["payload"],
            )
