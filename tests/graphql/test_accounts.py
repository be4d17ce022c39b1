from __future__ import annotations

from datetime import timedelta

import pytest

from myco_graph.domain.accounts import now
from myco_graph.domain.models import Token, TokenKind
from tests.helpers import PASSWORD, SIGN_UP, GraphQLClient, row_counts

VIEWER = "{ viewer { handle accountType ... on Member { shares { shares votes } } } }"

LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) {
    token
    userErrors { field }
  }
}
"""

LOG_OUT = """
mutation LogOut($everywhere: Boolean!) {
  logOut(input: {everywhere: $everywhere}) { endedSessions userErrors { field } }
}
"""

CREATE_API_TOKEN = """
mutation Create($label: String!) {
  createApiToken(input: {label: $label}) {
    token
    apiToken { id label revokedAt }
    userErrors { field message }
  }
}
"""

REVOKE_API_TOKEN = """
mutation Revoke($id: ID!) {
  revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { field } }
}
"""


def sign_up_input(**changes: str) -> dict[str, object]:
    form = {
        "email": "alice@example.org",
        "password": PASSWORD,
        "handle": "alice",
        "displayName": "Alice",
    }
    return {"input": form | changes}


async def test_signed_up_member_is_the_viewer(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    result = await api(VIEWER, token=token)

    assert result.data["viewer"] == {
        "handle": "alice",
        "accountType": "MEMBER",
        "shares": {"shares": 0, "votes": 0},
    }


async def test_anonymous_viewer_is_null(api: GraphQLClient) -> None:
    result = await api("{ viewer { id } }")

    assert result.data == {"viewer": None}


async def test_logged_in_session_reads_the_viewer(api: GraphQLClient) -> None:
    await api.sign_up("alice")

    token = await api.log_in("ALICE@example.org ")

    assert (await api(VIEWER, token=token)).data["viewer"]["handle"] == "alice"


async def test_viewer_sees_their_own_email(api: GraphQLClient) -> None:
    token = await api.sign_up("alice", email="Alice@Example.org")

    result = await api("{ viewer { email } }", token=token)

    assert result.data["viewer"] == {"email": "alice@example.org"}


async def test_wrong_password_is_refused_and_opens_no_session(
    api: GraphQLClient,
) -> None:
    await api.sign_up("alice")
    before = await row_counts()

    result = await api(
        LOG_IN, {"email": "alice@example.org", "password": "not the password"}
    )

    assert result.codes == ["UNAUTHENTICATED"]
    assert result.errors[0]["message"] == "The email or the password is wrong."
    assert await row_counts() == before


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(
    api: GraphQLClient,
) -> None:
    result = await api(LOG_IN, {"email": "nobody@example.org", "password": PASSWORD})

    assert result.codes == ["UNAUTHENTICATED"]
    assert result.errors[0]["message"] == "The email or the password is wrong."


async def test_log_out_ends_the_session(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")

    ended = await api(LOG_OUT, {"everywhere": False}, token=token)
    after = await api(VIEWER, token=token)

    assert ended.data["logOut"] == {"endedSessions": 1, "userErrors": []}
    assert after.status == 401
    assert after.codes == ["UNAUTHENTICATED"]
    assert after.errors[0]["message"] == "The token was revoked."


async def test_log_out_keeps_the_other_sessions(api: GraphQLClient) -> None:
    first = await api.sign_up("alice")
    second = await api.log_in("alice@example.org")

    await api(LOG_OUT, {"everywhere": False}, token=first)

    assert (await api(VIEWER, token=second)).data["viewer"]["handle"] == "alice"


async def test_log_out_everywhere_ends_every_session(api: GraphQLClient) -> None:
    first = await api.sign_up("alice")
    second = await api.log_in("alice@example.org")

    ended = await api(LOG_OUT, {"everywhere": True}, token=second)

    assert ended.data["logOut"]["endedSessions"] == 2
    assert (await api(VIEWER, token=first)).status == 401
    assert (await api(VIEWER, token=second)).status == 401


async def test_log_out_needs_a_session(api: GraphQLClient) -> None:
    result = await api(LOG_OUT, {"everywhere": False})

    assert result.codes == ["UNAUTHENTICATED"]


async def test_expired_token_is_refused_with_401(api: GraphQLClient) -> None:
    token = await api.sign_up("alice")
    await Token.all().update(expires_at=now() - timedelta(seconds=1))

    result = await api(VIEWER, token=token)

    assert result.status == 401
    assert result.headers["www-authenticate"] == "Bearer"
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.errors[0]["message"] == "The token has expired."


async def test_unknown_token_is_refused_with_401(api: GraphQLClient) -> None:
    result = await api(VIEWER, token="myco_s_made_up")

    assert result.status == 401
    assert result.codes == ["UNAUTHENTICATED"]


async def test_authorization_other_than_bearer_is_refused(api: GraphQLClient) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"authorization": "Basic YWxpY2U6c2VjcmV0"},
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_session_tokens_expire_after_the_configured_time(
    api: GraphQLClient,
) -> None:
    await api.sign_up("alice")

    session = await Token.get(kind=TokenKind.SESSION)

    assert session.expires_at is not None
    assert session.expires_at - session.created_at == pytest.approx(
        timedelta(hours=24 * 30), abs=timedelta(seconds=5)
    )


async def test_brand_creates_an_api_token_and_acts_with_it(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")

    created = await api(CREATE_API_TOKEN, {"label": "CRM"}, token=session)
    api_token = created.data["createApiToken"]["token"]

    viewer = await api("{ viewer { handle accountType } }", token=api_token)
    assert api_token.startswith("myco_a_")
    assert viewer.data["viewer"] == {"handle": "acme", "accountType": "BRAND"}


async def test_api_tokens_do_not_expire(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")

    await api(CREATE_API_TOKEN, {"label": "CRM"}, token=session)

    assert (await Token.get(kind=TokenKind.API)).expires_at is None


async def test_brand_lists_its_api_tokens(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")
    await api(CREATE_API_TOKEN, {"label": "CRM"}, token=session)
    await api(CREATE_API_TOKEN, {"label": "Shop"}, token=session)

    result = await api(
        "{ viewer { ... on Brand { apiTokens { edges { node { label } } } } } }",
        token=session,
    )

    edges = result.data["viewer"]["apiTokens"]["edges"]
    assert [edge["node"]["label"] for edge in edges] == ["Shop", "CRM"]


async def test_revoked_api_token_is_refused_with_401(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")
    created = (await api(CREATE_API_TOKEN, {"label": "CRM"}, token=session)).data
    api_token = created["createApiToken"]["token"]
    token_id = created["createApiToken"]["apiToken"]["id"]

    revoked = await api(REVOKE_API_TOKEN, {"id": token_id}, token=session)
    result = await api(VIEWER, token=api_token)

    assert revoked.data["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    assert result.status == 401
    assert result.codes == ["UNAUTHENTICATED"]


async def test_brand_cannot_revoke_another_brands_token(api: GraphQLClient) -> None:
    acme = await api.sign_up("acme", account_type="BRAND")
    other = await api.sign_up("other", account_type="BRAND")
    created = (await api(CREATE_API_TOKEN, {"label": "CRM"}, token=acme)).data
    token_id = created["createApiToken"]["apiToken"]["id"]

    result = await api(REVOKE_API_TOKEN, {"id": token_id}, token=other)

    assert result.codes == ["NOT_FOUND"]
    assert await Token.filter(revoked_at__isnull=False).count() == 0


async def test_member_cannot_create_api_tokens(api: GraphQLClient) -> None:
    session = await api.sign_up("alice")
    before = await row_counts()

    result = await api(CREATE_API_TOKEN, {"label": "mine"}, token=session)

    assert result.codes == ["FORBIDDEN"]
    assert await row_counts() == before


async def test_api_token_label_must_not_be_blank(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")

    result = await api(CREATE_API_TOKEN, {"label": "   "}, token=session)

    assert result.data["createApiToken"]["userErrors"][0]["field"] == ["label"]
    assert await Token.filter(kind=TokenKind.API).count() == 0


async def test_api_token_cannot_log_out(api: GraphQLClient) -> None:
    session = await api.sign_up("acme", account_type="BRAND")
    created = (await api(CREATE_API_TOKEN, {"label": "CRM"}, token=session)).data

    result = await api(
        LOG_OUT, {"everywhere": False}, token=created["createApiToken"]["token"]
    )

    assert result.codes == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("handle", "email", "field"),
    [
        ("Alice", "someone@example.org", "handle"),
        ("ALICE", "someone@example.org", "handle"),
        ("bob", "A@x.org", "email"),
        ("bob", "a@X.ORG", "email"),
    ],
)
async def test_handle_and_email_are_taken_in_any_case(
    api: GraphQLClient, handle: str, email: str, field: str
) -> None:
    await api.sign_up("alice", email="a@x.org")
    before = await row_counts()

    result = await api(SIGN_UP, sign_up_input(handle=handle, email=email))

    payload = result.data["signUp"]
    assert payload["token"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ([field], "BAD_USER_INPUT")
    ]
    assert await row_counts() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"handle": "al"}, "handle"),
        ({"handle": "alice smith"}, "handle"),
        ({"handle": "a" * 31}, "handle"),
        ({"email": "alice"}, "email"),
        ({"email": "alice@example"}, "email"),
        ({"email": "al ice@example.org"}, "email"),
        ({"password": "short"}, "password"),
        ({"displayName": "   "}, "displayName"),
    ],
)
async def test_bad_sign_up_input_is_a_user_error_and_stores_nothing(
    api: GraphQLClient, changes: dict[str, str], field: str
) -> None:
    before = await row_counts()

    result = await api(SIGN_UP, sign_up_input(**changes))

    payload = result.data["signUp"]
    assert payload["token"] is None
    assert [error["field"] for error in payload["userErrors"]] == [[field]]
    assert payload["userErrors"][0]["message"]
    assert await row_counts() == before


async def test_brands_sign_up_too(api: GraphQLClient) -> None:
    token = await api.sign_up("acme", account_type="BRAND")

    result = await api("{ viewer { accountType } }", token=token)

    assert result.data["viewer"] == {"accountType": "BRAND"}
