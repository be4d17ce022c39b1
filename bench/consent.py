"""What the consent decision costs: one query over 200 members x 10 fields.

The same query runs against the real schema, where every profile field goes
through the batched consent decision (and reads are folded into the access
log), and against a schema built here whose profiles load the same values
with the same batching into the same types, but with no grant, decision or
access log. Both run in-process on PostgreSQL, with the same executor, so
the ratio is the consent machinery's own cost.

    python -m bench.consent [--members 200] [--rounds 100]
"""

import argparse
import asyncio
import functools
from datetime import timedelta
from typing import Any, cast

import strawberry

from bench.common import bench_instance, summary, timed
from myco_graph.app import make_services, settle_garbage_collector
from myco_graph.domain import accounts, consent, grants
from myco_graph.domain.models import (
    Account,
    AccountKind,
    Audience,
    Name,
    ProfileValue,
    Purpose,
    TokenKind,
)
from myco_graph.domain.profile import unwrap, wrap
from myco_graph.graphql import paging
from myco_graph.graphql.context import Context, Info
from myco_graph.graphql.errors import ErrorPolicy
from myco_graph.graphql.execution import Executor, prepared
from myco_graph.graphql.limits import limit_extensions
from myco_graph.graphql.members import Member
from myco_graph.graphql.profile import (
    EMPTY_SECTIONS,
    Profile,
    layout,
    requested_keys,
    section_values,
)
from myco_graph.graphql.schema import build_schema
from myco_graph.infrastructure.config import Settings

FIELDS = [
    "identity.firstName",
    "identity.birthYear",
    "identity.gender",
    "location.city",
    "location.country",
    "household.size",
    "household.children",
    "household.carOwner",
    "music.favoriteGenres",
    "music.instruments",
]
SAMPLE_VALUES: dict[str, Any] = {
    "identity.firstName": "Camille",
    "identity.birthYear": 1987,
    "identity.gender": "woman",
    "location.city": "Lyon",
    "location.country": "France",
    "household.size": 3,
    "household.children": 1,
    "household.carOwner": True,
    "music.favoriteGenres": ["jazz", "rock"],
    "music.instruments": ["piano"],
}
QUERY = """
query Page($first: Int!) {
  members(first: $first) {
    edges { node { handle profile {
      identity { firstName birthYear gender }
      location { city country }
      household { size children carOwner }
      music { favoriteGenres instruments }
    } } }
  }
}
"""


# The unchecked twin: the real Member and Profile types, the same look-ahead
# batch (one statement for the page's values, read as the consent session
# reads them) and the same plain section objects, built from the values as
# they are: no grants, no decision, no access log. What differs between the
# two is the consent machinery alone.


async def _prefetch_values(
    info: Info, subjects: list[int], keys: tuple[str, ...]
) -> None:
    values: dict[int, dict[str, Any]] = {subject: {} for subject in subjects}
    for subject, key, stored in await consent.stored_values(subjects, keys):
        values[subject][key] = unwrap(stored)
    info.context.loaders["unchecked"] = values


def _unchecked_profile(info: Info, subject_id: int, keys: tuple[str, ...]) -> Any:
    values = info.context.loaders["unchecked"].get(subject_id, {})
    sections = dict(EMPTY_SECTIONS)
    for name, section_type, fields in layout(keys):
        sections[name] = section_type(**section_values(fields, values))
    return Profile(**sections)


def unchecked_schema(settings: Settings) -> strawberry.Schema:
    # The real Member, made the same way, with the profile read unchecked.
    @strawberry.type(name="Member")
    class UncheckedMember(Member):
        @strawberry.field
        @prepared("listed_profile")
        def profile(self, info: Info) -> Profile:  # type: ignore[valid-type]
            assert self.profile_keys is not None
            return _unchecked_profile(info, self.id, self.profile_keys)

    @strawberry.type
    class Query:
        @strawberry.field
        async def members(
            self, info: Info, first: int
        ) -> paging.Connection[UncheckedMember]:
            keys = requested_keys(info, ("edges", "node", "profile"))
            convert = functools.partial(UncheckedMember.listed, profile_keys=keys)
            query = Account.filter(kind=AccountKind.MEMBER)
            page = await paging.connection(query, convert, first, None)
            await _prefetch_values(info, [edge.node.id for edge in page.edges], keys)
            # Built for the whole page at once, as the real list does.
            for edge in page.edges:
                edge.node.listed_profile = _unchecked_profile(info, edge.node.id, keys)
            return page

    # The same executor, request limits and error policy as the real schema.
    return strawberry.Schema(
        query=Query,
        extensions=[*limit_extensions(settings), ErrorPolicy],
        execution_context_class=Executor,
    )


