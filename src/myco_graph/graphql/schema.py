"""The GraphQL schema, assembled from each area's query and mutation types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from myco_graph.errors import BadUserInput
from myco_graph.graphql.accounts import (
    ACCOUNT_TYPES,
    AccountMutation,
    AccountQuery,
    ApiToken,
)
from myco_graph.graphql.consent import ConsentGrant, ConsentMutation
from myco_graph.graphql.context import Info
from myco_graph.graphql.discussion import DiscussionMutation, Message
from myco_graph.graphql.errors import ErrorPolicy, log_unexpected
from myco_graph.graphql.events import EventSubscription
from myco_graph.graphql.execution import Executor
from myco_graph.graphql.federation_status import FederationStatusQuery
from myco_graph.graphql.files import File, FileMutation
from myco_graph.graphql.instances import InstanceMutation, InstanceQuery
from myco_graph.graphql.invitations import InvitationMutation, InvitationQuery
from myco_graph.graphql.limits import limit_extensions
from myco_graph.graphql.members import MemberMutation, MemberQuery, MemberSubscription
from myco_graph.graphql.polls import Poll, PollMutation
from myco_graph.graphql.pools import Pool, PoolMutation
from myco_graph.graphql.profile import AccessLogFlush, ProfileMutation, ProfileQuery
from myco_graph.graphql.projects import (
    Project,
    ProjectMutation,
    ProjectQuery,
    ProjectSubscription,
)
from myco_graph.graphql.remote import (
    RemoteMutation,
    RemoteNote,
    RemoteProject,
    RemoteQuery,
)
from myco_graph.graphql.shares import ShareEntry, ShareMutation, ShareQuery
from myco_graph.infrastructure.config import Settings


@strawberry.type
class NodeQuery:
    # A plain resolver rather than relay.node(): that field is changed in
    # place when a schema is built, so a second schema could not be built.
    @strawberry.field(description="Any object by its global id, if you may see it.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        try:
            return await id.resolve_node(info, required=False)
        except GlobalIDValueError as exc:
            raise BadUserInput(
                "This id does not name anything here.", field="id"
            ) from exc


# One line per area, so that each area's types are added in one place.
Query = merge_types(
    "Query",
    (
        NodeQuery,
        AccountQuery,
        MemberQuery,
        ProfileQuery,
        ShareQuery,
        ProjectQuery,
        InvitationQuery,
        InstanceQuery,
        RemoteQuery,
        FederationStatusQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        MemberMutation,
        ProfileMutation,
        ConsentMutation,
        ShareMutation,
        ProjectMutation,
        InvitationMutation,
        DiscussionMutation,
        PollMutation,
        PoolMutation,
        FileMutation,
        InstanceMutation,
        RemoteMutation,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        EventSubscription,
        MemberSubscription,
        ProjectSubscription,
    ),
)
NODE_TYPES = [
    *ACCOUNT_TYPES.values(),
    ApiToken,
    ConsentGrant,
    ShareEntry,
    Project,
    Message,
    Poll,
    Pool,
    File,
    RemoteProject,
    RemoteNote,
]


class Schema(strawberry.Schema):
    """Logs only errors we did not raise on purpose; clients see the policy's."""

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        log_unexpected(errors)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema; with settings, the request limits are enforced too."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]]
    extensions = [AccessLogFlush, ErrorPolicy]
    if settings is not None:
        extensions = [*limit_extensions(settings), *extensions]
    config: dict[str, Any] = {}
    if settings is not None:
        config["relay_max_results"] = settings.max_page_size
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
        execution_context_class=Executor,
        config=StrawberryConfig(**config),
    )
