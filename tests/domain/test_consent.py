"""The consent decision as a pure function: one viewer, one read, some grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from myco_graph.domain.consent import Grant, Read, Reason, Viewer, decide
from myco_graph.domain.models import AccountKind, Audience, Purpose

MOMENT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SUBJECT = 1
MEMBER = Viewer(account_id=2, kind=AccountKind.MEMBER)
OTHER_MEMBER = Viewer(account_id=3, kind=AccountKind.MEMBER)
BRAND = Viewer(account_id=4, kind=AccountKind.BRAND)
ADMIN = Viewer(account_id=5, kind=AccountKind.ADMIN)
ANONYMOUS = Viewer.anonymous()
PROJECT = 7

GENRES = "music.favoriteGenres"
LEANING = "politics.leaning"
DISPLAY = Read(SUBJECT, GENRES, Purpose.DISPLAY)


def grant(
    grant_id: int = 1,
    *,
    audience: Audience = Audience.COOP,
    audience_id: int | None = None,
    purpose: Purpose = Purpose.DISPLAY,
    keys: tuple[str, ...] = (GENRES,),
    explicit: bool = False,
    expires_at: datetime | None = None,
    withdrawn_at: datetime | None = None,
    subject_id: int = SUBJECT,
) -> Grant:
    return Grant(
        id=grant_id,
        subject_id=subject_id,
        audience=audience,
        audience_id=audience_id,
        purpose=purpose,
        field_keys=frozenset(keys),
        explicit=explicit,
        expires_at=expires_at,
        withdrawn_at=withdrawn_at,
    )


def reason(viewer: Viewer, read: Read, *grants: Grant) -> Reason | None:
    return decide(viewer, read, grants, MOMENT).reason


def test_members_always_read_their_own_values() -> None:
    own = Viewer(account_id=SUBJECT, kind=AccountKind.MEMBER)

    decision = decide(own, Read(SUBJECT, LEANING, Purpose.OFFER_MATCHING), [], MOMENT)

    assert decision.allowed
    assert decision.grant_id is None


def test_unshared_field_is_not_shared() -> None:
    assert reason(MEMBER, DISPLAY) is Reason.NOT_SHARED


def test_grant_over_other_fields_leaves_the_field_unshared() -> None:
    assert reason(MEMBER, DISPLAY, grant(keys=("location.city",))) is Reason.NOT_SHARED


def test_grant_of_another_member_opens_nothing() -> None:
    assert reason(MEMBER, DISPLAY, grant(subject_id=9)) is Reason.NOT_SHARED


def test_grant_opens_the_field_and_names_itself() -> None:
    decision = decide(MEMBER, DISPLAY, [grant(3)], MOMENT)

    assert decision.allowed
    assert decision.grant_id == 3


def test_expired_grant_says_expired() -> None:
    lapsed = grant(expires_at=MOMENT - timedelta(days=1))

    assert reason(MEMBER, DISPLAY, lapsed) is Reason.EXPIRED


def test_grant_expires_at_its_expiry_instant() -> None:
    assert reason(MEMBER, DISPLAY, grant(expires_at=MOMENT)) is Reason.EXPIRED


def test_grant_before_its_expiry_opens_the_field() -> None:
    lasting = grant(expires_at=MOMENT + timedelta(seconds=1))

    assert reason(MEMBER, DISPLAY, lasting) is None


def test_withdrawn_grant_says_withdrawn() -> None:
    withdrawn = grant(withdrawn_at=MOMENT - timedelta(seconds=1))

    assert reason(MEMBER, DISPLAY, withdrawn) is Reason.WITHDRAWN


def test_grant_for_another_purpose_is_a_purpose_mismatch() -> None:
    research = grant(purpose=Purpose.RESEARCH)

    assert reason(MEMBER, DISPLAY, research) is Reason.PURPOSE_MISMATCH


def test_lapsed_grant_for_another_purpose_is_not_a_mismatch() -> None:
    lapsed = grant(purpose=Purpose.RESEARCH, expires_at=MOMENT)

    assert reason(MEMBER, DISPLAY, lapsed) is Reason.NOT_SHARED


def test_special_field_under_a_plain_grant_needs_explicit_consent() -> None:
    plain = grant(keys=(LEANING,))

    assert (
        reason(MEMBER, Read(SUBJECT, LEANING, Purpose.DISPLAY), plain)
        is Reason.EXPLICIT_REQUIRED
    )


def test_explicit_grant_opens_a_special_field() -> None:
    explicit = grant(keys=(LEANING,), explicit=True)

    assert reason(MEMBER, Read(SUBJECT, LEANING, Purpose.DISPLAY), explicit) is None


def test_special_field_is_never_used_to_match_offers() -> None:
    matching = Read(SUBJECT, LEANING, Purpose.OFFER_MATCHING)
    forged = grant(
        audience=Audience.PUBLIC,
        purpose=Purpose.OFFER_MATCHING,
        keys=(LEANING,),
        explicit=True,
    )

    assert reason(BRAND, matching, forged) is Reason.NOT_SHARED


def test_public_grant_reaches_anonymous_readers() -> None:
    public = grant(audience=Audience.PUBLIC)

    assert [reason(viewer, DISPLAY, public) for viewer in (ANONYMOUS, BRAND)] == [
        None,
        None,
    ]


def test_coop_grant_reaches_members_not_staff_brands_or_strangers() -> None:
    coop = grant(audience=Audience.COOP)

    inside = reason(MEMBER, DISPLAY, coop)
    outside = [reason(v, DISPLAY, coop) for v in (ADMIN, BRAND, ANONYMOUS)]

    assert inside is None
    assert outside == [Reason.NOT_SHARED] * 3


def test_member_grant_reaches_that_member_only() -> None:
    to_member = grant(audience=Audience.MEMBER, audience_id=MEMBER.account_id)

    assert reason(MEMBER, DISPLAY, to_member) is None
    assert reason(OTHER_MEMBER, DISPLAY, to_member) is Reason.NOT_SHARED
    assert reason(ANONYMOUS, DISPLAY, to_member) is Reason.NOT_SHARED


def test_named_grant_without_its_id_reaches_nobody() -> None:
    nameless = [
        grant(audience=audience, audience_id=None)
        for audience in (Audience.MEMBER, Audience.BRAND, Audience.PROJECT)
    ]
    readers = (ANONYMOUS, MEMBER, BRAND)

    reasons = {reason(viewer, DISPLAY, *nameless) for viewer in readers}

    assert reasons == {Reason.NOT_SHARED}


def test_brand_grant_reaches_that_brand_only() -> None:
    to_brand = grant(audience=Audience.BRAND, audience_id=BRAND.account_id)
    other_brand = Viewer(account_id=6, kind=AccountKind.BRAND)

    assert reason(BRAND, DISPLAY, to_brand) is None
    assert reason(other_brand, DISPLAY, to_brand) is Reason.NOT_SHARED
    assert reason(MEMBER, DISPLAY, to_brand) is Reason.NOT_SHARED


def test_project_grant_reaches_its_members_within_the_project() -> None:
    insider = Viewer(account_id=2, kind=AccountKind.MEMBER, projects=frozenset({7}))
    to_project = grant(
        audience=Audience.PROJECT,
        audience_id=PROJECT,
        purpose=Purpose.PROJECT_COLLABORATION,
    )
    within = Read(SUBJECT, GENRES, Purpose.PROJECT_COLLABORATION, PROJECT)

    assert reason(insider, within, to_project) is None


def test_project_grant_stays_inside_the_project() -> None:
    insider = Viewer(account_id=2, kind=AccountKind.MEMBER, projects=frozenset({7}))
    to_project = grant(audience=Audience.PROJECT, audience_id=PROJECT)
    elsewhere = Read(SUBJECT, GENRES, Purpose.DISPLAY, project_id=8)

    assert reason(insider, DISPLAY, to_project) is Reason.NOT_SHARED
    assert reason(insider, elsewhere, to_project) is Reason.NOT_SHARED


def test_project_grant_excludes_readers_outside_the_project() -> None:
    outsider = Viewer(account_id=3, kind=AccountKind.MEMBER, projects=frozenset({8}))
    to_project = grant(audience=Audience.PROJECT, audience_id=PROJECT)
    within = Read(SUBJECT, GENRES, Purpose.DISPLAY, PROJECT)

    assert reason(outsider, within, to_project) is Reason.NOT_SHARED
    assert reason(ANONYMOUS, within, to_project) is Reason.NOT_SHARED


def test_newest_active_grant_is_the_one_used() -> None:
    decision = decide(MEMBER, DISPLAY, [grant(4), grant(9), grant(6)], MOMENT)

    assert decision.grant_id == 9


def test_older_grant_still_holds_when_the_newest_is_withdrawn() -> None:
    newest = grant(9, withdrawn_at=MOMENT)

    decision = decide(MEMBER, DISPLAY, [grant(4), newest], MOMENT)

    assert decision.grant_id == 4


def test_reason_comes_from_the_newest_grant_for_the_purpose() -> None:
    expired = {"expires_at": MOMENT - timedelta(days=2)}
    withdrawn = {"withdrawn_at": MOMENT - timedelta(days=1)}

    newest_withdrawn = reason(
        MEMBER, DISPLAY, grant(1, **expired), grant(2, **withdrawn)
    )
    newest_expired = reason(MEMBER, DISPLAY, grant(1, **withdrawn), grant(2, **expired))

    assert newest_withdrawn is Reason.WITHDRAWN
    assert newest_expired is Reason.EXPIRED