async def populate(members: int, base_url: str, domain: str) -> Account:
    """Members who share the ten fields with the coop, and one who reads them."""
    password_hash = accounts._hasher.hash("bench-password-1")
    names = await Name.bulk_create([Name(key=f"bench_{n}") for n in range(members + 1)])
    del names
    name_rows = await Name.filter(key__startswith="bench_").order_by("id")
    rows = await Account.bulk_create(
        [
            Account(
                kind=AccountKind.MEMBER,
                name_id=name.id,
                handle=name.key,
                display_name=name.key,
                email=f"{name.key}@bench.example",
                password_hash=password_hash,
            )
            for name in name_rows
        ]
    )
    del rows
    subjects = await Account.filter(handle__startswith="bench_").order_by("id")
    viewer, subjects = subjects[-1], subjects[:-1]
    await ProfileValue.bulk_create(
        [
            ProfileValue(account_id=subject.id, key=key, value=wrap(SAMPLE_VALUES[key]))
            for subject in subjects
            for key in FIELDS
        ]
    )
    issuer = grants.Issuer(base_url, domain)
    request = grants.GrantRequest(
        field_keys=FIELDS,
        audience=Audience.COOP,
        audience_id=None,
        purpose=Purpose.DISPLAY,
        expires_at=accounts.now() + timedelta(days=365),
        explicit=False,
    )
    for subject in subjects:
        await grants.grant(subject, request, issuer)
    return viewer


async def main(members: int, rounds: int) -> None:
    async with bench_instance("consent", max_page_size=max(members, 100)) as settings:
        services = make_services(settings)
        viewer = await populate(members, str(settings.base_url), settings.domain)
        await services.issuer.issue(viewer, TokenKind.SESSION)
        checked = build_schema(settings)
        unchecked = unchecked_schema(settings)
        settle_garbage_collector()  # as the app does once it has started
        variables = {"first": members}

        def context() -> Context:
            return Context(services=services, request=cast(Any, None), viewer=viewer)

        async def run_checked() -> None:
            result = await checked.execute(
                QUERY, variable_values=variables, context_value=context()
            )
            assert not result.errors, result.errors
            assert len(result.data["members"]["edges"]) == members  # type: ignore[index]

        async def run_unchecked() -> None:
            result = await unchecked.execute(
                QUERY, variable_values=variables, context_value=context()
            )
            assert not result.errors, result.errors

        # Every member shares the ten fields with the coop: both answer alike,
        # or the comparison means nothing.
        answers = [
            await schema.execute(
                QUERY, variable_values=variables, context_value=context()
            )
            for schema in (checked, unchecked)
        ]
        assert answers[0].data == answers[1].data, "the two schemas answer differently"
        await timed(run_checked, rounds=0, warmup=5)
        await timed(run_unchecked, rounds=0, warmup=5)
        # Interleaved rounds, each order in turn, so that drift on the machine
        # and whatever one run leaves to the next hit both alike.
        checked_samples: list[float] = []
        unchecked_samples: list[float] = []
        for round_ in range(rounds):
            if round_ % 2:
                unchecked_samples += await timed(run_unchecked, rounds=1, warmup=0)
            checked_samples += await timed(run_checked, rounds=1, warmup=0)
            if not round_ % 2:
                unchecked_samples += await timed(run_unchecked, rounds=1, warmup=0)

        rows = [("consent-checked", checked_samples), ("unchecked", unchecked_samples)]
        print(f"{members} members x {len(FIELDS)} fields, {rounds} rounds, PostgreSQL")
        print(f"{'variant':<18}{'median ms':>12}{'p10 ms':>10}{'p90 ms':>10}")
        for label, samples in rows:
            median, p10, p90 = summary(samples)
            print(f"{label:<18}{median:>12.1f}{p10:>10.1f}{p90:>10.1f}")
        overhead = summary(checked_samples)[0] / summary(unchecked_samples)[0]
        print(f"consent_overhead = {overhead:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.members, arguments.rounds))
