"""How delivery to other instances is going, for admins."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry

from myco_graph.domain import models
from myco_graph.domain.models import AccountKind
from myco_graph.federation import delivery
from myco_graph.graphql.context import Info
from myco_graph.graphql.paging import DEFAULT_PAGE_SIZE, Connection, connection


@strawberry.enum(description="A remote host's circuit breaker.")
class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def _age(oldest_at: datetime | None) -> float | None:
    if oldest_at is None:
        return None
    return max(0.0, (datetime.now(UTC) - oldest_at).total_seconds())


@strawberry.type(description="What delivery knows of one remote host.")
class RemoteHostStatus:
    host: str = strawberry.field(description="Host name, with its port if any.")
    breaker: BreakerState = strawberry.field(
        description="OPEN: nothing is sent until probeAt; HALF_OPEN: one probe."
    )
    pending: int = strawberry.field(description="Deliveries not yet made.")
    oldest_pending_at: datetime | None = strawberry.field(
        description="When the oldest delivery not yet made was posted."
    )
    oldest_pending_seconds: float | None = strawberry.field(
        description="How long ago the oldest delivery not yet made was posted."
    )
    total_failures: int = strawberry.field(description="Failed attempts, ever.")
    consecutive_failures: int = strawberry.field(
        description="Attempts in a row the host did not answer."
    )
    probe_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None

    @classmethod
    def of(cls, row: models.RemoteHost) -> RemoteHostStatus:
        return cls(
            host=row.host,
            breaker=BreakerState(row.breaker.value),
            pending=0,
            oldest_pending_at=None,
            oldest_pending_seconds=None,
            total_failures=row.total_failures,
            consecutive_failures=row.consecutive_failures,
            probe_at=row.probe_at,
            last_success_at=row.last_success_at,
            last_failure_at=row.last_failure_at,
        )


@strawberry.type(description="Delivery of activities to other instances.")
class FederationStatus:
    pending: int = strawberry.field(description="Deliveries not yet made, in all.")
    oldest_pending_at: datetime | None = strawberry.field(
        description="When the oldest delivery not yet made was posted."
    )
    oldest_pending_seconds: float | None = strawberry.field(
        description="How long ago; a growing value means deliveries are stuck."
    )

    @strawberry.field(description="Each host delivery has tried, newest first.")
    async def hosts(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[RemoteHostStatus]:
        page = await connection(
            models.RemoteHost.all(), RemoteHostStatus.of, first, after
        )
        statuses = [edge.node for edge in page.edges]
        backlogs = await delivery.lookup_backlogs([s.host for s in statuses])
        for status in statuses:
            backlog = backlogs.get(status.host)
            if backlog is not None:
                status.pending = backlog.pending
                status.oldest_pending_at = backlog.oldest_at
                status.oldest_pending_seconds = _age(backlog.oldest_at)
        return page


@strawberry.type
class FederationStatusQuery:
    @strawberry.field(description="How delivery to other instances goes; admins only.")
    async def federation_status(self, info: Info) -> FederationStatus:
        info.context.require_kind(AccountKind.ADMIN)
        backlog = await delivery.lookup_backlog()
        return FederationStatus(
            pending=backlog.pending,
            oldest_pending_at=backlog.oldest_at,
            oldest_pending_seconds=_age(backlog.oldest_at),
        )
