"""The consent decision agrees with an independent oracle over generated cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from myco_graph.domain import catalogue
from myco_graph.domain.consent import Grant, Read, Viewer, decide
from myco_graph.domain.models import AccountKind, Audience, Purpose
from tests.consent_support import expected

MOMENT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KINDS = {
    1: AccountKind.MEMBER,
    2: AccountKind.MEMBER,
    3: AccountKind.MEMBER,
    4: AccountKind.BRAND,
    5: AccountKind.BRAND,
    6: AccountKind.ADMIN,
}
MEMBERS = (1, 2, 3)
BRANDS = (4, 5)
PROJECTS = (10, 11)
KEYS = sorted(catalogue.FIELDS)


def viewer_of(account_id: int | None, projects: frozenset[int]) -> Viewer:
    if account_id is None:
        return Viewer.anonymous()
    return Viewer(account_id, KINDS[account_id], projects)


viewers = st.builds(
    viewer_of,
    st.sampled_from([None, *KINDS]),
    st.frozensets(st.sampled_from(PROJECTS)),
)
# Expiries cluster around the moment of the read, the boundary included; a
# named audience sometimes lacks its id, as a damaged row would.
expiries = st.sampled_from(
    [None, None, MOMENT - timedelta(days=1), MOMENT, MOMENT + timedelta(microseconds=1)]
)
withdrawals = st.sampled_from([None, None, None, MOMENT - timedelta(hours=1)])
audiences = st.one_of(
    st.tuples(st.sampled_from([Audience.PUBLIC, Audience.COOP]), st.none()),
    st.tuples(st.just(Audience.MEMBER), st.sampled_from([*MEMBERS, None])),
    st.tuples(st.just(Audience.BRAND), st.sampled_from([*BRANDS, None])),
    st.tuples(st.just(Audience.PROJECT), st.sampled_from([*PROJECTS, None])),
)


# One grant: whose (None: the read's subject), audience, purpose (None: the
# read's), fields as a bit mask over the example's keys, explicit, expiry and
# withdrawal. Tuples keep generation cheap across thousands of examples.
grant_parts = st.tuples(
    st.sampled_from([None, None, None, *MEMBERS]),
    audiences,
    st.sampled_from([None] * 4 + list(Purpose)),
    st.integers(1, 7),
    st.booleans(),
    expiries,
    withdrawals,
)


@st.composite
def situations(draw: st.DrawFn) -> tuple[Viewer, Read, list[Grant]]:
    """A viewer, a read, and the grants of a few members over a few fields."""
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    subject = draw(st.sampled_from(MEMBERS))
    purpose = draw(st.sampled_from(Purpose))
    read = Read(subject, keys[0], purpose, draw(st.sampled_from([None, *PROJECTS])))
    count = draw(st.integers(0, 6))
    parts = draw(st.lists(grant_parts, min_size=count, max_size=count))
    ids = draw(st.permutations(range(1, len(parts) + 1)))
    grants = []
    for grant_id, part in zip(ids, parts, strict=True):
        owner, (audience, audience_id), use, mask, explicit, expires, withdrawn = part
        chosen = frozenset(key for i, key in enumerate(keys) if mask >> i & 1)
        grants.append(
            Grant(
                id=grant_id,
                subject_id=owner or subject,
                audience=audience,
                audience_id=audience_id,
                purpose=use or purpose,
                field_keys=chosen or frozenset(keys),
                explicit=explicit,
                expires_at=expires,
                withdrawn_at=withdrawn,
            )
        )
    return draw(viewers), read, grants


@given(situations())
def test_decide_agrees_with_the_oracle_whatever_the_grant_order(
    situation: tuple[Viewer, Read, list[Grant]],
) -> None:
    viewer, read, grants = situation
    by_id = sorted(grants, key=lambda grant: grant.id)

    decisions = {decide(viewer, read, order, MOMENT) for order in (grants, by_id)}
    want = expected(viewer, read, grants, MOMENT)

    event("allowed" if want.allowed else f"denied: {want.reason}")
    assert [(d.allowed, d.grant_id, d.reason) for d in decisions] == [
        (want.allowed, want.grant_id, want.reason)
    ]
