from __future__ import annotations

from datetime import timedelta

import pytest

from myco_graph.domain import accounts
from myco_graph.domain.models import Account, Event, Token, TokenKind
from myco_graph.errors import Unauthenticated
from tests.helpers import PASSWORD

pytestmark = pytest.mark.usefixtures("database")

ISSUER = accounts.TokenIssuer(secret=b"k" * 32, session_ttl=timedelta(hours=1))


async def alice() -> Account:
    return await accounts.sign_up(
        accounts.SignUp(" Alice@Example.ORG ", PASSWORD, "Alice", "  Alice   Liddell ")
    )


async def test_sign_up_normalises_email_and_display_name() -> None:
    account = await alice()

    assert account.email == "alice@example.org"
    assert account.display_name == "Alice Liddell"
    assert account.handle == "Alice"


async def test_sign_up_records_an_event() -> None:
    account = await alice()

    event = await Event.get(account_id=account.id)

    assert event.kind == "account.created"


async def test_password_is_stored_as_an_argon2_hash() -> None:
    account = await alice()

    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


async def test_only_a_keyed_digest_of_a_token_is_stored() -> None:
    account = await alice()

    token, row = await ISSUER.issue(account, TokenKind.SESSION)

    assert row.digest == ISSUER.digest(token)
    assert token not in str(await Token.all().values())


async def test_token_from_another_secret_is_not_valid() -> None:
    account = await alice()
    token, _ = await ISSUER.issue(account, TokenKind.SESSION)
    other = accounts.TokenIssuer(secret=b"o" * 32, session_ttl=timedelta(hours=1))

    with pytest.raises(Unauthenticated, match="not valid"):
        await other.authenticate(token)


async def test_issued_token_authenticates_its_account() -> None:
    account = await alice()
    token, row = await ISSUER.issue(account, TokenKind.SESSION)

    found, found_row = await ISSUER.authenticate(token)

    assert (found.id, found_row.id) == (account.id, row.id)


async def test_check_password_finds_the_account_whatever_the_email_case() -> None:
    account = await alice()

    found = await accounts.check_password("ALICE@example.org", PASSWORD)

    assert found.id == account.id
